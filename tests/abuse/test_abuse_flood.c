/*
 * Floods (SECURITY.md rows 2, 3, 5, 8, 19): frames that cost the peer
 * nothing and make us answer or work. Each test asserts the frame at which
 * the limit trips, the GOAWAY code and debug data, the event, the counter
 * and bounded memory; whole and byte by byte.
 */
#include "abuse/abuse_util.h"

static h2t_ff ff;
static h2t_buf unit, prefix;

static void setup(void)
{
    h2t_ff_init(&ff);
    h2t_buf_init(&unit);
    h2t_buf_init(&prefix);
}

static void teardown(void)
{
    h2t_buf_free(&unit);
    h2t_buf_free(&prefix);
    h2t_ff_free(&ff);
}

TestSuite(abuse_flood, .init = setup, .fini = teardown);

static const uint8_t op[8] = {'p', 'i', 'n', 'g', 0, 0, 0, 1};

/* Row 2, ping flood (CVE-2019-9512): the 1001st unanswered PING. */
Test(abuse_flood, row2_ping_flood_never_read)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    h2t_f_ping(&unit, 0, op);
    size_t peak =
        ab_expect_trip_at(&cfg, NULL, &unit, 1000, H2_LIMIT_QUEUED_REPLIES, H2_ENHANCE_YOUR_CALM);
    /* 1000 ACKs of 17 bytes and the events of one receive call */
    cr_assert_lt(peak, 128 * 1024, "peak %zu", peak);
}

/* Row 2 bytes: with a lower byte bound the bytes trip first. */
Test(abuse_flood, row2_ping_flood_reply_bytes)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.output_high_water = 170; /* ten PING ACKs */
    h2t_f_ping(&unit, 0, op);
    ab_expect_trip_at(&cfg, NULL, &unit, 10, H2_LIMIT_QUEUED_REPLY_BYTES, H2_ENHANCE_YOUR_CALM);
}

/* Row 2, no false positive: a peer that reads may ping at will. */
Test(abuse_flood, row2_pings_read_by_the_peer_are_fine)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_f_ping(&unit, 0, op);
    ab_trace t;
    ab_trace_init(&t);
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(ab_feed(c, unit.p, unit.len, 0, &t), 0);
        if (i % 100 == 99)
            h2t_take(c, NULL);
    }
    cr_assert_eq(t.pings, 5000);
    cr_assert_eq(t.limit_events, 0);
    h2_conn_free(c);
}

/* Row 5, settings flood (CVE-2019-9515): the 1001st unanswered SETTINGS. */
Test(abuse_flood, row5_settings_flood_never_read)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    h2t_f_settings(&unit, 0, NULL, 0);
    ab_expect_trip_at(&cfg, NULL, &unit, 1000, H2_LIMIT_QUEUED_REPLIES, H2_ENHANCE_YOUR_CALM);
}

static void settings_entries(h2t_buf *b, size_t n)
{
    h2_setting e[64];
    for (size_t i = 0; i < n; i++) {
        e[i].id = H2_SETTING_HEADER_TABLE_SIZE;
        e[i].value = (uint32_t)(4096 + i);
    }
    h2t_f_settings(b, 0, e, n);
}

/* Row 5, huge SETTINGS (CVE-2020-11080): 32 entries pass, 33 do not. */
Test(abuse_flood, row5_settings_with_33_entries)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    settings_entries(&prefix, 32);
    settings_entries(&unit, 33);
    ab_expect_trip_at(&cfg, &prefix, &unit, 0, H2_LIMIT_SETTINGS_ENTRIES, H2_ENHANCE_YOUR_CALM);
}

/* The entry count is judged on the frame header: the payload is never read. */
Test(abuse_flood, row5_settings_judged_on_the_header)
{
    h2_conn *c = h2t_server_ready(NULL);
    settings_entries(&unit, 64);
    ab_trace t;
    ab_trace_init(&t);
    cr_assert_eq(ab_feed(c, unit.p, 9, 0, &t), H2_EPROTO);
    cr_assert_eq(t.last_limit, H2_LIMIT_SETTINGS_ENTRIES);
    h2_conn_free(c);
}

Test(abuse_flood, row5_settings_entries_configurable)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_settings_entries = 4;
    settings_entries(&prefix, 4);
    settings_entries(&unit, 5);
    ab_expect_trip_at(&cfg, &prefix, &unit, 0, H2_LIMIT_SETTINGS_ENTRIES, H2_ENHANCE_YOUR_CALM);
}

/* Row 8, empty frames (CVE-2019-9518): the 10001st empty DATA frame. */
Test(abuse_flood, row8_empty_data_flood)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    h2t_f_headers(&ff, &prefix, 1, 0x4, h2t_req_post, 4);
    h2t_f_data(&unit, 1, 0, NULL, 0, -1);
    size_t peak =
        ab_expect_trip_at(&cfg, &prefix, &unit, 10000, H2_LIMIT_GLITCHES, H2_ENHANCE_YOUR_CALM);
    /* one receive call of 90 KB holding 10000 events */
    cr_assert_lt(peak, 1024 * 1024, "peak %zu", peak);
}

/* Row 8: an empty DATA frame costs no allocation once the call's memory is there. */
Test(abuse_flood, row8_empty_data_allocates_nothing)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg = ab_server_cfg(&tm);
    h2_conn *c = h2t_server_ready(&cfg);
    h2t_f_headers(&ff, &prefix, 1, 0x4, h2t_req_post, 4);
    h2t_f_data(&unit, 1, 0, NULL, 0, -1);
    cr_assert_eq(h2t_feed(c, prefix.p, prefix.len, NULL), 0);
    cr_assert_eq(h2t_feed(c, unit.p, unit.len, NULL), 0);
    size_t calls = tm.n_calls, live = tm.live_bytes;
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(h2t_feed(c, unit.p, unit.len, NULL), 0);
    cr_assert_eq(tm.n_calls, calls);
    cr_assert_eq(tm.live_bytes, live);
    h2_conn_free(c);
}

/* Row 8: empty CONTINUATIONs are capped by the frame count (the 9th). */
Test(abuse_flood, row8_empty_continuations)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    h2t_buf blk;
    h2t_buf_init(&blk);
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&prefix, 1, 0x1, blk.p, blk.len, 0, 0, false, -1);
    h2t_f_continuation(&unit, 1, 0, NULL, 0);
    ab_expect_trip_at(&cfg, &prefix, &unit, 8, H2_LIMIT_CONTINUATION_FRAMES, H2_ENHANCE_YOUR_CALM);
    h2t_buf_free(&blk);
}

/* Row 19: the 10001st unknown frame (type 0xfa). */
Test(abuse_flood, row19_unknown_frames)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    h2t_f_unknown(&unit, 0xfa, 0, 0, "x", 1);
    ab_expect_trip_at(&cfg, NULL, &unit, 10000, H2_LIMIT_GLITCHES, H2_ENHANCE_YOUR_CALM);
}

/* Row 19: ALTSVC sent to a server is ignored and charged. */
Test(abuse_flood, row19_altsvc_to_a_server)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 100;
    /* origin length 1, origin "a", no value */
    h2t_f_unknown(&unit, 0xa, 0, 0,
                  "\x00\x01"
                  "a",
                  3);
    ab_expect_trip_at(&cfg, NULL, &unit, 100, H2_LIMIT_GLITCHES, H2_ENHANCE_YOUR_CALM);
}

/* Row 19: PING ACKs that answer no PING of ours are charged; ACKs of our
 * own PINGs are not. */
Test(abuse_flood, row19_unsolicited_ping_acks)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 100;
    static const uint8_t opaque[8] = "unasked";
    h2t_f_ping(&unit, 0x1, opaque);
    ab_expect_trip_at(&cfg, NULL, &unit, 100, H2_LIMIT_GLITCHES, H2_ENHANCE_YOUR_CALM);
}

Test(abuse_flood, row19_acks_of_our_pings_are_free)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 10;
    h2_conn *c = h2t_server_ready(&cfg);
    static const uint8_t opaque[8] = "ours!!!";
    h2t_buf in;
    h2t_buf_init(&in);
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(h2_conn_ping(c, opaque), 0);
        h2t_take(c, NULL);
        h2t_f_ping(&in, 0x1, opaque);
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0, "ACK %d", i);
        h2t_buf_free(&in);
    }
    h2_conn_stats st = {.size = sizeof(st)};
    h2_conn_get_stats(c, &st);
    cr_assert_eq(st.glitches, 0u);
    h2_conn_free(c);
}

/* Row 3b: the 10001st PRIORITY frame. */
Test(abuse_flood, row3_priority_flood)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    h2t_f_priority(&unit, 3, 0, 16, false);
    ab_expect_trip_at(&cfg, NULL, &unit, 10000, H2_LIMIT_GLITCHES, H2_ENHANCE_YOUR_CALM);
}

/* Row 3a: PRIORITY to many idle streams keeps no state. */
Test(abuse_flood, row3_priority_to_idle_streams_keeps_no_state)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg = ab_server_cfg(&tm);
    h2_conn *c = h2t_server_ready(&cfg);
    h2t_f_priority(&unit, 1, 0, 16, false);
    cr_assert_eq(h2t_feed(c, unit.p, unit.len, NULL), 0);
    size_t live = tm.live_bytes;
    for (uint32_t i = 0; i < 5000; i++) {
        h2t_buf_free(&unit);
        h2t_f_priority(&unit, 3 + 2 * i, 1 + 2 * (i % 7), 16, false);
        cr_assert_eq(h2t_feed(c, unit.p, unit.len, NULL), 0);
    }
    cr_assert_eq(tm.live_bytes, live);
    cr_assert_eq(ab_stats(c).glitches, 5001);
    /* they opened nothing: a request on stream 1 is still new */
    cr_assert_eq(h2_conn_open_inbound_streams(c), 0);
    h2_conn_free(c);
}

/* Row 19 with a clock: at 330 glitches per second a steady trickle is fine. */
Test(abuse_flood, row19_steady_rate_under_the_refill_is_fine)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_f_unknown(&unit, 0xfa, 0, 0, NULL, 0);
    ab_trace t;
    ab_trace_init(&t);
    /* 60 000 frames over 200 simulated seconds: 300 per second */
    for (int s = 0; s < 200; s++) {
        h2_conn_set_time(c, 5000 + (uint64_t)s * 1000);
        for (int i = 0; i < 300; i++)
            cr_assert_eq(ab_feed(c, unit.p, unit.len, 0, &t), 0);
    }
    cr_assert_eq(t.limit_events, 0);
    cr_assert_eq(ab_stats(c).glitches, 60000);
    h2_conn_free(c);
}

/* Row 13: PRIORITY_UPDATE for 10 000 idle streams keeps no state and costs a
 * glitch each; the 10001st ends the connection. */
Test(abuse_flood, row13_priority_update_to_idle_streams)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg = ab_server_cfg(&tm);
    h2_conn *c = h2t_server_ready(&cfg);
    ab_trace t;
    ab_trace_init(&t);
    size_t live = 0;
    for (uint32_t i = 0; i < 10001; i++) {
        uint32_t id = 101 + 2 * i;
        uint8_t pl[7] = {(uint8_t)(id >> 24),
                         (uint8_t)(id >> 16),
                         (uint8_t)(id >> 8),
                         (uint8_t)id,
                         'u',
                         '=',
                         '1'};
        h2t_buf_free(&unit);
        h2t_f_unknown(&unit, 0x10, 0, 0, pl, sizeof(pl));
        int rv = ab_feed(c, unit.p, unit.len, 0, &t);
        if (i == 10)
            live = tm.live_bytes;
        if (i < 10000) {
            cr_assert_eq(rv, 0, "frame %u", i + 1);
        } else {
            cr_assert_eq(rv, H2_EPROTO);
            cr_assert_eq(t.last_limit, H2_LIMIT_GLITCHES);
        }
    }
    cr_assert_leq(tm.live_bytes, live + 256, "%zu > %zu", tm.live_bytes, live);
    cr_assert_eq(h2_conn_open_inbound_streams(c), 0);
    h2_conn_free(c);
}

/* ---- every limit against every segmentation --------------------------------------- */

/* With small limits the inputs are short enough to be fed split at every
 * offset as well as whole and byte by byte (h2t_replay): a limit counts
 * complete frames only, whatever the segmentation. */
Test(abuse_flood, split_everywhere_reply_count)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_queued_replies = 5;
    for (int i = 0; i < 6; i++)
        h2t_f_ping(&unit, 0, op);
    h2t_replay_conn_error(h2t_setup_server, &cfg, &unit, H2_ENHANCE_YOUR_CALM);
    h2t_buf_free(&unit);
    for (int i = 0; i < 5; i++)
        h2t_f_ping(&unit, 0, op);
    h2t_result r;
    h2t_replay(h2t_setup_server, &cfg, unit.p, unit.len, &r);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_PING_RECEIVED), 5);
    h2t_result_free(&r);
}

Test(abuse_flood, split_everywhere_settings_entries)
{
    settings_entries(&unit, 33);
    h2t_replay_conn_error(h2t_setup_server, NULL, &unit, H2_ENHANCE_YOUR_CALM);
}

Test(abuse_flood, split_everywhere_glitches)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 5;
    h2t_f_headers(&ff, &unit, 1, 0x4, h2t_req_post, 4);
    for (int i = 0; i < 6; i++)
        h2t_f_data(&unit, 1, 0, NULL, 0, -1);
    h2t_result r;
    h2t_replay(h2t_setup_server, &cfg, unit.p, unit.len, &r);
    h2t_expect_conn_error(&r, H2_ENHANCE_YOUR_CALM);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_DATA_RECEIVED), 5);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_LIMIT_EXCEEDED), 1);
    cr_assert_eq(ab_stats(r.conn).limit_exceeded[H2_LIMIT_GLITCHES], 1);
    h2t_result_free(&r);
}

Test(abuse_flood, split_everywhere_continuations)
{
    h2t_buf blk;
    h2t_buf_init(&blk);
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&unit, 1, 0x1, blk.p, blk.len, 0, 0, false, -1);
    for (int i = 0; i < 9; i++)
        h2t_f_continuation(&unit, 1, 0, NULL, 0);
    h2t_replay_conn_error(h2t_setup_server, NULL, &unit, H2_ENHANCE_YOUR_CALM);
    h2t_buf_free(&blk);
}

Test(abuse_flood, split_everywhere_reset_rate)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.reset_burst = 3;
    for (uint32_t i = 0; i < 4; i++) {
        h2t_f_headers(&ff, &unit, 1 + 2 * i, 0x5, h2t_req_get, 4);
        h2t_f_rst(&unit, 1 + 2 * i, H2_CANCEL);
    }
    h2t_result r;
    h2t_replay(h2t_setup_server, &cfg, unit.p, unit.len, &r);
    h2t_expect_conn_error(&r, H2_ENHANCE_YOUR_CALM);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 4);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_RESET), 3);
    cr_assert_eq(ab_stats(r.conn).limit_exceeded[H2_LIMIT_RESET_RATE], 1);
    h2t_result_free(&r);
}
