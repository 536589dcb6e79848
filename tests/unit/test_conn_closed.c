/* Closed streams: what frames on them do, and the bounded closed-stream record. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_ff ff;
static h2t_buf in;

static void setup(void)
{
    h2t_ff_init(&ff);
    h2t_buf_init(&in);
}

static void teardown(void)
{
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

TestSuite(conn_closed, .init = setup, .fini = teardown);

/* Server that received a POST on stream 1 and reset it. */
static h2_conn *setup_reset_by_us(void *arg)
{
    (void)arg;
    h2_conn *c = h2t_server_ready(NULL);
    h2t_ff f2;
    h2t_ff_init(&f2);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_headers(&f2, &b, 1, 0x4, h2t_req_post, 4);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    cr_assert_eq(h2_conn_reset_stream(c, 1, H2_CANCEL), 0);
    h2t_take(c, NULL);
    h2t_buf_free(&b);
    h2t_ff_free(&f2);
    return c;
}

/* Server whose stream 1 was reset by the client. */
static h2_conn *setup_reset_by_peer(void *arg)
{
    (void)arg;
    h2_conn *c = h2t_server_ready(NULL);
    h2t_ff f2;
    h2t_ff_init(&f2);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_headers(&f2, &b, 1, 0x4, h2t_req_post, 4);
    h2t_f_rst(&b, 1, H2_CANCEL);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_take(c, NULL);
    h2t_buf_free(&b);
    h2t_ff_free(&f2);
    return c;
}

/* Server whose stream 1 ended in both directions. */
static h2_conn *setup_ended(void *arg)
{
    (void)arg;
    h2_conn *c = h2t_server_ready(NULL);
    h2t_ff f2;
    h2t_ff_init(&f2);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_headers(&f2, &b, 1, 0x5, h2t_req_get, 4);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    h2t_take(c, NULL);
    h2t_buf_free(&b);
    h2t_ff_free(&f2);
    return c;
}

Test(conn_closed, data_after_our_reset_is_ignored)
{
    h2t_f_data(&in, 1, 0, "abc", 3, -1);
    h2t_f_data(&in, 1, 0x1, "abc", 3, -1);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_us, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_closed, data_after_our_reset_still_counts_for_the_connection)
{
    static uint8_t chunk[13500];
    for (int i = 0; i < 3; i++)
        h2t_f_data(&in, 1, 0, chunk, sizeof(chunk), -1);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_us, NULL, &in, &r);
    /* 40500 >= 65535/2: one connection WINDOW_UPDATE returns the bytes */
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 1);
    cr_assert_eq(f[0].type, 0x8);
    cr_assert_eq(f[0].id, 0);
    cr_assert_eq(h2t_u32(f[0].payload), 40500);
    int32_t w;
    cr_assert_eq(h2_conn_recv_window(r.conn, 0, &w), 0);
    cr_assert_eq(w, 65535);
    h2t_result_free(&r);
}

Test(conn_closed, headers_after_our_reset_are_decoded_and_ignored)
{
    static const h2_header trailers[] = {H2T_HDR("x-trailer", "value-to-index")};
    h2t_f_headers(&ff, &in, 1, 0x5, trailers, 1);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_us, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_id, 3);
    h2t_result_free(&r);
}

Test(conn_closed, window_update_and_rst_after_our_reset_are_ignored)
{
    h2t_f_window_update(&in, 1, 100);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_us, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_closed, data_after_peer_reset_gets_stream_closed)
{
    h2t_f_data(&in, 1, 0, "abc", 3, -1);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_peer, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_rst(&r.out, 1, H2_STREAM_CLOSED);
    h2t_result_free(&r);
}

Test(conn_closed, repeated_data_after_peer_reset_gets_rst_each_time)
{
    for (int i = 0; i < 3; i++)
        h2t_f_data(&in, 1, 0, "abc", 3, -1);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_peer, NULL, &in, &r);
    cr_assert_eq(h2t_count_frames(&r.out, 0x3), 3);
    h2t_result_free(&r);
}

Test(conn_closed, headers_after_peer_reset_gets_stream_closed)
{
    static const h2_header trailers[] = {H2T_HDR("x-trailer", "1")};
    h2t_f_headers(&ff, &in, 1, 0x5, trailers, 1);
    h2t_result r;
    h2t_replay_ok(setup_reset_by_peer, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_STREAM_CLOSED);
    h2t_result_free(&r);
}

Test(conn_closed, repeated_rst_gives_one_event)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    for (int i = 0; i < 6; i++)
        h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    cr_assert_eq(h2t_log_count(&log, H2_EV_STREAM_RESET), 1);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2t_log_free(&log);
    h2_conn_free(c);
}

Test(conn_closed, data_after_end_stream_both_ways_is_connection_error)
{
    h2t_f_data(&in, 1, 0, "abc", 3, -1);
    h2t_replay_conn_error(setup_ended, NULL, &in, H2_STREAM_CLOSED);
}

Test(conn_closed, headers_after_end_stream_both_ways_is_connection_error)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_replay_conn_error(setup_ended, NULL, &in, H2_STREAM_CLOSED);
}

Test(conn_closed, window_update_after_end_stream_is_ignored)
{
    h2t_f_window_update(&in, 1, 1000);
    h2t_f_rst(&in, 1, H2_NO_ERROR);
    h2t_result r;
    h2t_replay_ok(setup_ended, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_closed, priority_on_closed_stream_is_reported)
{
    h2t_f_priority(&in, 1, 0, 32, false);
    h2t_result r;
    h2t_replay_ok(setup_ended, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PRIORITY_UPDATED);
    cr_assert_eq(r.log.ev[0].weight, 32);
    h2t_result_free(&r);
}

Test(conn_closed, skipped_stream_ids_are_closed)
{
    h2t_f_headers(&ff, &in, 5, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 3, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_expect_rst(&r.out, 3, H2_STREAM_CLOSED);
    h2t_result_free(&r);
}

Test(conn_closed, sending_on_closed_streams)
{
    h2_conn *c = setup_ended(NULL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"x", 1, 0, -1), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_end_stream(c, 1), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_reset_stream(c, 1, H2_CANCEL), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_increment_window(c, 1, 10), H2_ESTREAM_CLOSED);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(c, 1, &w), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_recv_window(c, 1, &w), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn_free(c);
}

Test(conn_closed, second_reset_is_refused)
{
    h2_conn *c = setup_reset_by_us(NULL);
    cr_assert_eq(h2_conn_reset_stream(c, 1, H2_CANCEL), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn_free(c);
}

Test(conn_closed, sending_on_never_opened_streams)
{
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"x", 1, 0, -1), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_end_stream(c, 3), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_reset_stream(c, 3, 0), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_increment_window(c, 5, 1), H2_ENOSTREAM);
    h2_conn_free(c);
}

Test(conn_closed, closed_record_is_bounded)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_closed_streams = 4;
    h2_conn *c = h2t_server_ready(&cfg);
    for (uint32_t id = 1; id <= 11; id += 2) {
        h2t_buf_free(&in);
        h2t_f_headers(&ff, &in, id, 0x4, h2t_req_post, 4);
        h2t_f_rst(&in, id, H2_CANCEL);
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    }
    h2t_take(c, NULL);
    /* stream 11 is remembered as reset by the peer: DATA gets STREAM_CLOSED */
    h2t_buf_free(&in);
    h2t_f_data(&in, 11, 0, "x", 1, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_expect_rst(&out, 11, H2_STREAM_CLOSED);
    /* stream 1 was forgotten; HEADERS on it is a connection error */
    h2t_buf_free(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(c).code, H2_PROTOCOL_ERROR);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_closed, zero_closed_streams_remembered)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_closed_streams = 0;
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, &cfg, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_STREAM_CLOSED);
    h2t_result_free(&r);
}

Test(conn_closed, client_side_closed_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    h2t_f_data(&in, 1, 0, "late", 4, -1);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_STREAM_CLOSED);
}

/* Server with stream 1 open, then |n| more streams opened and reset by the peer. */
static h2_conn *server_many(h2_conn_config *cfg, uint32_t n)
{
    /* n request/reset pairs in one receive call: the reset requests keep
     * their slots (max_active_requests) until the end of the next call, so
     * allow them plus room for the requests the tests send next */
    h2_conn_config def;
    if (cfg == NULL) {
        h2_conn_config_init(&def, H2_ROLE_SERVER);
        cfg = &def;
    }
    cfg->max_active_requests = n + 8;
    h2_conn *c = h2t_server_ready(cfg);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    for (uint32_t i = 0; i < n; i++) {
        h2t_f_headers(&ff, &in, 3 + 2 * i, 0x5, h2t_req_get, 4);
        h2t_f_rst(&in, 3 + 2 * i, H2_CANCEL);
    }
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf_free(&in);
    h2t_take(c, NULL);
    return c;
}

Test(conn_closed, record_grows_to_cover_an_old_stream)
{
    h2_conn *c = server_many(NULL, 600);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_expect_rst(&out, 1, H2_STREAM_CLOSED);
    /* a stream in the middle is remembered too */
    h2t_buf_free(&in);
    h2t_buf_free(&out);
    h2t_f_data(&in, 301, 0, "x", 1, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_take(c, &out);
    h2t_expect_rst(&out, 301, H2_STREAM_CLOSED);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_closed, record_window_is_bounded)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_closed_streams = 100; /* rounded up to 128 ids */
    h2_conn *c = server_many(&cfg, 300);
    /* stream 1 closes after 300 newer ids: outside the window, forgotten */
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(c).code, H2_PROTOCOL_ERROR);
    h2_conn_free(c);
}

Test(conn_closed, id_jump_forgets_the_window)
{
    h2_conn *c = server_many(NULL, 2);
    h2t_f_headers(&ff, &in, 0x100001, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 5, 0, "x", 1, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    /* 5 is forgotten: DATA on it gets STREAM_CLOSED as for any closed stream */
    h2t_expect_rst(&out, 5, H2_STREAM_CLOSED);
    h2t_buf_free(&in);
    h2t_f_headers(&ff, &in, 5, 0x5, h2t_resp_200, 2);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_closed, skipped_ids_are_not_remembered_as_reset)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_f_headers(&ff, &in, 9, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 5, 0x5, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}
