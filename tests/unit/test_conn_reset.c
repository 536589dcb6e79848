/* Stream reset in both directions; HPACK and flow control stay right. */
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

ParameterizedTestParameters(conn_reset, reset_with_each_code)
{
    static uint32_t codes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xdeadbeef};
    return cr_make_param_array(uint32_t, codes, H2T_N(codes));
}

ParameterizedTest(uint32_t *code, conn_reset, reset_with_each_code)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, false), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_reset_stream(p.sv, 1, *code), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(p.sv, &v, &n);
    h2t_buf_put(&out, v, n);
    h2t_expect_rst(&out, 1, *code);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 1);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_STREAM_RESET);
    cr_assert_eq(p.cl_log.ev[0].error_code, *code);
    cr_assert(p.cl_log.ev[0].remote_reset);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 0);
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}

Test(conn_reset, hpack_context_kept_across_reset_stream)
{
    static const h2_header h1[] = {H2T_HDR(":status", "200"), H2T_HDR("x-one", "indexed value")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_send_get(p.cl, 3, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 1, H2_CANCEL), 0);
    /* the server answers stream 1 before it sees the reset */
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h1, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 3, h1, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 2);
    cr_assert_eq(p.cl_log.ev[0].stream_id, 3);
    cr_assert_str_eq(h2t_ev_header(&p.cl_log.ev[0], "x-one"), "indexed value");
    h2t_pair_free(&p);
}

Test(conn_reset, flow_control_kept_across_reset_stream)
{
    static uint8_t body[16384];
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 1, H2_CANCEL), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h2_conn_send_data(p.sv, 1, body, sizeof(body), 0, -1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 0);
    /* the client returned the first 32768 bytes (the threshold is half the window) */
    cr_assert_eq(h2t_c2s(&p), 0);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(p.sv, 0, &w), 0);
    cr_assert_eq(w, 65535 - 16384);
    h2t_pair_free(&p);
}

Test(conn_reset, push_promise_on_stream_we_reset_is_refused)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2t_send_get(c, 1, true), 0);
    cr_assert_eq(h2_conn_reset_stream(c, 1, H2_CANCEL), 0);
    h2t_take(c, NULL);
    h2t_f_push_promise(&ff, &in, 1, 2, h2t_req_get, 4);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    cr_assert_eq(log.n, 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_expect_rst(&out, 2, H2_REFUSED_STREAM);
    h2t_buf_free(&out);
    h2t_log_free(&log);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
    h2_conn_free(c);
}

Test(conn_reset, push_promise_refused_and_hpack_in_sync)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    /* a POST cannot be promised: refused, but its block is still decoded */
    h2t_f_push_promise(&ff, &in, 1, 2, h2t_req_post, 4);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    h2t_f_data(&in, 2, 0, "pushed", 6, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_expect_rst(&r.out, 2, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_reset, push_promise_on_peer_reset_stream_is_error)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_f_push_promise(&ff, &in, 1, 2, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_reset, reset_before_initiate)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_reset_stream(c, 1, 0), H2_ESTATE);
    h2_conn_free(c);
}

Test(conn_reset, reset_half_closed_stream)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 1, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 3);
    cr_assert_eq(p.sv_log.ev[2].type, H2_EV_STREAM_RESET);
    h2t_pair_free(&p);
}
