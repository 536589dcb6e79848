/* Stream and connection state machines as seen through the API. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static const h2_header tr[] = {H2T_HDR("x-trailer", "1")};

Test(conn_state, client_open_to_half_closed_local)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, false), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 1);
    cr_assert_eq(h2_conn_end_stream(p.cl, 1), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 1);
    cr_assert_eq(h2_conn_send_data(p.cl, 1, (const uint8_t *)"x", 1, 0, -1), H2_ESTATE);
    cr_assert_eq(h2_conn_end_stream(p.cl, 1), H2_ESTATE);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, tr, 1, H2_SEND_END_STREAM, NULL), H2_ESTATE);
    h2t_pair_free(&p);
}

Test(conn_state, half_closed_local_closes_on_response_end)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 0);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(p.cl, 1, &w), H2_ESTREAM_CLOSED);
    h2t_pair_free(&p);
}

Test(conn_state, server_half_closed_remote_can_send)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, (const uint8_t *)"abc", 3, 0, -1), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, tr, 1, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_log_count(&p.cl_log, H2_EV_TRAILERS_RECEIVED), 1);
    h2t_pair_free(&p);
}

Test(conn_state, trailers_require_end_stream)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    size_t before = h2_conn_output_pending(p.sv);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, tr, 1, 0, NULL), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(p.sv), before);
    /* the encoder did not change: the trailers still go out and decode */
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, tr, 1, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 3);
    cr_assert_str_eq(h2t_ev_header(&p.cl_log.ev[1], "x-trailer"), "1");
    h2t_pair_free(&p);
}

Test(conn_state, client_trailers)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(p.cl, 1, (const uint8_t *)"body", 4, 0, -1), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, tr, 1, 0, NULL), H2_EINVAL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, tr, 1, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 4);
    cr_assert_eq(p.sv_log.ev[2].type, H2_EV_TRAILERS_RECEIVED);
    h2t_pair_free(&p);
}

Test(conn_state, server_data_before_response_refused)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, (const uint8_t *)"x", 1, 0, -1), H2_ESTATE);
    cr_assert_eq(h2_conn_end_stream(p.sv, 1), H2_ESTATE);
    h2t_pair_free(&p);
}

Test(conn_state, server_cannot_open_streams)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.sv, 2, h2t_req_get, 4, 0, NULL), H2_EROLE);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), H2_ESTREAM_ID);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    h2t_pair_free(&p);
}

Test(conn_state, client_stream_id_rules)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 2, true), H2_ESTREAM_ID);
    cr_assert_eq(h2t_send_get(p.cl, 0, true), H2_ESTREAM_ID);
    cr_assert_eq(h2t_send_get(p.cl, 0x80000001u, true), H2_ESTREAM_ID);
    cr_assert_eq(h2t_send_get(p.cl, 5, true), 0);
    cr_assert_eq(h2t_send_get(p.cl, 3, true), H2_ESTREAM_ID);
    cr_assert_eq(h2t_send_get(p.cl, 5, true), H2_ESTATE);
    cr_assert_eq(h2_conn_next_stream_id(p.cl), 7);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.ev[0].stream_id, 5);
    h2t_pair_free(&p);
}

Test(conn_state, peer_max_concurrent_streams)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.max_concurrent_streams = 2;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &scfg);
    cr_assert_eq(h2_conn_setting(p.cl, true, H2_SETTING_MAX_CONCURRENT_STREAMS), 2);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_send_get(p.cl, 3, true), 0);
    cr_assert_eq(h2t_send_get(p.cl, 5, true), H2_ETOO_MANY_STREAMS);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 1, H2_CANCEL), 0);
    cr_assert_eq(h2t_send_get(p.cl, 5, true), 0);
    h2t_pair_free(&p);
}

Test(conn_state, zero_max_concurrent_streams_blocks_all)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.max_concurrent_streams = 0;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &scfg);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), H2_ETOO_MANY_STREAMS);
    h2t_pair_free(&p);
}

Test(conn_state, excess_inbound_stream_refused)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.max_concurrent_streams = 1;
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_headers(&ff, &in, 3, 0x4, h2t_req_post, 4);
    h2t_f_data(&in, 3, 0, "ignored", 7, -1);
    h2t_f_data(&in, 1, 0x1, "kept", 4, -1);
    h2t_f_headers(&ff, &in, 5, 0x5, h2t_req_get, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, &scfg, &in, &r);
    /* 3 is refused and its DATA ignored; 5 is refused too: 1 is half-closed, still counted */
    h2t_frame f[8];
    size_t n = h2t_parse_frames(r.out.p, r.out.len, f, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(f[0].id, 3);
    cr_assert_eq(h2t_u32(f[0].payload), H2_REFUSED_STREAM);
    cr_assert_eq(f[1].id, 5);
    cr_assert_eq(h2t_u32(f[1].payload), H2_REFUSED_STREAM);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 1);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_DATA_RECEIVED), 1);
    cr_assert_eq(h2_conn_open_inbound_streams(r.conn), 1);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_state, finished_streams_free_concurrency)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.max_concurrent_streams = 1;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &scfg);
    for (uint32_t id = 1; id < 40; id += 2) {
        cr_assert_eq(h2t_send_get(p.cl, id, true), 0);
        cr_assert_eq(h2t_c2s(&p), 0);
        cr_assert_eq(p.sv_log.ev[0].type, H2_EV_REQUEST_RECEIVED);
        cr_assert_eq(h2_conn_send_headers(p.sv, id, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
        cr_assert_eq(h2t_s2c(&p), 0);
        cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 0);
    }
    h2t_pair_free(&p);
}

Test(conn_state, goaway_received_closes_new_streams_and_refuses_above_last)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_send_get(p.cl, 3, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_close(p.sv, H2_NO_ERROR, NULL, 0, 1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 2);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_CONNECTION_TERMINATED);
    cr_assert_eq(p.cl_log.ev[0].last_stream_id, 1);
    cr_assert_eq(p.cl_log.ev[1].type, H2_EV_STREAM_RESET);
    cr_assert_eq(p.cl_log.ev[1].stream_id, 3);
    cr_assert_eq(p.cl_log.ev[1].error_code, H2_REFUSED_STREAM);
    cr_assert_eq(h2t_send_get(p.cl, 5, true), H2_ECLOSED);
    /* stream 1 may still finish */
    cr_assert(h2_conn_want_read(p.cl));
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_not(h2_conn_want_read(p.cl));
    h2t_pair_free(&p);
}

Test(conn_state, goaway_sent_is_graceful)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, false), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_close(p.sv, H2_NO_ERROR, NULL, 0, -1), 0);
    cr_assert(h2_conn_want_read(p.sv));
    /* the client had already opened stream 3 when the GOAWAY was sent */
    cr_assert_eq(h2t_send_get(p.cl, 3, true), 0);
    cr_assert_eq(h2_conn_end_stream(p.cl, 1), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_REQUEST_RECEIVED), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_STREAM_ENDED), 1);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(p.sv, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 2);
    cr_assert_eq(f[0].type, 0x7);
    cr_assert_eq(h2t_u32(f[0].payload), 1);
    cr_assert_eq(f[1].type, 0x3);
    cr_assert_eq(f[1].id, 3);
    cr_assert_eq(h2t_u32(f[1].payload), H2_REFUSED_STREAM);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_not(h2_conn_want_read(p.sv));
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}

Test(conn_state, goaway_with_debug_data_and_repeats)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_close(p.sv, 0x1234, (const uint8_t *)"bye", 3, 0), 0);
    cr_assert_eq(h2_conn_close(p.sv, H2_NO_ERROR, NULL, 0, 0), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 2);
    cr_assert_eq(p.cl_log.ev[0].error_code, 0x1234);
    cr_assert_eq(p.cl_log.ev[0].len, 3);
    cr_assert_arr_eq(p.cl_log.ev[0].data, "bye", 3);
    cr_assert_eq(p.cl_log.ev[1].len, 0);
    h2t_pair_free(&p);
}

Test(conn_state, close_argument_checks)
{
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_close(c, 0, NULL, 3, -1), H2_EINVAL);
    cr_assert_eq(h2_conn_close(c, 0, NULL, 0, -2), H2_EINVAL);
    cr_assert_eq(h2_conn_close(c, 0, NULL, 0, 0x80000000), H2_EINVAL);
    static uint8_t big[16384];
    cr_assert_eq(h2_conn_close(c, 0, big, sizeof(big), -1), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn *n = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_close(n, 0, NULL, 0, -1), H2_ESTATE);
    h2_conn_free(n);
    h2_conn_free(c);
}

Test(conn_state, want_read_and_write)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_not(h2_conn_want_write(c));
    cr_assert(h2_conn_want_read(c));
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert(h2_conn_want_write(c));
    h2t_take(c, NULL);
    cr_assert_not(h2_conn_want_write(c));
    cr_assert_eq(h2_conn_close(c, 0, NULL, 0, -1), 0);
    cr_assert_not(h2_conn_want_read(c));
    h2_conn_free(c);
}

Test(conn_state, priority_on_idle_stream_does_not_open_it)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_priority(&in, 7, 0, 16, false);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PRIORITY_UPDATED);
    cr_assert_eq(r.log.ev[0].stream_id, 7);
    cr_assert_eq(r.log.ev[1].stream_id, 3);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

/* test_conn_self_dependency.c has the other forms of this error. */
Test(conn_state, priority_self_dependency_is_a_connection_error)
{
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_priority(&in, 1, 1, 16, false);
    h2t_result r;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &r);
    cr_assert_eq(r.log.n, 0);
    h2t_expect_goaway(&r.out, 0, H2_PROTOCOL_ERROR);
    h2t_expect_conn_error(&r, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
    h2t_buf_free(&in);
}

Test(conn_state, send_priority_arguments)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_priority_args pa = {0, 0, false};
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h2t_req_get, 4, H2_SEND_END_STREAM, &pa), 0);
    h2_priority_args bad = {257, 0, false};
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_get, 4, 0, &bad), H2_EINVAL);
    h2_priority_args self = {16, 3, false};
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_get, 4, 0, &self), H2_EINVAL);
    h2_priority_args ok = {200, 1, true};
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_get, 4, H2_SEND_END_STREAM, &ok), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    const h2t_ev *e = h2t_log_find(&p.sv_log, H2_EV_PRIORITY_UPDATED, 0);
    cr_assert_eq(e->weight, 16);
    cr_assert_eq(e->depends_on, 0);
    e = h2t_log_find(&p.sv_log, H2_EV_PRIORITY_UPDATED, 1);
    cr_assert_eq(e->weight, 200);
    cr_assert_eq(e->depends_on, 1);
    cr_assert(e->exclusive);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, &ok), H2_EROLE);
    h2t_pair_free(&p);
}

Test(conn_state, unknown_frames_everywhere)
{
    h2t_buf in;
    h2t_buf_init(&in);
    for (int t = 0xb; t <= 0xff; t += 0x1f)
        h2t_f_unknown(&in, (uint8_t)t, 0xff, (uint32_t)t, "pay", 3);
    /* ALTSVC is known: a server ignores it */
    h2t_f_unknown(&in, 0xa, 0, 0, "\0\0alt", 5);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 8);
    cr_assert_eq(r.log.ev[0].type, H2_EV_UNKNOWN_FRAME_RECEIVED);
    cr_assert_eq(r.log.ev[0].frame_type, 0xb);
    cr_assert_eq(r.log.ev[0].flags, 0xff);
    cr_assert_eq(r.log.ev[0].stream_id, 0xb);
    cr_assert_arr_eq(r.log.ev[0].data, "pay", 3);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
    h2t_buf_free(&in);
}

Test(conn_state, unknown_frame_inside_header_block_is_error)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in, blk;
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, 2, 0, 0, false, -1);
    h2t_f_unknown(&in, 0x42, 0, 0, "x", 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_free(&blk);
    h2t_ff_free(&ff);
}
