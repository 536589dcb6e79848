/*
 * Server-side conformance to the MUSTs of RFC 9113 (and RFC 7541 where
 * section 4.3 sends a decoding failure there) that no other test file
 * sends to the core. Each test feeds the offending bytes whole, split at
 * every offset and byte by byte (h2t_replay) and checks the exact
 * reaction: the GOAWAY's code and last stream id, the RST_STREAM's code,
 * or the reply and events of a frame that must be accepted.
 * docs/CONFORMANCE.md maps every MUST to its tests, here and elsewhere.
 */
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

TestSuite(conformance, .init = setup, .fini = teardown);

/* A GET request block that uses no dynamic table entry (":authority: a"). */
static const uint8_t get_block[] = {0x82, 0x87, 0x84, 0x01, 0x01, 'a'};

/* A server that has sent its SETTINGS and read nothing yet. */
static h2_conn *setup_fresh_server(void *arg)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, arg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    return c;
}

/*
 * Replays |in| and asserts a connection error: the last frame queued is
 * GOAWAY(last, code), then the checks of h2t_expect_conn_error().
 */
static void expect_conn_error_on(h2t_setup_fn make, void *arg, uint32_t last, uint32_t code)
{
    h2t_result r;
    h2t_replay(make, arg, in.p, in.len, &r);
    h2t_frame f[64];
    size_t n = h2t_parse_frames(r.out.p, r.out.len, f, 64);
    cr_assert_geq(n, 1, "no frame queued");
    cr_assert_eq(f[n - 1].type, 0x7, "last frame type %u, expected GOAWAY", f[n - 1].type);
    cr_assert_eq(h2t_u32(f[n - 1].payload) & 0x7fffffffu, last, "GOAWAY last stream id %u",
                 h2t_u32(f[n - 1].payload) & 0x7fffffffu);
    h2t_expect_conn_error(&r, code);
    h2t_result_free(&r);
}

static void expect_conn_error(uint32_t last, uint32_t code)
{
    expect_conn_error_on(h2t_setup_server, NULL, last, code);
}

/* Replays |in|; asserts the output is exactly RST_STREAM(id, code) and the
 * connection stays usable. The result is left in |r| for more checks. */
static void expect_stream_error(uint32_t id, uint32_t code, h2t_result *r)
{
    h2t_replay_ok(h2t_setup_server, NULL, &in, r);
    h2t_expect_rst(&r->out, id, code);
    h2_conn_error err = h2_conn_last_error(r->conn);
    cr_assert_not(err.occurred);
}

/* Replays |in|; asserts success with nothing queued. */
static void expect_silence(h2t_result *r)
{
    h2t_replay_ok(h2t_setup_server, NULL, &in, r);
    cr_assert_eq(r->out.len, 0, "%zu bytes queued", r->out.len);
}

/* A GET on |id| ending the stream, from the fixed block. */
static void get(uint32_t id)
{
    h2t_f_headers_raw(&in, id, 0x5, get_block, sizeof(get_block), 0, 0, false, -1);
}

/* ---- 3.4 connection preface ------------------------------------------------------------ */

Test(conformance, s3_4_preface_with_a_wrong_byte)
{
    h2t_buf_put(&in, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", 24);
    expect_conn_error_on(setup_fresh_server, NULL, 0, H2_PROTOCOL_ERROR);
}

Test(conformance, s3_4_http1_request_instead_of_preface)
{
    h2t_buf_put(&in, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27);
    expect_conn_error_on(setup_fresh_server, NULL, 0, H2_PROTOCOL_ERROR);
}

Test(conformance, s3_4_first_frame_after_preface_not_settings)
{
    h2t_f_preface(&in);
    static const uint8_t op[8] = {0};
    h2t_f_ping(&in, 0, op);
    expect_conn_error_on(setup_fresh_server, NULL, 0, H2_PROTOCOL_ERROR);
}

Test(conformance, s3_4_first_frame_after_preface_settings_ack)
{
    h2t_f_preface(&in);
    h2t_f_settings(&in, 1, NULL, 0);
    expect_conn_error_on(setup_fresh_server, NULL, 0, H2_PROTOCOL_ERROR);
}

/* The preface and an empty SETTINGS frame: one SETTINGS ACK, nothing else. */
Test(conformance, s3_4_preface_and_settings_are_acknowledged)
{
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_result r;
    h2t_replay(setup_fresh_server, NULL, in.p, in.len, &r);
    cr_assert_eq(r.rv, 0);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 1);
    cr_assert_eq(f[0].type, 0x4);
    cr_assert_eq(f[0].flags, 0x1);
    cr_assert_eq(f[0].len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REMOTE_SETTINGS_CHANGED), 1);
    h2t_result_free(&r);
}

/* ---- 4.1 frame format -------------------------------------------------------------------- */

/* Flags a frame type does not define are ignored: PING 0xfe is no ACK. */
Test(conformance, s4_1_undefined_flags_are_ignored)
{
    static const uint8_t op[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    h2t_f_ping(&in, 0xfe, op);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 1);
    cr_assert_eq(f[0].type, 0x6);
    cr_assert_eq(f[0].flags, 0x1);
    cr_assert_arr_eq(f[0].payload, op, 8);
    h2t_result_free(&r);
}

/* The reserved bit of the stream id is ignored on receipt. */
Test(conformance, s4_1_reserved_bit_is_ignored)
{
    h2t_f_unknown(&in, 0x1, 0x5, 0x80000001u, get_block, sizeof(get_block));
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_id, 1);
    h2t_result_free(&r);
}

/* ---- 4.2 frame size ------------------------------------------------------------------------ */

/* Every endpoint must accept frames of 2^14 octets. */
Test(conformance, s4_2_frame_of_16384_octets_is_accepted)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static uint8_t big[16384];
    h2t_f_data(&in, 1, 0x1, big, sizeof(big), -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    size_t total = 0;
    for (size_t i = 0; i < r.log.n; i++)
        if (r.log.ev[i].type == H2_EV_DATA_RECEIVED)
            total += r.log.ev[i].len;
    cr_assert_eq(total, sizeof(big));
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_ENDED), 1);
    h2t_result_free(&r);
}

/* A frame that can change the connection state (HEADERS) over the limit. */
Test(conformance, s4_2_headers_larger_than_max_frame_size)
{
    static uint8_t big[16385];
    memset(big, 0x82, sizeof(big));
    h2t_f_unknown(&in, 0x1, 0x5, 1, big, sizeof(big));
    expect_conn_error(0, H2_FRAME_SIZE_ERROR);
}

/* HEADERS with the PRIORITY flag too short to hold the priority fields. */
Test(conformance, s4_2_headers_too_short_for_priority)
{
    static const uint8_t four[4] = {0, 0, 0, 0};
    h2t_f_unknown(&in, 0x1, 0x25, 1, four, sizeof(four));
    expect_conn_error(0, H2_FRAME_SIZE_ERROR);
}

/* ---- 4.3 field section compression and decompression ------------------------------------ */

static void headers_no_end(uint32_t id)
{
    h2t_f_headers_raw(&in, id, 0x1, get_block, 3, 0, 0, false, -1);
}

Test(conformance, s4_3_priority_inside_a_header_block)
{
    headers_no_end(1);
    h2t_f_priority(&in, 1, 0, 16, false);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

Test(conformance, s4_3_headers_of_another_stream_inside_a_header_block)
{
    headers_no_end(1);
    get(3);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

Test(conformance, s4_3_data_inside_a_header_block)
{
    headers_no_end(1);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

Test(conformance, s4_3_continuation_of_another_stream)
{
    headers_no_end(1);
    h2t_f_continuation(&in, 3, 0x4, get_block + 3, sizeof(get_block) - 3);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

/* Decoding failures (RFC 7541) are connection errors COMPRESSION_ERROR. */
static void bad_block(const uint8_t *block, size_t len)
{
    h2t_f_headers_raw(&in, 1, 0x5, block, len, 0, 0, false, -1);
    expect_conn_error(0, H2_COMPRESSION_ERROR);
}

Test(conformance, s4_3_hpack_index_zero)
{
    static const uint8_t b[] = {0x82, 0x80};
    bad_block(b, sizeof(b));
}

/* RFC 7541 4.2 / 6.3: an update above SETTINGS_HEADER_TABLE_SIZE (4096). */
Test(conformance, s4_3_hpack_table_size_update_above_the_limit)
{
    static const uint8_t b[] = {0x3f, 0xe2, 0x1f, 0x82, 0x87, 0x84, 0x01, 0x01, 'a'};
    bad_block(b, sizeof(b));
}

/* RFC 7541 4.2: a size update only at the start of a block. */
Test(conformance, s4_3_hpack_table_size_update_after_a_field)
{
    static const uint8_t b[] = {0x82, 0x20, 0x87, 0x84, 0x01, 0x01, 'a'};
    bad_block(b, sizeof(b));
}

/* RFC 7541 5.2: ":authority" valued Huffman "a" with 11 bits of padding. */
Test(conformance, s4_3_hpack_huffman_padding_longer_than_7_bits)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x01, 0x82, 0x1f, 0xff};
    bad_block(b, sizeof(b));
}

/* RFC 7541 5.2: padding that is not the most significant bits of EOS. */
Test(conformance, s4_3_hpack_huffman_padding_of_zeros)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x01, 0x81, 0x18};
    bad_block(b, sizeof(b));
}

/* RFC 7541 5.2: a string that holds the EOS symbol ("a", EOS, padding). */
Test(conformance, s4_3_hpack_huffman_eos_symbol)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x01, 0x85, 0x1f, 0xff, 0xff, 0xff, 0xff};
    bad_block(b, sizeof(b));
}

/* A literal whose name index is past the static and the (empty) dynamic table. */
Test(conformance, s4_3_hpack_literal_with_invalid_name_index)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x0f, 0x30, 0x01, 'a'};
    bad_block(b, sizeof(b));
}

/* A string literal whose length runs past the end of the block. */
Test(conformance, s4_3_hpack_string_past_the_block)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x01, 0x05, 'a'};
    bad_block(b, sizeof(b));
}

/* The error is raised on the whole block, also when it came in pieces. */
Test(conformance, s4_3_hpack_error_in_a_continuation)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x80};
    h2t_f_headers_raw(&in, 1, 0x1, b, 2, 0, 0, false, -1);
    h2t_f_continuation(&in, 1, 0x4, b + 2, 2);
    expect_conn_error(0, H2_COMPRESSION_ERROR);
}

/* RFC 7541 4.2: an update at the end of a block is after a field too. */
Test(conformance, s4_3_hpack_table_size_update_at_the_end)
{
    static const uint8_t b[] = {0x82, 0x87, 0x84, 0x01, 0x01, 'a', 0x20};
    bad_block(b, sizeof(b));
}

/* A server that lowered its HEADER_TABLE_SIZE to 0, acknowledged by the
 * client; |arg| non-NULL: a request on stream 1 was decoded before. */
static h2_conn *setup_table_lowered(void *arg)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_buf b;
    h2t_buf_init(&b);
    if (arg != NULL)
        h2t_f_headers_raw(&b, 1, 0x5, get_block, sizeof(get_block), 0, 0, false, -1);
    h2_setting e = {H2_SETTING_HEADER_TABLE_SIZE, 0};
    cr_assert_eq(h2_conn_update_settings(c, &e, 1), 0);
    h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(c, NULL);
    return c;
}

/* RFC 7541 4.2: after a lower size is acknowledged, the first block must
 * open with a size update no larger than it. */
Test(conformance, s4_3_hpack_size_update_required_after_lowering)
{
    static int used = 1;
    h2t_f_headers_raw(&in, 3, 0x5, get_block, sizeof(get_block), 0, 0, false, -1);
    expect_conn_error_on(setup_table_lowered, &used, 1, H2_COMPRESSION_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    h2t_f_headers_raw(&in, 1, 0x5, get_block, sizeof(get_block), 0, 0, false, -1);
    expect_conn_error_on(setup_table_lowered, NULL, 0, H2_COMPRESSION_ERROR);
}

Test(conformance, s4_3_hpack_size_update_after_lowering_is_accepted)
{
    static const uint8_t b[] = {0x20, 0x82, 0x87, 0x84, 0x01, 0x01, 'a'};
    h2t_f_headers_raw(&in, 3, 0x5, b, sizeof(b), 0, 0, false, -1);
    static int used = 1;
    h2t_result r;
    h2t_replay(setup_table_lowered, &used, in.p, in.len, &r);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 1);
    h2t_result_free(&r);
}

/* ---- 5.1 stream states ------------------------------------------------------------------ */

/* half-closed (remote): frames other than WINDOW_UPDATE, PRIORITY and
 * RST_STREAM are a stream error STREAM_CLOSED */
Test(conformance, s5_1_headers_on_half_closed_remote_stream)
{
    get(1);
    static const h2_header tr[] = {H2T_HDR("x-t", "1")};
    h2t_f_headers(&ff, &in, 1, 0x5, tr, 1);
    h2t_result r;
    expect_stream_error(1, H2_STREAM_CLOSED, &r);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_STREAM_RESET, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->error_code, H2_STREAM_CLOSED);
    cr_assert_not(e->remote_reset);
    h2t_result_free(&r);
}

Test(conformance, s5_1_continuation_on_half_closed_remote_stream)
{
    get(1);
    h2t_f_continuation(&in, 1, 0x4, get_block, 1);
    expect_conn_error(1, H2_PROTOCOL_ERROR);
}

Test(conformance, s5_1_half_closed_remote_accepts_window_update_priority_rst)
{
    get(1);
    h2t_f_window_update(&in, 1, 100);
    h2t_f_priority(&in, 1, 0, 32, false);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_WINDOW_UPDATED), 1);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_PRIORITY_UPDATED), 1);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_STREAM_RESET, 0);
    cr_assert_not_null(e);
    cr_assert(e->remote_reset);
    cr_assert_eq(e->error_code, H2_CANCEL);
    h2t_result_free(&r);
}

/* closed: a CONTINUATION can only follow an open header block */
Test(conformance, s5_1_continuation_on_closed_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_rst(&in, 1, H2_CANCEL);
    h2t_f_continuation(&in, 1, 0x4, get_block, 1);
    expect_conn_error(1, H2_PROTOCOL_ERROR);
}

/* ---- 5.5 extending HTTP/2 ------------------------------------------------------------------ */

Test(conformance, s5_5_unknown_setting_is_ignored)
{
    h2_setting e[2] = {{0x00ff, 7}, {0xfffe, 0xffffffffu}};
    h2t_f_settings(&in, 0, e, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 1);
    cr_assert_eq(f[0].type, 0x4);
    cr_assert_eq(f[0].flags, 0x1);
    h2t_result_free(&r);
}

/* ---- 6.1 DATA ------------------------------------------------------------------------------ */

/* Padding may fill all but the pad length field. */
Test(conformance, s6_1_padding_filling_the_frame_is_accepted)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_data(&in, 1, 0x1, NULL, 0, 255);
    h2t_result r;
    expect_silence(&r);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_DATA_RECEIVED, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->len, 0);
    cr_assert_eq(e->fcl, 256);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_ENDED), 1);
    h2t_result_free(&r);
}

/* A PADDED DATA frame with no room for the pad length field. */
Test(conformance, s6_1_padded_data_without_pad_length)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_unknown(&in, 0x0, 0x8, 1, NULL, 0);
    expect_conn_error(1, H2_FRAME_SIZE_ERROR);
}

/* ---- 6.2 HEADERS ------------------------------------------------------------------------ */

Test(conformance, s6_2_headers_then_priority_of_the_same_stream)
{
    headers_no_end(3);
    h2t_f_priority(&in, 3, 0, 16, false);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

/* Padding may fill everything after the fixed fields. */
Test(conformance, s6_2_padded_headers_are_accepted)
{
    h2t_f_headers_raw(&in, 1, 0x5, get_block, sizeof(get_block), 0, 0, false, 200);
    h2t_f_headers_raw(&in, 3, 0x5, get_block, sizeof(get_block), 42, 1, false, 0);
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 2);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_PRIORITY_UPDATED, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->stream_id, 3);
    cr_assert_eq(e->weight, 42);
    cr_assert_eq(e->depends_on, 1);
    h2t_result_free(&r);
}

/* ---- 6.3 PRIORITY ------------------------------------------------------------------------ */

Test(conformance, s6_3_priority_on_stream_zero)
{
    h2t_f_priority(&in, 0, 1, 16, false);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

/* ---- 6.5 SETTINGS ------------------------------------------------------------------------ */

static void bad_setting(uint16_t id, uint32_t value, uint32_t code)
{
    h2_setting e = {id, value};
    get(1);
    h2t_f_settings(&in, 0, &e, 1);
    expect_conn_error(1, code);
}

Test(conformance, s6_5_2_enable_push_above_one)
{
    bad_setting(H2_SETTING_ENABLE_PUSH, 2, H2_PROTOCOL_ERROR);
}

Test(conformance, s6_5_2_initial_window_size_above_maximum)
{
    bad_setting(H2_SETTING_INITIAL_WINDOW_SIZE, 0x80000000u, H2_FLOW_CONTROL_ERROR);
}

Test(conformance, s6_5_2_max_frame_size_below_initial_value)
{
    bad_setting(H2_SETTING_MAX_FRAME_SIZE, 16383, H2_PROTOCOL_ERROR);
}

Test(conformance, s6_5_2_max_frame_size_above_maximum)
{
    bad_setting(H2_SETTING_MAX_FRAME_SIZE, 16777216, H2_PROTOCOL_ERROR);
}

/* The limits themselves are legal values. */
Test(conformance, s6_5_2_boundary_values_are_accepted)
{
    h2_setting e[4] = {{H2_SETTING_ENABLE_PUSH, 0},
                       {H2_SETTING_INITIAL_WINDOW_SIZE, 0x7fffffffu},
                       {H2_SETTING_MAX_FRAME_SIZE, 16777215},
                       {H2_SETTING_MAX_FRAME_SIZE, 16384}};
    h2t_f_settings(&in, 0, e, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(h2t_count_frames(&r.out, 0x4), 1);
    h2t_result_free(&r);
}

/* 6.5.3: values are processed in order, so the last one of an id wins. */
Test(conformance, s6_5_3_values_are_applied_in_order)
{
    h2_setting e[2] = {{H2_SETTING_MAX_FRAME_SIZE, 20000}, {H2_SETTING_MAX_FRAME_SIZE, 16384}};
    h2t_f_settings(&in, 0, e, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(h2_conn_setting(r.conn, false, H2_SETTING_MAX_FRAME_SIZE), 16384);
    h2t_result_free(&r);
}

/* 6.5.3: every SETTINGS frame without ACK is acknowledged, once, empty. */
Test(conformance, s6_5_3_each_settings_frame_is_acknowledged)
{
    h2_setting e = {H2_SETTING_MAX_CONCURRENT_STREAMS, 10};
    h2t_f_settings(&in, 0, &e, 1);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(f[i].type, 0x4);
        cr_assert_eq(f[i].flags, 0x1);
        cr_assert_eq(f[i].len, 0);
        cr_assert_eq(f[i].id, 0);
    }
    h2t_result_free(&r);
}

/* ---- 6.7 PING ------------------------------------------------------------------------------ */

Test(conformance, s6_7_ping_is_answered_with_the_same_payload)
{
    static const uint8_t op[8] = {'h', '2', 's', 'p', 'e', 'c', 0, 9};
    h2t_f_ping(&in, 0, op);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(r.out.p, r.out.len, f, 4), 1);
    cr_assert_eq(f[0].type, 0x6);
    cr_assert_eq(f[0].flags, 0x1);
    cr_assert_eq(f[0].id, 0);
    cr_assert_eq(f[0].len, 8);
    cr_assert_arr_eq(f[0].payload, op, 8);
    h2t_result_free(&r);
}

Test(conformance, s6_7_ping_ack_is_not_answered)
{
    static const uint8_t op[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    h2t_f_ping(&in, 0x1, op);
    h2t_result r;
    expect_silence(&r);
    h2t_result_free(&r);
}

/* ---- 6.8 GOAWAY ------------------------------------------------------------------------------ */

Test(conformance, s6_8_goaway_on_a_stream)
{
    get(1);
    static const uint8_t p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    h2t_f_unknown(&in, 0x7, 0, 1, p, sizeof(p));
    expect_conn_error(1, H2_PROTOCOL_ERROR);
}

/* ---- 6.9 WINDOW_UPDATE and flow control ---------------------------------------------- */

/* 6.9.1 / 6.9.2: with the client's INITIAL_WINDOW_SIZE at 1 the server may
 * send one byte of DATA on a new stream, no more, until a WINDOW_UPDATE. */
Test(conformance, s6_9_1_sender_respects_a_window_of_one)
{
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 1};
    h2t_f_settings(&in, 0, &e, 1);
    get(1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2_conn *c = r.conn;
    h2t_take(c, NULL);
    int32_t w = -1;
    cr_assert_eq(h2_conn_send_window(c, 1, &w), 0);
    cr_assert_eq(w, 1);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"ab", 2, 0, -1), H2_EFLOW_CONTROL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"a", 1, 0, -1), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"b", 1, 0, -1), H2_EFLOW_CONTROL);
    h2t_buf wu;
    h2t_buf_init(&wu);
    h2t_f_window_update(&wu, 1, 1);
    cr_assert_eq(h2t_feed(c, wu.p, wu.len, NULL), 0);
    h2t_buf_free(&wu);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"b", 1, H2_SEND_END_STREAM, -1), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[8];
    size_t n = h2t_parse_frames(out.p, out.len, f, 8);
    cr_assert_eq(n, 3);
    cr_assert_eq(f[1].type, 0x0);
    cr_assert_eq(f[1].len, 1);
    cr_assert_eq(f[2].type, 0x0);
    cr_assert_eq(f[2].len, 1);
    h2t_buf_free(&out);
    h2t_result_free(&r);
}

/* ---- 6.10 CONTINUATION -------------------------------------------------------------------- */

Test(conformance, s6_10_several_continuations_are_accepted)
{
    h2t_f_headers_raw(&in, 1, 0x1, get_block, 1, 0, 0, false, -1);
    h2t_f_continuation(&in, 1, 0, get_block + 1, 2);
    h2t_f_continuation(&in, 1, 0, NULL, 0);
    h2t_f_continuation(&in, 1, 0x4, get_block + 3, sizeof(get_block) - 3);
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[0], ":authority"), "a");
    cr_assert_eq(r.log.ev[1].type, H2_EV_STREAM_ENDED);
    h2t_result_free(&r);
}

Test(conformance, s6_10_continuation_on_stream_zero)
{
    headers_no_end(1);
    h2t_f_continuation(&in, 0, 0x4, get_block + 3, sizeof(get_block) - 3);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

Test(conformance, s6_10_continuation_after_end_headers_on_continuation)
{
    headers_no_end(1);
    h2t_f_continuation(&in, 1, 0x4, get_block + 3, sizeof(get_block) - 3);
    h2t_f_continuation(&in, 1, 0x4, get_block, 1);
    expect_conn_error(1, H2_PROTOCOL_ERROR);
}

Test(conformance, s6_10_other_frame_type_after_headers_without_end_headers)
{
    headers_no_end(1);
    static const uint8_t op[8] = {0};
    h2t_f_ping(&in, 0, op);
    expect_conn_error(0, H2_PROTOCOL_ERROR);
}

/* ---- 7 error codes ------------------------------------------------------------------------- */

/* Unknown error codes carry no special meaning; the frames keep their effect. */
Test(conformance, s7_unknown_error_code_in_rst_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_rst(&in, 1, 0xdeadbeefu);
    h2t_result r;
    expect_silence(&r);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_STREAM_RESET, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->error_code, 0xdeadbeefu);
    cr_assert(e->remote_reset);
    cr_assert_eq(h2_conn_open_inbound_streams(r.conn), 0);
    h2t_result_free(&r);
}

Test(conformance, s7_unknown_error_code_in_goaway)
{
    h2t_f_goaway(&in, 0, 0xdeadbeefu, "x", 1);
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_CONNECTION_TERMINATED);
    cr_assert_eq(r.log.ev[0].error_code, 0xdeadbeefu);
    cr_assert_not(h2_conn_last_error(r.conn).occurred);
    h2t_result_free(&r);
}

/* ---- 8.1 HTTP message framing ------------------------------------------------------------- */

/* A second HEADERS (trailers) without END_STREAM is malformed. */
Test(conformance, s8_1_trailers_without_end_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static const h2_header tr[] = {H2T_HDR("x-t", "1")};
    h2t_f_headers(&ff, &in, 1, 0x4, tr, 1);
    h2t_result r;
    expect_stream_error(1, H2_PROTOCOL_ERROR, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_TRAILERS_RECEIVED), 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_RESET), 1);
    h2t_result_free(&r);
}

/* DATA after trailers: the stream is half-closed (remote). */
Test(conformance, s8_1_data_after_trailers)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static const h2_header tr[] = {H2T_HDR("x-t", "1")};
    h2t_f_headers(&ff, &in, 1, 0x5, tr, 1);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_result r;
    expect_stream_error(1, H2_STREAM_CLOSED, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_TRAILERS_RECEIVED), 1);
    h2t_result_free(&r);
}

/* ---- 8.2 / 8.3 fields and pseudo-header fields -------------------------------------------- */

/* Malformed requests: RST_STREAM(PROTOCOL_ERROR), no event, and the next
 * request on the connection is served (the HPACK state is kept). */
static void malformed_request(const h2_header *f, size_t n)
{
    h2t_f_headers(&ff, &in, 1, 0x5, f, n);
    get(3);
    h2t_result r;
    expect_stream_error(1, H2_PROTOCOL_ERROR, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_id, 3);
    h2t_result_free(&r);
}

#define REQ(...)                                                                                   \
    do {                                                                                           \
        static const h2_header f_[] = {__VA_ARGS__};                                               \
        malformed_request(f_, H2T_N(f_));                                                          \
    } while (0)

Test(conformance, s8_2_2_proxy_connection_field)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("proxy-connection", "keep-alive"));
}

Test(conformance, s8_2_2_te_with_trailers_and_more)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("te", "trailers, gzip"));
}

Test(conformance, s8_3_duplicate_method)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),
        H2T_HDR(":authority", "a"), H2T_HDR(":path", "/"));
}

Test(conformance, s8_3_duplicate_scheme)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":scheme", "https"),
        H2T_HDR(":authority", "a"), H2T_HDR(":path", "/"));
}

Test(conformance, s8_3_duplicate_authority)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":authority", "a"), H2T_HDR(":path", "/"));
}

Test(conformance, s8_3_pseudo_header_after_regular_in_the_middle)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR("x-a", "1"), H2T_HDR(":scheme", "https"),
        H2T_HDR(":authority", "a"), H2T_HDR(":path", "/"));
}

/* An uppercase name that is only uppercase in its first letter past a
 * lowercase run, and one in a pseudo-header. */
Test(conformance, s8_2_uppercase_in_the_middle_of_a_name)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x-Custom", "1"));
}

Test(conformance, s8_3_uppercase_pseudo_header)
{
    REQ(H2T_HDR(":Method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"));
}

/* 8.2.1: characters a field name or value may not hold. */
Test(conformance, s8_2_1_colon_inside_a_name)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x:y", "1"));
}

Test(conformance, s8_2_1_delete_character_in_a_name)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x\x7f", "1"));
}

Test(conformance, s8_2_1_non_ascii_byte_in_a_name)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x\xc3\xa9", "1"));
}

Test(conformance, s8_2_1_value_ending_in_a_tab)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x-a", "1\t"));
}

Test(conformance, s8_2_1_value_starting_with_a_tab)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x-a", "\t1"));
}

Test(conformance, s8_2_1_line_feed_in_a_value)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"), H2T_HDR("x-a", "1\n2"));
}

/* 8.3.1: ":method" holds one valid method, a token (RFC 9110 9.1). */
Test(conformance, s8_3_1_empty_method)
{
    REQ(H2T_HDR(":method", ""), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"));
}

Test(conformance, s8_3_1_method_not_a_token)
{
    REQ(H2T_HDR(":method", "G(T"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"));
}

/* 8.3.1: ":scheme" holds a scheme (RFC 3986 3.1). */
Test(conformance, s8_3_1_empty_scheme)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", ""), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"));
}

Test(conformance, s8_3_1_scheme_not_starting_with_a_letter)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "1http"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"));
}

/* 8.3.1: for "http" and "https" the path is absolute, or "*" for OPTIONS. */
Test(conformance, s8_3_1_relative_path)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "index.html"));
}

Test(conformance, s8_3_1_asterisk_path_for_get)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "http"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "*"));
}

/* 8.3.1: no userinfo in ":authority" for "http" and "https". */
Test(conformance, s8_3_1_authority_with_userinfo)
{
    REQ(H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "user@a"),
        H2T_HDR(":path", "/"));
}

/* The forms 8.3.1 allows, and any path for a scheme other than http(s). */
Test(conformance, s8_3_1_valid_request_targets_are_accepted)
{
    static const h2_header opt[] = {H2T_HDR(":method", "OPTIONS"), H2T_HDR(":scheme", "https"),
                                    H2T_HDR(":authority", "a:8443"), H2T_HDR(":path", "*")};
    static const h2_header q[] = {H2T_HDR(":method", "M-SEARCH"), H2T_HDR(":scheme", "HTTPS"),
                                  H2T_HDR(":authority", "[::1]:80"), H2T_HDR(":path", "/?q=*")};
    static const h2_header other[] = {H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "coap+tcp"),
                                      H2T_HDR(":authority", "u@a"), H2T_HDR(":path", "x")};
    h2t_f_headers(&ff, &in, 1, 0x5, opt, H2T_N(opt));
    h2t_f_headers(&ff, &in, 3, 0x5, q, H2T_N(q));
    h2t_f_headers(&ff, &in, 5, 0x5, other, H2T_N(other));
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 3);
    h2t_result_free(&r);
}

/* 8.5: an ordinary CONNECT has no :scheme and no :path (test_conn_connect
 * has the :path case). */
Test(conformance, s8_5_connect_with_scheme)
{
    REQ(H2T_HDR(":method", "CONNECT"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a:443"));
}

/* 8.5: an ordinary CONNECT names its target in :authority; host alone is not enough. */
Test(conformance, s8_5_connect_with_host_only)
{
    REQ(H2T_HDR(":method", "CONNECT"), H2T_HDR("host", "a:443"));
}

Test(conformance, s8_5_connect_is_accepted)
{
    static const h2_header f[] = {H2T_HDR(":method", "CONNECT"), H2T_HDR(":authority", "a:443")};
    h2t_f_headers(&ff, &in, 1, 0x4, f, H2T_N(f));
    h2t_result r;
    expect_silence(&r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 1);
    h2t_result_free(&r);
}

/* Trailers that carry a pseudo-header of a response. */
Test(conformance, s8_1_trailers_with_status)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static const h2_header tr[] = {H2T_HDR(":status", "200")};
    h2t_f_headers(&ff, &in, 1, 0x5, tr, 1);
    h2t_result r;
    expect_stream_error(1, H2_PROTOCOL_ERROR, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_TRAILERS_RECEIVED), 0);
    h2t_result_free(&r);
}

/* A server receiving a response (":status" only) as a request. */
Test(conformance, s8_3_response_as_a_request)
{
    REQ(H2T_HDR(":status", "200"));
}

/* ---- 5.1 reserved (local): a stream the server promised ------------------------------ */

static const h2_header push_req[] = {H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),
                                     H2T_HDR(":authority", "a"), H2T_HDR(":path", "/s.css")};

/* A server that answered nothing yet on stream 1 and promised stream 2;
 * |arg| non-NULL: the response HEADERS on 2 were sent too. */
static h2_conn *setup_promised(void *arg)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_headers_raw(&b, 1, 0x5, get_block, sizeof(get_block), 0, 0, false, -1);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    cr_assert_eq(h2_conn_push_stream(c, 1, 2, push_req, H2T_N(push_req)), 0);
    if (arg != NULL)
        cr_assert_eq(h2_conn_send_headers(c, 2, h2t_resp_200, 2, 0, NULL), 0);
    h2t_take(c, NULL);
    return c;
}

/* reserved (local): only RST_STREAM, PRIORITY and WINDOW_UPDATE may come */
Test(conformance, s5_1_data_on_reserved_local_stream)
{
    h2t_f_data(&in, 2, 0, "x", 1, -1);
    expect_conn_error_on(setup_promised, NULL, 1, H2_PROTOCOL_ERROR);
}

Test(conformance, s5_1_headers_on_reserved_local_stream)
{
    h2t_f_headers_raw(&in, 2, 0x5, get_block, sizeof(get_block), 0, 0, false, -1);
    expect_conn_error_on(setup_promised, NULL, 1, H2_PROTOCOL_ERROR);
}

Test(conformance, s5_1_reserved_local_accepts_window_update_priority_rst)
{
    h2t_f_window_update(&in, 2, 10);
    h2t_f_priority(&in, 2, 0, 8, false);
    h2t_f_rst(&in, 2, H2_CANCEL);
    h2t_result r;
    h2t_replay_ok(setup_promised, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_WINDOW_UPDATED), 1);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_RESET), 1);
    h2t_result_free(&r);
}

/* Once the response is sent the stream is half-closed (remote). */
Test(conformance, s5_1_data_on_pushed_stream_after_its_response)
{
    static int answered = 1;
    h2t_f_data(&in, 2, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay_ok(setup_promised, &answered, &in, &r);
    h2t_expect_rst(&r.out, 2, H2_STREAM_CLOSED);
    h2t_result_free(&r);
}
