/* h2c upgrade: HTTP2-Settings values and the upgraded connection on both sides. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

Test(conn_upgrade, settings_header_encode_vector)
{
    /* 00 03 00 00 00 64  00 04 00 00 ff ff */
    h2_setting e[2] = {{3, 100}, {4, 65535}};
    char out[32];
    size_t n;
    cr_assert_eq(h2_settings_header_encode(e, 2, out, sizeof out, &n), 0);
    cr_assert_eq(n, 16);
    cr_assert_str_eq(out, "AAMAAABkAAQAAP__");
    cr_assert_eq(h2_settings_header_encode(e, 2, out, 16, &n), H2_ENOBUFS);
    cr_assert_eq(h2_settings_header_encode(e, 2, out, 17, &n), 0);
    cr_assert_eq(h2_settings_header_encode(NULL, 0, out, 1, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_str_eq(out, "");
}

Test(conn_upgrade, settings_header_decode)
{
    h2_setting e[4];
    size_t n;
    cr_assert_eq(h2_settings_header_decode("AAMAAABkAAQAAP__", 16, e, 4, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(e[0].id, 3);
    cr_assert_eq(e[0].value, 100);
    cr_assert_eq(e[1].id, 4);
    cr_assert_eq(e[1].value, 65535);
    cr_assert_eq(h2_settings_header_decode("", 0, e, 4, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(h2_settings_header_decode("AAMAAABkAAQAAP__", 16, e, 1, &n), H2_ENOBUFS);
}

Test(conn_upgrade, settings_header_decode_rejects)
{
    h2_setting e[4];
    size_t n;
    const char *bad[] = {
        "AAMAAABk+AQAAP//", /* standard base64 characters */
        "AAMAAABkAAQAAP_",  /* not whole entries */
        "AAMAAAB",          /* impossible length */
        "AAMA AABk",        /* space */
        "AAMAAABkAAQAAP__=", "AAMAAABkAB", "AAMAAABkAAQ",
    };
    for (size_t k = 0; k < H2T_N(bad); k++)
        cr_assert_eq(h2_settings_header_decode(bad[k], strlen(bad[k]), e, 4, &n), H2_EINVAL, "%s",
                     bad[k]);
    cr_assert_eq(h2_settings_header_decode(NULL, 1, e, 4, &n), H2_EINVAL);
}

Test(conn_upgrade, settings_header_round_trip_every_length)
{
    h2_setting e[9], d[9];
    for (size_t n = 0; n <= 9; n++) {
        for (size_t i = 0; i < n; i++) {
            e[i].id = (uint16_t)(i * 7919 + 1);
            e[i].value = (uint32_t)(i * 2654435761u);
        }
        char out[128];
        size_t len, m;
        cr_assert_eq(h2_settings_header_encode(e, n, out, sizeof out, &len), 0);
        cr_assert_eq(len, 8 * n);
        cr_assert_null(strchr(out, '='));
        cr_assert_eq(h2_settings_header_decode(out, len, d, 9, &m), 0);
        cr_assert_eq(m, n);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(d[i].id, e[i].id);
            cr_assert_eq(d[i].value, e[i].value);
        }
    }
}

Test(conn_upgrade, padded_values_rejected)
{
    /* whole entries are 8 characters: a correct value never has padding */
    h2_setting d[2];
    size_t m;
    cr_assert_eq(h2_settings_header_decode("AAMAAABk==", 10, d, 2, &m), H2_EINVAL);
    cr_assert_eq(h2_settings_header_decode("AAMAAABk", 8, d, 2, &m), 0);
    cr_assert_eq(m, 1);
    /* "/" belongs to standard base64, not base64url */
    cr_assert_eq(h2_settings_header_decode("AAMAAABkAAQAAP_/", 16, d, 2, &m), H2_EINVAL);
}

Test(conn_upgrade, client_upgrade)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.initial_window_size = 1000;
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, &cfg);
    char v[64];
    size_t n;
    cr_assert_eq(h2_conn_initiate_upgrade_client(c, v, 56, &n), H2_ENOBUFS);
    cr_assert_eq(h2_conn_initiate_upgrade_client(c, v, sizeof v, &n), 0);
    cr_assert_eq(n, 56);
    cr_assert_null(strchr(v, '='));
    h2_setting e[8];
    size_t m;
    cr_assert_eq(h2_settings_header_decode(v, n, e, 8, &m), 0);
    cr_assert_eq(m, 7);
    bool saw_window = false;
    for (size_t i = 0; i < m; i++)
        if (e[i].id == H2_SETTING_INITIAL_WINDOW_SIZE)
            saw_window = e[i].value == 1000;
    cr_assert(saw_window);
    /* the output is the preface and the same SETTINGS payload */
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    cr_assert_eq(out.len, 24 + 9 + 42);
    cr_assert_arr_eq(out.p, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    char again[64];
    size_t n2;
    h2_setting sent[7];
    for (size_t i = 0; i < 7; i++) {
        sent[i].id = (uint16_t)(out.p[33 + 6 * i] << 8 | out.p[34 + 6 * i]);
        sent[i].value = h2t_u32(out.p + 35 + 6 * i);
    }
    cr_assert_eq(h2_settings_header_encode(sent, 7, again, sizeof again, &n2), 0);
    cr_assert_str_eq(again, v);
    cr_assert_eq(h2_conn_next_stream_id(c), 3);
    cr_assert_eq(h2_conn_open_outbound_streams(c), 1);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_get, 4, 0, NULL), H2_ESTATE);
    cr_assert_eq(h2_conn_send_data(c, 1, (const uint8_t *)"x", 1, 0, -1), H2_ESTATE);
    cr_assert_eq(h2_conn_initiate_upgrade_client(c, v, sizeof v, &n), H2_ESTATE);
    cr_assert_eq(h2_conn_initiate(c), H2_ESTATE);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_upgrade, wrong_roles)
{
    h2_conn *s = h2t_conn_new(H2_ROLE_SERVER, NULL);
    char v[64];
    size_t n;
    cr_assert_eq(h2_conn_initiate_upgrade_client(s, v, sizeof v, &n), H2_EINVAL);
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate_upgrade_server(c, "", 0), H2_EINVAL);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, NULL, 3), H2_EINVAL);
    h2_conn_free(s);
    h2_conn_free(c);
}

Test(conn_upgrade, server_upgrade_applies_settings_without_ack)
{
    h2_setting e[2] = {{H2_SETTING_MAX_FRAME_SIZE, 32768}, {H2_SETTING_INITIAL_WINDOW_SIZE, 100}};
    char v[32];
    size_t n;
    cr_assert_eq(h2_settings_header_encode(e, 2, v, sizeof v, &n), 0);
    h2_conn *s = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, v, n), 0);
    cr_assert_eq(h2_conn_setting(s, true, H2_SETTING_MAX_FRAME_SIZE), 32768);
    cr_assert_eq(h2_conn_max_outbound_frame_size(s), 32768);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(s, 1, &w), 0);
    cr_assert_eq(w, 100);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(s, &out);
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 4), 1); /* our SETTINGS only, no ACK */
    cr_assert_eq(f[0].type, 0x4);
    cr_assert_eq(f[0].flags, 0);
    cr_assert_eq(h2_conn_open_inbound_streams(s), 1);
    cr_assert_eq(h2_conn_send_headers(s, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(s), 0);
    h2t_buf_free(&out);
    h2_conn_free(s);
}

Test(conn_upgrade, server_upgrade_refusals_change_nothing)
{
    h2_conn *s = h2t_conn_new(H2_ROLE_SERVER, NULL);
    h2_setting bad = {H2_SETTING_ENABLE_PUSH, 2};
    char v[16];
    size_t n;
    cr_assert_eq(h2_settings_header_encode(&bad, 1, v, sizeof v, &n), 0);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, v, n), H2_ESETTINGS);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, "!!!!!!!!", 8), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(s), 0);
    cr_assert_eq(h2_conn_open_inbound_streams(s), 0);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, "", 0), 0);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, "", 0), H2_ESTATE);
    h2_conn_free(s);
}

static h2_conn *upgraded_server(void *arg)
{
    (void)arg;
    h2_conn *s = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, "", 0), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_preface(&b);
    h2t_f_settings(&b, 0, NULL, 0);
    h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(s, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(s, NULL);
    return s;
}

Test(conn_upgrade, client_frames_on_stream_one_are_reset)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_result r;
    h2t_replay_ok(upgraded_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_STREAM_RESET);
    cr_assert_eq(r.log.ev[0].error_code, H2_STREAM_CLOSED);
    h2t_expect_rst(&r.out, 1, H2_STREAM_CLOSED);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    h2t_f_data(&in, 1, 0, "x", 1, -1);
    h2t_replay_ok(upgraded_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_STREAM_RESET);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_upgrade, server_still_requires_preface)
{
    h2_conn *s = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, "", 0), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_settings(&b, 0, NULL, 0);
    cr_assert_eq(h2t_feed(s, b.p, b.len, NULL), H2_EPROTO);
    h2t_buf_free(&b);
    h2_conn_free(s);
}

Test(conn_upgrade, full_exchange_with_push_on_stream_one)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    h2_conn *s = h2t_conn_new(H2_ROLE_SERVER, NULL);
    char v[64];
    size_t n;
    cr_assert_eq(h2_conn_initiate_upgrade_client(c, v, sizeof v, &n), 0);
    cr_assert_eq(h2_conn_initiate_upgrade_server(s, v, n), 0);
    cr_assert_eq(h2_conn_setting(s, true, H2_SETTING_MAX_HEADER_LIST_SIZE), 65536);
    h2t_log cl, sl;
    h2t_log_init(&cl);
    h2t_log_init(&sl);
    cr_assert_eq(h2t_transfer(c, s, &sl), 0);
    cr_assert_eq(h2t_log_count(&sl, H2_EV_REMOTE_SETTINGS_CHANGED), 1);
    cr_assert_eq(h2t_log_count(&sl, H2_EV_REQUEST_RECEIVED), 0);
    cr_assert_eq(h2_conn_push_stream(s, 1, 2, h2t_req_get, 4), 0);
    cr_assert_eq(h2_conn_send_headers(s, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data(s, 1, (const uint8_t *)"hi", 2, H2_SEND_END_STREAM, -1), 0);
    cr_assert_eq(h2t_transfer(s, c, &cl), 0);
    const h2t_ev *push = h2t_log_find(&cl, H2_EV_PUSHED_STREAM_RECEIVED, 0);
    cr_assert_not_null(push);
    cr_assert_eq(push->parent_id, 1);
    const h2t_ev *resp = h2t_log_find(&cl, H2_EV_RESPONSE_RECEIVED, 0);
    cr_assert_not_null(resp);
    cr_assert_eq(resp->stream_id, 1);
    cr_assert_eq(h2t_log_count(&cl, H2_EV_STREAM_ENDED), 1);
    cr_assert_eq(h2_conn_open_outbound_streams(c), 0);
    /* new requests continue at 3 */
    cr_assert_eq(h2t_send_get(c, 3, true), 0);
    h2t_log_clear(&sl);
    cr_assert_eq(h2t_transfer(c, s, &sl), 0);
    cr_assert_eq(h2t_log_find(&sl, H2_EV_REQUEST_RECEIVED, 0)->stream_id, 3);
    h2t_log_free(&cl);
    h2t_log_free(&sl);
    h2_conn_free(c);
    h2_conn_free(s);
}
