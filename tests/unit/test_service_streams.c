/*
 * Streams: a new stream that waits for a concurrency slot blocks nobody.
 * The peer (a server driven by the test) allows one stream at a time; the
 * service's client opens stream 1 with a POST whose body is still open and
 * asks for a second request, which waits for the slot. Commands for stream
 * 1 (its data with END_STREAM, a reset) and connection-level commands
 * (PING) posted after the waiting request reach the wire at once; once
 * stream 1 ends, the waiting request goes out as stream 3.
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
    bool settings_acked; /* the service acknowledged the peer's SETTINGS */
    uint32_t requests;   /* bit per stream id < 32 with a request */
    uint32_t ended;      /* bit per stream id < 32 the service ended */
    uint32_t resets;     /* bit per stream id < 32 the service reset */
    size_t data1;        /* DATA bytes on stream 1 */
    bool ping;
} seen;

static void on_peer(void *arg, const h2_event *ev)
{
    seen *s = arg;
    uint32_t bit = ev->stream_id < 32 ? 1u << ev->stream_id : 0;
    switch (ev->type) {
    case H2_EV_SETTINGS_ACKNOWLEDGED:
        s->settings_acked = true;
        break;
    case H2_EV_REQUEST_RECEIVED:
        s->requests |= bit;
        if (ev->u.headers.stream_ended >= 0)
            s->ended |= bit;
        break;
    case H2_EV_DATA_RECEIVED:
        if (ev->stream_id == 1)
            s->data1 += ev->u.data.len;
        if (ev->u.data.stream_ended >= 0)
            s->ended |= bit;
        break;
    case H2_EV_STREAM_RESET:
        if (ev->u.reset.remote_reset)
            s->resets |= bit;
        break;
    case H2_EV_PING_RECEIVED:
        s->ping = true;
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
} rig;

/* Pumps the peer until |*flag| & |mask| is set (true on success). */
static bool until_bits(rig *g, const uint32_t *flag, uint32_t mask, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while ((*flag & mask) != mask) {
        if (now_ms() >= end || g->p.eof)
            return false;
        peer_pump(&g->p, 10, on_peer, &g->s);
    }
    return true;
}

static bool until_true(rig *g, const bool *flag, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (!*flag) {
        if (now_ms() >= end || g->p.eof)
            return false;
        peer_pump(&g->p, 10, on_peer, &g->s);
    }
    return true;
}

/* Waits for the STREAM_OPENED event tagged |user|; returns its stream id. */
static uint32_t opened(rig *g, uint64_t user)
{
    h2_svc_event *ev = wait_event(g->r.q, H2_SVC_EV_STREAM_OPENED, 5000);
    cr_assert_not_null(ev, "no STREAM_OPENED for %llu", (unsigned long long)user);
    cr_assert_eq(ev->user, user);
    uint32_t id = ev->stream_id;
    h2_svc_event_release(ev);
    return id;
}

/*
 * A client service connection facing a server that allows one stream at
 * a time; stream 1 is open (a POST, body not ended) and a second request
 * (tag 2, GET without body) is posted behind it.
 */
static void rig_start(rig *g)
{
    memset(g, 0, sizeof *g);
    svc_rig_start(&g->r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_CLIENT);
    g->id = svc_rig_attach(&g->r, &sc);
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_SERVER);
    pc.max_concurrent_streams = 1;
    /* A reset request's slot is free at once (no Rapid Reset hold-back):
     * only MAX_CONCURRENT_STREAMS limits the service here. */
    pc.max_active_requests = 8;
    peer_init_cfg(&g->p, g->r.peer_fd, &pc);
    cr_assert_eq(h2_conn_initiate(g->p.conn), 0);
    peer_flush(&g->p);
    /* The service knows the limit before it opens anything. */
    cr_assert(until_true(g, &g->s.settings_acked, 5000));

    cr_assert_eq(h2_svc_submit_headers(g->r.svc, g->id, 0, post_fields, 4, 0, 1), 0);
    cr_assert_eq(opened(g, 1), 1u);
    cr_assert(until_bits(g, &g->s.requests, 1u << 1, 5000));
    /* No slot: this one waits until stream 1 is over. */
    cr_assert_eq(
        h2_svc_submit_headers(g->r.svc, g->id, 0, get_fields, 4, H2_SEND_END_STREAM, 2), 0);
}

static void rig_free(rig *g)
{
    svc_rig_free(&g->r);
    peer_free(&g->p);
}

/* The peer ends stream 1 from its side; the waiting request then goes out as stream 3. */
static void finish_stream1_then_expect_stream3(rig *g)
{
    if ((g->s.resets & (1u << 1)) == 0) {
        cr_assert_eq(h2_conn_send_headers(g->p.conn, 1, ok_fields, 1, H2_SEND_END_STREAM, NULL), 0);
        peer_flush(&g->p);
    }
    cr_assert(until_bits(g, &g->s.requests, 1u << 3, 5000), "the waiting request never started");
    cr_assert_eq(opened(g, 2), 3u);
}

Test(service_streams, data_with_end_stream_passes_a_waiting_request)
{
    rig g;
    rig_start(&g);
    cr_assert_eq(
        h2_svc_send_data(g.r.svc, g.id, 1, (const uint8_t *)"hello", 5, H2_SEND_END_STREAM, 0),
        0);
    cr_assert(until_bits(&g, &g.s.ended, 1u << 1, 3000),
              "stream 1's END_STREAM waits behind the request waiting for a slot");
    cr_assert_eq(g.s.data1, 5u);
    cr_assert_eq(g.s.requests & (1u << 3), 0u, "stream 3 opened beyond the limit");
    finish_stream1_then_expect_stream3(&g);
    rig_free(&g);
}

Test(service_streams, end_stream_command_passes_a_waiting_request)
{
    rig g;
    rig_start(&g);
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, 1, 0), 0);
    cr_assert(until_bits(&g, &g.s.ended, 1u << 1, 3000),
              "stream 1's END_STREAM waits behind the request waiting for a slot");
    finish_stream1_then_expect_stream3(&g);
    rig_free(&g);
}

Test(service_streams, reset_passes_a_waiting_request)
{
    rig g;
    rig_start(&g);
    cr_assert_eq(h2_svc_reset_stream(g.r.svc, g.id, 1, H2_CANCEL, 0), 0);
    cr_assert(until_bits(&g, &g.s.resets, 1u << 1, 3000),
              "stream 1's reset waits behind the request waiting for a slot");
    /* The reset freed the slot: the waiting request goes out. */
    finish_stream1_then_expect_stream3(&g);
    rig_free(&g);
}

Test(service_streams, ping_and_stream_data_pass_a_waiting_request)
{
    rig g;
    rig_start(&g);
    static const uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_eq(h2_svc_ping(g.r.svc, g.id, opaque, 0), 0);
    cr_assert(until_true(&g, &g.s.ping, 3000), "the PING waits behind the waiting request");
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, 1, (const uint8_t *)"abc", 3, 0, 0), 0);
    int64_t end = now_ms() + 3000;
    while (g.s.data1 < 3 && now_ms() < end && !g.p.eof)
        peer_pump(&g.p, 10, on_peer, &g.s);
    cr_assert_eq(g.s.data1, 3u, "stream 1's data waits behind the waiting request");
    h2_svc_event *ev = wait_event(g.r.q, H2_EV_PING_ACK_RECEIVED, 3000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    /* Still one stream at a time; the request waits on. */
    cr_assert_eq(g.s.requests & (1u << 3), 0u);
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, 1, 0), 0);
    cr_assert(until_bits(&g, &g.s.ended, 1u << 1, 3000));
    finish_stream1_then_expect_stream3(&g);
    rig_free(&g);
}

Test(service_streams, waiting_requests_open_in_the_order_posted)
{
    rig g;
    rig_start(&g);
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 0, get_fields, 4, H2_SEND_END_STREAM, 4),
                 0);
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, 1, 0), 0);
    cr_assert(until_bits(&g, &g.s.ended, 1u << 1, 3000));
    finish_stream1_then_expect_stream3(&g);
    /* Stream 3 ends from the peer's side too: the last request goes out as 5. */
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 3, ok_fields, 1, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&g.p);
    cr_assert(until_bits(&g, &g.s.requests, 1u << 5, 5000));
    cr_assert_eq(opened(&g, 4), 5u);
    rig_free(&g);
}
