/* Basic connection logic: preface, request/response exchanges, output API. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static const h2_header req_get[] = {
    H2T_HDR(":method", "GET"),
    H2T_HDR(":scheme", "https"),
    H2T_HDR(":authority", "example.com"),
    H2T_HDR(":path", "/"),
};

static const h2_header resp_200[] = {
    H2T_HDR(":status", "200"),
    H2T_HDR("content-type", "text/plain"),
};

Test(conn_basic, client_preface_bytes)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    static const uint8_t expect[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                    "\x00\x00\x2a\x04\x00\x00\x00\x00\x00"
                                    "\x00\x01\x00\x00\x10\x00"
                                    "\x00\x02\x00\x00\x00\x01"
                                    "\x00\x04\x00\x00\xff\xff"
                                    "\x00\x05\x00\x00\x40\x00"
                                    "\x00\x08\x00\x00\x00\x00"
                                    "\x00\x03\x00\x00\x00\x64"
                                    "\x00\x06\x00\x01\x00\x00";
    cr_assert_eq(out.len, sizeof(expect) - 1);
    cr_assert_arr_eq(out.p, expect, out.len);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_basic, server_preface_is_settings_only)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    cr_assert_eq(out.len, 9 + 42);
    cr_assert_eq(out.p[3], 0x4);
    /* ENABLE_PUSH 0 for a server */
    cr_assert_eq(out.p[9 + 6 + 5], 0);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_basic, initiate_twice_is_refused)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    size_t before = h2_conn_output_pending(c);
    cr_assert_eq(h2_conn_initiate(c), H2_ESTATE);
    cr_assert_eq(h2_conn_output_pending(c), before);
    h2_conn_free(c);
}

Test(conn_basic, get_request_and_response_roundtrip)
{
    h2_conn *cl = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    h2_conn *sv = h2t_conn_new(H2_ROLE_SERVER, NULL);
    h2t_handshake(cl, sv);
    cr_assert_eq(h2_conn_next_stream_id(cl), 1);
    cr_assert_eq(h2_conn_send_headers(cl, 1, req_get, H2T_N(req_get), H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_next_stream_id(cl), 3);
    h2t_log sl;
    h2t_log_init(&sl);
    cr_assert_eq(h2t_transfer(cl, sv, &sl), 0);
    cr_assert_eq(sl.n, 2);
    cr_assert_eq(sl.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(sl.ev[0].stream_id, 1);
    cr_assert_eq(sl.ev[0].n_hdrs, 4);
    cr_assert_str_eq(h2t_ev_header(&sl.ev[0], ":path"), "/");
    cr_assert_eq(sl.ev[0].stream_ended, 1);
    cr_assert_eq(sl.ev[1].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(h2_conn_open_inbound_streams(sv), 1);

    cr_assert_eq(h2_conn_send_headers(sv, 1, resp_200, H2T_N(resp_200), 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(sv, 1, (const uint8_t *)"hello", 5, H2_SEND_END_STREAM, -1), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(sv), 0);
    h2t_log cl_log;
    h2t_log_init(&cl_log);
    cr_assert_eq(h2t_transfer(sv, cl, &cl_log), 0);
    cr_assert_eq(cl_log.n, 3);
    cr_assert_eq(cl_log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_str_eq(h2t_ev_header(&cl_log.ev[0], ":status"), "200");
    cr_assert_eq(cl_log.ev[1].type, H2_EV_DATA_RECEIVED);
    cr_assert_eq(cl_log.ev[1].len, 5);
    cr_assert_arr_eq(cl_log.ev[1].data, "hello", 5);
    cr_assert_eq(cl_log.ev[1].fcl, 5);
    cr_assert_eq(cl_log.ev[1].stream_ended, 1);
    cr_assert_eq(cl_log.ev[2].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(h2_conn_open_outbound_streams(cl), 0);
    h2t_log_free(&sl);
    h2t_log_free(&cl_log);
    h2_conn_free(cl);
    h2_conn_free(sv);
}

Test(conn_basic, request_replayed_at_every_split)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x4, req_get, H2T_N(req_get));
    h2t_f_data(&in, 1, 0, "abc", 3, -1);
    h2t_f_data(&in, 1, 0x1, "defg", 4, 2);
    h2t_result r;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &r);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.log.n, 4);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[1].type, H2_EV_DATA_RECEIVED);
    cr_assert_eq(r.log.ev[2].type, H2_EV_DATA_RECEIVED);
    cr_assert_eq(r.log.ev[2].len, 4);
    cr_assert_eq(r.log.ev[2].fcl, 7);
    cr_assert_eq(r.log.ev[3].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

ParameterizedTestParameters(conn_basic, preface_drip_fed)
{
    static size_t chunks[23];
    for (size_t i = 0; i < 23; i++)
        chunks[i] = i + 1;
    return cr_make_param_array(size_t, chunks, 23);
}

ParameterizedTest(size_t *chunk, conn_basic, preface_drip_fed)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_preface(&in);
    h2_setting e = {H2_SETTING_MAX_CONCURRENT_STREAMS, 7};
    h2t_f_settings(&in, 0, &e, 1);
    h2t_log log;
    h2t_log_init(&log);
    for (size_t pos = 0; pos < in.len; pos += *chunk) {
        size_t n = in.len - pos < *chunk ? in.len - pos : *chunk;
        cr_assert_eq(h2t_feed(c, in.p + pos, n, &log), 0);
    }
    cr_assert_eq(log.n, 1);
    cr_assert_eq(log.ev[0].type, H2_EV_REMOTE_SETTINGS_CHANGED);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_MAX_CONCURRENT_STREAMS), 7);
    cr_assert_eq(h2_conn_output_pending(c), 9);
    h2t_log_free(&log);
    h2t_buf_free(&in);
    h2_conn_free(c);
}

ParameterizedTestParameters(conn_basic, data_up_to_peer_max_frame_size)
{
    static uint32_t sizes[] = {16384, 16385, 20000, 32768, 65535, 100000};
    return cr_make_param_array(uint32_t, sizes, H2T_N(sizes));
}

ParameterizedTest(uint32_t *size, conn_basic, data_up_to_peer_max_frame_size)
{
    h2_conn_config ccfg, scfg;
    h2_conn_config_init(&ccfg, H2_ROLE_CLIENT);
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    ccfg.max_frame_size = *size;
    ccfg.initial_window_size = 1 << 20;
    ccfg.connection_window_size = 1 << 20;
    h2t_pair p;
    h2t_pair_init(&p, &ccfg, &scfg);
    cr_assert_eq(h2_conn_max_outbound_frame_size(p.sv), *size);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    uint8_t *body = calloc(1, *size + 1);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, body, *size + 1, 0, -1), H2_EFRAME_SIZE);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, body, *size, H2_SEND_END_STREAM, -1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    const h2t_ev *d = h2t_log_find(&p.cl_log, H2_EV_DATA_RECEIVED, 0);
    cr_assert_not_null(d);
    cr_assert_eq(d->len, *size);
    free(body);
    h2t_pair_free(&p);
}

Test(conn_basic, post_with_trailers_roundtrip)
{
    static const h2_header tr[] = {H2T_HDR("x-checksum", "1234")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.cl, 1, (const uint8_t *)"part1", 5, 0, -1), 0);
    cr_assert_eq(h2_conn_send_data(p.cl, 1, (const uint8_t *)"part2", 5, 0, 7), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, tr, 1, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 5);
    cr_assert_eq(p.sv_log.ev[2].fcl, 13);
    cr_assert_eq(p.sv_log.ev[3].type, H2_EV_TRAILERS_RECEIVED);
    cr_assert_str_eq(h2t_ev_header(&p.sv_log.ev[3], "x-checksum"), "1234");
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 0);
    h2t_pair_free(&p);
}

Test(conn_basic, response_headers_split_at_every_offset)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    static const h2_header resp[] = {
        H2T_HDR(":status", "200"),
        H2T_HDR("content-type", "text/html"),
        H2T_HDR("content-length", "5"),
        H2T_HDR("cache-control", "max-age=60"),
    };
    h2t_f_headers(&ff, &in, 1, 0x4, resp, 4);
    h2t_f_data(&in, 1, 0x1, "hello", 5, -1);
    uint8_t op[8] = {1, 1, 2, 3, 5, 8, 13, 21};
    h2t_f_ping(&in, 0, op);
    h2t_f_window_update(&in, 0, 1000);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.log.n, 5);
    cr_assert_eq(r.log.ev[3].type, H2_EV_PING_RECEIVED);
    cr_assert_eq(r.log.ev[4].type, H2_EV_WINDOW_UPDATED);
    cr_assert_eq(r.out.len, 17);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}
