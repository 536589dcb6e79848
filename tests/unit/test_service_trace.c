/*
 * |trace| connections: the connection-level events the service handles by
 * itself (the peer's SETTINGS, the ACK of ours, PINGs, WINDOW_UPDATEs) are
 * delivered too, with their contents; without |trace| none of them is.
 */
#include "test_service_util.h"

typedef struct seen {
    int settings, acks, pings, window_updates;
    uint32_t peer_max_frame; /* MAX_FRAME_SIZE in the peer's SETTINGS */
    bool ack_lists_window;   /* our INITIAL_WINDOW_SIZE in the acknowledged ones */
    uint8_t ping[8];
    uint32_t delta;
} seen;

/* Counts the trace events of the server's connection (and releases every event). */
static void take_event(void *arg, h2_svc_event *ev)
{
    seen *s = arg;
    switch (ev->type) {
    case H2_EV_REMOTE_SETTINGS_CHANGED:
        s->settings++;
        for (size_t i = 0; i < ev->n_settings; i++)
            if (ev->settings[i].id == H2_SETTING_MAX_FRAME_SIZE)
                s->peer_max_frame = ev->settings[i].new_value;
        break;
    case H2_EV_SETTINGS_ACKNOWLEDGED:
        s->acks++;
        for (size_t i = 0; i < ev->n_settings; i++)
            if (ev->settings[i].id == H2_SETTING_INITIAL_WINDOW_SIZE &&
                ev->settings[i].new_value == 100000)
                s->ack_lists_window = true;
        break;
    case H2_EV_PING_RECEIVED:
        s->pings++;
        memcpy(s->ping, ev->ping, 8);
        break;
    case H2_EV_WINDOW_UPDATED:
        s->window_updates++;
        cr_assert_eq(ev->stream_id, 0u);
        s->delta = ev->window_delta;
        break;
    default:
        break;
    }
    h2_svc_event_release(ev);
}

typedef struct peer_got {
    bool settings, settings_ack, ping_ack;
} peer_got;

static void peer_event(void *arg, const h2_event *ev)
{
    peer_got *g = arg;
    if (ev->type == H2_SVC_EV_REMOTE_SETTINGS_CHANGED)
        g->settings = true;
    if (ev->type == H2_SVC_EV_SETTINGS_ACKNOWLEDGED)
        g->settings_ack = true;
    if (ev->type == H2_SVC_EV_PING_ACK_RECEIVED)
        g->ping_ack = true;
}

/*
 * Until the peer got the server's SETTINGS, its ACK of ours and the PING
 * ACK (the peer's ACK of the server's SETTINGS going out meanwhile), then
 * a turn of the worker that read everything the peer wrote: every event
 * the exchange makes has been taken.
 */
static void take_all(svc_rig *r, h2_svc_conn_id id, peer *p, seen *s)
{
    peer_got g = {false, false, false};
    int64_t end = now_ms() + 5000;
    while (!g.settings || !g.settings_ack || !g.ping_ack) {
        cr_assert_lt(now_ms(), end, "the exchange did not finish");
        peer_pump(p, 10, peer_event, &g);
    }
    h2_svc_event *closed = svc_barrier_each(r->svc, r->q, id, take_event, s);
    cr_assert_null(closed);
}

static void run(bool trace, seen *s)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.trace = trace;
    sc.conn.initial_window_size = 100000;
    h2_svc_conn_id id = svc_rig_attach(&r, &sc);

    peer p;
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.max_frame_size = 32768;
    peer_init_cfg(&p, r.peer_fd, &pc);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    static const uint8_t opaque[8] = {'t', 'r', 'a', 'c', 'e', '-', 'm', 'e'};
    cr_assert_eq(h2_conn_ping(p.conn, opaque), 0);
    cr_assert_eq(h2_conn_increment_window(p.conn, 0, 1000), 0);
    peer_flush(&p);
    take_all(&r, id, &p, s);

    svc_rig_free(&r);
    peer_free(&p);
}

Test(service_trace, connection_level_events_with_their_contents)
{
    seen s = {0};
    run(true, &s);
    cr_assert_eq(s.settings, 1);
    cr_assert_eq(s.peer_max_frame, 32768u);
    cr_assert_eq(s.acks, 1);
    cr_assert(s.ack_lists_window);
    cr_assert_eq(s.pings, 1);
    cr_assert_eq(memcmp(s.ping, "trace-me", 8), 0);
    cr_assert_eq(s.window_updates, 1);
    cr_assert_eq(s.delta, 1000u);
}

Test(service_trace, none_without_trace)
{
    seen s = {0};
    run(false, &s);
    cr_assert_eq(s.settings + s.acks + s.pings + s.window_updates, 0);
}
