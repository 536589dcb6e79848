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

static void take_all(h2_svc_queue *q, peer *p, seen *s, int ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        peer_pump(p, 5, NULL, NULL);
        h2_svc_event *ev = NULL;
        while (h2_svc_queue_poll(q, &ev, 1) == 1) {
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
    }
}

static void run(bool trace, seen *s)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.trace = trace;
    sc.conn.initial_window_size = 100000;
    (void)svc_rig_attach(&r, &sc);

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
    take_all(r.q, &p, s, 300);

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
