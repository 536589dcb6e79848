/* CONNECT and extended CONNECT (RFC 8441) with SETTINGS_ENABLE_CONNECT_PROTOCOL. */
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

TestSuite(conn_connect, .init = setup, .fini = teardown);

static const h2_header connect_req[2] = {
    H2T_HDR(":method", "CONNECT"),
    H2T_HDR(":authority", "proxy.example:443"),
};

static const h2_header ws_req[5] = {
    H2T_HDR(":method", "CONNECT"),
    H2T_HDR(":protocol", "websocket"),
    H2T_HDR(":scheme", "https"),
    H2T_HDR(":path", "/chat"),
    H2T_HDR(":authority", "server.example.com"),
};

static void pair_ecp(h2t_pair *p, uint32_t server_ecp)
{
    h2_conn_config sc;
    h2_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.enable_connect_protocol = server_ecp;
    h2t_pair_init(p, NULL, &sc);
}

Test(conn_connect, ordinary_connect_round_trip)
{
    h2t_pair p;
    pair_ecp(&p, 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, connect_req, 2, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 1);
    cr_assert_eq(p.sv_log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_str_eq(h2t_ev_header(&p.sv_log.ev[0], ":method"), "CONNECT");
    cr_assert_null(h2t_ev_header(&p.sv_log.ev[0], ":path"));
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, (const uint8_t *)"tunnel", 6, 0, -1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 2);
    cr_assert_eq(p.cl_log.ev[1].type, H2_EV_DATA_RECEIVED);
    h2t_pair_free(&p);
}

Test(conn_connect, ordinary_connect_rules_outbound)
{
    h2t_pair p;
    pair_ecp(&p, 0);
    h2_header with_path[3] = {connect_req[0], connect_req[1], H2T_HDR(":path", "/")};
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, with_path, 3, 0, NULL), H2_EHEADER);
    h2_header with_scheme[3] = {connect_req[0], connect_req[1], H2T_HDR(":scheme", "https")};
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, with_scheme, 3, 0, NULL), H2_EHEADER);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, connect_req, 1, 0, NULL), H2_EHEADER);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);
    h2t_pair_free(&p);
}

Test(conn_connect, ordinary_connect_rules_inbound)
{
    h2_header with_path[3] = {connect_req[0], connect_req[1], H2T_HDR(":path", "/")};
    h2t_f_headers(&ff, &in, 1, 0x4, with_path, 3);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_connect, extended_connect_round_trip)
{
    h2t_pair p;
    pair_ecp(&p, 1);
    cr_assert_eq(h2_conn_setting(p.cl, true, H2_SETTING_ENABLE_CONNECT_PROTOCOL), 1);
    cr_assert_eq(h2_conn_setting(p.sv, false, H2_SETTING_ENABLE_CONNECT_PROTOCOL), 1);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, ws_req, 5, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 1);
    const h2t_ev *e = &p.sv_log.ev[0];
    cr_assert_eq(e->type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(e->n_hdrs, 5);
    cr_assert_str_eq(h2t_ev_header(e, ":protocol"), "websocket");
    cr_assert_str_eq(h2t_ev_header(e, ":path"), "/chat");
    h2t_pair_free(&p);
}

Test(conn_connect, client_needs_the_server_setting)
{
    h2t_pair p;
    pair_ecp(&p, 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, ws_req, 5, 0, NULL), H2_EHEADER);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);
    cr_assert_eq(h2_conn_next_stream_id(p.cl), 1);
    h2t_pair_free(&p);
}

Test(conn_connect, client_before_server_settings)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, ws_req, 5, 0, NULL), H2_EHEADER);
    h2_conn_free(c);
}

Test(conn_connect, server_without_setting_rejects_protocol)
{
    h2t_f_headers(&ff, &in, 1, 0x4, ws_req, 5);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

/* A server that advertised ENABLE_CONNECT_PROTOCOL; |arg| true: acknowledged. */
static h2_conn *server_ecp(void *arg)
{
    bool acked = arg != NULL;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.enable_connect_protocol = 1;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_preface(&b);
    h2t_f_settings(&b, 0, NULL, 0);
    if (acked)
        h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(c, NULL);
    return c;
}

Test(conn_connect, server_accepts_once_acknowledged)
{
    h2t_f_headers(&ff, &in, 1, 0x4, ws_req, 5);
    h2t_result r;
    h2t_replay_ok(server_ecp, (void *)1, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
    h2t_replay_ok(server_ecp, NULL, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_connect, extended_connect_needs_full_set)
{
    h2_header no_path[4] = {ws_req[0], ws_req[1], ws_req[2], ws_req[4]};
    h2t_f_headers(&ff, &in, 1, 0x4, no_path, 4);
    h2_header no_scheme[4] = {ws_req[0], ws_req[1], ws_req[3], ws_req[4]};
    h2t_f_headers(&ff, &in, 3, 0x4, no_scheme, 4);
    h2t_result r;
    h2t_replay_ok(server_ecp, (void *)1, &in, &r);
    cr_assert_eq(r.log.n, 0);
    cr_assert_eq(h2t_count_frames(&r.out, 0x3), 2);
    h2t_result_free(&r);
    h2t_pair p;
    pair_ecp(&p, 1);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, no_path, 4, 0, NULL), H2_EHEADER);
    h2t_pair_free(&p);
}

Test(conn_connect, protocol_only_with_connect)
{
    h2_header get_proto[5] = {H2T_HDR(":method", "GET"), ws_req[1], ws_req[2], ws_req[3],
                              ws_req[4]};
    h2t_f_headers(&ff, &in, 1, 0x4, get_proto, 5);
    h2t_result r;
    h2t_replay_ok(server_ecp, (void *)1, &in, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
    h2t_pair p;
    pair_ecp(&p, 1);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, get_proto, 5, 0, NULL), H2_EHEADER);
    h2t_pair_free(&p);
}

Test(conn_connect, setting_may_not_go_back_to_zero)
{
    h2_setting on = {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 1};
    h2_setting off = {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 0};
    h2t_f_settings(&in, 0, &on, 1);
    h2t_f_settings(&in, 0, &on, 1);
    h2t_f_settings(&in, 0, &off, 1);
    h2t_replay_conn_error(h2t_setup_client, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_connect, setting_zero_then_one_is_fine)
{
    h2_setting on = {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 1};
    h2_setting off = {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 0};
    h2t_f_settings(&in, 0, &off, 1);
    h2t_f_settings(&in, 0, &on, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(h2_conn_setting(r.conn, true, H2_SETTING_ENABLE_CONNECT_PROTOCOL), 1);
    h2t_result_free(&r);
}

Test(conn_connect, setting_value_range)
{
    h2_setting bad = {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 2};
    h2t_f_settings(&in, 0, &bad, 1);
    h2t_replay_conn_error(h2t_setup_client, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_connect, two_tunnels_and_large_block)
{
    h2t_pair p;
    pair_ecp(&p, 1);
    static char big[30000];
    memset(big, 'z', sizeof big);
    big[0] = 'q';
    for (size_t i = 1; i < sizeof big; i += 7)
        big[i] = (char)('a' + i % 26);
    h2_header f[6] = {
        ws_req[0], ws_req[1], ws_req[2],
        ws_req[3], ws_req[4], {(const uint8_t *)"x-big", 5, (const uint8_t *)big, sizeof big, 0}};
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, f, 6, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, connect_req, 2, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_REQUEST_RECEIVED), 2);
    cr_assert_eq(strlen(h2t_ev_header(&p.sv_log.ev[0], "x-big")), sizeof big);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 2);
    h2t_pair_free(&p);
}
