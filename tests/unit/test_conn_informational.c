/* 1xx informational responses, sent and received. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_ff ff;
static h2t_buf in;
static const h2_header r100[] = {H2T_HDR(":status", "100")};
static const h2_header r103[] = {H2T_HDR(":status", "103"), H2T_HDR("link", "</a.css>")};
static const h2_header trailers[] = {H2T_HDR("x-checksum", "abc")};

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

TestSuite(conn_informational, .init = setup, .fini = teardown);

Test(conn_informational, single_1xx_then_response)
{
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_eq(r.log.ev[0].type, H2_EV_INFORMATIONAL_RESPONSE_RECEIVED);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[0], ":status"), "100");
    cr_assert_eq(r.log.ev[0].stream_ended, -1);
    cr_assert_eq(r.log.ev[1].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_eq(r.log.ev[2].type, H2_EV_STREAM_ENDED);
    h2t_result_free(&r);
}

Test(conn_informational, several_1xx)
{
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_f_headers(&ff, &in, 1, 0x4, r103, 2);
    h2t_f_headers(&ff, &in, 1, 0x4, r103, 2);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_INFORMATIONAL_RESPONSE_RECEIVED), 3);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[1], "link"), "</a.css>");
    h2t_result_free(&r);
}

Test(conn_informational, 1xx_response_data_trailers)
{
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    h2t_f_data(&in, 1, 0, "body", 4, -1);
    h2t_f_headers(&ff, &in, 1, 0x5, trailers, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    int types[] = {H2_EV_INFORMATIONAL_RESPONSE_RECEIVED, H2_EV_RESPONSE_RECEIVED,
                   H2_EV_DATA_RECEIVED, H2_EV_TRAILERS_RECEIVED, H2_EV_STREAM_ENDED};
    cr_assert_eq(r.log.n, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(r.log.ev[i].type, types[i]);
    h2t_result_free(&r);
}

Test(conn_informational, 1xx_with_end_stream_is_malformed)
{
    h2t_f_headers(&ff, &in, 1, 0x5, r100, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_STREAM_RESET);
    h2t_result_free(&r);
}

Test(conn_informational, 1xx_after_final_response_is_malformed)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[1].type, H2_EV_STREAM_RESET);
    h2t_result_free(&r);
}

Test(conn_informational, 1xx_from_client_after_request)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_result r;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.validate_inbound_headers = false;
    h2t_replay_ok(h2t_setup_server, &cfg, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_informational, 1xx_on_idle_stream_at_server)
{
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 0);
    h2t_result_free(&r);
}

Test(conn_informational, data_after_only_1xx_is_malformed)
{
    h2t_f_headers(&ff, &in, 1, 0x4, r100, 1);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

static void server_with_request(h2t_pair *p, bool end)
{
    h2t_pair_init(p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p->cl, 1, end), 0);
    cr_assert_eq(h2t_c2s(p), 0);
}

Test(conn_informational, send_1xx_then_response)
{
    h2t_pair p;
    server_with_request(&p, true);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, r100, 1, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, r103, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 4);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_INFORMATIONAL_RESPONSE_RECEIVED);
    cr_assert_eq(p.cl_log.ev[1].type, H2_EV_INFORMATIONAL_RESPONSE_RECEIVED);
    cr_assert_eq(p.cl_log.ev[2].type, H2_EV_RESPONSE_RECEIVED);
    h2t_pair_free(&p);
}

Test(conn_informational, send_1xx_with_end_stream_is_refused)
{
    h2t_pair p;
    server_with_request(&p, true);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, r100, 1, H2_SEND_END_STREAM, NULL), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    /* the stream is still usable */
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    h2t_pair_free(&p);
}

Test(conn_informational, send_1xx_after_final_is_refused)
{
    h2t_pair p;
    server_with_request(&p, true);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    size_t before = h2_conn_output_pending(p.sv);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, r100, 1, 0, NULL), H2_ESTATE);
    cr_assert_eq(h2_conn_output_pending(p.sv), before);
    h2t_pair_free(&p);
}

Test(conn_informational, send_1xx_on_request_not_ended)
{
    h2t_pair p;
    server_with_request(&p, false);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, r100, 1, 0, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 1);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_INFORMATIONAL_RESPONSE_RECEIVED);
    cr_assert_eq(h2_conn_send_data(p.cl, 1, (const uint8_t *)"up", 2, H2_SEND_END_STREAM, -1), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.ev[0].type, H2_EV_DATA_RECEIVED);
    h2t_pair_free(&p);
}

Test(conn_informational, data_after_only_1xx_cannot_be_sent)
{
    h2t_pair p;
    server_with_request(&p, true);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, r100, 1, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, (const uint8_t *)"x", 1, 0, -1), H2_ESTATE);
    h2t_pair_free(&p);
}

Test(conn_informational, client_cannot_send_1xx)
{
    h2t_pair p;
    server_with_request(&p, false);
    /* on its own stream a client can only send trailers */
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, r100, 1, 0, NULL), H2_ESTATE);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);
    h2t_pair_free(&p);
}
