/* Server push: h2_conn_push_stream() and PushedStreamReceived. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_buf in;
static h2t_ff ff;

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

TestSuite(conn_push, .init = setup, .fini = teardown);

static const h2_header push_req[4] = {
    H2T_HDR(":method", "GET"),
    H2T_HDR(":scheme", "https"),
    H2T_HDR(":authority", "example.com"),
    H2T_HDR(":path", "/style.css"),
};

/* A pair where the client sent GET on stream 1 and the server received it. */
static void pair_with_request(h2t_pair *p, bool end)
{
    h2t_pair_init(p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p->cl, 1, end), 0);
    cr_assert_eq(h2t_c2s(p), 0);
}

Test(conn_push, push_round_trip)
{
    h2t_pair p;
    pair_with_request(&p, true);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.sv), 1);
    cr_assert_eq(h2_conn_next_stream_id(p.sv), 4);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 1);
    const h2t_ev *e = &p.cl_log.ev[0];
    cr_assert_eq(e->type, H2_EV_PUSHED_STREAM_RECEIVED);
    cr_assert_eq(e->stream_id, 2);
    cr_assert_eq(e->parent_id, 1);
    cr_assert_str_eq(h2t_ev_header(e, ":path"), "/style.css");
    cr_assert_eq(h2_conn_open_inbound_streams(p.cl), 1);

    cr_assert_eq(h2_conn_send_headers(p.sv, 2, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.sv, 2, (const uint8_t *)"body{}", 6, H2_SEND_END_STREAM, -1),
                 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 5);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_eq(p.cl_log.ev[0].stream_id, 2);
    cr_assert_eq(p.cl_log.ev[1].type, H2_EV_DATA_RECEIVED);
    cr_assert_arr_eq(p.cl_log.ev[1].data, "body{}", 6);
    cr_assert_eq(p.cl_log.ev[2].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(p.cl_log.ev[3].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_eq(p.cl_log.ev[3].stream_id, 1);
    cr_assert_eq(h2_conn_open_inbound_streams(p.cl), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.sv), 0);
    h2t_pair_free(&p);
}

Test(conn_push, push_promise_frame_bytes)
{
    h2t_pair p;
    pair_with_request(&p, true);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(p.sv, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 1);
    cr_assert_eq(f[0].type, 0x5);
    cr_assert_eq(f[0].flags, 0x4); /* END_HEADERS, never padded */
    cr_assert_eq(f[0].id, 1);
    cr_assert_eq(h2t_u32(f[0].payload), 2);
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}

Test(conn_push, large_promise_uses_continuation)
{
    h2t_pair p;
    pair_with_request(&p, true);
    static char big[40000];
    memset(big, 'a', sizeof big);
    h2_header f[5] = {push_req[0],
                      push_req[1],
                      push_req[2],
                      push_req[3],
                      {(const uint8_t *)"x-big", 5, (const uint8_t *)big, sizeof big, 0}};
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, f, 5), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(p.sv, &out);
    h2t_frame fr[8];
    size_t n = h2t_parse_frames(out.p, out.len, fr, 8);
    cr_assert_geq(n, 2);
    cr_assert_eq(fr[0].type, 0x5);
    cr_assert_eq(fr[0].flags, 0);
    cr_assert_eq(fr[0].len, 16384);
    for (size_t k = 1; k < n; k++) {
        cr_assert_eq(fr[k].type, 0x9);
        cr_assert_eq(fr[k].id, 1);
        cr_assert_eq(fr[k].flags, k == n - 1 ? 0x4 : 0);
        cr_assert_leq(fr[k].len, 16384);
    }
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(p.cl, out.p, out.len, &log), 0);
    cr_assert_eq(log.n, 1);
    cr_assert_eq(log.ev[0].type, H2_EV_PUSHED_STREAM_RECEIVED);
    cr_assert_eq(strlen(h2t_ev_header(&log.ev[0], "x-big")), sizeof big);
    h2t_log_free(&log);
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}

Test(conn_push, refused_calls_change_nothing)
{
    h2t_pair p;
    pair_with_request(&p, true);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 3, push_req, 4), H2_ESTREAM_ID);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 0, push_req, 4), H2_ESTREAM_ID);
    cr_assert_eq(h2_conn_push_stream(p.sv, 3, 2, push_req, 4), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, h2t_req_post, 4), H2_EHEADER);
    h2_header bad[2] = {H2T_HDR(":method", "GET"), H2T_HDR(":path", "/")};
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, bad, 2), H2_EHEADER);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, NULL, 1), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    cr_assert_eq(h2_conn_next_stream_id(p.sv), 2);
    /* the id was not burned */
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), H2_ESTREAM_ID);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 6, push_req, 4), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 4, push_req, 4), H2_ESTREAM_ID);
    h2t_pair_free(&p);
}

Test(conn_push, client_cannot_push)
{
    h2t_pair p;
    pair_with_request(&p, false);
    cr_assert_eq(h2_conn_push_stream(p.cl, 1, 2, push_req, 4), H2_EROLE);
    h2t_pair_free(&p);
}

Test(conn_push, peer_disabled_push)
{
    h2_conn_config cc;
    h2_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.enable_push = 0;
    h2t_pair p;
    h2t_pair_init(&p, &cc, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), H2_EPUSH_DISABLED);
    h2t_pair_free(&p);
}

Test(conn_push, no_recursive_push_and_not_after_parent_response)
{
    h2t_pair p;
    pair_with_request(&p, false);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 2, 4, push_req, 4), H2_ESTATE);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 4, push_req, 4), H2_ESTATE);
    h2t_pair_free(&p);
}

Test(conn_push, closed_parent_and_goaway)
{
    h2t_pair p;
    pair_with_request(&p, true);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), H2_ESTREAM_CLOSED);
    cr_assert_eq(h2t_send_get(p.cl, 3, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_close(p.sv, 0, NULL, 0, -1), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 3, 2, push_req, 4), H2_ECLOSED);
    h2t_pair_free(&p);
}

Test(conn_push, pushed_stream_send_rules)
{
    h2t_pair p;
    pair_with_request(&p, true);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    /* data before the response headers */
    cr_assert_eq(h2_conn_send_data(p.sv, 2, (const uint8_t *)"x", 1, 0, -1), H2_ESTATE);
    cr_assert_eq(h2t_s2c(&p), 0);
    /* the client cannot send on a pushed stream */
    cr_assert_eq(h2_conn_send_headers(p.cl, 2, h2t_req_get, 4, H2_SEND_END_STREAM, NULL),
                 H2_ESTATE);
    cr_assert_eq(h2_conn_send_data(p.cl, 2, (const uint8_t *)"x", 1, 0, -1), H2_ESTATE);
    h2t_pair_free(&p);
}

Test(conn_push, client_resets_pushed_stream)
{
    h2t_pair p;
    pair_with_request(&p, true);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 2, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.cl), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    const h2t_ev *e = h2t_log_find(&p.sv_log, H2_EV_STREAM_RESET, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->stream_id, 2);
    cr_assert_eq(e->error_code, H2_CANCEL);
    cr_assert_eq(h2_conn_open_outbound_streams(p.sv), 0);
    /* frames the server had in flight on it are ignored */
    cr_assert_eq(h2_conn_send_headers(p.sv, 2, h2t_resp_200, 2, 0, NULL), H2_ESTREAM_CLOSED);
    h2t_pair_free(&p);
}

Test(conn_push, head_push_response_has_no_body)
{
    h2t_f_push_promise(&ff, &in, 1, 2,
                       (h2_header[]){H2T_HDR(":method", "HEAD"), H2T_HDR(":scheme", "https"),
                                     H2T_HDR(":authority", "a.example"), H2T_HDR(":path", "/")},
                       4);
    h2_header resp[2] = {H2T_HDR(":status", "200"), H2T_HDR("content-length", "100")};
    h2t_f_headers(&ff, &in, 2, 0x5, resp, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PUSHED_STREAM_RECEIVED);
    cr_assert_eq(r.log.ev[1].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_eq(r.log.ev[2].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

/* ---- receiving ---------------------------------------------------------------------- */

Test(conn_push, replay_promise_response_data)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_headers(&ff, &in, 2, 0x4, h2t_resp_200, 2);
    h2t_f_data(&in, 2, 0x1, "css", 3, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.log.n, 4);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PUSHED_STREAM_RECEIVED);
    cr_assert_eq(r.log.ev[0].n_hdrs, 4);
    cr_assert_eq(r.log.ev[1].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_eq(r.log.ev[2].type, H2_EV_DATA_RECEIVED);
    cr_assert_eq(r.log.ev[3].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2_conn_open_inbound_streams(r.conn), 0);
    h2t_result_free(&r);
}

Test(conn_push, push_disabled_is_connection_error)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.enable_push = 0;
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_replay_conn_error(h2t_setup_client_get, &cfg, &in, H2_PROTOCOL_ERROR);
}

Test(conn_push, server_receiving_push_promise_is_error)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

static h2_conn *setup_client_get_reset(void *arg)
{
    h2_conn *c = h2t_setup_client_get(arg);
    cr_assert_eq(h2_conn_reset_stream(c, 1, H2_CANCEL), 0);
    h2t_take(c, NULL);
    return c;
}

Test(conn_push, push_on_stream_we_reset_is_refused)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_push_promise(&ff, &in, 1, 4, push_req, 4);
    h2t_result r;
    h2t_replay_ok(setup_client_get_reset, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 2);
    cr_assert_eq(f[0].type, 0x3);
    cr_assert_eq(f[0].id, 2);
    cr_assert_eq(h2t_u32(f[0].payload), H2_REFUSED_STREAM);
    cr_assert_eq(f[1].id, 4);
    h2t_result_free(&r);
}

Test(conn_push, reserved_cap_refuses_excess)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.max_reserved_streams = 2;
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_push_promise(&ff, &in, 1, 4, push_req, 4);
    h2t_f_push_promise(&ff, &in, 1, 6, push_req, 4);
    /* a response frees a slot */
    h2t_f_headers(&ff, &in, 2, 0x4, h2t_resp_200, 2);
    h2t_f_push_promise(&ff, &in, 1, 8, push_req, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, &cfg, &in, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_PUSHED_STREAM_RECEIVED), 3);
    cr_assert_eq(h2t_log_find(&r.log, H2_EV_PUSHED_STREAM_RECEIVED, 2)->stream_id, 8);
    h2t_expect_rst(&r.out, 6, H2_REFUSED_STREAM);
    h2t_result_free(&r);
}

Test(conn_push, invalid_promised_request_refused_with_protocol_error)
{
    h2_header no_path[3] = {H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),
                            H2T_HDR(":authority", "a")};
    h2t_f_push_promise(&ff, &in, 1, 2, no_path, 3);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_rst(&r.out, 2, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_push, promised_id_rules)
{
    h2t_f_push_promise(&ff, &in, 1, 4, push_req, 4);
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_push, promise_on_pushed_stream_is_error)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_push_promise(&ff, &in, 2, 4, push_req, 4);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

/* RFC 9113 5.1: reserved (remote) receives only HEADERS, RST_STREAM and
 * PRIORITY; anything else is a connection error PROTOCOL_ERROR. */
Test(conn_push, data_on_reserved_stream_is_connection_error)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_data(&in, 2, 0, "early", 5, -1);
    h2t_result r;
    h2t_replay(h2t_setup_client_get, NULL, in.p, in.len, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PUSHED_STREAM_RECEIVED);
    h2t_expect_goaway(&r.out, 2, H2_PROTOCOL_ERROR);
    h2t_expect_conn_error(&r, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_push, window_update_on_reserved_stream_is_connection_error)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_window_update(&in, 2, 100);
    h2t_result r;
    h2t_replay(h2t_setup_client_get, NULL, in.p, in.len, &r);
    h2t_expect_goaway(&r.out, 2, H2_PROTOCOL_ERROR);
    h2t_expect_conn_error(&r, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

/* After its response the pushed stream takes WINDOW_UPDATE as any other. */
Test(conn_push, window_update_on_pushed_stream_after_response)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_f_headers(&ff, &in, 2, 0x4, h2t_resp_200, 2);
    h2t_f_window_update(&in, 2, 100);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_WINDOW_UPDATED), 1);
    h2t_result_free(&r);
}

Test(conn_push, promise_after_our_goaway_refused)
{
    h2t_f_push_promise(&ff, &in, 1, 2, push_req, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_result_free(&r);
    h2_conn *c = h2t_setup_client_get(NULL);
    cr_assert_eq(h2_conn_close(c, 0, NULL, 0, 0), 0);
    h2t_take(c, NULL);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    h2t_take(c, &out);
    cr_assert_eq(log.n, 0);
    h2t_expect_rst(&out, 2, H2_REFUSED_STREAM);
    h2t_log_free(&log);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_push, cookies_in_promise_are_joined)
{
    h2_header f[6] = {push_req[0],
                      push_req[1],
                      push_req[2],
                      push_req[3],
                      H2T_HDR("cookie", "a=1"),
                      H2T_HDR("cookie", "b=2")};
    h2t_f_push_promise(&ff, &in, 1, 2, f, 6);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[0], "cookie"), "a=1; b=2");
    h2t_result_free(&r);
}
