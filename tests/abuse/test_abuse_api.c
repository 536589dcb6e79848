/* The limit API: names, statistics, the clock and request slots. */
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

TestSuite(abuse_api, .init = setup, .fini = teardown);

Test(abuse_api, limit_names)
{
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_GLITCHES), "glitches");
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_RESET_RATE), "reset_rate");
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_SETTINGS_ENTRIES), "settings_entries");
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_CONTINUATION_FRAMES), "continuation_frames");
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_HEADER_FIELDS_HARD), "header_fields_hard");
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_RESERVED_STREAMS), "reserved_streams");
    cr_assert_str_eq(h2_limit_name(H2_LIMIT_COUNT), "unknown");
    cr_assert_str_eq(h2_limit_name(-1), "unknown");
    for (int i = 0; i < H2_LIMIT_COUNT; i++) {
        cr_assert_str_neq(h2_limit_name(i), "unknown");
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(h2_limit_name(i), h2_limit_name(j));
    }
}

Test(abuse_api, config_defaults)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cr_assert_eq(cfg.glitch_burst, 10000);
    cr_assert_eq(cfg.glitch_rate, 330);
    cr_assert_eq(cfg.reset_burst, 1000);
    cr_assert_eq(cfg.reset_rate, 33);
    cr_assert_eq(cfg.max_queued_replies, 1000);
    cr_assert_eq(cfg.max_settings_entries, 32);
    cr_assert_eq(cfg.max_header_fields, 100);
    cr_assert_eq(cfg.max_header_fields_hard, 1000);
    cr_assert_eq(cfg.max_continuation_frames, 9);
    cr_assert_eq(cfg.max_concurrent_streams, 100);
    cr_assert_eq(cfg.max_header_list_size, 65536);
    cr_assert_eq(cfg.header_table_size, 4096);
    cr_assert_eq(cfg.encoder_table_cap, 4096);
    cr_assert_eq(cfg.max_active_requests, 0);
    cr_assert_eq(cfg.max_requests_per_connection, 0);
    cr_assert(!cfg.explicit_request_done);
}

Test(abuse_api, stats_count_frames_bytes_streams_resets)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2_conn_stats s0 = ab_stats(c);
    cr_assert_eq(s0.frames_received, 2); /* SETTINGS and SETTINGS ACK */
    cr_assert_eq(s0.frames_sent, 2);     /* SETTINGS and its ACK */
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_f_rst(&in, 3, H2_CANCEL);
    uint8_t op[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    h2t_f_ping(&in, 0, op);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    h2_conn_stats s = ab_stats(c);
    cr_assert_eq(s.frames_received, s0.frames_received + 4);
    cr_assert_eq(s.bytes_received - s0.bytes_received, in.len);
    cr_assert_eq(s.streams_opened_remote, 2);
    cr_assert_eq(s.streams_opened_local, 0);
    cr_assert_eq(s.resets_received, 1);
    cr_assert_eq(s.resets_sent, 0);
    cr_assert_eq(s.frames_sent, s0.frames_sent + 2); /* PING ACK, HEADERS */
    /* stream 1 ended normally: its slot is free; 3 was reset: held */
    cr_assert_eq(s.active_requests, 1);
    size_t pending = h2_conn_output_pending(c);
    h2t_take(c, NULL);
    cr_assert_eq(ab_stats(c).bytes_sent - s0.bytes_sent, pending);
    for (int i = 0; i < H2_LIMIT_COUNT; i++)
        cr_assert_eq(s.limit_exceeded[i], 0);
    cr_assert_eq(s.glitches, 0);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

Test(abuse_api, reset_slot_held_until_the_end_of_the_next_receive)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_rst(&in, 1, H2_CANCEL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(ab_stats(c).active_requests, 1);
    cr_assert_eq(h2_conn_open_inbound_streams(c), 0);
    /* the next receive call, even empty, ends the hold */
    cr_assert_eq(h2t_feed(c, NULL, 0, NULL), 0);
    cr_assert_eq(ab_stats(c).active_requests, 0);
    cr_assert_eq(h2_conn_request_done(c, 1), H2_ENOSTREAM);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

Test(abuse_api, request_done_frees_a_slot_early)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_rst(&in, 1, H2_CANCEL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_request_done(c, 1), 0);
    cr_assert_eq(ab_stats(c).active_requests, 0);
    cr_assert_eq(h2_conn_request_done(c, 1), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_request_done(NULL, 1), H2_EINVAL);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

Test(abuse_api, explicit_request_done_holds_slots_after_close)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.explicit_request_done = true;
    cfg.max_active_requests = 2;
    h2_conn *c = h2t_server_ready(&cfg);
    h2t_buf in, out;
    h2t_buf_init(&in);
    h2t_buf_init(&out);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    /* both answered and closed, but the application still handles them */
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(c, 3, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    h2t_take(c, NULL);
    cr_assert_eq(h2_conn_open_inbound_streams(c), 0);
    cr_assert_eq(ab_stats(c).active_requests, 2);
    h2t_buf_free(&in);
    h2t_f_headers(&ff, &in, 5, 0x5, h2t_req_get, 4);
    ab_trace t;
    ab_trace_init(&t);
    cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), 0);
    h2t_take(c, &out);
    h2t_expect_rst(&out, 5, H2_REFUSED_STREAM);
    cr_assert_eq(t.requests, 0);
    cr_assert_eq(t.last_limit, H2_LIMIT_ACTIVE_REQUESTS);
    cr_assert_eq(t.last_limit_stream, 5);
    cr_assert_eq(t.last_limit_code, H2_REFUSED_STREAM);
    cr_assert(!t.last_limit_conn);
    cr_assert_eq(ab_stats(c).limit_exceeded[H2_LIMIT_ACTIVE_REQUESTS], 1);
    /* the application finishes one: the next request gets in */
    cr_assert_eq(h2_conn_request_done(c, 1), 0);
    h2t_buf_free(&in);
    h2t_f_headers(&ff, &in, 7, 0x5, h2t_req_get, 4);
    ab_trace_init(&t);
    cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), 0);
    cr_assert_eq(t.requests, 1);
    cr_assert_eq(ab_stats(c).active_requests, 2);
    h2t_buf_free(&in);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(abuse_api, clock_refills_the_glitch_budget)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 10;
    cfg.glitch_rate = 5; /* one token every 200 ms */
    h2_conn *c = h2t_server_ready(&cfg);
    h2_conn_set_time(c, 1000);
    h2t_buf in;
    h2t_buf_init(&in);
    for (int i = 0; i < 10; i++)
        h2t_f_unknown(&in, 0xfa, 0, 0, NULL, 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf_free(&in);
    h2t_f_unknown(&in, 0xfa, 0, 0, NULL, 0);
    /* 199 ms later: less than a token back */
    h2_conn_set_time(c, 1199);
    h2_conn_set_time(c, 900); /* ignored: time never goes back */
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2_conn_free(c);
    /* the same at 200 ms: the 11th glitch is paid, the 12th is not */
    c = h2t_server_ready(&cfg);
    h2_conn_set_time(c, 1000);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2_conn_set_time(c, 1200);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2_conn_stats s = ab_stats(c);
    cr_assert_eq(s.glitches, 12);
    cr_assert_eq(s.limit_exceeded[H2_LIMIT_GLITCHES], 1);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

Test(abuse_api, without_a_clock_a_rate_limit_is_a_budget)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 3;
    h2_conn *c = h2t_server_ready(&cfg);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_unknown(&in, 0xfa, 0, 0, NULL, 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

Test(abuse_api, zero_burst_turns_a_rate_limit_off)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.glitch_burst = 0;
    h2_conn *c = h2t_server_ready(&cfg);
    h2t_buf in;
    h2t_buf_init(&in);
    for (int i = 0; i < 12000; i++)
        h2t_f_unknown(&in, 0xfa, 0, 0, NULL, 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(ab_stats(c).glitches, 12000);
    cr_assert_eq(ab_stats(c).limit_exceeded[H2_LIMIT_GLITCHES], 0);
    h2t_buf_free(&in);
    h2_conn_free(c);
}
