/*
 * Service: the frame options (priority on HEADERS, padded DATA, GOAWAY with
 * a chosen last stream id and debug data, ALTSVC, WINDOW_UPDATE), the
 * frames passed on as events (ALTSVC, RFC 7540 priority, extension frames,
 * the separate end of a stream) and the client side of an h2c upgrade.
 * Each test runs one service connection against a core peer over a socket
 * pair: what the service sends is checked in the peer's events, what the
 * peer sends in the service's.
 */
#include "test_service_util.h"

#define WAIT_MS 10000

/* A service connection of |role| and its core peer, which sent its preface. */
typedef struct frig {
    svc_rig r;
    h2_svc_conn_id id;
    peer p;
} frig;

static void frig_start_cfg(frig *g, h2_role role, h2_svc_conn_config *sc,
                           const h2_conn_config *peer_cfg)
{
    memset(g, 0, sizeof *g);
    svc_rig_start(&g->r, 256);
    g->id = svc_rig_attach(&g->r, sc);
    if (peer_cfg != NULL) {
        peer_init_cfg(&g->p, g->r.peer_fd, peer_cfg);
    } else {
        peer_init(&g->p, g->r.peer_fd,
                  role == H2_ROLE_SERVER ? H2_ROLE_CLIENT : H2_ROLE_SERVER);
    }
    cr_assert_eq(h2_conn_initiate(g->p.conn), 0);
    peer_flush(&g->p);
    h2_svc_event *ev = wait_event(g->r.q, H2_SVC_EV_ATTACHED, WAIT_MS);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
}

static void frig_start(frig *g, h2_role role)
{
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, role);
    frig_start_cfg(g, role, &sc, NULL);
}

static void frig_free(frig *g)
{
    peer_free(&g->p);
    svc_rig_free(&g->r);
}

/* Pumps the peer until |*flag| is set. */
static void pump_until(peer *p, const bool *flag, void (*on)(void *, const h2_event *), void *arg)
{
    int64_t end = now_ms() + WAIT_MS;
    while (!*flag) {
        cr_assert_lt(now_ms(), end, "timed out");
        cr_assert(!p->eof, "the service closed the connection");
        peer_pump(p, 50, on, arg);
    }
}

/* The peer (a client) sends a GET on stream |id| and the service takes it. */
static void peer_get(frig *g, uint32_t id, const h2_priority_args *prio)
{
    cr_assert_eq(h2_conn_send_headers(g->p.conn, id, get_fields, 4, H2_SEND_END_STREAM, prio), 0);
    peer_flush(&g->p);
    h2_svc_event *ev = wait_event(g->r.q, H2_SVC_EV_REQUEST_RECEIVED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, id);
    h2_svc_event_release(ev);
}

/* Takes the next event of the service's queue, which must be of |type|. */
static h2_svc_event *expect_event(frig *g, int type)
{
    h2_svc_event *ev = next_event(g->r.q, WAIT_MS);
    cr_assert_not_null(ev, "no event (wanted %d)", type);
    cr_assert_eq((int)ev->type, type, "event %d, wanted %d", (int)ev->type, type);
    return ev;
}

/* ---- what the peer saw ---- */

typedef struct seen {
    int type;                  /* the event type looked for */
    bool got;
    uint32_t stream_id;
    uint8_t a[256], b[256];    /* copies of its byte fields */
    size_t alen, blen;
    h2_event ev;               /* the scalar fields (pointers not valid later) */
} seen;

static void copy_bytes(uint8_t *dst, size_t *dlen, const uint8_t *src, size_t len)
{
    cr_assert_leq(len, (size_t)256);
    if (len > 0)
        memcpy(dst, src, len);
    *dlen = len;
}

static void on_seen(void *arg, const h2_event *ev)
{
    seen *s = arg;
    if (ev->type != s->type || s->got)
        return;
    s->got = true;
    s->stream_id = ev->stream_id;
    s->ev = *ev;
    if (ev->type == H2_EV_ALTERNATIVE_SERVICE_AVAILABLE) {
        copy_bytes(s->a, &s->alen, ev->u.altsvc.field_value, ev->u.altsvc.field_value_len);
        copy_bytes(s->b, &s->blen, ev->u.altsvc.origin, ev->u.altsvc.origin_len);
    } else if (ev->type == H2_EV_CONNECTION_TERMINATED) {
        copy_bytes(s->a, &s->alen, ev->u.terminated.debug, ev->u.terminated.debug_len);
    }
}

/* ---- ALTSVC ---- */

Test(service_frames, altsvc_command_reaches_the_client)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    static const char origin[] = "https://example.org";
    static const char value[] = "h2=\":8443\"; ma=60";
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 0, (const uint8_t *)origin, strlen(origin),
                                    (const uint8_t *)value, strlen(value), 1),
                 0);
    seen s = {.type = H2_EV_ALTERNATIVE_SERVICE_AVAILABLE};
    pump_until(&g.p, &s.got, on_seen, &s);
    cr_assert_eq(s.stream_id, 0u);
    cr_assert_eq(s.blen, strlen(origin));
    cr_assert(memcmp(s.b, origin, s.blen) == 0);
    cr_assert_eq(s.alen, strlen(value));
    cr_assert(memcmp(s.a, value, s.alen) == 0);

    /* On a stream: no origin; the stream's request names it. */
    peer_get(&g, 1, NULL);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 1, NULL, 0, (const uint8_t *)"clear", 5, 2),
                 0);
    seen s1 = {.type = H2_EV_ALTERNATIVE_SERVICE_AVAILABLE};
    pump_until(&g.p, &s1.got, on_seen, &s1);
    cr_assert_eq(s1.stream_id, 1u);
    cr_assert_eq(s1.blen, 0u);
    cr_assert_eq(s1.alen, 5u);

    /* After the response headers the core refuses: COMMAND_FAILED. */
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 1, ok_fields, 1, H2_SEND_END_STREAM, 0), 0);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 1, NULL, 0, (const uint8_t *)"clear", 5, 3),
                 0);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_COMMAND_FAILED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, H2_SVC_CMD_ALTSVC);
    cr_assert_eq(ev->user, 3u);
    cr_assert_neq(ev->error, 0);
    h2_svc_event_release(ev);

    /* Argument shape is checked at the call. */
    const uint8_t *o = (const uint8_t *)origin;
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 0, NULL, 0, o, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 1, o, 3, o, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 0, NULL, 3, o, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 0, o, 3, NULL, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 0, o, 65536, o, 1, 0), H2_EINVAL);
    frig_free(&g);
}

Test(service_frames, altsvc_from_a_client_fails_with_erole)
{
    frig g;
    frig_start(&g, H2_ROLE_CLIENT);
    cr_assert_eq(h2_svc_send_altsvc(g.r.svc, g.id, 0, (const uint8_t *)"https://a.example", 17,
                                    (const uint8_t *)"clear", 5, 9),
                 0);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_COMMAND_FAILED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, H2_SVC_CMD_ALTSVC);
    cr_assert_eq(ev->error, H2_EROLE);
    cr_assert_eq(ev->user, 9u);
    h2_svc_event_release(ev);
    frig_free(&g);
}

Test(service_frames, altsvc_event_reaches_the_application)
{
    frig g;
    frig_start(&g, H2_ROLE_CLIENT);
    static const char origin[] = "https://example.org";
    static const char value[] = "h3=\":443\"";
    cr_assert_eq(h2_conn_advertise_alternative_service(g.p.conn, 0, (const uint8_t *)origin,
                                                       strlen(origin), (const uint8_t *)value,
                                                       strlen(value)),
                 0);
    peer_flush(&g.p);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_ALTERNATIVE_SERVICE_AVAILABLE, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 0u);
    cr_assert_eq(ev->origin_len, strlen(origin));
    cr_assert(memcmp(ev->origin, origin, ev->origin_len) == 0);
    cr_assert_eq(ev->len, strlen(value));
    cr_assert(memcmp(ev->data, value, ev->len) == 0);
    h2_svc_event_release(ev);
    frig_free(&g);
}

/* ---- extension frames ---- */

Test(service_frames, unknown_frame_event_reaches_the_application)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    /* Type 0xfa, flags 0x05, stream 0, payload "hello". */
    static const uint8_t frame[] = {0, 0, 5, 0xfa, 0x05, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    write_all(g.p.fd, frame, sizeof frame);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_UNKNOWN_FRAME_RECEIVED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 0u);
    cr_assert_eq(ev->frame_type, 0xfa);
    cr_assert_eq(ev->frame_flags, 0x05);
    cr_assert_eq(ev->len, 5u);
    cr_assert(memcmp(ev->data, "hello", 5) == 0);
    h2_svc_event_release(ev);
    frig_free(&g);
}

/* ---- RFC 7540 priority ---- */

Test(service_frames, priority_updated_event_reaches_the_application)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    /* A PRIORITY frame for a stream not opened yet. */
    h2_priority_args pa = {.weight = 200, .depends_on = 1, .exclusive = true};
    cr_assert_eq(h2_conn_prioritize(g.p.conn, 3, &pa), 0);
    peer_flush(&g.p);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_PRIORITY_UPDATED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 3u);
    cr_assert_eq(ev->depends_on, 1u);
    cr_assert_eq(ev->weight, 200);
    cr_assert(ev->exclusive);
    h2_svc_event_release(ev);

    /* Priority on a request's HEADERS: the event follows the request. */
    h2_priority_args hp = {.weight = 7, .depends_on = 0, .exclusive = false};
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 5, get_fields, 4, H2_SEND_END_STREAM, &hp), 0);
    peer_flush(&g.p);
    ev = expect_event(&g, H2_SVC_EV_REQUEST_RECEIVED);
    cr_assert_eq(ev->stream_id, 5u);
    h2_svc_event_release(ev);
    ev = expect_event(&g, H2_SVC_EV_PRIORITY_UPDATED);
    cr_assert_eq(ev->stream_id, 5u);
    cr_assert_eq(ev->weight, 7);
    cr_assert_eq(ev->depends_on, 0u);
    cr_assert(!ev->exclusive);
    h2_svc_event_release(ev);

    /* A server cannot put priority on its HEADERS. */
    cr_assert_eq(h2_svc_submit_headers_prio(g.r.svc, g.id, 5, ok_fields, 1, H2_SEND_END_STREAM,
                                            &hp, 4),
                 0);
    ev = wait_event(g.r.q, H2_SVC_EV_COMMAND_FAILED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, H2_SVC_CMD_HEADERS);
    cr_assert_eq(ev->error, H2_EROLE);
    h2_svc_event_release(ev);
    frig_free(&g);
}

Test(service_frames, headers_carry_priority_to_the_peer)
{
    frig g;
    frig_start(&g, H2_ROLE_CLIENT);
    h2_priority_args pa = {.weight = 42, .depends_on = 0, .exclusive = true};
    cr_assert_eq(h2_svc_submit_headers_prio(g.r.svc, g.id, 0, get_fields, 4, H2_SEND_END_STREAM,
                                            &pa, 77),
                 0);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_STREAM_OPENED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 1u);
    cr_assert_eq(ev->user, 77u);
    h2_svc_event_release(ev);

    seen s = {.type = H2_EV_PRIORITY_UPDATED};
    pump_until(&g.p, &s.got, on_seen, &s);
    cr_assert_eq(s.stream_id, 1u);
    cr_assert_eq(s.ev.u.priority.weight, 42);
    cr_assert_eq(s.ev.u.priority.depends_on, 0u);
    cr_assert(s.ev.u.priority.exclusive);

    /* NULL: no priority, as h2_svc_submit_headers(). */
    cr_assert_eq(h2_svc_submit_headers_prio(g.r.svc, g.id, 0, get_fields, 4, H2_SEND_END_STREAM,
                                            NULL, 78),
                 0);
    seen r = {.type = H2_EV_REQUEST_RECEIVED};
    pump_until(&g.p, &r.got, on_seen, &r);
    cr_assert_eq(r.stream_id, 3u);
    cr_assert_eq(r.ev.u.headers.priority_updated, -1);

    h2_priority_args bad = {.weight = 257};
    cr_assert_eq(h2_svc_submit_headers_prio(g.r.svc, g.id, 0, get_fields, 4, 0, &bad, 0),
                 H2_EINVAL);
    bad = (h2_priority_args){.depends_on = 0x80000000u};
    cr_assert_eq(h2_svc_submit_headers_prio(g.r.svc, g.id, 0, get_fields, 4, 0, &bad, 0),
                 H2_EINVAL);
    frig_free(&g);
}

/* ---- padded DATA ---- */

typedef struct padded {
    size_t pad;     /* the padding each frame with data must carry */
    size_t largest; /* the largest frame payload seen (data and padding) */
    size_t frames, bytes, flow;
    bool bad_frame, ended, terminated;
    uint64_t sum;
} padded;

static peer *padded_peer;

static void on_padded(void *arg, const h2_event *ev)
{
    padded *d = arg;
    if (ev->type == H2_EV_CONNECTION_TERMINATED)
        d->terminated = true;
    if (ev->type != H2_EV_DATA_RECEIVED)
        return;
    if (ev->u.data.len > 0) {
        d->frames++;
        if (ev->u.data.flow_controlled_length != ev->u.data.len + d->pad + 1)
            d->bad_frame = true;
        if (ev->u.data.flow_controlled_length > d->largest)
            d->largest = ev->u.data.flow_controlled_length;
    }
    d->bytes += ev->u.data.len;
    d->flow += ev->u.data.flow_controlled_length;
    d->sum = fnv(d->sum, ev->u.data.data, ev->u.data.len);
    d->ended = ev->u.data.stream_ended >= 0;
    if (ev->u.data.flow_controlled_length > 0)
        cr_assert_eq(h2_conn_ack_data(padded_peer->conn, ev->stream_id,
                                      ev->u.data.flow_controlled_length),
                     0);
}

Test(service_frames, padded_data_respects_the_windows)
{
    /* Stream windows of 1000 bytes: with 200 bytes of padding a frame
     * carries at most 799 bytes of data. */
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 1000;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    frig g;
    frig_start_cfg(&g, H2_ROLE_SERVER, &sc, &pc);
    padded_peer = &g.p;
    peer_get(&g, 1, NULL);

    enum { N = 20000 };
    uint8_t *body = make_body(N, 7);
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data_padded(g.r.svc, g.id, 1, body, N, H2_SEND_END_STREAM, 200, 5),
                 0);
    padded d = {.sum = FNV0, .pad = 200};
    pump_until(&g.p, &d.ended, on_padded, &d);
    cr_assert(!d.terminated);
    cr_assert(!d.bad_frame, "a frame without its padding");
    cr_assert_eq(d.bytes, (size_t)N);
    cr_assert_eq(d.sum, fnv(FNV0, body, N));
    cr_assert_geq(d.frames, (size_t)(N / 799 + 1));
    cr_assert_eq(d.flow, (size_t)N + d.frames * 201u);
    free(body);

    cr_assert_eq(h2_svc_send_data_padded(g.r.svc, g.id, 0, NULL, 0, 0, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data_padded(g.r.svc, g.id, 1, NULL, 3, 0, 1, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data_padded(g.r.svc, g.id, 1, NULL, 0, 8, 1, 0), H2_EINVAL);
    frig_free(&g);
}

Test(service_frames, padded_data_fits_the_frame_size)
{
    /* Windows far larger than a frame: MAX_FRAME_SIZE (16384) is the
     * limit, and a frame with 255 bytes of padding carries at most 16128
     * bytes of data. */
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 1u << 20;
    pc.connection_window_size = 1u << 20;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    frig g;
    frig_start_cfg(&g, H2_ROLE_SERVER, &sc, &pc);
    padded_peer = &g.p;
    peer_get(&g, 1, NULL);

    enum { N = 100000 };
    uint8_t *body = make_body(N, 9);
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data_padded(g.r.svc, g.id, 1, body, N, H2_SEND_END_STREAM, 255, 5),
                 0);
    padded d = {.sum = FNV0, .pad = 255};
    pump_until(&g.p, &d.ended, on_padded, &d);
    cr_assert(!d.terminated);
    cr_assert(!d.bad_frame, "a frame without its padding");
    cr_assert_eq(d.bytes, (size_t)N);
    cr_assert_eq(d.sum, fnv(FNV0, body, N));
    cr_assert_eq(d.largest, (size_t)16384);
    cr_assert_eq(d.frames, (size_t)(N / 16128 + 1));
    free(body);
    frig_free(&g);
}

/* ---- GOAWAY with debug data and a last stream id ---- */

Test(service_frames, close_with_sends_debug_data_and_last_id)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    peer_get(&g, 1, NULL);
    peer_get(&g, 3, NULL);
    static const char debug[] = "maintenance";
    cr_assert_eq(h2_svc_close_with(g.r.svc, g.id, H2_ENHANCE_YOUR_CALM, 1,
                                   (const uint8_t *)debug, strlen(debug), 0),
                 0);
    seen s = {.type = H2_EV_CONNECTION_TERMINATED};
    pump_until(&g.p, &s.got, on_seen, &s);
    cr_assert_eq(s.ev.u.terminated.error_code, (uint32_t)H2_ENHANCE_YOUR_CALM);
    cr_assert_eq(s.ev.u.terminated.last_stream_id, 1u);
    cr_assert_eq(s.alen, strlen(debug));
    cr_assert(memcmp(s.a, debug, s.alen) == 0);

    cr_assert_eq(h2_svc_close_with(g.r.svc, g.id, 0, -2, NULL, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_close_with(g.r.svc, g.id, 0, 0x80000000, NULL, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_close_with(g.r.svc, g.id, 0, -1, NULL, 4, 0), H2_EINVAL);
    frig_free(&g);
}

Test(service_frames, close_with_defaults_to_the_highest_peer_stream)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    peer_get(&g, 1, NULL);
    peer_get(&g, 5, NULL);
    cr_assert_eq(h2_svc_close_with(g.r.svc, g.id, H2_NO_ERROR, -1, NULL, 0, 0), 0);
    seen s = {.type = H2_EV_CONNECTION_TERMINATED};
    pump_until(&g.p, &s.got, on_seen, &s);
    cr_assert_eq(s.ev.u.terminated.error_code, (uint32_t)H2_NO_ERROR);
    cr_assert_eq(s.ev.u.terminated.last_stream_id, 5u);
    cr_assert_eq(s.alen, 0u);
    frig_free(&g);
}

/* ---- WINDOW_UPDATE ---- */

Test(service_frames, increment_window_reaches_the_peer)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    int32_t before = 0;
    cr_assert_eq(h2_conn_send_window(g.p.conn, 0, &before), 0);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0, 1000, 0), 0);
    seen s = {.type = H2_EV_WINDOW_UPDATED};
    pump_until(&g.p, &s.got, on_seen, &s);
    cr_assert_eq(s.stream_id, 0u);
    cr_assert_eq(s.ev.u.window_delta, 1000u);
    int32_t after = 0;
    cr_assert_eq(h2_conn_send_window(g.p.conn, 0, &after), 0);
    cr_assert_eq(after, before + 1000);

    /* A stream that was never opened: the core refuses. */
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 9, 10, 6), 0);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_COMMAND_FAILED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, H2_SVC_CMD_INCREMENT_WINDOW);
    cr_assert_eq(ev->user, 6u);
    h2_svc_event_release(ev);

    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0, 0x80000000u, 0), H2_EINVAL);
    frig_free(&g);
}

/* ---- STREAM_ENDED ---- */

Test(service_frames, stream_ended_events_follow_end_stream)
{
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    cr_assert(!sc.stream_ended_events); /* off by default */
    sc.stream_ended_events = true;
    frig g;
    frig_start_cfg(&g, H2_ROLE_SERVER, &sc, NULL);

    /* A request without a body: REQUEST_RECEIVED, then STREAM_ENDED. */
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    /* A request with a body: its last DATA, then STREAM_ENDED. */
    static const h2_header post[] = {HDR(":method", "POST"), HDR(":scheme", "http"),
                                     HDR(":path", "/"), HDR(":authority", "example.org")};
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 3, post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(g.p.conn, 3, (const uint8_t *)"abc", 3, H2_SEND_END_STREAM,
                                   -1),
                 0);
    peer_flush(&g.p);

    h2_svc_event *ev = expect_event(&g, H2_SVC_EV_REQUEST_RECEIVED);
    cr_assert_eq(ev->stream_id, 1u);
    cr_assert(ev->end_stream);
    h2_svc_event_release(ev);
    ev = expect_event(&g, H2_SVC_EV_STREAM_ENDED);
    cr_assert_eq(ev->stream_id, 1u);
    h2_svc_event_release(ev);
    ev = expect_event(&g, H2_SVC_EV_REQUEST_RECEIVED);
    cr_assert_eq(ev->stream_id, 3u);
    cr_assert(!ev->end_stream);
    h2_svc_event_release(ev);
    ev = expect_event(&g, H2_SVC_EV_DATA_RECEIVED);
    cr_assert_eq(ev->stream_id, 3u);
    cr_assert(ev->end_stream);
    h2_svc_event_release(ev);
    ev = expect_event(&g, H2_SVC_EV_STREAM_ENDED);
    cr_assert_eq(ev->stream_id, 3u);
    h2_svc_event_release(ev);
    frig_free(&g);
}

typedef struct count_ended {
    int ended;
    int requests;
} count_ended;

static void on_count(void *arg, h2_svc_event *ev)
{
    count_ended *k = arg;
    if (ev->type == H2_SVC_EV_STREAM_ENDED)
        k->ended++;
    if (ev->type == H2_SVC_EV_REQUEST_RECEIVED)
        k->requests++;
    h2_svc_event_release(ev);
}

Test(service_frames, no_stream_ended_events_by_default)
{
    frig g;
    frig_start(&g, H2_ROLE_SERVER);
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&g.p);
    count_ended k = {0};
    /* The barrier proves the worker read the request. */
    cr_assert_null(svc_barrier_each(g.r.svc, g.r.q, g.id, on_count, &k));
    cr_assert_eq(k.requests, 1);
    cr_assert_eq(k.ended, 0);
    frig_free(&g);
}

/* ---- the client side of an h2c upgrade ---- */

Test(service_frames, client_upgrade_gets_the_response_on_stream_one)
{
    svc_rig r;
    svc_rig_start(&r, 256);
    /* The application sent the HTTP/1.1 request with the HTTP2-Settings
     * value of its settings and read the 101; then it attaches. */
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_CLIENT);
    h2_setting mine[] = {{H2_SETTING_INITIAL_WINDOW_SIZE, sc.conn.initial_window_size}};
    char value[64];
    size_t value_len = 0;
    cr_assert_eq(h2_settings_header_encode(mine, 1, value, sizeof value, &value_len), 0);
    sc.upgrade = true;
    h2_svc_conn_id id = svc_rig_attach(&r, &sc);

    /* The server: a core upgraded with that value; it answers stream 1. */
    peer p;
    peer_init(&p, r.peer_fd, H2_ROLE_SERVER);
    cr_assert_eq(h2_conn_initiate_upgrade_server(p.conn, value, value_len), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, ok_fields, 1, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.conn, 1, (const uint8_t *)"upgraded", 8, H2_SEND_END_STREAM,
                                   -1),
                 0);
    peer_flush(&p);

    h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_RESPONSE_RECEIVED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 1u);
    h2_svc_event_release(ev);
    ev = wait_event(r.q, H2_SVC_EV_DATA_RECEIVED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 1u);
    cr_assert_eq(ev->len, 8u);
    cr_assert(memcmp(ev->data, "upgraded", 8) == 0);
    cr_assert(ev->end_stream);
    h2_svc_event_release(ev);

    /* The next stream the service opens is 3, and the server sees it. */
    cr_assert_eq(h2_svc_submit_headers(r.svc, id, 0, get_fields, 4, H2_SEND_END_STREAM, 11), 0);
    ev = wait_event(r.q, H2_SVC_EV_STREAM_OPENED, WAIT_MS);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 3u);
    h2_svc_event_release(ev);
    seen s = {.type = H2_EV_REQUEST_RECEIVED};
    pump_until(&p, &s.got, on_seen, &s);
    cr_assert_eq(s.stream_id, 3u);

    peer_free(&p);
    svc_rig_free(&r);
}
