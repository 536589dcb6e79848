/* Flow control: both windows, settings-driven changes, overflow, automatic updates. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_ff ff;
static h2t_buf in;
static uint8_t big[70000];

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

TestSuite(conn_flow, .init = setup, .fini = teardown);

/* Server with an open POST on stream 1 (request not ended). */
static h2_conn *server_post(const h2_conn_config *cfg)
{
    h2_conn *c = h2t_server_ready(cfg);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_ff f2;
    h2t_ff_init(&f2);
    h2t_f_headers(&f2, &b, 1, 0x4, h2t_req_post, 4);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_ff_free(&f2);
    return c;
}

static h2_conn *setup_server_post(void *arg)
{
    return server_post(arg);
}

static int32_t local_window(h2_conn *c, uint32_t id)
{
    int32_t w = 0;
    cr_assert_eq(h2_conn_send_window(c, id, &w), 0);
    return w;
}

static int32_t remote_window(h2_conn *c, uint32_t id)
{
    int32_t w = 0;
    cr_assert_eq(h2_conn_recv_window(c, id, &w), 0);
    return w;
}

Test(conn_flow, initial_windows)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(local_window(c, 0), 65535);
    cr_assert_eq(local_window(c, 1), 65535);
    cr_assert_eq(remote_window(c, 0), 65535);
    cr_assert_eq(remote_window(c, 1), 65535);
    h2_conn_free(c);
}

Test(conn_flow, sending_data_lowers_both_windows)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 1000, 0, -1), 0);
    cr_assert_eq(local_window(c, 0), 64535);
    cr_assert_eq(local_window(c, 1), 64535);
    h2_conn_free(c);
}

Test(conn_flow, padding_counts_against_windows)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 100, 0, 10), 0);
    cr_assert_eq(local_window(c, 1), 65535 - 111);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 0, 0, 0), 0);
    cr_assert_eq(local_window(c, 1), 65535 - 112);
    h2_conn_free(c);
}

Test(conn_flow, received_data_lowers_receive_windows)
{
    h2t_f_data(&in, 1, 0, big, 1000, -1);
    h2t_f_data(&in, 1, 0, big, 10, 5);
    h2t_result r;
    h2t_replay_ok(setup_server_post, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[1].fcl, 16);
    cr_assert_eq(remote_window(r.conn, 0), 65535 - 1016);
    cr_assert_eq(remote_window(r.conn, 1), 65535 - 1016);
    h2t_result_free(&r);
}

Test(conn_flow, cannot_send_more_than_stream_window)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h2_conn_send_data(c, 1, big, 16384, 0, -1), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 16383, 0, -1), 0);
    cr_assert_eq(local_window(c, 1), 0);
    size_t pending = h2_conn_output_pending(c);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 1, 0, -1), H2_EFLOW_CONTROL);
    cr_assert_eq(h2_conn_output_pending(c), pending);
    /* an empty frame is still allowed */
    cr_assert_eq(h2_conn_send_data(c, 1, big, 0, H2_SEND_END_STREAM, -1), 0);
    h2_conn_free(c);
}

Test(conn_flow, connection_window_limits_all_streams)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(c, 3, h2t_resp_200, 2, 0, NULL), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h2_conn_send_data(c, 1, big, 16384, 0, -1), 0);
    cr_assert_eq(local_window(c, 3), 65535 - 3 * 16384);
    cr_assert_eq(h2_conn_send_data(c, 3, big, 16383, 0, -1), 0);
    cr_assert_eq(h2_conn_send_data(c, 3, big, 1, 0, -1), H2_EFLOW_CONTROL);
    h2_conn_free(c);
}

Test(conn_flow, window_update_unblocks_and_is_reported)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(h2_conn_send_data(c, 1, big, i < 3 ? 16384 : 16383, 0, -1), 0);
    h2t_take(c, NULL);
    h2t_f_window_update(&in, 0, 100);
    h2t_f_window_update(&in, 1, 50);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    cr_assert_eq(log.n, 2);
    cr_assert_eq(log.ev[0].type, H2_EV_WINDOW_UPDATED);
    cr_assert_eq(log.ev[0].stream_id, 0);
    cr_assert_eq(log.ev[0].window_delta, 100);
    cr_assert_eq(log.ev[1].stream_id, 1);
    cr_assert_eq(log.ev[1].window_delta, 50);
    cr_assert_eq(local_window(c, 1), 50);
    cr_assert_eq(local_window(c, 0), 100);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 50, 0, -1), 0);
    h2t_log_free(&log);
    h2_conn_free(c);
}

Test(conn_flow, window_update_replayed)
{
    h2t_f_window_update(&in, 0, 1);
    h2t_f_window_update(&in, 1, 2);
    h2t_f_window_update(&in, 1, 3);
    h2t_result r;
    h2t_replay_ok(setup_server_post, NULL, &in, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_eq(local_window(r.conn, 0), 65536);
    cr_assert_eq(local_window(r.conn, 1), 65536);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(r.conn, 1, &w), 0);
    h2t_result_free(&r);
}

Test(conn_flow, connection_window_overflow_is_connection_error)
{
    h2t_f_window_update(&in, 0, 0x7fffffff);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FLOW_CONTROL_ERROR);
}

Test(conn_flow, stream_window_overflow_is_stream_error)
{
    h2t_f_window_update(&in, 1, 0x7fffffff);
    h2t_result r;
    h2t_replay_ok(setup_server_post, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_FLOW_CONTROL_ERROR);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_STREAM_RESET);
    cr_assert_eq(r.log.ev[0].error_code, H2_FLOW_CONTROL_ERROR);
    cr_assert_not(r.log.ev[0].remote_reset);
    cr_assert_eq(h2_conn_open_inbound_streams(r.conn), 0);
    h2t_result_free(&r);
}

Test(conn_flow, zero_increment_on_connection_is_connection_error)
{
    h2t_f_window_update(&in, 0, 0);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_flow, zero_increment_on_stream_is_stream_error)
{
    h2t_f_window_update(&in, 1, 0);
    h2t_result r;
    h2t_replay_ok(setup_server_post, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_flow, peer_exceeding_connection_window)
{
    for (int i = 0; i < 4; i++)
        h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_replay_conn_error(setup_server_post, NULL, &in, H2_FLOW_CONTROL_ERROR);
}

Test(conn_flow, peer_exceeding_stream_window)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.connection_window_size = 1000000;
    for (int i = 0; i < 4; i++)
        h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_replay_conn_error(setup_server_post, &cfg, &in, H2_FLOW_CONTROL_ERROR);
}

Test(conn_flow, peer_initial_window_shrink_makes_window_negative)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 1000, 0, -1), 0);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 100};
    h2t_f_settings(&in, 0, &e, 1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(local_window(c, 1), -900);
    cr_assert_eq(local_window(c, 0), 64535);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 1, 0, -1), H2_EFLOW_CONTROL);
    cr_assert_eq(h2_conn_send_data(c, 1, big, 0, 0, -1), 0);
    h2_conn_free(c);
}

Test(conn_flow, peer_initial_window_growth)
{
    h2_conn *c = server_post(NULL);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 1000000};
    h2t_f_settings(&in, 0, &e, 1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(local_window(c, 1), 65535);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(c, 0, &w), 0);
    cr_assert_eq(w, 65535);
    h2t_buf_free(&in);
    h2t_f_window_update(&in, 0, 1000000);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(local_window(c, 1), 1000000);
    h2_conn_free(c);
}

Test(conn_flow, settings_overflowing_a_stream_window)
{
    h2t_f_window_update(&in, 1, 0x7fffffff - 65535);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 65536};
    h2t_f_settings(&in, 0, &e, 1);
    h2t_result r;
    h2t_replay(setup_server_post, NULL, in.p, in.len, &r);
    h2t_expect_conn_error(&r, H2_FLOW_CONTROL_ERROR);
    /* no SETTINGS ACK was queued */
    cr_assert_eq(h2t_count_frames(&r.out, 0x4), 0);
    h2t_result_free(&r);
}

Test(conn_flow, new_streams_use_peer_initial_window)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 1234};
    cr_assert_eq(h2_conn_update_settings(p.sv, &e, 1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_send_get(p.cl, 1, false), 0);
    cr_assert_eq(local_window(p.cl, 1), 1234);
    h2t_pair_free(&p);
}

Test(conn_flow, local_initial_window_applies_on_ack)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, false), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_data(p.cl, 1, big, 100, 0, -1), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 1000};
    cr_assert_eq(h2_conn_update_settings(p.sv, &e, 1), 0);
    cr_assert_eq(remote_window(p.sv, 1), 65435);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_c2s(&p), 0); /* the ACK */
    cr_assert_eq(remote_window(p.sv, 1), 900);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_SETTINGS_ACKNOWLEDGED), 1);
    cr_assert_eq(local_window(p.cl, 1), 900);
    h2t_pair_free(&p);
}

Test(conn_flow, manual_increment)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_increment_window(c, 0, 1000), 0);
    cr_assert_eq(h2_conn_increment_window(c, 1, 2000), 0);
    cr_assert_eq(remote_window(c, 0), 66535);
    cr_assert_eq(remote_window(c, 1), 66535);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 2);
    cr_assert_eq(f[0].type, 0x8);
    cr_assert_eq(f[0].id, 0);
    cr_assert_eq(h2t_u32(f[0].payload), 1000);
    cr_assert_eq(f[1].id, 1);
    cr_assert_eq(h2t_u32(f[1].payload), 2000);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_flow, manual_increment_range)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_increment_window(c, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_conn_increment_window(c, 0, 0x80000000u), H2_EINVAL);
    cr_assert_eq(h2_conn_increment_window(c, 0, 0x7fffffff), H2_EFLOW_CONTROL);
    cr_assert_eq(h2_conn_increment_window(c, 1, 0x7fffffff - 65535), 0);
    cr_assert_eq(h2_conn_increment_window(c, 1, 1), H2_EFLOW_CONTROL);
    cr_assert_eq(h2_conn_increment_window(c, 3, 1), H2_ENOSTREAM);
    h2_conn_free(c);
}

Test(conn_flow, auto_ack_thresholds)
{
    h2_conn *c = server_post(NULL);
    h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_f_data(&in, 1, 0, big, 16384, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_ack_data(c, 1, 32766), 0);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_eq(h2_conn_ack_data(c, 1, 1), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 2);
    cr_assert_eq(f[0].id, 0);
    cr_assert_eq(h2t_u32(f[0].payload), 32767);
    cr_assert_eq(f[1].id, 1);
    cr_assert_eq(h2t_u32(f[1].payload), 32767);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_flow, auto_ack_when_window_exhausted)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    h2_conn *c = server_post(&cfg);
    for (int i = 0; i < 3; i++)
        h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_f_data(&in, 1, 0, big, 16383, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(remote_window(c, 1), 0);
    cr_assert_eq(h2_conn_ack_data(c, 1, 1024), 0);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_eq(h2_conn_ack_data(c, 1, 1), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    cr_assert_eq(h2t_count_frames(&out, 0x8), 2);
    cr_assert_eq(remote_window(c, 1), 1025);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_flow, auto_ack_never_above_max)
{
    h2_conn *c = server_post(NULL);
    h2t_f_data(&in, 1, 0, big, 100, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_ack_data(c, 1, 40000), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 2);
    cr_assert_eq(h2t_u32(f[0].payload), 100);
    cr_assert_eq(h2t_u32(f[1].payload), 100);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_flow, auto_ack_argument_checks)
{
    h2_conn *c = server_post(NULL);
    cr_assert_eq(h2_conn_ack_data(c, 0, 10), H2_EINVAL);
    cr_assert_eq(h2_conn_ack_data(c, 9, 10), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_ack_data(c, 1, 0), 0);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn_free(c);
}

Test(conn_flow, auto_ack_unknown_stream_changes_nothing)
{
    h2_conn *c = server_post(NULL);
    h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_f_data(&in, 1, 0, big, 16384, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_ack_data(c, 7, 32768), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_eq(remote_window(c, 0), 65535 - 32768);
    h2_conn_free(c);
}

Test(conn_flow, auto_ack_closed_stream_credits_connection_only)
{
    h2_conn *c = server_post(NULL);
    h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_f_data(&in, 1, 0x1, big, 16384, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_reset_stream(c, 1, H2_CANCEL), 0);
    h2t_take(c, NULL);
    cr_assert_eq(h2_conn_ack_data(c, 1, 32768), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 1);
    cr_assert_eq(f[0].id, 0);
    cr_assert_eq(h2t_u32(f[0].payload), 32768);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_flow, connection_window_config_sends_window_update)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.connection_window_size = 1 << 20;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 2);
    cr_assert_eq(f[1].type, 0x8);
    cr_assert_eq(h2t_u32(f[1].payload), (1u << 20) - 65535);
    cr_assert_eq(remote_window(c, 0), 1 << 20);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_flow, data_on_half_closed_remote_is_credited)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 1, 0, big, 16384, -1);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_f_data(&in, 3, 0, big, 16384, -1);
    h2t_f_data(&in, 5, 0, big, 1, -1);
    h2t_result r;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &r);
    h2t_expect_conn_error(&r, H2_PROTOCOL_ERROR);
    h2t_frame f[8];
    size_t n = h2t_parse_frames(r.out.p, r.out.len, f, 8);
    /* RST(1), 32768 bytes returned to the peer, RST(3), GOAWAY for idle 5 */
    cr_assert_eq(n, 4);
    cr_assert_eq(f[0].type, 0x3);
    cr_assert_eq(h2t_u32(f[0].payload), H2_STREAM_CLOSED);
    cr_assert_eq(f[1].type, 0x8);
    cr_assert_eq(h2t_u32(f[1].payload), 32768);
    cr_assert_eq(f[2].type, 0x3);
    cr_assert_eq(f[2].id, 3);
    cr_assert_eq(r.log.n, 6);
    cr_assert_eq(r.log.ev[2].type, H2_EV_STREAM_RESET);
    h2t_result_free(&r);
}
