/*
 * Service: held response DATA goes out in RFC 9218 priority order. The
 * test drives a client (an h2_conn over a socket) whose connection window
 * (64 KiB, acknowledged as it reads) is the bottleneck, while its stream
 * windows are large: the server's responses of 1 MiB are held and share
 * the connection window by priority. Priorities come from the requests'
 * "priority" header fields, from PRIORITY_UPDATE frames (also one sent
 * before its request) and from the application (h2_svc_set_priority()).
 */
#include "test_service_util.h"

#include "h2/priority.h"

#define BODY (1u << 20)
#define MAX_STREAMS 4
#define MAX_FRAMES 2048

static uint8_t body[BODY];

static void release_nothing(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    (void)data;
    (void)len;
}

/* One DATA frame as the client saw it. */
typedef struct frame {
    uint32_t stream;
    bool end;
} frame;

typedef struct rig {
    svc_rig r;
    h2_svc_conn_id id;
    peer p;
    frame log[MAX_FRAMES];
    size_t n_log;
    uint32_t streams[MAX_STREAMS]; /* the client's requests, in the order opened */
    size_t received[MAX_STREAMS];  /* DATA bytes per request */
    int end_at[MAX_STREAMS];       /* index in |log| of the frame with END_STREAM, or -1 */
    size_t n_streams;
} rig;

static int slot_of(rig *g, uint32_t stream)
{
    for (size_t i = 0; i < g->n_streams; i++)
        if (g->streams[i] == stream)
            return (int)i;
    return -1;
}

/* The client logs DATA frames and acknowledges them at once. */
static void on_client(void *arg, const h2_event *ev)
{
    rig *g = arg;
    if (ev->type != H2_EV_DATA_RECEIVED)
        return;
    int k = slot_of(g, ev->stream_id);
    cr_assert_geq(k, 0, "DATA on stream %u", ev->stream_id);
    bool end = ev->u.data.stream_ended >= 0;
    if (ev->u.data.len > 0 || end) {
        cr_assert_lt(g->n_log, (size_t)MAX_FRAMES);
        if (end)
            g->end_at[k] = (int)g->n_log;
        g->log[g->n_log++] = (frame){ev->stream_id, end};
    }
    g->received[k] += ev->u.data.len;
    if (ev->u.data.flow_controlled_length > 0)
        cr_assert_eq(
            h2_conn_ack_data(g->p.conn, ev->stream_id, ev->u.data.flow_controlled_length), 0);
}

/* A server service connection and its client; nothing opened yet. */
static void rig_start(rig *g)
{
    memset(g, 0, sizeof *g);
    for (int i = 0; i < MAX_STREAMS; i++)
        g->end_at[i] = -1;
    svc_rig_start(&g->r, 256);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    g->id = svc_rig_attach(&g->r, &sc);
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 16u << 20; /* streams never wait for their own window */
    pc.connection_window_size = 65535;  /* the shared bottleneck */
    peer_init_cfg(&g->p, g->r.peer_fd, &pc);
    cr_assert_eq(h2_conn_initiate(g->p.conn), 0);
    peer_flush(&g->p);
}

static void rig_free(rig *g)
{
    svc_rig_free(&g->r);
    peer_free(&g->p);
}

/* The client sends a GET with |priority| as its "priority" field (NULL: none). */
static uint32_t request(rig *g, const char *priority)
{
    h2_header f[5] = {get_fields[0], get_fields[1], get_fields[2], get_fields[3]};
    size_t n = 4;
    if (priority != NULL)
        f[n++] = (h2_header){(const uint8_t *)"priority", 8, (const uint8_t *)priority,
                             strlen(priority), 0};
    int64_t id = h2_conn_next_stream_id(g->p.conn);
    cr_assert_gt(id, 0);
    cr_assert_eq(h2_conn_send_headers(g->p.conn, (uint32_t)id, f, n, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&g->p);
    cr_assert_lt(g->n_streams, (size_t)MAX_STREAMS);
    g->streams[g->n_streams++] = (uint32_t)id;
    return (uint32_t)id;
}

/* The server application sees |n| requests arrive. */
static void await_requests(rig *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h2_svc_event *ev = wait_event(g->r.q, H2_EV_REQUEST_RECEIVED, 5000);
        cr_assert_not_null(ev, "request %zu never arrived", i);
        h2_svc_event_release(ev);
    }
}

/* The server application answers |stream| with 200 and 1 MiB. */
static void respond(rig *g, uint32_t stream)
{
    cr_assert_eq(h2_svc_submit_headers(g->r.svc, g->id, stream, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data_ref(g->r.svc, g->id, stream, body, BODY, H2_SEND_END_STREAM,
                                          0, release_nothing, NULL),
                 0);
}

/* The client reads until |pred| holds (true) or 10 s passed (false). */
static bool until(rig *g, bool (*pred)(const rig *g, const void *arg), const void *arg)
{
    int64_t end = now_ms() + 10000;
    while (!pred(g, arg)) {
        if (now_ms() >= end || g->p.eof)
            return false;
        peer_pump(&g->p, 10, on_client, g);
    }
    return true;
}

static bool all_ended(const rig *g, const void *arg)
{
    (void)arg;
    for (size_t i = 0; i < g->n_streams; i++)
        if (g->end_at[i] < 0)
            return false;
    return true;
}

/* |*arg| = {slot, bytes}: that request received at least that many bytes. */
static bool received_at_least(const rig *g, const void *arg)
{
    const size_t *want = arg;
    return g->received[want[0]] >= want[1];
}

/* DATA frames of request |k| logged before index |before|. */
static size_t frames_before(const rig *g, size_t k, size_t before)
{
    size_t n = 0;
    for (size_t i = 0; i < before && i < g->n_log; i++)
        if (g->log[i].stream == g->streams[k])
            n++;
    return n;
}

static void finish(rig *g)
{
    cr_assert(until(g, all_ended, NULL), "not every response ended");
    for (size_t i = 0; i < g->n_streams; i++)
        cr_assert_eq(g->received[i], (size_t)BODY, "response %zu: %zu bytes", i, g->received[i]);
}

Test(service_priority, lower_urgency_value_ends_first)
{
    rig g;
    rig_start(&g);
    request(&g, "u=5");
    request(&g, "u=1");
    await_requests(&g, 2);
    respond(&g, g.streams[0]);
    respond(&g, g.streams[1]);
    finish(&g);
    cr_assert_lt(g.end_at[1], g.end_at[0], "the u=1 response ended after the u=5 one");
    rig_free(&g);
}

Test(service_priority, incremental_siblings_interleave)
{
    rig g;
    rig_start(&g);
    request(&g, "u=3, i");
    request(&g, "u=3, i");
    request(&g, "u=6");
    await_requests(&g, 3);
    respond(&g, g.streams[0]);
    respond(&g, g.streams[1]);
    respond(&g, g.streams[2]);
    finish(&g);
    size_t first_end = (size_t)(g.end_at[0] < g.end_at[1] ? g.end_at[0] : g.end_at[1]);
    size_t last_end = (size_t)(g.end_at[0] > g.end_at[1] ? g.end_at[0] : g.end_at[1]);
    /* Before either incremental response ended, most of the other's frames went out. */
    size_t a = frames_before(&g, 0, first_end);
    size_t b = frames_before(&g, 1, first_end);
    cr_assert_gt(a, 32u, "incremental responses did not interleave (%zu / %zu)", a, b);
    cr_assert_gt(b, 32u, "incremental responses did not interleave (%zu / %zu)", a, b);
    /* Switches between the two: one frame each in turn. */
    size_t switches = 0;
    uint32_t last = 0;
    for (size_t i = 0; i < first_end; i++) {
        uint32_t s = g.log[i].stream;
        if (s != g.streams[0] && s != g.streams[1])
            continue;
        if (last != 0 && s != last)
            switches++;
        last = s;
    }
    cr_assert_gt(switches, 40u, "only %zu switches", switches);
    /* The u=6 response waited for both. */
    cr_assert_eq(frames_before(&g, 2, last_end), 0u, "the u=6 response went out in between");
    rig_free(&g);
}

Test(service_priority, non_incremental_siblings_go_one_after_the_other)
{
    rig g;
    rig_start(&g);
    request(&g, NULL); /* the default: u=3, not incremental */
    request(&g, "u=3");
    await_requests(&g, 2);
    respond(&g, g.streams[0]);
    respond(&g, g.streams[1]);
    finish(&g);
    cr_assert_eq(frames_before(&g, 1, (size_t)g.end_at[0]), 0u,
                 "the second response sent DATA before the first ended");
    rig_free(&g);
}

/* Two default responses; once the client received 256 KiB of the first,
 * |change| raises the second to u=0: it then ends first. */
static void reprioritise_mid_transfer(void (*change)(rig *g, uint32_t stream))
{
    rig g;
    rig_start(&g);
    request(&g, NULL);
    request(&g, NULL);
    await_requests(&g, 2);
    respond(&g, g.streams[0]);
    respond(&g, g.streams[1]);
    size_t want[2] = {0, 256u << 10};
    cr_assert(until(&g, received_at_least, want));
    cr_assert_eq(g.received[1], 0u, "the second response began before the first ended");
    change(&g, g.streams[1]);
    finish(&g);
    cr_assert_lt(g.end_at[1], g.end_at[0], "the raised response did not overtake");
    rig_free(&g);
}

static void by_priority_update(rig *g, uint32_t stream)
{
    cr_assert_eq(h2_conn_send_priority_update(g->p.conn, stream, (const uint8_t *)"u=0", 3), 0);
    peer_flush(&g->p);
}

static void by_application(rig *g, uint32_t stream)
{
    h2_priority p = {.urgency = 0, .incremental = false};
    cr_assert_eq(h2_svc_set_priority(g->r.svc, g->id, stream, &p, 0), 0);
}

Test(service_priority, priority_update_mid_transfer_changes_the_order)
{
    reprioritise_mid_transfer(by_priority_update);
}

Test(service_priority, set_priority_mid_transfer_changes_the_order)
{
    reprioritise_mid_transfer(by_application);
}

/* A PRIORITY_UPDATE sent before its request overrides the request's field
 * (RFC 9218 section 7: the most recent frame wins over any other signal). */
Test(service_priority, priority_update_before_the_request_wins)
{
    rig g;
    rig_start(&g);
    uint32_t first = (uint32_t)h2_conn_next_stream_id(g.p.conn);
    cr_assert_eq(h2_conn_send_priority_update(g.p.conn, first, (const uint8_t *)"u=6", 3), 0);
    cr_assert_eq(request(&g, "u=0"), first);
    request(&g, NULL);
    await_requests(&g, 2);
    respond(&g, g.streams[0]);
    respond(&g, g.streams[1]);
    finish(&g);
    cr_assert_lt(g.end_at[1], g.end_at[0], "the request's field beat the earlier PRIORITY_UPDATE");
    rig_free(&g);
}

/* set_priority checks its arguments at the call. */
Test(service_priority, set_priority_arguments)
{
    rig g;
    rig_start(&g);
    h2_priority p = {.urgency = 1, .incremental = true};
    cr_assert_eq(h2_svc_set_priority(NULL, g.id, 1, &p, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_set_priority(g.r.svc, g.id, 0, &p, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_set_priority(g.r.svc, g.id, 1, NULL, 0), H2_EINVAL);
    p.urgency = 8;
    cr_assert_eq(h2_svc_set_priority(g.r.svc, g.id, 1, &p, 0), H2_EINVAL);
    /* A stream that does not exist yet: taken, remembered for when it does. */
    p.urgency = 1;
    cr_assert_eq(h2_svc_set_priority(g.r.svc, g.id, 99, &p, 7), 0);
    cr_assert_null(svc_barrier(g.r.svc, g.r.q, g.id));
    rig_free(&g);
}
