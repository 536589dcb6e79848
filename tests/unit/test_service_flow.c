/*
 * Manual flow control (|manual_flow_control| in h2_svc_conn_config):
 * releasing a DATA event acknowledges nothing, so a peer that filled the
 * windows stays stalled and sees no WINDOW_UPDATE; h2_svc_ack_data() and
 * h2_svc_increment_window() open the windows; the core's refusals come
 * back as COMMAND_FAILED; releases still free request slots; automatic
 * mode (the default, also for a configuration from before the field)
 * reopens the windows on release as before. Checked on the wire by a
 * client peer driven by the test.
 */
#include "test_service_util.h"

static const h2_header post_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/up"),
    HDR(":authority", "example.org"),
};

/* What the peer saw. */
typedef struct seen {
    bool settings;
    int window_updates;
    uint64_t window_bytes; /* sum of the increments */
    int pings;             /* PINGs from the service (the sync marks) */
    uint32_t refused;      /* bit per stream id < 32 the service reset */
} seen;

static void on_peer(void *arg, const h2_event *ev)
{
    seen *s = arg;
    switch (ev->type) {
    case H2_EV_REMOTE_SETTINGS_CHANGED:
        s->settings = true;
        break;
    case H2_EV_WINDOW_UPDATED:
        s->window_updates++;
        s->window_bytes += ev->u.window_delta;
        break;
    case H2_EV_PING_RECEIVED:
        s->pings++;
        break;
    case H2_EV_STREAM_RESET:
        if (ev->stream_id < 32)
            s->refused |= 1u << ev->stream_id;
        break;
    default:
        break;
    }
}

typedef struct rig {
    svc_rig r;
    h2_svc_conn_id id;
    peer p;
    seen s;
    uint8_t *body;
} rig;

#define BODY_MAX (256u * 1024u)

static void peer_until(rig *g, bool *flag)
{
    int64_t end = now_ms() + 5000;
    while (!*flag) {
        cr_assert_lt(now_ms(), end);
        cr_assert(!g->p.eof, "the service closed the connection");
        peer_pump(&g->p, 10, on_peer, &g->s);
    }
}

/* A server connection (|sc|, its queue set here) and a client peer that
 * opened stream 1 with a POST whose body is not ended. */
static void rig_start_cfg(rig *g, h2_svc_conn_config *sc)
{
    memset(g, 0, sizeof *g);
    svc_rig_start(&g->r, 256);
    g->id = svc_rig_attach(&g->r, sc);
    peer_init(&g->p, g->r.peer_fd, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(g->p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(g->p.conn, 1, post_fields, 4, 0, NULL), 0);
    peer_flush(&g->p);
    peer_until(g, &g->s.settings);
    h2_svc_event *ev = wait_event(g->r.q, H2_SVC_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    g->body = make_body(BODY_MAX, 3);
}

static void rig_start(rig *g, bool manual)
{
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    cr_assert(!sc.manual_flow_control, "automatic is the default");
    sc.manual_flow_control = manual;
    rig_start_cfg(g, &sc);
}

static void rig_free(rig *g)
{
    free(g->body);
    svc_rig_free(&g->r);
    peer_free(&g->p);
}

/* The peer sends what its windows allow of |len| body bytes on |stream|; returns how many. */
static size_t peer_send(rig *g, uint32_t stream, size_t len)
{
    cr_assert_leq(len, BODY_MAX);
    size_t total = 0;
    while (total < len) {
        size_t taken = 0;
        cr_assert_eq(
            h2_conn_send_body(g->p.conn, stream, g->body + total, len - total, false, &taken), 0);
        peer_flush(&g->p);
        if (taken == 0)
            break;
        total += taken;
    }
    return total;
}

/* Takes DATA events until |want| flow-controlled bytes arrived, releasing each. */
static void take_data(rig *g, size_t want)
{
    size_t got = 0;
    while (got < want) {
        h2_svc_event *ev = next_event(g->r.q, 5000);
        cr_assert_not_null(ev, "DATA missing: %zu of %zu bytes", got, want);
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED, "closed: reason %d", ev->reason);
        if (ev->type == H2_SVC_EV_DATA_RECEIVED)
            got += ev->flow_controlled_length;
        h2_svc_event_release(ev);
    }
    cr_assert_eq(got, want);
}

/*
 * After this, the peer has read every frame the service queued before the
 * call, and the acknowledgements of every event released before it: a
 * worker turn passes (svc_barrier), then the service's PING, queued after
 * that turn, reaches the peer.
 */
static void sync_peer(rig *g)
{
    h2_svc_event *closed = svc_barrier(g->r.svc, g->r.q, g->id);
    cr_assert_null(closed, "closed: reason %d", closed != NULL ? closed->reason : 0);
    static const uint8_t opaque[8] = {'f', 'l', 'o', 'w', 0, 0, 0, 1};
    int before = g->s.pings;
    cr_assert_eq(h2_svc_ping(g->r.svc, g->id, opaque, 0), 0);
    int64_t end = now_ms() + 5000;
    while (g->s.pings == before) {
        cr_assert_lt(now_ms(), end, "no PING from the service");
        cr_assert(!g->p.eof);
        peer_pump(&g->p, 10, on_peer, &g->s);
    }
}

static int32_t peer_window(rig *g, uint32_t stream)
{
    int32_t w = 0;
    cr_assert_eq(h2_conn_send_window(g->p.conn, stream, &w), 0);
    return w;
}

/*
 * Automatic mode, after the peer used a whole window (65535) and every DATA
 * event was released: acknowledged event by event, the core sent an update
 * each time half a window had been processed, so at least half of each
 * window is back (what remains is below the threshold).
 */
static void expect_reopened(rig *g)
{
    sync_peer(g);
    cr_assert_gt(g->s.window_updates, 0);
    cr_assert_geq(g->s.window_bytes, 2u * 32767u);
    cr_assert_geq(peer_window(g, 0), 32767);
    cr_assert_geq(peer_window(g, 1), 32767);
}

/* The next COMMAND_FAILED: its command, error and tag. */
static void expect_failed(rig *g, int command, uint32_t stream, int error, uint64_t user)
{
    h2_svc_event *ev = wait_event(g->r.q, H2_SVC_EV_COMMAND_FAILED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, command);
    cr_assert_eq(ev->stream_id, stream);
    cr_assert_eq(ev->error, error, "error %d", ev->error);
    cr_assert_eq(ev->user, user);
    cr_assert_eq(ev->reason, 0);
    h2_svc_event_release(ev);
}

Test(service_flow, manual_release_sends_no_window_update_and_the_peer_stalls)
{
    rig g;
    rig_start(&g, true);
    /* The whole initial window (65535), in frames of at most 16384. */
    cr_assert_eq(peer_send(&g, 1, 65535), 65535u);
    take_data(&g, 65535);
    sync_peer(&g);
    cr_assert_eq(g.s.window_updates, 0, "a released DATA event was acknowledged");
    cr_assert_eq(peer_window(&g, 0), 0);
    cr_assert_eq(peer_window(&g, 1), 0);
    /* Stalled: nothing more can go. */
    cr_assert_eq(peer_send(&g, 1, 1000), 0u);

    /* The application's acknowledgement opens both windows. */
    cr_assert_eq(h2_svc_ack_data(g.r.svc, g.id, 1, 65535), 0);
    sync_peer(&g);
    cr_assert_eq(g.s.window_updates, 2, "connection and stream");
    cr_assert_eq(g.s.window_bytes, 2u * 65535u);
    cr_assert_eq(peer_window(&g, 1), 65535);
    cr_assert_eq(peer_send(&g, 1, 1000), 1000u);
    take_data(&g, 1000);
    rig_free(&g);
}

Test(service_flow, manual_ack_in_parts_follows_the_core_threshold)
{
    rig g;
    rig_start(&g, true);
    cr_assert_eq(peer_send(&g, 1, 40000), 40000u);
    take_data(&g, 40000);
    /* Below half a window: the core waits for more before it updates. */
    cr_assert_eq(h2_svc_ack_data(g.r.svc, g.id, 1, 20000), 0);
    sync_peer(&g);
    cr_assert_eq(g.s.window_updates, 0);
    cr_assert_eq(peer_window(&g, 0), 65535 - 40000);
    /* 40000 processed in all: past half, so both windows reopen by it. */
    cr_assert_eq(h2_svc_ack_data(g.r.svc, g.id, 1, 20000), 0);
    sync_peer(&g);
    cr_assert_eq(g.s.window_updates, 2);
    cr_assert_eq(g.s.window_bytes, 2u * 40000u);
    cr_assert_eq(peer_window(&g, 1), 65535);
    rig_free(&g);
}

Test(service_flow, automatic_mode_reopens_the_windows_on_release)
{
    rig g;
    rig_start(&g, false);
    cr_assert_eq(peer_send(&g, 1, 65535), 65535u);
    take_data(&g, 65535);
    expect_reopened(&g);
    cr_assert_eq(peer_send(&g, 1, 1000), 1000u);
    take_data(&g, 1000);
    rig_free(&g);
}

Test(service_flow, increment_window_opens_beyond_the_initial_size)
{
    rig g;
    rig_start(&g, true);
    cr_assert_eq(peer_send(&g, 1, 65535), 65535u);
    take_data(&g, 65535);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0, 100000, 1), 0);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 1, 100000, 2), 0);
    sync_peer(&g);
    cr_assert_eq(g.s.window_updates, 2);
    cr_assert_eq(g.s.window_bytes, 200000u);
    cr_assert_eq(peer_window(&g, 0), 100000);
    cr_assert_eq(peer_window(&g, 1), 100000);
    cr_assert_eq(peer_send(&g, 1, 100000), 100000u);
    take_data(&g, 100000);
    sync_peer(&g);
    /* Released again without acknowledging: stalled once more. */
    cr_assert_eq(g.s.window_updates, 2);
    cr_assert_eq(peer_send(&g, 1, 1), 0u);
    rig_free(&g);
}

Test(service_flow, acking_more_than_received_never_passes_the_window_size)
{
    rig g;
    rig_start(&g, true);
    cr_assert_eq(peer_send(&g, 1, 1000), 1000u);
    take_data(&g, 1000);
    /* The core does not count what arrived, so it does not refuse: it
     * gives back what was used and never grows a window past its size. */
    cr_assert_eq(h2_svc_ack_data(g.r.svc, g.id, 1, 1000000), 0);
    sync_peer(&g);
    cr_assert_eq(g.s.window_bytes, 2000u);
    cr_assert_eq(peer_window(&g, 0), 65535);
    cr_assert_eq(peer_window(&g, 1), 65535);
    cr_assert_eq(peer_send(&g, 1, 70000), 65535u);
    take_data(&g, 65535);
    rig_free(&g);
}

Test(service_flow, refusals_come_back_as_command_failed)
{
    rig g;
    rig_start(&g, true);
    /* A stream that was never opened. */
    cr_assert_eq(h2_svc_ack_data(g.r.svc, g.id, 3, 10), 0);
    expect_failed(&g, H2_SVC_CMD_ACK_DATA, 3, H2_ENOSTREAM, 0);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 5, 10, 7), 0);
    expect_failed(&g, H2_SVC_CMD_INCREMENT_WINDOW, 5, H2_ENOSTREAM, 7);
    /* Past 2^31-1: the connection window holds 65535 already. */
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0, 0x7fffffffu, 8), 0);
    expect_failed(&g, H2_SVC_CMD_INCREMENT_WINDOW, 0, H2_EFLOW_CONTROL, 8);
    /* Bad arguments are refused at the call. */
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 1, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 1, 0x80000000u, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0x80000000u, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_increment_window(NULL, g.id, 1, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_ack_data(g.r.svc, g.id, 0, 1), H2_EINVAL);
    /* Nothing reached the peer, and the connection is fine. */
    sync_peer(&g);
    cr_assert_eq(g.s.window_updates, 0);
    rig_free(&g);
}

Test(service_flow, manual_release_still_frees_the_request_slot)
{
    rig g;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.manual_flow_control = true;
    sc.conn.max_active_requests = 1;
    rig_start_cfg(&g, &sc);
    cr_assert_eq(peer_send(&g, 1, 500), 500u);
    take_data(&g, 500);
    /* The peer cancels stream 1; its slot stays taken until the
     * application releases the STREAM_RESET event. */
    cr_assert_eq(h2_conn_reset_stream(g.p.conn, 1, H2_CANCEL), 0);
    peer_flush(&g.p);
    h2_svc_event *reset = wait_event(g.r.q, H2_SVC_EV_STREAM_RESET, 5000);
    cr_assert_not_null(reset);
    cr_assert(reset->remote);
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 3, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&g.p);
    sync_peer(&g);
    cr_assert_neq(g.s.refused & (1u << 3), 0u, "a second request while the slot is taken");
    h2_svc_event_release(reset);
    sync_peer(&g);
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 5, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&g.p);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev, "the released reset did not free the slot");
    cr_assert_eq(ev->stream_id, 5u);
    h2_svc_event_release(ev);
    sync_peer(&g);
    cr_assert_eq(g.s.refused & (1u << 5), 0u);
    rig_free(&g);
}

Test(service_flow, a_configuration_from_before_the_field_is_automatic)
{
    /* An older program's layout ends before |manual_flow_control|: the
     * bytes past it (poisoned here) are not read. */
    union {
        h2_svc_conn_config cfg;
        unsigned char raw[sizeof(h2_svc_conn_config)];
    } u;
    memset(u.raw, 0xff, sizeof u.raw);
    h2_svc_conn_config_init_size(&u.cfg, offsetof(h2_svc_conn_config, manual_flow_control),
                                 sizeof(u.cfg.conn), H2_ROLE_SERVER);
    cr_assert_eq(u.raw[offsetof(h2_svc_conn_config, manual_flow_control)], 0xff);
    rig g;
    rig_start_cfg(&g, &u.cfg);
    cr_assert_eq(peer_send(&g, 1, 65535), 65535u);
    take_data(&g, 65535);
    expect_reopened(&g);
    rig_free(&g);
}
