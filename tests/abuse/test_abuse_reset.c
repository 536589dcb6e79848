/*
 * Resets (SECURITY.md rows 4, 9, 14, 18): reset floods, Rapid Reset, window
 * overflows and the MadeYouReset primitives. Each test asserts the step at
 * which the connection ends, the code, the limit, how many requests reached
 * the application and bounded memory.
 */
#include "abuse/abuse_util.h"

static h2t_ff ff;

static void setup(void)
{
    h2t_ff_init(&ff);
}

static void teardown(void)
{
    h2t_ff_free(&ff);
}

TestSuite(abuse_reset, .init = setup, .fini = teardown);

/* Stream id of step |i|; step 0 also starts a fresh HPACK encoder, as each
 * run feeds a fresh connection. */
static uint32_t sid(size_t i)
{
    if (i == 0) {
        h2t_ff_free(&ff);
        h2t_ff_init(&ff);
    }
    return (uint32_t)(1 + 2 * i);
}

/* ---- row 9: Rapid Reset ---------------------------------------------------- */

static void rapid_pair(h2t_buf *b, size_t i, void *arg)
{
    (void)arg;
    uint32_t id = sid(i);
    h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
    h2t_f_rst(b, id, H2_CANCEL);
}

/* 1200 pairs in one write: 100 requests reach the application (their slots
 * stay taken within the call), the rest are refused; the refusals' RSTs
 * are replies the peer does not read: GOAWAY at pair 1101. */
Test(abuse_reset, row9_rapid_reset_one_write)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    ab_seq r;
    ab_run_seq(&cfg, rapid_pair, NULL, 1200, 0, false, &r);
    cr_assert_eq(r.t.rv, H2_EPROTO);
    cr_assert_eq(r.t.requests, 100);
    cr_assert_eq(r.trip_at, 1101, "trip at %zu", r.trip_at);
    h2_conn_stats s = ab_stats(r.conn);
    /* pairs 101 to 1101 are refused; the last refusal's RST is the one too many */
    cr_assert_eq(s.limit_exceeded[H2_LIMIT_ACTIVE_REQUESTS], 1001);
    cr_assert_eq(s.limit_exceeded[H2_LIMIT_QUEUED_REPLIES], 1);
    cr_assert_eq(s.limit_exceeded[H2_LIMIT_RESET_RATE], 0);
    ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "queued_replies");
    cr_assert_eq(ab_count_frames(&r.out, 0x3), 1000); /* RST_STREAM(REFUSED_STREAM) */
    ab_seq_free(&r);
}

/* A peer that reads gets its pairs answered one call at a time until the
 * reset budget (1000, no clock) is spent: GOAWAY at pair 1001. */
Test(abuse_reset, row9_rapid_reset_one_pair_per_read)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    for (size_t step = 0; step < 2; step++) {
        ab_seq r;
        ab_run_seq(&cfg, rapid_pair, NULL, 1200, step, true, &r);
        cr_assert_eq(r.t.rv, H2_EPROTO);
        cr_assert_eq(r.trip_at, 1001, "trip at %zu", r.trip_at);
        cr_assert_eq(r.t.requests, 1001);
        cr_assert_eq(r.t.last_limit, H2_LIMIT_RESET_RATE);
        ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "reset_rate");
        h2_conn_error e = h2_conn_last_error(r.conn);
        cr_assert_eq(e.last_stream_id, sid(1000));
        /* never more than two slots taken: this call's and the last one's */
        cr_assert_leq(ab_stats(r.conn).active_requests, 2);
        ab_seq_free(&r);
    }
}

/* With a clock, 33 resets per second are sustainable after the burst. */
Test(abuse_reset, row9_reset_rate_refills)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_buf in;
    h2t_buf_init(&in);
    ab_trace t;
    ab_trace_init(&t);
    size_t i = 0;
    h2_conn_set_time(c, 1);
    for (; i < 1000; i++) {
        rapid_pair(&in, i, NULL);
        cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), 0);
        h2t_buf_free(&in);
        h2t_take(c, NULL);
    }
    for (int sec = 1; sec <= 10; sec++) {
        h2_conn_set_time(c, 1 + (uint64_t)sec * 1000);
        for (int k = 0; k < 33; k++, i++) {
            rapid_pair(&in, i, NULL);
            cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), 0, "second %d pair %d", sec, k);
            h2t_buf_free(&in);
            h2t_take(c, NULL);
        }
    }
    /* the 34th in the same second is one too many */
    rapid_pair(&in, i, NULL);
    cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), H2_EPROTO);
    cr_assert_eq(t.last_limit, H2_LIMIT_RESET_RATE);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

/* 900 Rapid Reset pairs, one per read, against a server whose slots stay
 * taken (|cfg|): 100 requests reach the application, 800 are refused. For
 * each way of cutting the input, |then| runs on the connection before it is
 * freed. */
static void slots_stay_taken(const h2_conn_config *cfg, void (*then)(h2_conn *c))
{
    for (size_t step = 0; step < 2; step++) {
        ab_seq r;
        ab_run_seq(cfg, rapid_pair, NULL, 900, step, true, &r);
        cr_assert_eq(r.t.rv, 0);
        cr_assert_eq(r.t.requests, 100);
        h2_conn_stats s = ab_stats(r.conn);
        cr_assert_eq(s.active_requests, 100);
        cr_assert_eq(s.limit_exceeded[H2_LIMIT_ACTIVE_REQUESTS], 800);
        if (then != NULL)
            then(r.conn);
        ab_seq_free(&r);
    }
}

/* The handler-concurrency check: with explicit_request_done and an
 * application that never finishes, at most max_concurrent_streams requests
 * are ever delivered, whatever the resets. */
Test(abuse_reset, row9_handler_concurrency_is_capped)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.explicit_request_done = true;
    slots_stay_taken(&cfg, NULL);
}

/* The application is done with the first request: one slot again. */
static void first_request_done(h2_conn *c)
{
    cr_assert_eq(h2_conn_request_done(c, sid(0)), 0);
    cr_assert_eq(h2_conn_request_done(c, sid(0)), H2_ENOSTREAM);
    cr_assert_eq(ab_stats(c).active_requests, 99);
}

/* hold_reset_requests (the service's mode): reset requests keep their slots
 * across receive calls until h2_conn_request_done(), which frees them. */
Test(abuse_reset, row9_reset_requests_held_until_done)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.hold_reset_requests = true;
    slots_stay_taken(&cfg, first_request_done);
}

/* HEADERS again on a stream the peer reset: answered with
 * RST_STREAM(STREAM_CLOSED), a reply like any other (counted against
 * max_queued_replies when the peer does not read). */
static void headers_after_reset(h2t_buf *b, size_t i, void *arg)
{
    (void)arg;
    uint32_t id = sid(i);
    h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
    h2t_f_rst(b, id, H2_CANCEL);
    h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
}

Test(abuse_reset, row4_headers_on_reset_streams_are_counted_replies)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_queued_replies = 10;
    for (size_t step = 0; step < 2; step++) {
        ab_seq r;
        ab_run_seq(&cfg, headers_after_reset, NULL, 20, step, false, &r);
        cr_assert_eq(r.t.rv, H2_EPROTO);
        cr_assert_eq(r.trip_at, 11, "trip at %zu", r.trip_at);
        ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "queued_replies");
        cr_assert_eq(ab_count_frames(&r.out, 0x3), 10);
        ab_seq_free(&r);
    }
}

/* ---- row 4: reset flood from invalid requests -------------------------------- */

static void invalid_request(h2t_buf *b, size_t i, void *arg)
{
    (void)arg;
    static const h2_header bad[] = {
        H2T_HDR(":method", "GET"),      H2T_HDR(":scheme", "https"),
        H2T_HDR(":path", "/"),          H2T_HDR(":authority", "example.com"),
        H2T_HDR("connection", "close"),
    };
    uint32_t id = sid(i);
    h2t_f_headers(&ff, b, id, 0x5, bad, 5);
}

/* Never read: each RST is a queued reply; the 1001st trips. */
Test(abuse_reset, row4_reset_flood_never_read)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    for (size_t step = 0; step < 2; step++) {
        ab_seq r;
        ab_run_seq(&cfg, invalid_request, NULL, 1200, step, false, &r);
        cr_assert_eq(r.t.rv, H2_EPROTO);
        cr_assert_eq(r.trip_at, 1001, "trip at %zu", r.trip_at);
        cr_assert_eq(r.t.requests, 0);
        ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "queued_replies");
        cr_assert_eq(ab_count_frames(&r.out, 0x3), 1000, "step %zu: %zu RSTs", step,
                     ab_count_frames(&r.out, 0x3));
        ab_seq_free(&r);
    }
}

/* Read normally: each invalid request is a glitch; the 10001st trips. */
Test(abuse_reset, row4_reset_flood_read)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg = ab_server_cfg(&tm);
    ab_seq r;
    ab_run_seq(&cfg, invalid_request, NULL, 10100, 0, true, &r);
    cr_assert_eq(r.t.rv, H2_EPROTO);
    cr_assert_eq(r.trip_at, 10001, "trip at %zu", r.trip_at);
    cr_assert_eq(r.t.last_limit, H2_LIMIT_GLITCHES);
    ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "glitches");
    cr_assert_eq(ab_stats(r.conn).resets_sent, 10000);
    /* bounded: the closed-stream record and the HPACK tables */
    cr_assert_lt(tm.peak_bytes, 256 * 1024, "peak %zu", tm.peak_bytes);
    ab_seq_free(&r);
    cr_assert_eq(tm.live_blocks, 0);
}

/* ---- row 18: MadeYouReset ------------------------------------------------------- */

enum { P_WU_ZERO, P_WU_OVERFLOW, P_DATA_HALF_CLOSED, P_HEADERS_HALF_CLOSED };

static void made_you_reset(h2t_buf *b, size_t i, void *arg)
{
    int p = *(const int *)arg;
    uint32_t id = sid(i);
    h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
    switch (p) {
    case P_WU_ZERO:
        h2t_f_window_update(b, id, 0);
        break;
    case P_WU_OVERFLOW:
        h2t_f_window_update(b, id, 0x7fffffff);
        break;
    case P_DATA_HALF_CLOSED:
        h2t_f_data(b, id, 0, "x", 1, -1);
        break;
    default:
        h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
        break;
    }
}

static const uint32_t myr_code[] = {H2_PROTOCOL_ERROR, H2_FLOW_CONTROL_ERROR, H2_STREAM_CLOSED,
                                    H2_STREAM_CLOSED};

/* 2000 pairs in one write: 100 requests, 100 RSTs provoked, refusals; the
 * replies nobody reads end it at pair 1001. */
Test(abuse_reset, row18_made_you_reset_one_write)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    for (int p = 0; p < 4; p++) {
        ab_seq r;
        ab_run_seq(&cfg, made_you_reset, &p, 2000, 0, false, &r);
        cr_assert_eq(r.t.rv, H2_EPROTO, "primitive %d", p);
        cr_assert_eq(r.t.requests, 100, "primitive %d: %zu", p, r.t.requests);
        cr_assert_eq(r.trip_at, 1001, "primitive %d: trip at %zu", p, r.trip_at);
        ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "queued_replies");
        static h2t_frame fr[2048];
        size_t nf = h2t_parse_frames(r.out.p, r.out.len, fr, 2048);
        cr_assert_eq(fr[0].type, 0x3);
        cr_assert_eq(h2t_u32(fr[0].payload), myr_code[p]);
        cr_assert_eq(nf, 1001);
        ab_seq_free(&r);
    }
}

/* A peer that reads: every provoked reset is a glitch, the 10001st ends it. */
Test(abuse_reset, row18_made_you_reset_read)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    for (int p = 0; p < 4; p++) {
        ab_seq r;
        ab_run_seq(&cfg, made_you_reset, &p, 10100, 0, true, &r);
        cr_assert_eq(r.t.rv, H2_EPROTO, "primitive %d", p);
        cr_assert_eq(r.trip_at, 10001, "primitive %d: trip at %zu", p, r.trip_at);
        cr_assert_eq(r.t.last_limit, H2_LIMIT_GLITCHES);
        ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "glitches");
        ab_seq_free(&r);
    }
}

/* With explicit_request_done the application never sees more than 100. */
Test(abuse_reset, row18_handler_concurrency_is_capped)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.explicit_request_done = true;
    for (int p = 0; p < 4; p++) {
        ab_seq r;
        ab_run_seq(&cfg, made_you_reset, &p, 2000, 0, true, &r);
        cr_assert_eq(r.t.rv, 0, "primitive %d", p);
        cr_assert_eq(r.t.requests, 100);
        cr_assert_eq(ab_stats(r.conn).active_requests, 100);
        ab_seq_free(&r);
    }
}

/* The two PRIORITY primitives. A PRIORITY frame of another length than 5
 * is a connection error here (RFC 9113 5.4.1 allows it for this stream
 * error), so it cannot reset streams one by one: GOAWAY(FRAME_SIZE_ERROR)
 * at the first pair. A self-dependency is a connection error
 * PROTOCOL_ERROR (as RFC 7540 5.3.1 required and other implementations do),
 * so it resets nothing either: GOAWAY at the first pair. */
static void priority_bad_length(h2t_buf *b, size_t i, void *arg)
{
    (void)arg;
    uint32_t id = sid(i);
    static const uint8_t four[4] = {0, 0, 0, 0};
    h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
    h2t_f_unknown(b, 0x2, 0, id, four, sizeof four);
}

static void priority_self(h2t_buf *b, size_t i, void *arg)
{
    (void)arg;
    uint32_t id = sid(i);
    h2t_f_headers(&ff, b, id, 0x5, h2t_req_get, 4);
    h2t_f_priority(b, id, id, 16, false);
}

Test(abuse_reset, row18_priority_bad_length_ends_the_connection)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    ab_seq r;
    ab_run_seq(&cfg, priority_bad_length, NULL, 2000, 0, true, &r);
    cr_assert_eq(r.t.rv, H2_EPROTO);
    cr_assert_eq(r.trip_at, 1, "trip at %zu", r.trip_at);
    cr_assert_eq(r.t.requests, 1);
    static h2t_frame fr[16];
    size_t nf = h2t_parse_frames(r.out.p, r.out.len, fr, 16);
    cr_assert_eq(nf, 1);
    cr_assert_eq(fr[0].type, 0x7); /* GOAWAY, no RST_STREAM first */
    cr_assert_eq(h2t_u32(fr[0].payload + 4), H2_FRAME_SIZE_ERROR);
    ab_seq_free(&r);
}

/* Self-dependencies reset no stream one by one: the first one ends the
 * connection with GOAWAY(PROTOCOL_ERROR) naming the request it follows,
 * which was served; no glitch is charged and no limit trips. */
Test(abuse_reset, row18_priority_self_dependency_ends_the_connection)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    ab_seq r;
    ab_run_seq(&cfg, priority_self, NULL, 2000, 0, true, &r);
    cr_assert_eq(r.t.rv, H2_EPROTO);
    cr_assert_eq(r.trip_at, 1, "trip at %zu", r.trip_at);
    cr_assert_eq(r.t.requests, 1);
    cr_assert_eq(r.t.limit_events, 0);
    h2t_expect_goaway(&r.out, 1, H2_PROTOCOL_ERROR);
    h2_conn_stats s = ab_stats(r.conn);
    cr_assert_eq(s.glitches, 0);
    cr_assert_eq(s.connection_errors, 1);
    ab_seq_free(&r);
}

/* ---- row 14: window overflows ----------------------------------------------------- */

Test(abuse_reset, row14_connection_window_overflow)
{
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_window_update(&in, 0, 0x7fffffff);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FLOW_CONTROL_ERROR);
    h2t_buf_free(&in);
}

Test(abuse_reset, row14_connection_window_update_zero)
{
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_window_update(&in, 0, 0);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
}

Test(abuse_reset, row14_initial_window_size_too_large)
{
    h2t_buf in;
    h2t_buf_init(&in);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 0x80000000u};
    h2t_f_settings(&in, 0, &e, 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FLOW_CONTROL_ERROR);
    h2t_buf_free(&in);
}

/* A stream overflow is a stream error, charged as a glitch. */
Test(abuse_reset, row14_stream_window_overflow_is_charged)
{
    int p = P_WU_OVERFLOW;
    h2t_buf in;
    h2t_buf_init(&in);
    made_you_reset(&in, 0, &p);
    h2t_result res;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &res);
    cr_assert_eq(res.rv, 0);
    h2t_expect_rst(&res.out, 1, H2_FLOW_CONTROL_ERROR);
    cr_assert_eq(ab_stats(res.conn).glitches, 1);
    h2t_result_free(&res);
    h2t_buf_free(&in);
}
