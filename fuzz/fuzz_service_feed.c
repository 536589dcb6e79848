/*
 * Fuzz target: the service's feed path. Per input: a service with one
 * worker, a feed-mode server connection whose events go to a queue, the
 * client preface and the input posted as feeds, every request answered
 * through the service's commands, every event taken from the queue and
 * released; then the end of the transport is fed, the target waits for the
 * connection's CLOSED event, and frees everything.
 *
 * Input: two option bytes, then the client's bytes after the preface.
 *   byte 0 bits 0-3: how each round is cut into feeds (fuzz_split)
 *   byte 0 bit 4:    a queue of 4 slots instead of 256 (backpressure)
 *   byte 0 bit 5:    a command ring of 16 slots instead of 4096
 *   byte 0 bit 6:    small core limits (4 streams, window 100)
 *   byte 0 bit 7:    once the connection is attached, every k-th allocation
 *                    fails, k = next byte + 2 (the order of allocations
 *                    across the two threads varies, so such runs are not
 *                    exactly reproducible)
 *   byte 1: behaviour: bit 0 reset every third request, bit 1 a PING per
 *           round, bit 2 hold DATA events until the end of the round, bit 3
 *           graceful close after the last round
 *   The rest is cut into rounds at "--MARK--"; between rounds the target
 *   waits until the queue stays empty for a moment.
 *
 * Checks: the connection ends with exactly one CLOSED event, which comes
 * within 20 seconds of the end of the input; after it only COMMAND_FAILED
 * events (answers to commands posted late) name the connection. With
 * allocation failures, at most one CLOSED event, and the service still
 * shuts down and frees everything.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "h2/service.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MARK[] = "--MARK--";
#define MARK_LEN (sizeof MARK - 1)
#define HELD_MAX 64

#define HDR(n, v)                                                                                  \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0                \
    }

static const uint8_t body[3000];

/* Thread-safe allocator failing every |every|-th call while |armed|. */
typedef struct flaky_alloc {
    _Atomic unsigned long calls;
    _Atomic bool armed;
    unsigned long every;
} flaky_alloc;

static bool flaky_fails(flaky_alloc *a)
{
    if (!atomic_load(&a->armed))
        return false;
    return (atomic_fetch_add(&a->calls, 1) + 1) % a->every == 0;
}

static void *flaky_malloc(size_t size, void *user)
{
    return flaky_fails(user) ? NULL : malloc(size);
}

static void *flaky_realloc(void *ptr, size_t size, void *user)
{
    return flaky_fails(user) ? NULL : realloc(ptr, size);
}

static void flaky_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static flaky_alloc fa;

typedef struct feeder {
    h2_svc *svc;
    h2_svc_queue *q;
    h2_svc_conn_id id;
    uint8_t behaviour;
    unsigned requests;
    unsigned closed;       /* CLOSED events of our connection */
    unsigned after_closed; /* events of our connection after its CLOSED */
    h2_svc_event *held[HELD_MAX];
    size_t n_held;
    _Atomic size_t out_bytes;
} feeder;

static void on_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    feeder *f = user;
    FUZZ_CHECK(conn == f->id || f->id == 0);
    FUZZ_CHECK(len == 0 || data != NULL);
    if (len > 0) {
        volatile uint8_t sink = data[len - 1];
        (void)sink;
    }
    atomic_fetch_add(&f->out_bytes, len);
}

static void release_held(feeder *f)
{
    for (size_t i = 0; i < f->n_held; i++)
        h2_svc_event_release(f->held[i]);
    f->n_held = 0;
}

static void answer(feeder *f, uint32_t stream)
{
    static const h2_header resp[] = {HDR(":status", "200"), HDR("content-type", "text/plain")};
    unsigned nth = f->requests++;
    if ((f->behaviour & 1u) && nth % 3 == 2) {
        (void)h2_svc_reset_stream(f->svc, f->id, stream, 0x8, nth);
        return;
    }
    (void)h2_svc_submit_headers(f->svc, f->id, stream, resp, 2, 0, nth);
    (void)h2_svc_send_data(f->svc, f->id, stream, body, (nth * 977u) % sizeof body,
                               H2_SEND_END_STREAM, nth);
}

static void handle(feeder *f, h2_svc_event *ev)
{
    if (ev->conn == f->id) {
        /* Commands posted after the end are answered after CLOSED; nothing else. */
        if (f->closed > 0 && ev->type != H2_SVC_EV_COMMAND_FAILED)
            f->after_closed++;
        if (ev->type == H2_SVC_EV_CLOSED)
            f->closed++;
    }
    switch (ev->type) {
    case H2_EV_REQUEST_RECEIVED:
        FUZZ_CHECK(ev->n_fields == 0 || ev->fields != NULL);
        answer(f, ev->stream_id);
        break;
    case H2_EV_DATA_RECEIVED:
        FUZZ_CHECK(ev->len == 0 || ev->data != NULL);
        FUZZ_CHECK(ev->flow_controlled_length >= ev->len);
        if ((f->behaviour & 4u) && f->n_held < HELD_MAX) {
            f->held[f->n_held++] = ev;
            return;
        }
        break;
    default:
        break;
    }
    h2_svc_event_release(ev);
}

/* Takes and handles what the queue holds; returns how many events. */
static size_t poll_events(feeder *f)
{
    h2_svc_event *evs[16];
    size_t total = 0, n;
    while ((n = h2_svc_queue_poll(f->q, evs, 16)) > 0) {
        for (size_t i = 0; i < n; i++)
            handle(f, evs[i]);
        total += n;
    }
    return total;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void feed(feeder *f, const uint8_t *p, size_t len)
{
    double start = now_s();
    int rv;
    /* A full ring, or a command record the flaky allocator refused: post again. */
    while ((rv = h2_svc_feed(f->svc, f->id, p, len)) == H2_EAGAIN ||
           (rv == H2_ENOMEM && fa.every != 0)) {
        poll_events(f);
        h2_svc_queue_wait(f->q, 1);
        if (now_s() - start >= 20.0) {
            /* A ring that stays full: only lost memory may explain it. */
            FUZZ_CHECK(fa.every != 0);
            break;
        }
    }
    poll_events(f);
}

/* Waits until the queue has stayed empty for a few milliseconds. */
static void settle(feeder *f)
{
    int quiet = 0;
    while (quiet < 3 && f->closed == 0) {
        if (h2_svc_queue_wait(f->q, 2) == 1 && poll_events(f) > 0)
            quiet = 0;
        else
            quiet++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t opt = fuzz_u8(&in);
    static feeder f;
    memset(&f, 0, sizeof f);
    f.behaviour = fuzz_u8(&in);

    atomic_store(&fa.calls, 0);
    atomic_store(&fa.armed, false);
    fa.every = (opt & 0x80u) ? (unsigned long)fuzz_u8(&in) + 2u : 0u;
    h2_mem mem = {&fa, flaky_malloc, flaky_realloc, flaky_free};

    if (h2_svc_queue_new(&f.q, (opt & 0x10u) ? 4u : 256u, &mem) != 0)
        return 0;
    h2_svc_config sc;
    h2_svc_config_init(&sc);
    sc.mem = &mem;
    sc.workers = 1;
    sc.mailbox_capacity = (opt & 0x20u) ? 16u : 4096u;
    sc.queue = f.q;
    FUZZ_CHECK(h2_svc_new(&f.svc, &sc) == 0);

    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
    cc.queue = f.q;
    cc.user = &f;
    cc.on_output = on_output;
    /* No wall-clock timers: the run must not depend on the machine's speed. */
    cc.idle_timeout_ms = 0;
    cc.settings_timeout_ms = 0;
    cc.header_timeout_ms = 0;
    cc.preface_timeout_ms = 0;
    cc.close_timeout_ms = 0;
    cc.write_timeout_ms = 0;
    cc.flow_timeout_ms = 0;
    if (opt & 0x40u) {
        cc.conn.max_concurrent_streams = 4;
        cc.conn.initial_window_size = 100;
    }
    FUZZ_CHECK(h2_svc_attach_feed(f.svc, &cc, &f.id) == 0);
    if (fa.every != 0)
        atomic_store(&fa.armed, true);

    feed(&f, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    fuzz_split split;
    fuzz_split_init(&split, opt & 15u);
    while (in.len > 0 && f.closed == 0) {
        const uint8_t *end = memmem(in.p, in.len, MARK, MARK_LEN);
        size_t round = end ? (size_t)(end - in.p) : in.len;
        size_t off = 0;
        while (off < round) {
            size_t c = fuzz_split_next(&split, round - off);
            feed(&f, in.p + off, c);
            off += c;
        }
        size_t skip = end ? round + MARK_LEN : round;
        in.p += skip;
        in.len -= skip;
        settle(&f);
        release_held(&f);
        if (f.behaviour & 2u) {
            uint8_t opaque[8] = {'s', 'v', 'c', 0, 0, 0, 0, (uint8_t)f.requests};
            (void)h2_svc_ping(f.svc, f.id, opaque, 0);
        }
    }
    if (f.behaviour & 8u)
        (void)h2_svc_close(f.svc, f.id, 0, 0);
    feed(&f, NULL, 0);

    double start = now_s();
    while (f.closed == 0) {
        if (now_s() - start >= 20.0) {
            /* Only running out of memory may keep the connection from closing. */
            FUZZ_CHECK(fa.every != 0);
            break;
        }
        h2_svc_queue_wait(f.q, 10);
        poll_events(&f);
        release_held(&f);
    }
    release_held(&f);
    h2_svc_free(f.svc);
    poll_events(&f);
    release_held(&f);
    FUZZ_CHECK(f.closed == 1 || (fa.every != 0 && f.closed == 0));
    FUZZ_CHECK(f.after_closed == 0);
    h2_svc_queue_free(f.q);
    return 0;
}
