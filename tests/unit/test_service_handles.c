/*
 * Stream handles: h2_svc_open_stream() returns a handle at once, and the
 * stream's body, end and reset can be posted with it before the stream has
 * an id. The peer is a server (an h2_conn driven by the test thread) that
 * checks every request body against the one posted (its :path names the
 * body), answers each request once its body ended, and records the order
 * in which stream ids arrive.
 */
#include <sched.h>
#include <stdio.h>

#include "test_service_util.h"

#define MAX_STREAMS 512 /* stream ids below 2 * MAX_STREAMS */

static const h2_header post_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/0/0"),
    HDR(":authority", "example.org"),
};

/* What the peer saw. */
typedef struct seen {
    bool settings_acked;
    uint32_t order[MAX_STREAMS]; /* stream ids in REQUEST_RECEIVED order */
    size_t n_requests;
    uint64_t hash[MAX_STREAMS]; /* body checksum per stream index (id / 2) */
    size_t len[MAX_STREAMS];
    uint32_t seed[MAX_STREAMS]; /* from the :path "/<len>/<seed>" */
    size_t want[MAX_STREAMS];
    bool ended[MAX_STREAMS];
    bool reset[MAX_STREAMS];
    uint32_t answer[MAX_STREAMS]; /* ended, not answered yet */
    size_t n_answer;
    size_t n_ended;
    bool out_of_order; /* a request id not above the one before */
    size_t n_trailers;
} seen;

typedef struct rig {
    svc_rig r;
    h2_svc_conn_id id;
    peer p;
    seen s;
    bool answer; /* answer each request once its body ended */
} rig;

static void path_of(const h2_header *f, size_t n, size_t *len, uint32_t *seed)
{
    *len = 0;
    *seed = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len == 5 && memcmp(f[i].name, ":path", 5) == 0) {
            char buf[64];
            size_t k = f[i].value_len < sizeof buf - 1 ? f[i].value_len : sizeof buf - 1;
            memcpy(buf, f[i].value, k);
            buf[k] = '\0';
            unsigned long a = 0, b = 0;
            if (sscanf(buf, "/%lu/%lu", &a, &b) == 2) {
                *len = a;
                *seed = (uint32_t)b;
            }
        }
    }
}

static void stream_ended(seen *s, uint32_t id)
{
    size_t k = id / 2;
    s->ended[k] = true;
    s->n_ended++;
    s->answer[s->n_answer++] = id;
}

static void on_peer(void *arg, const h2_event *ev)
{
    rig *g = arg;
    seen *s = &g->s;
    uint32_t id = ev->stream_id;
    size_t k = id / 2;
    cr_assert(k < MAX_STREAMS);
    switch (ev->type) {
    case H2_EV_SETTINGS_ACKNOWLEDGED:
        s->settings_acked = true;
        break;
    case H2_EV_REQUEST_RECEIVED:
        if (s->n_requests > 0 && id <= s->order[s->n_requests - 1])
            s->out_of_order = true;
        s->order[s->n_requests++] = id;
        s->hash[k] = FNV0;
        path_of(ev->u.headers.fields, ev->u.headers.n, &s->want[k], &s->seed[k]);
        if (ev->u.headers.stream_ended >= 0)
            stream_ended(s, id);
        break;
    case H2_EV_DATA_RECEIVED:
        s->hash[k] = fnv(s->hash[k], ev->u.data.data, ev->u.data.len);
        s->len[k] += ev->u.data.len;
        if (ev->u.data.flow_controlled_length > 0)
            (void)h2_conn_ack_data(g->p.conn, id, ev->u.data.flow_controlled_length);
        if (ev->u.data.stream_ended >= 0)
            stream_ended(s, id);
        break;
    case H2_EV_TRAILERS_RECEIVED:
        s->n_trailers++;
        stream_ended(s, id);
        break;
    case H2_EV_STREAM_RESET:
        s->reset[k] = true;
        break;
    default:
        break;
    }
}

/* Reads once (up to |timeout_ms|), then answers the requests that ended. */
static void pump(rig *g, int timeout_ms)
{
    peer_pump(&g->p, timeout_ms, on_peer, g);
    if (!g->answer)
        return;
    for (size_t i = 0; i < g->s.n_answer; i++)
        cr_assert_eq(
            h2_conn_send_headers(g->p.conn, g->s.answer[i], ok_fields, 1, H2_SEND_END_STREAM, NULL),
            0);
    g->s.n_answer = 0;
    peer_flush(&g->p);
}

static bool until_ended(rig *g, size_t n, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (g->s.n_ended < n) {
        if (now_ms() >= end || g->p.eof)
            return false;
        pump(g, 10);
    }
    return true;
}

/* A client service connection facing the peer, which allows |max_streams|
 * at a time; returns once the service has the peer's SETTINGS. */
static void rig_start(rig *g, uint32_t max_streams)
{
    memset(g, 0, sizeof *g);
    g->answer = true;
    svc_rig_start(&g->r, 1024);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_CLIENT);
    g->id = svc_rig_attach(&g->r, &sc);
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_SERVER);
    pc.max_concurrent_streams = max_streams;
    peer_init_cfg(&g->p, g->r.peer_fd, &pc);
    cr_assert_eq(h2_conn_initiate(g->p.conn), 0);
    peer_flush(&g->p);
    int64_t end = now_ms() + 5000;
    while (!g->s.settings_acked && now_ms() < end && !g->p.eof)
        pump(g, 10);
    cr_assert(g->s.settings_acked);
}

static void rig_free(rig *g)
{
    svc_rig_free(&g->r);
    peer_free(&g->p);
}

/* Request fields whose :path names the body: "/<len>/<seed>" in |buf|. */
static void request_fields(h2_header f[4], char *buf, size_t cap, size_t len, uint32_t seed)
{
    int k = snprintf(buf, cap, "/%zu/%u", len, seed);
    cr_assert(k > 0 && (size_t)k < cap);
    static const h2_header base[4] = {
        HDR(":method", "POST"),
        HDR(":scheme", "http"),
        HDR(":path", "/"),
        HDR(":authority", "example.org"),
    };
    memcpy(f, base, sizeof base);
    f[2].value = (const uint8_t *)buf;
    f[2].value_len = (size_t)k;
}

/* Opens a POST with a handle and posts its body (END_STREAM on the last
 * chunk, or through h2_svc_end_stream() when |end_apart|); retries while
 * the service says H2_EAGAIN. Returns the handle. */
static uint32_t post_request(h2_svc *svc, h2_svc_conn_id conn, size_t len, uint32_t seed,
                             uint64_t user, bool end_apart)
{
    char path[48];
    h2_header f[4];
    request_fields(f, path, sizeof path, len, seed);
    uint32_t h = 0;
    int rv;
    while ((rv = h2_svc_open_stream(svc, conn, f, 4, 0, user, &h)) == H2_EAGAIN)
        sched_yield();
    cr_assert_eq(rv, 0, "open_stream: %d", rv);
    cr_assert_neq(h & H2_SVC_STREAM_HANDLE, 0u);
    uint8_t *body = make_body(len, seed);
    size_t half = len / 2;
    while ((rv = h2_svc_send_data(svc, conn, h, body, half, 0, user)) == H2_EAGAIN)
        sched_yield();
    cr_assert_eq(rv, 0);
    uint32_t fl = end_apart ? 0 : H2_SEND_END_STREAM;
    while ((rv = h2_svc_send_data(svc, conn, h, body + half, len - half, fl, user)) == H2_EAGAIN)
        sched_yield();
    cr_assert_eq(rv, 0);
    if (end_apart) {
        while ((rv = h2_svc_end_stream(svc, conn, h, user)) == H2_EAGAIN)
            sched_yield();
        cr_assert_eq(rv, 0);
    }
    free(body);
    return h;
}

/* Every request the peer saw carried the body its :path names. */
static void check_bodies(rig *g)
{
    for (size_t i = 0; i < g->s.n_requests; i++) {
        size_t k = g->s.order[i] / 2;
        cr_assert(g->s.ended[k], "stream %u never ended", g->s.order[i]);
        cr_assert_eq(g->s.len[k], g->s.want[k], "stream %u: %zu of %zu bytes", g->s.order[i],
                     g->s.len[k], g->s.want[k]);
        uint8_t *body = make_body(g->s.want[k], g->s.seed[k]);
        cr_assert_eq(g->s.hash[k], fnv(FNV0, body, g->s.want[k]), "stream %u: body differs",
                     g->s.order[i]);
        free(body);
    }
}

/* Takes the next event but ATTACHED (5 s at most), which must be of |type|. */
static h2_svc_event *expect(rig *g, int type)
{
    h2_svc_event *ev = next_event(g->r.q, 5000);
    while (ev != NULL && ev->type == H2_SVC_EV_ATTACHED) {
        h2_svc_event_release(ev);
        ev = next_event(g->r.q, 5000);
    }
    cr_assert_not_null(ev, "no event (want %d)", type);
    cr_assert_eq((int)ev->type, type, "event %d, want %d (error %d)", (int)ev->type, type,
                 ev->error);
    return ev;
}

Test(service_handles, request_and_body_posted_in_one_go)
{
    rig g;
    rig_start(&g, 100);
    uint32_t h1 = post_request(g.r.svc, g.id, 3000, 7, 1, false);
    uint32_t h2 = post_request(g.r.svc, g.id, 20000, 8, 2, true);
    cr_assert_neq(h1, h2);
    cr_assert(until_ended(&g, 2, 5000), "the bodies posted by handle never ended");
    cr_assert_eq(g.s.n_requests, 2u);
    cr_assert_eq(g.s.order[0], 1u);
    cr_assert_eq(g.s.order[1], 3u);
    check_bodies(&g);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_STREAM_OPENED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 1u);
    cr_assert_eq(ev->stream_handle, h1);
    cr_assert_eq(ev->user, 1u);
    h2_svc_event_release(ev);
    ev = wait_event(g.r.q, H2_SVC_EV_STREAM_OPENED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 3u);
    cr_assert_eq(ev->stream_handle, h2);
    h2_svc_event_release(ev);
    rig_free(&g);
}

Test(service_handles, waiting_streams_take_their_bodies_along)
{
    rig g;
    rig_start(&g, 1);
    uint32_t h[3];
    for (uint32_t i = 0; i < 3; i++)
        h[i] = post_request(g.r.svc, g.id, 5000 + 1000 * i, 20 + i, 10 + i, i == 2);
    cr_assert(until_ended(&g, 3, 5000), "%zu of 3 requests ended", g.s.n_ended);
    cr_assert_eq(g.s.n_requests, 3u);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(g.s.order[i], 1u + 2u * i);
    check_bodies(&g);
    /* One at a time, in the order posted: handle i became stream 2i+1. */
    for (uint32_t i = 0; i < 3; i++) {
        h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_STREAM_OPENED, 5000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->stream_handle, h[i]);
        cr_assert_eq(ev->stream_id, 1u + 2u * i);
        cr_assert_eq(ev->user, 10u + i);
        h2_svc_event_release(ev);
    }
    cr_assert_eq(g.s.order[0] % 2, 1u);
    rig_free(&g);
}

/* ---- many threads ---- */

#define THREADS 4
#define PER_THREAD 50

typedef struct poster {
    rig *g;
    uint32_t index;
} poster;

static void *post_many(void *arg)
{
    poster *p = arg;
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        uint32_t seed = p->index * 1000u + i;
        size_t len = 100 + (size_t)((seed * 7919u) % 3000u);
        (void)post_request(p->g->r.svc, p->g->id, len, seed, seed, (i % 3) == 0);
    }
    return NULL;
}

Test(service_handles, threads_open_streams_at_once)
{
    rig g;
    rig_start(&g, 8);
    pthread_t t[THREADS];
    poster ps[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        ps[i] = (poster){&g, i};
        cr_assert_eq(pthread_create(&t[i], NULL, post_many, &ps[i]), 0);
    }
    /* The peer answers while the threads post; the queue is drained. */
    size_t responses = 0, opened = 0, failed = 0;
    int64_t end = now_ms() + 20000;
    while (responses < THREADS * PER_THREAD && now_ms() < end && !g.p.eof) {
        pump(&g, 5);
        h2_svc_event *ev = NULL;
        while (h2_svc_queue_poll(g.r.q, &ev, 1) == 1) {
            if (ev->type == H2_SVC_EV_RESPONSE_RECEIVED && ev->end_stream)
                responses++;
            else if (ev->type == H2_SVC_EV_STREAM_OPENED)
                opened++;
            else if (ev->type == H2_SVC_EV_COMMAND_FAILED || ev->type == H2_SVC_EV_CLOSED)
                failed++;
            h2_svc_event_release(ev);
        }
    }
    for (uint32_t i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(failed, 0u);
    cr_assert_eq(responses, (size_t)THREADS * PER_THREAD, "%zu responses", responses);
    cr_assert_eq(opened, (size_t)THREADS * PER_THREAD);
    cr_assert_eq(g.s.n_requests, (size_t)THREADS * PER_THREAD);
    cr_assert(!g.s.out_of_order, "stream ids did not increase in arrival order");
    cr_assert(!h2_conn_last_error(g.p.conn).occurred, "the peer saw a protocol error");
    check_bodies(&g);
    rig_free(&g);
}

/* ---- reset before the stream opened ---- */

Test(service_handles, reset_of_a_waiting_stream_cancels_it)
{
    rig g;
    rig_start(&g, 1);
    g.answer = false;
    /* A: open, body not ended: it holds the only slot. */
    uint32_t ha = 0;
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, post_fields, 4, 0, 1, &ha), 0);
    /* B waits for the slot, with data behind it; then it is reset. */
    uint32_t hb = 0;
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, post_fields, 4, 0, 2, &hb), 0);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, hb, (const uint8_t *)"abc", 3, 0, 3), 0);
    cr_assert_eq(h2_svc_reset_stream(g.r.svc, g.id, hb, H2_CANCEL, 4), 0);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, hb, (const uint8_t *)"def", 3, 0, 5), 0);

    h2_svc_event *ev = expect(&g, H2_SVC_EV_STREAM_OPENED);
    cr_assert_eq(ev->stream_id, 1u);
    cr_assert_eq(ev->stream_handle, ha);
    h2_svc_event_release(ev);
    /* B's open, the data that waited behind it, and the data after the reset. */
    ev = expect(&g, H2_SVC_EV_COMMAND_FAILED);
    cr_assert_eq(ev->command, H2_SVC_CMD_HEADERS);
    cr_assert_eq(ev->error, H2_ESTREAM_CLOSED);
    cr_assert_eq(ev->stream_id, 0u);
    cr_assert_eq(ev->stream_handle, hb);
    cr_assert_eq(ev->user, 2u);
    h2_svc_event_release(ev);
    for (uint64_t user = 3; user <= 5; user += 2) {
        ev = expect(&g, H2_SVC_EV_COMMAND_FAILED);
        cr_assert_eq(ev->command, H2_SVC_CMD_DATA);
        cr_assert_eq(ev->error, H2_ESTREAM_CLOSED);
        cr_assert_eq(ev->stream_handle, hb);
        cr_assert_eq(ev->user, user);
        h2_svc_event_release(ev);
    }

    /* A ends from both sides: its handle is forgotten. */
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, ha, 6), 0);
    cr_assert(until_ended(&g, 1, 5000));
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 1, ok_fields, 1, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&g.p);
    ev = expect(&g, H2_SVC_EV_RESPONSE_RECEIVED);
    cr_assert(ev->end_stream);
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, ha, (const uint8_t *)"x", 1, 0, 7), 0);
    ev = expect(&g, H2_SVC_EV_COMMAND_FAILED);
    cr_assert_eq(ev->error, H2_ESTREAM_CLOSED);
    cr_assert_eq(ev->stream_id, ha);
    cr_assert_eq(ev->stream_handle, ha);
    h2_svc_event_release(ev);

    /* B's HEADERS never went out: the next stream is 3. */
    uint32_t hc = 0;
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, get_fields, 4, H2_SEND_END_STREAM, 8, &hc), 0);
    ev = expect(&g, H2_SVC_EV_STREAM_OPENED);
    cr_assert_eq(ev->stream_id, 3u);
    cr_assert_eq(ev->stream_handle, hc);
    h2_svc_event_release(ev);
    cr_assert(until_ended(&g, 2, 5000));
    cr_assert_eq(g.s.n_requests, 2u);
    cr_assert_eq(g.s.order[0], 1u);
    cr_assert_eq(g.s.order[1], 3u);
    cr_assert(!g.s.reset[1], "stream 3 was reset");
    rig_free(&g);
}

Test(service_handles, bad_handles_are_refused)
{
    rig g;
    rig_start(&g, 10);
    uint32_t h = 0;
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, get_fields, 4, 0, 0, NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, get_fields, 4, 0x80, 0, &h), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, H2_SVC_STREAM_HANDLE, NULL, 0, 0, 0),
                 H2_EINVAL);
    /* A handle never given out: answered by COMMAND_FAILED. */
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, H2_SVC_STREAM_HANDLE | 12345u, 9), 0);
    h2_svc_event *ev = expect(&g, H2_SVC_EV_COMMAND_FAILED);
    cr_assert_eq(ev->error, H2_ESTREAM_CLOSED);
    cr_assert_eq(ev->user, 9u);
    h2_svc_event_release(ev);
    rig_free(&g);
}

Test(service_handles, trailers_and_priority_by_handle_after_the_stream_opened)
{
    rig g;
    rig_start(&g, 1);
    /* Stream 1 takes the slot; the second request waits with everything
     * addressed by handle behind it. */
    uint32_t h1 = post_request(g.r.svc, g.id, 100, 1, 1, false);
    char path[48];
    h2_header f[4];
    request_fields(f, path, sizeof path, 6, 2);
    uint32_t h = 0;
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, f, 4, 0, 2, &h), 0);
    cr_assert_neq(h, h1);
    const h2_priority prio = {.urgency = 1, .incremental = false};
    cr_assert_eq(h2_svc_set_priority(g.r.svc, g.id, h, &prio, 3), 0);
    uint8_t *body = make_body(6, 2);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, h, body, 3, 0, 4), 0);
    /* The rest after STREAM_OPENED, still by handle; the peer answers
     * stream 1 meanwhile, which frees the slot. */
    size_t responses = 0;
    int64_t end = now_ms() + 5000;
    uint32_t id = 0;
    while (id == 0 && now_ms() < end) {
        pump(&g, 10);
        h2_svc_event *ev = next_event(g.r.q, 10);
        if (ev == NULL)
            continue;
        cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
        if (ev->type == H2_SVC_EV_RESPONSE_RECEIVED)
            responses++;
        if (ev->type == H2_SVC_EV_STREAM_OPENED && ev->stream_handle == h)
            id = ev->stream_id;
        h2_svc_event_release(ev);
    }
    cr_assert_eq(id, 3u);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, h, body + 3, 3, 0, 5), 0);
    static const h2_header trailers[] = {HDR("x-sum", "ok")};
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, h, trailers, 1, H2_SEND_END_STREAM, 6), 0);
    free(body);
    cr_assert(until_ended(&g, 2, 5000));
    cr_assert_eq(g.s.n_trailers, 1u);
    cr_assert_eq(g.s.order[1], 3u);
    check_bodies(&g);
    /* No command failed. */
    end = now_ms() + 5000;
    while (responses < 2 && now_ms() < end) {
        h2_svc_event *ev = next_event(g.r.q, 100);
        if (ev == NULL)
            continue;
        cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED, "command %d failed: %d", ev->command,
                      ev->error);
        if (ev->type == H2_SVC_EV_RESPONSE_RECEIVED)
            responses++;
        h2_svc_event_release(ev);
    }
    cr_assert_eq(responses, 2u);
    rig_free(&g);
}

Test(service_handles, connection_end_answers_what_waits_behind_a_stream)
{
    rig g;
    rig_start(&g, 1);
    g.answer = false;
    uint32_t ha = 0, hb = 0;
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, post_fields, 4, 0, 1, &ha), 0);
    cr_assert_eq(h2_svc_open_stream(g.r.svc, g.id, post_fields, 4, 0, 2, &hb), 0);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, hb, (const uint8_t *)"abc", 3, 0, 3), 0);
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, hb, 4), 0);
    h2_svc_event *ev = expect(&g, H2_SVC_EV_STREAM_OPENED);
    cr_assert_eq(ev->stream_handle, ha);
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_abort(g.r.svc, g.id, 0), 0);
    /* B's open, then its data and end, each answered once. */
    for (uint64_t user = 2; user <= 4; user++) {
        ev = expect(&g, H2_SVC_EV_COMMAND_FAILED);
        cr_assert_eq(ev->error, H2_ECLOSED);
        cr_assert_eq(ev->stream_handle, hb);
        cr_assert_eq(ev->user, user);
        h2_svc_event_release(ev);
    }
    ev = expect(&g, H2_SVC_EV_CLOSED);
    h2_svc_event_release(ev);
    rig_free(&g);
}
