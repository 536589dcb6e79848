/* Invalid frame sequences: each is a connection error reported once. */
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
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

TestSuite(conn_invalid_frames, .init = setup, .fini = teardown);

Test(conn_invalid_frames, bad_client_preface)
{
    h2t_buf_put(&in, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    h2t_result r;
    h2t_replay(h2t_setup_server, NULL, NULL, 0, &r);
    h2t_result_free(&r);
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(c).code, H2_PROTOCOL_ERROR);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_ECLOSED);
    h2_conn_free(c);
}

Test(conn_invalid_frames, preface_accepted_in_pieces)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    for (size_t i = 0; i < in.len; i++)
        cr_assert_eq(h2t_feed(c, in.p + i, 1, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    /* our SETTINGS then the ACK */
    cr_assert_eq(h2t_count_frames(&out, 0x4), 2);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_invalid_frames, receive_before_initiate)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    h2t_f_preface(&in);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_ESTATE);
    h2_conn_free(c);
}

Test(conn_invalid_frames, first_frame_must_be_settings_server)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    h2t_f_preface(&in);
    uint8_t op[8] = {0};
    h2t_f_ping(&in, 0, op);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(c).code, H2_PROTOCOL_ERROR);
    h2_conn_free(c);
}

Test(conn_invalid_frames, first_frame_settings_ack_is_not_enough)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_f_settings(&in, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2_conn_free(c);
}

Test(conn_invalid_frames, first_frame_must_be_settings_client)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_f_window_update(&in, 0, 100);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2_conn_free(c);
}

Test(conn_invalid_frames, data_on_idle_stream)
{
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, data_on_stream_zero)
{
    h2t_f_data(&in, 0, 0, "x", 1, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, headers_on_stream_zero)
{
    h2t_f_headers(&ff, &in, 0, 0x5, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, even_stream_from_client)
{
    h2t_f_headers(&ff, &in, 2, 0x5, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, headers_on_unpromised_even_stream_at_client)
{
    h2t_f_headers(&ff, &in, 2, 0x5, h2t_resp_200, 2);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, headers_on_odd_stream_client_never_opened)
{
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_resp_200, 2);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, lower_stream_id_than_highest)
{
    h2t_f_headers(&ff, &in, 5, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, settings_on_a_stream)
{
    uint8_t raw[] = {0, 0, 0, 4, 0, 0, 0, 0, 1};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, settings_length_not_multiple_of_six)
{
    uint8_t raw[] = {0, 0, 5, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, settings_ack_with_payload)
{
    h2_setting e = {H2_SETTING_ENABLE_PUSH, 0};
    h2t_f_settings(&in, 1, &e, 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, ping_wrong_length)
{
    uint8_t raw[] = {0, 0, 4, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, ping_on_a_stream)
{
    uint8_t raw[] = {0, 0, 8, 6, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, window_update_wrong_length)
{
    uint8_t raw[] = {0, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 1};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, rst_stream_wrong_length)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    uint8_t raw[] = {0, 0, 3, 3, 0, 0, 0, 0, 1, 0, 0, 1};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, rst_stream_on_stream_zero)
{
    h2t_f_rst(&in, 0, H2_CANCEL);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, rst_stream_on_idle_stream)
{
    h2t_f_rst(&in, 7, H2_CANCEL);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, priority_wrong_length)
{
    uint8_t raw[] = {0, 0, 4, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, goaway_too_short)
{
    uint8_t raw[] = {0, 0, 4, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, window_update_on_idle_stream)
{
    h2t_f_window_update(&in, 9, 10);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, naked_continuation)
{
    h2t_f_continuation(&in, 1, 0x4, (const uint8_t *)"\x82", 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, naked_continuation_on_open_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    h2t_f_continuation(&in, 1, 0x4, (const uint8_t *)"\x82", 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, data_padding_longer_than_payload)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    uint8_t raw[] = {0, 0, 3, 0, 0x8, 0, 0, 0, 1, 5, 'a', 'b'};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, headers_padding_longer_than_payload)
{
    uint8_t raw[] = {0, 0, 2, 1, 0x8 | 0x4, 0, 0, 0, 1, 9, 0x82};
    h2t_buf_put(&in, raw, sizeof(raw));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, frame_larger_than_max_frame_size)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static uint8_t big[16385];
    h2t_f_data(&in, 1, 0, big, sizeof(big), -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, unknown_frame_larger_than_max_frame_size)
{
    static uint8_t big[16385];
    h2t_f_unknown(&in, 0xfa, 0, 0, big, sizeof(big));
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_invalid_frames, hpack_garbage_is_compression_error)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    h2t_f_headers_raw(&in, 1, 0x5, garbage, sizeof(garbage), 0, 0, false, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_COMPRESSION_ERROR);
}

Test(conn_invalid_frames, hpack_bad_index_is_compression_error)
{
    static const uint8_t bad[] = {0xbe};
    h2t_f_headers_raw(&in, 1, 0x5, bad, sizeof(bad), 0, 0, false, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_COMPRESSION_ERROR);
}

Test(conn_invalid_frames, push_promise_to_server)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    h2t_f_push_promise(&ff, &in, 1, 2, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, push_promise_with_odd_promised_id)
{
    h2t_f_push_promise(&ff, &in, 1, 3, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, push_promise_on_idle_parent)
{
    h2t_f_push_promise(&ff, &in, 5, 2, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, push_promise_when_push_disabled)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.enable_push = 0;
    h2t_f_push_promise(&ff, &in, 1, 2, h2t_req_get, 4);
    h2t_replay_conn_error(h2t_setup_client_get, &cfg, &in, H2_PROTOCOL_ERROR);
}

Test(conn_invalid_frames, error_reported_once)
{
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_expect_goaway(&out, 0, H2_PROTOCOL_ERROR);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_ECLOSED);
        cr_assert_eq(h2_conn_output_pending(c), 0);
    }
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_invalid_frames, events_before_error_are_kept)
{
    uint8_t op[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    h2t_f_ping(&in, 0, op);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &r);
    h2t_expect_conn_error(&r, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PING_RECEIVED);
    /* the PING ACK stays queued before the GOAWAY */
    cr_assert_eq(h2t_count_frames(&r.out, 0x6), 1);
    h2t_result_free(&r);
}

Test(conn_invalid_frames, goaway_last_id_is_highest_inbound)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 9, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &r);
    h2t_expect_conn_error(&r, H2_PROTOCOL_ERROR);
    h2t_expect_goaway(&r.out, 3, H2_PROTOCOL_ERROR);
    cr_assert_eq(h2_conn_last_error(r.conn).last_stream_id, 3);
    h2t_result_free(&r);
}

Test(conn_invalid_frames, api_calls_after_connection_error)
{
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    uint8_t op[8] = {0};
    cr_assert_eq(h2_conn_ping(c, op), H2_ECLOSED);
    cr_assert_eq(h2_conn_close(c, 0, NULL, 0, -1), H2_ECLOSED);
    cr_assert_eq(h2_conn_send_headers(c, 2, h2t_resp_200, 2, 0, NULL), H2_ECLOSED);
    h2_conn_free(c);
}

struct bad_setting {
    uint16_t id;
    uint32_t value;
    uint32_t code;
    bool client;
};

ParameterizedTestParameters(conn_invalid_frames, invalid_settings_values)
{
    static struct bad_setting p[] = {
        {H2_SETTING_ENABLE_PUSH, 2, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_ENABLE_PUSH, 0xffffffffu, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_INITIAL_WINDOW_SIZE, 0x80000000u, H2_FLOW_CONTROL_ERROR, false},
        {H2_SETTING_INITIAL_WINDOW_SIZE, 0xffffffffu, H2_FLOW_CONTROL_ERROR, false},
        {H2_SETTING_MAX_FRAME_SIZE, 16383, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_MAX_FRAME_SIZE, 0, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_MAX_FRAME_SIZE, 16777216, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 2, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_NO_RFC7540_PRIORITIES, 2, H2_PROTOCOL_ERROR, false},
        {H2_SETTING_ENABLE_PUSH, 1, H2_PROTOCOL_ERROR, true},
    };
    return cr_make_param_array(struct bad_setting, p, sizeof(p) / sizeof(p[0]));
}

ParameterizedTest(struct bad_setting *p, conn_invalid_frames, invalid_settings_values)
{
    h2_setting e[2] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 5}, {p->id, p->value}};
    h2t_f_settings(&in, 0, e, 2);
    h2t_result r;
    h2t_replay(p->client ? h2t_setup_client : h2t_setup_server, NULL, in.p, in.len, &r);
    h2t_expect_conn_error(&r, p->code);
    /* nothing of the frame was applied */
    cr_assert_eq(h2_conn_setting(r.conn, true, H2_SETTING_MAX_CONCURRENT_STREAMS),
                 H2_SETTING_UNSET);
    h2t_result_free(&r);
}

Test(conn_invalid_frames, data_on_stream_after_end_stream_headers)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_STREAM_CLOSED);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_STREAM_RESET), 1);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_STREAM_RESET, 0);
    cr_assert_eq(e->error_code, H2_STREAM_CLOSED);
    cr_assert_not(e->remote_reset);
    h2t_result_free(&r);
}

/* h2_conn_stats.connection_errors: 1 after a connection error (a limit
 * that ends the connection included), not raised by later calls; stream
 * errors do not count. */
Test(conn_invalid_frames, connection_errors_are_counted_once)
{
    h2_conn_stats st = {.size = sizeof(st)};
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 1, 0, "x", 1, -1); /* stream error STREAM_CLOSED */
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2_conn_get_stats(c, &st);
    cr_assert_eq(st.connection_errors, 0);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    h2t_f_rst(&in, 0, H2_CANCEL);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_ECLOSED);
    h2_conn_get_stats(c, &st);
    cr_assert_eq(st.connection_errors, 1);
    h2_conn_free(c);

    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_settings_entries = 2;
    c = h2t_server_ready(&cfg);
    h2_setting e[3] = {
        {H2_SETTING_ENABLE_PUSH, 0}, {H2_SETTING_ENABLE_PUSH, 0}, {H2_SETTING_ENABLE_PUSH, 0}};
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    h2t_f_settings(&in, 0, e, 3);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(c).code, H2_ENHANCE_YOUR_CALM);
    h2_conn_get_stats(c, &st);
    cr_assert_eq(st.connection_errors, 1);
    cr_assert_eq(st.limit_exceeded[H2_LIMIT_SETTINGS_ENTRIES], 1);
    h2_conn_free(c);
}
