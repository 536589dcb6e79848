/*
 * Helpers shared by the abuse tests: feeding frames to a core connection
 * whole or byte by byte while recording what the limits did.
 */
#ifndef H2_TESTS_ABUSE_UTIL_H
#define H2_TESTS_ABUSE_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "support/conn_helpers.h"
#include "support/testmem.h"

/* What a run of receive calls produced. */
typedef struct ab_trace {
    int rv;              /* first non-zero receive rv, or 0 */
    size_t calls;        /* receive calls made */
    size_t requests;     /* RequestReceived events */
    size_t resets;       /* StreamReset events */
    size_t limit_events; /* LimitExceeded events */
    int last_limit;      /* limit of the last LimitExceeded event, or -1 */
    uint32_t last_limit_stream;
    uint32_t last_limit_code;
    bool last_limit_conn;
    size_t data_events;
    size_t pings;
} ab_trace;

static inline void ab_trace_init(ab_trace *t)
{
    memset(t, 0, sizeof(*t));
    t->last_limit = -1;
}

static inline void ab_note(ab_trace *t, const h2_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (ev[i].type) {
        case H2_EV_REQUEST_RECEIVED:
            t->requests++;
            break;
        case H2_EV_STREAM_RESET:
            t->resets++;
            break;
        case H2_EV_DATA_RECEIVED:
            t->data_events++;
            break;
        case H2_EV_PING_RECEIVED:
            t->pings++;
            break;
        case H2_EV_LIMIT_EXCEEDED:
            t->limit_events++;
            t->last_limit = ev[i].u.limit.limit;
            t->last_limit_stream = ev[i].stream_id;
            t->last_limit_code = ev[i].u.limit.error_code;
            t->last_limit_conn = ev[i].u.limit.connection;
            break;
        default:
            break;
        }
    }
}

/* Feeds |len| bytes in pieces of |step| (0: whole); stops at the first error. */
static inline int ab_feed(h2_conn *c, const uint8_t *p, size_t len, size_t step, ab_trace *t)
{
    size_t pos = 0;
    do {
        size_t k = step == 0 || len - pos < step ? len - pos : step;
        const h2_event *ev;
        size_t n;
        int rv = h2_conn_receive(c, p + pos, k, &ev, &n);
        t->calls++;
        ab_note(t, ev, n);
        pos += k;
        if (rv != 0) {
            if (t->rv == 0)
                t->rv = rv;
            return rv;
        }
    } while (pos < len);
    return 0;
}

/* The last frame of |out| (asserts there is one). */
static inline h2t_frame ab_last_frame(const h2t_buf *out)
{
    static h2t_frame fr[65536];
    size_t n = h2t_parse_frames(out->p, out->len, fr, 65536);
    cr_assert_gt(n, 0, "no frame queued");
    return fr[n - 1];
}

/* Frames of |type| in |out| (any number). */
static inline size_t ab_count_frames(const h2t_buf *out, uint8_t type)
{
    static h2t_frame fr[65536];
    size_t n = h2t_parse_frames(out->p, out->len, fr, 65536);
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += fr[i].type == type;
    return c;
}

/* Asserts that |out| ends with GOAWAY(code) whose debug data is |debug|. */
static inline void ab_expect_goaway_debug(const h2t_buf *out, uint32_t code, const char *debug)
{
    h2t_frame f = ab_last_frame(out);
    cr_assert_eq(f.type, 0x7, "last frame type %u", f.type);
    cr_assert_eq(h2t_u32(f.payload + 4), code, "GOAWAY code %u", h2t_u32(f.payload + 4));
    size_t dlen = f.len - 8;
    cr_assert_eq(dlen, strlen(debug), "debug length %zu", dlen);
    cr_assert(memcmp(f.payload + 8, debug, dlen) == 0);
}

static inline h2_conn_stats ab_stats(const h2_conn *c)
{
    h2_conn_stats s = {.size = sizeof(s)};
    h2_conn_get_stats(c, &s);
    return s;
}

/* A server configuration with defaults, allocating through |tm| (may be NULL). */
static inline h2_conn_config ab_server_cfg(testmem *tm)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    if (tm != NULL)
        cfg.mem = &tm->mem;
    return cfg;
}

#endif /* H2_TESTS_ABUSE_UTIL_H */

/*
 * Feeds |prefix|, then |n_ok| copies of |unit| to a ready server (|cfg|),
 * whole and then byte by byte (|step| 0 and 1): everything is accepted. One
 * more |unit| then trips |lim|: H2_EPROTO, a LimitExceeded event, the
 * counter at 1 and GOAWAY(|code|) with the limit's name as debug data.
 * Output is never taken (the peer does not read). Returns the peak of live
 * bytes seen (whole feeding).
 */
static inline size_t ab_expect_trip_at(const h2_conn_config *cfg0, const h2t_buf *prefix,
                                       const h2t_buf *unit, size_t n_ok, h2_limit lim,
                                       uint32_t code)
{
    size_t peak = 0;
    h2t_buf all;
    h2t_buf_init(&all);
    for (size_t i = 0; i < n_ok; i++)
        h2t_buf_put(&all, unit->p, unit->len);
    for (size_t step = 0; step < 2; step++) {
        testmem tm;
        testmem_init(&tm);
        h2_conn_config cfg = *cfg0;
        cfg.mem = &tm.mem;
        h2_conn *c = h2t_server_ready(&cfg);
        ab_trace t;
        ab_trace_init(&t);
        if (prefix != NULL && prefix->len > 0)
            cr_assert_eq(ab_feed(c, prefix->p, prefix->len, step, &t), 0);
        cr_assert_eq(ab_feed(c, all.p, all.len, step, &t), 0, "tripped early (step %zu): %d", step,
                     t.last_limit);
        cr_assert_eq(ab_stats(c).limit_exceeded[lim], 0);
        ab_trace_init(&t);
        cr_assert_eq(ab_feed(c, unit->p, unit->len, step, &t), H2_EPROTO, "did not trip (step %zu)",
                     step);
        cr_assert_eq(t.last_limit, (int)lim, "limit %d (step %zu)", t.last_limit, step);
        cr_assert(t.last_limit_conn);
        cr_assert_eq(t.last_limit_code, code);
        cr_assert_eq(ab_stats(c).limit_exceeded[lim], 1);
        h2_conn_error err = h2_conn_last_error(c);
        cr_assert(err.occurred);
        cr_assert_eq(err.code, code);
        h2t_buf out;
        h2t_buf_init(&out);
        h2t_take(c, &out);
        ab_expect_goaway_debug(&out, code, h2_limit_name(lim));
        h2t_buf_free(&out);
        /* nothing more is processed */
        const h2_event *ev;
        size_t n;
        cr_assert_eq(h2_conn_receive(c, unit->p, unit->len, &ev, &n), H2_ECLOSED);
        if (step == 0)
            peak = tm.peak_bytes;
        h2_conn_free(c);
        cr_assert_eq(tm.live_blocks, 0);
    }
    h2t_buf_free(&all);
    return peak;
}

/* Appends the frames of step |i| (0-based) of an attack to |b|. */
typedef void (*ab_build_fn)(h2t_buf *b, size_t i, void *arg);

/* What ab_run_seq saw. */
typedef struct ab_seq {
    size_t trip_at; /* 1-based step at which receive failed, 0 when none did */
    ab_trace t;     /* totals */
    h2t_buf out;    /* output not taken by the run */
    h2_conn *conn;  /* kept open: check it, then h2_conn_free() */
} ab_seq;

/*
 * Runs |n| steps of |build| against a ready server (|cfg|): all steps in one
 * receive call (|step| 0, |read_each| false), one call per step (|step| 0,
 * |read_each| true: the output is taken after each step, as by a peer that
 * reads), or byte by byte (|step| 1). Stops at the first error.
 */
static inline void ab_run_seq(const h2_conn_config *cfg, ab_build_fn build, void *arg, size_t n,
                              size_t step, bool read_each, ab_seq *r)
{
    memset(r, 0, sizeof(*r));
    ab_trace_init(&r->t);
    h2t_buf_init(&r->out);
    r->conn = h2t_server_ready(cfg);
    h2t_buf all;
    h2t_buf_init(&all);
    size_t *ends = calloc(n + 1, sizeof(size_t));
    size_t *frames = calloc(n + 1, sizeof(size_t)); /* frames up to the end of step i */
    static h2t_frame fr[64];
    for (size_t i = 0; i < n; i++) {
        size_t before = all.len;
        build(&all, i, arg);
        ends[i] = all.len;
        frames[i] = (i > 0 ? frames[i - 1] : 0) +
                    h2t_parse_frames(all.p + before, all.len - before, fr, 64);
    }
    uint64_t frames0 = ab_stats(r->conn).frames_received;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        bool cut = read_each || step > 0 || i == n - 1;
        if (!cut)
            continue;
        size_t end = ends[i];
        size_t pos = start;
        int rv = 0;
        while (pos < end && rv == 0) {
            size_t k = step == 0 ? end - pos : 1;
            const h2_event *ev;
            size_t ne;
            rv = h2_conn_receive(r->conn, all.p + pos, k, &ev, &ne);
            r->t.calls++;
            ab_note(&r->t, ev, ne);
            pos += k;
        }
        if (rv != 0) {
            r->t.rv = rv;
            /* the step holding the frame that failed (the last one processed) */
            uint64_t k = ab_stats(r->conn).frames_received - frames0;
            size_t j = 0;
            while (j < n - 1 && frames[j] < k)
                j++;
            r->trip_at = j + 1;
            break;
        }
        if (read_each)
            h2t_take(r->conn, NULL);
        start = end;
    }
    h2t_take(r->conn, &r->out);
    free(ends);
    free(frames);
    h2t_buf_free(&all);
}

static inline void ab_seq_free(ab_seq *r)
{
    h2t_buf_free(&r->out);
    h2_conn_free(r->conn);
}
