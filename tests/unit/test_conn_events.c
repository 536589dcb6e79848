/* Event fields and lifetimes: views into the input, the reassembly buffers and the arena. */
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

TestSuite(conn_events, .init = setup, .fini = teardown);

static h2_conn *server_post(void)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_headers(&ff, &b, 1, 0x4, h2t_req_post, 4);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    return c;
}

Test(conn_events, data_of_whole_frame_points_into_input)
{
    h2_conn *c = server_post();
    h2t_f_data(&in, 1, 0, "zero-copy", 9, -1);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(ev[0].u.data.data, in.p + 9);
    cr_assert_eq(ev[0].u.data.len, 9);
    cr_assert_eq(ev[0].u.data.stream_ended, -1);
    h2_conn_free(c);
}

Test(conn_events, padded_data_view_skips_padding)
{
    h2_conn *c = server_post();
    h2t_f_data(&in, 1, 0, "abc", 3, 4);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(ev[0].u.data.data, in.p + 10);
    cr_assert_eq(ev[0].u.data.flow_controlled_length, 8);
    h2_conn_free(c);
}

Test(conn_events, straddled_frames_stay_valid_for_the_call)
{
    h2_conn *c = server_post();
    h2t_f_data(&in, 1, 0, "AAAAAAAAAA", 10, -1);
    h2t_f_data(&in, 1, 0, "BBBBBBBBBB", 10, -1);
    h2t_f_data(&in, 1, 0, "CCCCCCCCCC", 10, -1);
    h2t_f_data(&in, 1, 0, "DDDDDDDDDD", 10, -1);
    /* call 1: half of A; call 2: rest of A, B, half of C; call 3: rest of C, half of D */
    size_t cut1 = 10, cut2 = 19 + 19 + 10, cut3 = 19 * 3 + 10;
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, cut1, &ev, &n), 0);
    cr_assert_eq(n, 0);
    uint8_t copy[200];
    memcpy(copy, in.p, in.len);
    cr_assert_eq(h2_conn_receive(c, copy + cut1, cut2 - cut1, &ev, &n), 0);
    cr_assert_eq(n, 2);
    /* clobber the caller's buffer: B's view points into it, A's into the connection */
    cr_assert_arr_eq(ev[0].u.data.data, "AAAAAAAAAA", 10);
    cr_assert_eq(ev[1].u.data.data, copy + 19 + 9);
    cr_assert_arr_eq(ev[1].u.data.data, "BBBBBBBBBB", 10);
    const uint8_t *a_view = ev[0].u.data.data;
    cr_assert_arr_eq(a_view, "AAAAAAAAAA", 10);
    cr_assert_eq(h2_conn_receive(c, in.p + cut2, cut3 - cut2, &ev, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_arr_eq(ev[0].u.data.data, "CCCCCCCCCC", 10);
    cr_assert_eq(h2_conn_receive(c, in.p + cut3, in.len - cut3, &ev, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_arr_eq(ev[0].u.data.data, "DDDDDDDDDD", 10);
    h2_conn_free(c);
}

Test(conn_events, header_views_survive_api_calls)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    /* sending a response in between does not invalidate the request's fields */
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    uint8_t op[8] = {0};
    cr_assert_eq(h2_conn_ping(c, op), 0);
    cr_assert_eq(ev[0].u.headers.n, 4);
    cr_assert_eq(ev[0].u.headers.fields[2].value_len, 11);
    cr_assert_arr_eq(ev[0].u.headers.fields[2].value, "example.com", 11);
    h2_conn_free(c);
}

Test(conn_events, goaway_without_debug_data)
{
    h2t_f_goaway(&in, 0, H2_NO_ERROR, NULL, 0);
    const h2_event *ev;
    size_t n;
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(ev[0].type, H2_EV_CONNECTION_TERMINATED);
    cr_assert_null(ev[0].u.terminated.debug);
    cr_assert_eq(ev[0].u.terminated.debug_len, 0);
    cr_assert_eq(ev[0].stream_id, 0);
    h2_conn_free(c);
}

Test(conn_events, goaway_codes_and_last_ids)
{
    static const uint32_t codes[] = {0, 1, 2, 11, 13, 0x1234};
    for (size_t i = 0; i < H2T_N(codes); i++)
        h2t_f_goaway(&in, (uint32_t)(2 * i + 1) | 0x80000000u, codes[i], "dbg", 3);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, H2T_N(codes));
    for (size_t i = 0; i < H2T_N(codes); i++) {
        cr_assert_eq(r.log.ev[i].error_code, codes[i]);
        cr_assert_eq(r.log.ev[i].last_stream_id, 2 * i + 1);
        cr_assert_arr_eq(r.log.ev[i].data, "dbg", 3);
    }
    h2t_result_free(&r);
}

Test(conn_events, unknown_frame_without_payload)
{
    h2t_f_unknown(&in, 0x20, 0x3, 5, NULL, 0);
    const h2_event *ev;
    size_t n;
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(ev[0].type, H2_EV_UNKNOWN_FRAME_RECEIVED);
    cr_assert_null(ev[0].u.unknown.payload);
    cr_assert_eq(ev[0].u.unknown.len, 0);
    cr_assert_eq(ev[0].u.unknown.flags, 3);
    cr_assert_eq(ev[0].stream_id, 5);
    h2_conn_free(c);
}

Test(conn_events, empty_data_frame_event)
{
    h2_conn *c = server_post();
    h2t_f_data(&in, 1, 0x1, NULL, 0, -1);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_null(ev[0].u.data.data);
    cr_assert_eq(ev[0].u.data.len, 0);
    cr_assert_eq(ev[0].u.data.flow_controlled_length, 0);
    cr_assert_eq(ev[0].u.data.stream_ended, 1);
    h2_conn_free(c);
}

Test(conn_events, no_events_for_empty_input)
{
    h2_conn *c = h2t_server_ready(NULL);
    const h2_event *ev = (const h2_event *)1;
    size_t n = 99;
    cr_assert_eq(h2_conn_receive(c, NULL, 0, &ev, &n), 0);
    cr_assert_null(ev);
    cr_assert_eq(n, 0);
    cr_assert_eq(h2_conn_receive(c, NULL, 1, &ev, &n), H2_EINVAL);
    cr_assert_eq(h2_conn_receive(c, in.p, 0, NULL, &n), H2_EINVAL);
    h2_conn_free(c);
}

Test(conn_events, events_array_reused_across_calls)
{
    h2_conn *c = h2t_server_ready(NULL);
    uint8_t op[8] = {0};
    for (int i = 0; i < 100; i++)
        h2t_f_ping(&in, 0, op);
    const h2_event *ev1, *ev2;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev1, &n), 0);
    cr_assert_eq(n, 100);
    cr_assert_eq(h2_conn_receive(c, in.p, 17, &ev2, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(ev1, ev2);
    h2_conn_free(c);
}

Test(conn_events, settings_events_point_into_the_connection)
{
    h2_setting a[] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 1}};
    h2_setting b[] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 2}, {H2_SETTING_MAX_FRAME_SIZE, 20000}};
    h2t_f_settings(&in, 0, a, 1);
    h2t_f_settings(&in, 0, b, 2);
    h2_conn *c = h2t_server_ready(NULL);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(ev[0].u.settings.n, 1);
    cr_assert_eq(ev[0].u.settings.changed[0].new_value, 1);
    cr_assert_eq(ev[1].u.settings.n, 2);
    cr_assert_eq(ev[1].u.settings.changed[0].original, 1);
    cr_assert_eq(ev[1].u.settings.changed[0].new_value, 2);
    cr_assert_eq(ev[1].u.settings.changed[1].new_value, 20000);
    cr_assert_eq(h2_conn_max_outbound_frame_size(c), 20000);
    h2_conn_free(c);
}

Test(conn_events, headers_frame_exact_bytes)
{
    static const h2_header h[] = {
        H2T_HDR(":authority", "example.com"),
        H2T_HDR(":path", "/"),
        H2T_HDR(":scheme", "https"),
        H2T_HDR(":method", "GET"),
    };
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h, 4, H2_SEND_END_STREAM, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    static const uint8_t expect[] = {0x00, 0x00, 0x0d, 0x01, 0x05, 0x00, 0x00, 0x00,
                                     0x01, 0x41, 0x88, 0x2f, 0x91, 0xd3, 0x5d, 0x05,
                                     0x5c, 0x87, 0xa7, 0x84, 0x87, 0x82};
    cr_assert_eq(out.len, sizeof(expect));
    cr_assert_arr_eq(out.p, expect, sizeof(expect));
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_events, data_frame_exact_bytes)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_post, 4, 0, NULL), 0);
    h2t_take(c, NULL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"hi", 2, H2_SEND_END_STREAM, 3), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    static const uint8_t expect[] = {0, 0, 6, 0, 0x9, 0, 0, 0, 1, 3, 'h', 'i', 0, 0, 0};
    cr_assert_eq(out.len, sizeof(expect));
    cr_assert_arr_eq(out.p, expect, sizeof(expect));
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_events, send_data_argument_checks)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, NULL, 1, 0, -1), H2_EINVAL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"x", 1, 0, 256), H2_EINVAL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"x", 1, 0, -2), H2_EINVAL);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"x", 1, 0x80, -1), H2_EINVAL);
    static uint8_t big[16385];
    cr_assert_eq(h2_conn_send_data(c, 1, big, sizeof(big), 0, -1), H2_EFRAME_SIZE);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 16384, 0, 0), H2_EFRAME_SIZE);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 16383, 0, 0), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_post, 4, 0x2, NULL), H2_EINVAL);
    h2_conn_free(c);
}
