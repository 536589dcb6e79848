/* Header blocks over CONTINUATION, interleaving rules, multi-stream sequences. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_ff ff;
static h2t_buf in, blk;

static void setup(void)
{
    h2t_ff_init(&ff);
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
}

static void teardown(void)
{
    h2t_buf_free(&in);
    h2t_buf_free(&blk);
    h2t_ff_free(&ff);
}

TestSuite(conn_complex, .init = setup, .fini = teardown);

/* Writes the block as HEADERS + CONTINUATIONs of |chunk| bytes. */
static void split_block(uint32_t id, uint8_t flags, size_t chunk)
{
    size_t first = blk.len < chunk ? blk.len : chunk;
    h2t_f_headers_raw(&in, id, (uint8_t)(flags | (first == blk.len ? 0x4 : 0)), blk.p, first, 0, 0,
                      false, -1);
    for (size_t pos = first; pos < blk.len; pos += chunk) {
        size_t n = blk.len - pos < chunk ? blk.len - pos : chunk;
        h2t_f_continuation(&in, id, pos + n == blk.len ? 0x4 : 0, blk.p + pos, n);
    }
}

Test(conn_complex, continuation_reassembly)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    split_block(1, 0x1, 3);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].n_hdrs, 4);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[0], ":authority"), "example.com");
    cr_assert_eq(r.log.ev[1].type, H2_EV_STREAM_ENDED);
    h2t_result_free(&r);
}

Test(conn_complex, continuation_one_byte_each)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_continuation_frames = 64; /* above the default of 9: one byte per frame */
    h2t_ff_encode(&ff, h2t_req_post, 4, &blk);
    split_block(1, 0, 1);
    h2t_f_data(&in, 1, 1, "x", 1, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, &cfg, &in, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[0], ":path"), "/upload");
    h2t_result_free(&r);
}

Test(conn_complex, empty_continuations)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, blk.len, 0, 0, false, -1);
    h2t_f_continuation(&in, 1, 0, NULL, 0);
    h2t_f_continuation(&in, 1, 0x4, NULL, 0);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    h2t_result_free(&r);
}

Test(conn_complex, continuation_limit_exact)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, 1, 0, 0, false, -1);
    for (int i = 0; i < 7; i++)
        h2t_f_continuation(&in, 1, 0, NULL, 0);
    h2t_f_continuation(&in, 1, 0x4, blk.p + 1, blk.len - 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    h2t_result_free(&r);
}

Test(conn_complex, continuation_limit_exceeded)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, 1, 0, 0, false, -1);
    for (int i = 0; i < 8; i++)
        h2t_f_continuation(&in, 1, 0, NULL, 0);
    h2t_f_continuation(&in, 1, 0x4, blk.p + 1, blk.len - 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_ENHANCE_YOUR_CALM);
}

Test(conn_complex, continuation_limit_configurable)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_continuation_frames = 2;
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    split_block(1, 0x1, 2);
    h2t_replay_conn_error(h2t_setup_server, &cfg, &in, H2_ENHANCE_YOUR_CALM);
}

Test(conn_complex, data_inside_header_block)
{
    h2t_ff_encode(&ff, h2t_req_post, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0, blk.p, 2, 0, 0, false, -1);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_complex, headers_inside_header_block)
{
    h2t_ff_encode(&ff, h2t_req_post, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0, blk.p, 2, 0, 0, false, -1);
    h2t_f_headers_raw(&in, 3, 0x4, blk.p, blk.len, 0, 0, false, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_complex, continuation_on_other_stream)
{
    h2t_ff_encode(&ff, h2t_req_post, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0, blk.p, 2, 0, 0, false, -1);
    h2t_f_continuation(&in, 3, 0x4, blk.p + 2, blk.len - 2);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_complex, settings_inside_header_block)
{
    h2t_ff_encode(&ff, h2t_req_post, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0, blk.p, 2, 0, 0, false, -1);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_complex, push_promise_over_continuation_accepted)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    uint8_t pp[4] = {0, 0, 0, 2};
    h2t_buf payload;
    h2t_buf_init(&payload);
    h2t_buf_put(&payload, pp, 4);
    h2t_buf_put(&payload, blk.p, 2);
    h2t_f_unknown(&in, 0x5, 0, 1, payload.p, payload.len);
    h2t_f_continuation(&in, 1, 0x4, blk.p + 2, blk.len - 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PUSHED_STREAM_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_id, 2);
    cr_assert_eq(r.log.ev[0].parent_id, 1);
    cr_assert_eq(r.log.ev[0].n_hdrs, 4);
    h2t_result_free(&r);
    h2t_buf_free(&payload);
}

Test(conn_complex, interleaved_push_promise_block)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    uint8_t pp[6] = {0, 0, 0, 2, 0, 0};
    memcpy(pp + 4, blk.p, 2);
    h2t_f_unknown(&in, 0x5, 0, 1, pp, 6);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_complex, many_streams_in_sequence)
{
    for (uint32_t id = 1; id <= 41; id += 2) {
        h2t_f_headers(&ff, &in, id, 0x4, h2t_req_post, 4);
        h2t_f_data(&in, id, 0x1, "abc", 3, -1);
    }
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 21);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_ENDED), 21);
    cr_assert_eq(h2_conn_open_inbound_streams(r.conn), 21);
    h2t_result_free(&r);
}

Test(conn_complex, large_block_sent_over_continuation)
{
    static char val[10000];
    memset(val, 'v', sizeof(val));
    h2_header h[8];
    for (int i = 0; i < 4; i++)
        h[i] = h2t_req_get[i];
    for (int i = 4; i < 8; i++)
        h[i] = (h2_header){(const uint8_t *)"x-large", 7, (const uint8_t *)val, sizeof(val), 0};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h, 8, H2_SEND_END_STREAM, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(p.cl, &v, &n);
    h2t_buf_put(&out, v, n);
    h2t_frame f[16];
    size_t nf = h2t_parse_frames(out.p, out.len, f, 16);
    cr_assert_geq(nf, 2);
    cr_assert_eq(f[0].type, 0x1);
    cr_assert_eq(f[0].flags, 0x1);
    cr_assert_eq(f[0].len, 16384);
    for (size_t i = 1; i < nf; i++) {
        cr_assert_eq(f[i].type, 0x9);
        cr_assert_eq(f[i].flags, i + 1 == nf ? 0x4 : 0);
        cr_assert_leq(f[i].len, 16384);
    }
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.ev[0].n_hdrs, 8);
    cr_assert_eq(p.sv_log.ev[0].hdrs[7].value_len, sizeof(val));
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}

Test(conn_complex, large_prioritised_block_accounts_for_priority_bytes)
{
    static char val[16380];
    memset(val, '~', sizeof(val)); /* Huffman would be longer: sent raw */
    h2_header h[5];
    for (int i = 0; i < 4; i++)
        h[i] = h2t_req_get[i];
    h[4] = (h2_header){(const uint8_t *)"x-l", 3, (const uint8_t *)val, sizeof(val), 0};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_priority_args pa = {32, 0, false};
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h, 5, H2_SEND_END_STREAM, &pa), 0);
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(p.cl, &v, &n);
    h2t_frame f[8];
    size_t nf = h2t_parse_frames(v, n, f, 8);
    cr_assert_eq(nf, 2);
    cr_assert_eq(f[0].len, 16384);
    cr_assert_eq(f[0].flags, 0x1 | 0x20);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_PRIORITY_UPDATED), 1);
    cr_assert_eq(h2t_ev_header(&p.sv_log.ev[0], "x-l")[16379], '~');
    h2t_pair_free(&p);
}

Test(conn_complex, open_stream_counting)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    for (uint32_t id = 1; id <= 9; id += 2)
        cr_assert_eq(h2t_send_get(p.cl, id, id % 4 == 1), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 5);
    cr_assert_eq(h2_conn_open_inbound_streams(p.cl), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 5);
    cr_assert_eq(h2_conn_open_outbound_streams(p.sv), 0);
    cr_assert_eq(h2_conn_reset_stream(p.sv, 3, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 3);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 3);
    h2t_pair_free(&p);
}

Test(conn_complex, full_exchange_many_streams_with_bodies)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    static uint8_t body[3000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)i;
    for (uint32_t id = 1; id <= 19; id += 2)
        cr_assert_eq(h2t_send_get(p.cl, id, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    for (uint32_t id = 1; id <= 19; id += 2) {
        cr_assert_eq(h2_conn_send_headers(p.sv, id, h2t_resp_200, 2, 0, NULL), 0);
        cr_assert_eq(h2_conn_send_data(p.sv, id, body, sizeof(body), H2_SEND_END_STREAM, -1), 0);
    }
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_log_count(&p.cl_log, H2_EV_DATA_RECEIVED), 10);
    for (size_t i = 0; i < 10; i++) {
        const h2t_ev *d = h2t_log_find(&p.cl_log, H2_EV_DATA_RECEIVED, i);
        cr_assert_eq(d->len, sizeof(body));
        cr_assert_arr_eq(d->data, body, sizeof(body));
    }
    cr_assert_eq(h2_conn_open_outbound_streams(p.cl), 0);
    h2t_pair_free(&p);
}
