/* SETTINGS exchange: defaults, remote changes, ACK handling, local updates. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_buf in;

static void setup(void)
{
    h2t_buf_init(&in);
}

static void teardown(void)
{
    h2t_buf_free(&in);
}

TestSuite(conn_settings, .init = setup, .fini = teardown);

Test(conn_settings, remote_defaults)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_HEADER_TABLE_SIZE), 4096);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_ENABLE_PUSH), 1);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_INITIAL_WINDOW_SIZE), 65535);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_MAX_FRAME_SIZE), 16384);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_MAX_CONCURRENT_STREAMS), H2_SETTING_UNSET);
    cr_assert_eq(h2_conn_setting(c, true, H2_SETTING_MAX_HEADER_LIST_SIZE), H2_SETTING_UNSET);
    cr_assert_eq(h2_conn_setting(c, true, 0x99), H2_SETTING_UNSET);
    h2_conn_free(c);
}

Test(conn_settings, local_values_in_force_before_ack)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_CONCURRENT_STREAMS), 100);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_HEADER_LIST_SIZE), 65536);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_INITIAL_WINDOW_SIZE), 65535);
    h2_conn_free(c);
}

Test(conn_settings, remote_settings_changed_event)
{
    h2_setting e[] = {
        {H2_SETTING_MAX_CONCURRENT_STREAMS, 50},
        {H2_SETTING_INITIAL_WINDOW_SIZE, 1000},
        {H2_SETTING_MAX_CONCURRENT_STREAMS, 60},
        {0x77, 5},
    };
    h2t_f_settings(&in, 0, e, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    const h2t_ev *ev = &r.log.ev[0];
    cr_assert_eq(ev->type, H2_EV_REMOTE_SETTINGS_CHANGED);
    cr_assert_eq(ev->n_settings, 3);
    cr_assert_eq(ev->settings[0].id, H2_SETTING_MAX_CONCURRENT_STREAMS);
    cr_assert_not(ev->settings[0].had_original);
    cr_assert_eq(ev->settings[0].new_value, 60);
    cr_assert_eq(ev->settings[1].id, H2_SETTING_INITIAL_WINDOW_SIZE);
    cr_assert(ev->settings[1].had_original);
    cr_assert_eq(ev->settings[1].original, 65535);
    cr_assert_eq(ev->settings[1].new_value, 1000);
    cr_assert_eq(ev->settings[2].id, 0x77);
    cr_assert_not(ev->settings[2].had_original);
    cr_assert_eq(h2_conn_setting(r.conn, true, H2_SETTING_MAX_CONCURRENT_STREAMS), 60);
    /* an empty ACK is queued */
    cr_assert_eq(r.out.len, 9);
    cr_assert_eq(r.out.p[3], 0x4);
    cr_assert_eq(r.out.p[4], 0x1);
    h2t_result_free(&r);
}

Test(conn_settings, unchanged_values_are_still_reported)
{
    h2_setting e[] = {{H2_SETTING_HEADER_TABLE_SIZE, 4096}};
    h2t_f_settings(&in, 0, e, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.ev[0].n_settings, 1);
    cr_assert_eq(r.log.ev[0].settings[0].original, 4096);
    cr_assert_eq(r.log.ev[0].settings[0].new_value, 4096);
    h2t_result_free(&r);
}

Test(conn_settings, empty_settings_frame)
{
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].n_settings, 0);
    h2t_result_free(&r);
}

Test(conn_settings, initial_settings_ack_reports_nothing)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_f_settings(&in, 1, NULL, 0);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    cr_assert_eq(log.n, 2);
    cr_assert_eq(log.ev[1].type, H2_EV_SETTINGS_ACKNOWLEDGED);
    cr_assert_eq(log.ev[1].n_settings, 0);
    h2t_log_free(&log);
    h2_conn_free(c);
}

Test(conn_settings, initial_settings_ack_reports_non_default_values)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.initial_window_size = 100000;
    cfg.max_frame_size = 32768;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_FRAME_SIZE), 16384);
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_f_settings(&in, 1, NULL, 0);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    const h2t_ev *e = &log.ev[1];
    cr_assert_eq(e->n_settings, 2);
    cr_assert_eq(e->settings[0].id, H2_SETTING_INITIAL_WINDOW_SIZE);
    cr_assert_eq(e->settings[0].new_value, 100000);
    cr_assert_eq(e->settings[1].id, H2_SETTING_MAX_FRAME_SIZE);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_FRAME_SIZE), 32768);
    h2t_log_free(&log);
    h2_conn_free(c);
}

Test(conn_settings, update_settings_frame_bytes)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2_setting e[] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 10}, {H2_SETTING_ENABLE_PUSH, 0}};
    cr_assert_eq(h2_conn_update_settings(c, e, 2), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    static const uint8_t expect[] = {0, 0, 12, 4,  0, 0, 0, 0, 0, 0, 3,
                                     0, 0, 0,  10, 0, 2, 0, 0, 0, 0};
    cr_assert_eq(out.len, sizeof(expect));
    cr_assert_arr_eq(out.p, expect, sizeof(expect));
    /* pending until acknowledged */
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_CONCURRENT_STREAMS), 100);
    h2t_f_settings(&in, 1, NULL, 0);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    cr_assert_eq(log.n, 1);
    cr_assert_eq(log.ev[0].type, H2_EV_SETTINGS_ACKNOWLEDGED);
    cr_assert_eq(log.ev[0].n_settings, 2);
    cr_assert_eq(log.ev[0].settings[0].original, 100);
    cr_assert_eq(log.ev[0].settings[0].new_value, 10);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_CONCURRENT_STREAMS), 10);
    h2t_log_free(&log);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_settings, one_ack_per_frame)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2_setting a = {H2_SETTING_MAX_CONCURRENT_STREAMS, 10};
    h2_setting b = {H2_SETTING_MAX_CONCURRENT_STREAMS, 20};
    cr_assert_eq(h2_conn_update_settings(c, &a, 1), 0);
    cr_assert_eq(h2_conn_update_settings(c, &b, 1), 0);
    h2t_f_settings(&in, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_CONCURRENT_STREAMS), 10);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_CONCURRENT_STREAMS), 20);
    h2_conn_free(c);
}

Test(conn_settings, unsolicited_ack_is_harmless)
{
    h2t_f_settings(&in, 1, NULL, 0);
    h2t_f_settings(&in, 1, NULL, 0);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_SETTINGS_ACKNOWLEDGED);
    cr_assert_eq(r.log.ev[0].n_settings, 0);
    h2t_result_free(&r);
}

Test(conn_settings, invalid_local_values_are_refused)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2_setting bad[] = {
        {H2_SETTING_ENABLE_PUSH, 1}, /* a server may not enable push */
        {H2_SETTING_INITIAL_WINDOW_SIZE, 0x80000000u},
        {H2_SETTING_MAX_FRAME_SIZE, 100},
        {H2_SETTING_ENABLE_CONNECT_PROTOCOL, 3},
    };
    for (size_t i = 0; i < H2T_N(bad); i++) {
        h2_setting e[2] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 1}, bad[i]};
        cr_assert_eq(h2_conn_update_settings(c, e, 2), H2_ESETTINGS);
    }
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn_free(c);
}

Test(conn_settings, argument_checks)
{
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_update_settings(c, NULL, 1), H2_EINVAL);
    cr_assert_eq(h2_conn_update_settings(c, NULL, 0), 0);
    h2_setting many[65];
    for (int i = 0; i < 65; i++)
        many[i] = (h2_setting){H2_SETTING_MAX_CONCURRENT_STREAMS, 1};
    cr_assert_eq(h2_conn_update_settings(c, many, 65), H2_EINVAL);
    h2_conn_free(c);
}

Test(conn_settings, too_many_unacknowledged_frames)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2_setting e = {H2_SETTING_MAX_CONCURRENT_STREAMS, 1};
    for (int i = 0; i < 16; i++)
        cr_assert_eq(h2_conn_update_settings(c, &e, 1), 0);
    cr_assert_eq(h2_conn_update_settings(c, &e, 1), H2_EAGAIN);
    h2_conn_free(c);
}

Test(conn_settings, update_before_initiate)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    h2_setting e = {H2_SETTING_MAX_CONCURRENT_STREAMS, 1};
    cr_assert_eq(h2_conn_update_settings(c, &e, 1), H2_ESTATE);
    h2_conn_free(c);
}

Test(conn_settings, peer_max_frame_size_allows_bigger_frames)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_max_outbound_frame_size(p.sv), 16384);
    h2_setting e = {H2_SETTING_MAX_FRAME_SIZE, 32768};
    cr_assert_eq(h2_conn_update_settings(p.cl, &e, 1), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_max_outbound_frame_size(p.sv), 32768);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    static uint8_t body[20000];
    cr_assert_eq(h2_conn_send_data(p.sv, 1, body, sizeof(body), H2_SEND_END_STREAM, -1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    const h2t_ev *d = h2t_log_find(&p.cl_log, H2_EV_DATA_RECEIVED, 0);
    cr_assert_not_null(d);
    cr_assert_eq(d->len, 20000);
    h2t_pair_free(&p);
}

Test(conn_settings, inbound_frame_limit_follows_ack)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_frame_size = 20000;
    cfg.connection_window_size = 1000000;
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static uint8_t body[20001];
    h2t_f_data(&in, 1, 0, body, 20000, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, &cfg, &in, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_DATA_RECEIVED), 1);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
    h2t_ff_init(&ff);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_data(&in, 1, 0, body, 20001, -1);
    h2t_replay_conn_error(h2t_setup_server, &cfg, &in, H2_FRAME_SIZE_ERROR);
    h2t_ff_free(&ff);
}

Test(conn_settings, peer_header_table_size_zero)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_setting e = {H2_SETTING_HEADER_TABLE_SIZE, 0};
    cr_assert_eq(h2_conn_update_settings(p.sv, &e, 1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(p.cl, &v, &n);
    cr_assert_geq(n, 10);
    /* the block starts with a table size update to 0 */
    cr_assert_eq(v[9], 0x20);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_REQUEST_RECEIVED), 1);
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}

Test(conn_settings, local_header_table_size_shrink)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    h2_setting e = {H2_SETTING_HEADER_TABLE_SIZE, 100};
    cr_assert_eq(h2_conn_update_settings(p.sv, &e, 1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_send_get(p.cl, 3, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_REQUEST_RECEIVED), 1);
    h2t_pair_free(&p);
}

Test(conn_settings, max_header_list_size_applies_after_ack)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_setting e = {H2_SETTING_MAX_HEADER_LIST_SIZE, 100};
    cr_assert_eq(h2_conn_update_settings(p.sv, &e, 1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    /* the client learns the limit at once and respects it on output */
    cr_assert_eq(h2_conn_setting(p.cl, true, H2_SETTING_MAX_HEADER_LIST_SIZE), 100);
    static const h2_header big[] = {
        H2T_HDR(":method", "GET"),
        H2T_HDR(":scheme", "https"),
        H2T_HDR(":authority", "example.com"),
        H2T_HDR(":path", "/a-long-path-to-pass-the-limit"),
    };
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, big, 4, H2_SEND_END_STREAM, NULL),
                 H2_EHEADER_LIST_SIZE);
    cr_assert_eq(h2_conn_next_stream_id(p.cl), 1);
    h2t_pair_free(&p);
}
