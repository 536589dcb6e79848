/* Priority: RFC 7540 PRIORITY / HEADERS priority, RFC 9218 PRIORITY_UPDATE and
 * SETTINGS_NO_RFC7540_PRIORITIES. */
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

TestSuite(conn_priority, .init = setup, .fini = teardown);

static void expect_output(h2_conn *c, const uint8_t *bytes, size_t n)
{
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    cr_assert_eq(out.len, n);
    cr_assert_arr_eq(out.p, bytes, n);
    h2t_buf_free(&out);
}

Test(conn_priority, prioritize_bytes)
{
    h2_conn *c = h2t_client_ready(NULL);
    h2_priority_args a = {.weight = 32, .depends_on = 1, .exclusive = true};
    cr_assert_eq(h2_conn_prioritize(c, 3, &a), 0);
    const uint8_t want[] = {0, 0, 5, 0x2, 0, 0, 0, 0, 3, 0x80, 0, 0, 1, 31};
    expect_output(c, want, sizeof want);
    h2_conn_free(c);
}

Test(conn_priority, prioritize_defaults)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_prioritize(c, 1, NULL), 0);
    h2_priority_args a = {.weight = 0, .depends_on = 0, .exclusive = false};
    cr_assert_eq(h2_conn_prioritize(c, 1, &a), 0);
    const uint8_t want[] = {0, 0, 5, 0x2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 15,
                            0, 0, 5, 0x2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 15};
    expect_output(c, want, sizeof want);
    h2_conn_free(c);
}

Test(conn_priority, prioritize_weight_range)
{
    h2_conn *c = h2t_client_ready(NULL);
    h2_priority_args a = {.weight = 256};
    cr_assert_eq(h2_conn_prioritize(c, 5, &a), 0);
    a.weight = 1;
    cr_assert_eq(h2_conn_prioritize(c, 5, &a), 0);
    a.weight = 257;
    cr_assert_eq(h2_conn_prioritize(c, 5, &a), H2_EINVAL);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    cr_assert_eq(out.len, 28);
    cr_assert_eq(out.p[13], 255);
    cr_assert_eq(out.p[27], 0);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_priority, prioritize_refusals_change_nothing)
{
    h2_conn *c = h2t_client_ready(NULL);
    h2_priority_args self = {.weight = 16, .depends_on = 7};
    cr_assert_eq(h2_conn_prioritize(c, 7, &self), H2_EINVAL);
    cr_assert_eq(h2_conn_prioritize(c, 0, NULL), H2_EINVAL);
    cr_assert_eq(h2_conn_prioritize(c, 0x80000000u, NULL), H2_EINVAL);
    h2_priority_args bigdep = {.depends_on = 0x80000000u};
    cr_assert_eq(h2_conn_prioritize(c, 1, &bigdep), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn_free(c);
    h2_conn *s = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_prioritize(s, 1, NULL), H2_EROLE);
    cr_assert_eq(h2_conn_output_pending(s), 0);
    h2_conn_free(s);
    h2_conn *n = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_prioritize(n, 1, NULL), H2_ESTATE);
    h2_conn_free(n);
}

Test(conn_priority, send_headers_with_priority)
{
    h2_conn *c = h2t_client_ready(NULL);
    h2_priority_args a = {.weight = 256, .depends_on = 0, .exclusive = true};
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_get, 4, H2_SEND_END_STREAM, &a), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[2];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 2), 1);
    cr_assert_eq(f[0].type, 0x1);
    cr_assert_eq(f[0].flags, 0x25);
    cr_assert_eq(h2t_u32(f[0].payload), 0x80000000u);
    cr_assert_eq(f[0].payload[4], 255);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_priority, send_headers_priority_refusals_change_nothing)
{
    h2_conn *c = h2t_client_ready(NULL);
    h2_priority_args self = {.weight = 16, .depends_on = 1};
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_get, 4, 0, &self), H2_EINVAL);
    h2_priority_args heavy = {.weight = 300};
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_get, 4, 0, &heavy), H2_EINVAL);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_eq(h2_conn_next_stream_id(c), 1);
    cr_assert_eq(h2_conn_open_outbound_streams(c), 0);
    /* the HPACK context is untouched: the same block is still encoded fresh */
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_get, 4, 0, NULL), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_log log;
    h2t_log_init(&log);
    h2_conn *s = h2t_server_ready(NULL);
    cr_assert_eq(h2t_feed(s, out.p, out.len, &log), 0);
    cr_assert_eq(log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    h2t_log_free(&log);
    h2t_buf_free(&out);
    h2_conn_free(s);
    h2_conn_free(c);
}

Test(conn_priority, server_priority_args_refused)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    h2_priority_args a = {.weight = 16};
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, &a), H2_EROLE);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    h2t_pair_free(&p);
}

Test(conn_priority, priority_frames_received)
{
    h2t_f_priority(&in, 1, 0, 16, false);
    h2t_f_priority(&in, 9, 3, 256, true); /* an idle stream: no stream opened */
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 4);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PRIORITY_UPDATED);
    cr_assert_eq(r.log.ev[0].weight, 16);
    cr_assert_eq(r.log.ev[1].stream_id, 9);
    cr_assert_eq(r.log.ev[1].depends_on, 3);
    cr_assert_eq(r.log.ev[1].weight, 256);
    cr_assert(r.log.ev[1].exclusive);
    cr_assert_eq(r.log.ev[2].type, H2_EV_REQUEST_RECEIVED);
    h2t_result_free(&r);
}

Test(conn_priority, prioritize_round_trip)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_priority_args a = {.weight = 200, .depends_on = 3, .exclusive = false};
    cr_assert_eq(h2_conn_prioritize(p.cl, 5, &a), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 1);
    cr_assert_eq(p.sv_log.ev[0].type, H2_EV_PRIORITY_UPDATED);
    cr_assert_eq(p.sv_log.ev[0].stream_id, 5);
    cr_assert_eq(p.sv_log.ev[0].weight, 200);
    cr_assert_eq(p.sv_log.ev[0].depends_on, 3);
    h2t_pair_free(&p);
}

/* ---- SETTINGS_NO_RFC7540_PRIORITIES ------------------------------------------------ */

static h2_conn *server_after_settings(void *arg)
{
    const h2_setting *s = arg;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_preface(&b);
    h2t_f_settings(&b, 0, s, s != NULL ? 1 : 0);
    h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(c, NULL);
    return c;
}

static h2_setting no7540_on = {H2_SETTING_NO_RFC7540_PRIORITIES, 1};
static h2_setting no7540_off = {H2_SETTING_NO_RFC7540_PRIORITIES, 0};

Test(conn_priority, no_rfc7540_priorities_ignores_signals)
{
    h2t_f_priority(&in, 1, 0, 16, false);
    h2t_buf blk;
    h2t_buf_init(&blk);
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 20, 0, false, -1);
    h2t_result r;
    h2t_replay_ok(server_after_settings, &no7540_on, &in, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].priority_updated, -1);
    cr_assert_eq(h2_conn_setting(r.conn, true, H2_SETTING_NO_RFC7540_PRIORITIES), 1);
    h2t_result_free(&r);
    h2t_buf_free(&blk);
}

Test(conn_priority, no_rfc7540_zero_keeps_signals)
{
    h2t_f_priority(&in, 1, 0, 16, false);
    h2t_result r;
    h2t_replay_ok(server_after_settings, &no7540_off, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_PRIORITY_UPDATED);
    h2t_result_free(&r);
}

Test(conn_priority, no_rfc7540_may_not_change)
{
    h2t_f_settings(&in, 0, &no7540_on, 1);
    h2t_replay_conn_error(server_after_settings, &no7540_off, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    /* absent in the first SETTINGS counts as 0 */
    h2t_f_settings(&in, 0, &no7540_on, 1);
    h2t_replay_conn_error(server_after_settings, NULL, &in, H2_PROTOCOL_ERROR);
}

Test(conn_priority, no_rfc7540_same_value_again_is_fine)
{
    h2t_f_settings(&in, 0, &no7540_on, 1);
    h2t_result r;
    h2t_replay_ok(server_after_settings, &no7540_on, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REMOTE_SETTINGS_CHANGED);
    h2t_result_free(&r);
}

Test(conn_priority, no_rfc7540_value_range)
{
    h2_setting bad = {H2_SETTING_NO_RFC7540_PRIORITIES, 2};
    h2t_f_settings(&in, 0, &bad, 1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_update_settings(c, &bad, 1), H2_ESETTINGS);
    h2_conn_free(c);
}

/* ---- PRIORITY_UPDATE ------------------------------------------------------------- */

static void f_priority_update(h2t_buf *b, uint32_t sid, uint32_t prioritized, const char *v)
{
    uint8_t p[64];
    size_t n = strlen(v);
    p[0] = (uint8_t)(prioritized >> 24);
    p[1] = (uint8_t)(prioritized >> 16);
    p[2] = (uint8_t)(prioritized >> 8);
    p[3] = (uint8_t)prioritized;
    memcpy(p + 4, v, n);
    h2t_f_unknown(b, 0x10, 0, sid, p, 4 + n);
}

Test(conn_priority, priority_update_send_bytes)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_send_priority_update(c, 5, (const uint8_t *)"u=0, i", 6), 0);
    const uint8_t want[] = {0, 0, 10, 0x10, 0,   0,   0,   0,   0,  0,
                            0, 0, 5,  'u',  '=', '0', ',', ' ', 'i'};
    expect_output(c, want, sizeof want);
    cr_assert_eq(h2_conn_send_priority_update(c, 0, NULL, 0), H2_EINVAL);
    cr_assert_eq(h2_conn_send_priority_update(c, 1, NULL, 3), H2_EINVAL);
    static uint8_t big[16381];
    cr_assert_eq(h2_conn_send_priority_update(c, 1, big, sizeof big), H2_EFRAME_SIZE);
    cr_assert_eq(h2_conn_send_priority_update(c, 1, big, sizeof big - 1), 0);
    h2_conn_free(c);
    h2_conn *s = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_send_priority_update(s, 1, (const uint8_t *)"u=1", 3), H2_EROLE);
    cr_assert_eq(h2_conn_output_pending(s), 0);
    h2_conn_free(s);
}

Test(conn_priority, priority_update_round_trip)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, false), 0);
    h2_priority pr = {1, true};
    char v[16];
    int n = h2_priority_format(&pr, v, sizeof v);
    cr_assert_eq(h2_conn_send_priority_update(p.cl, 1, (const uint8_t *)v, (size_t)n), 0);
    cr_assert_eq(h2_conn_send_priority_update(p.cl, 3, (const uint8_t *)"u=7", 3), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 3);
    const h2t_ev *e = &p.sv_log.ev[1];
    cr_assert_eq(e->type, H2_EV_PRIORITY_UPDATE_RECEIVED);
    cr_assert_eq(e->stream_id, 1);
    cr_assert_eq(e->urgency, 1);
    cr_assert(e->incremental);
    cr_assert_arr_eq(e->data, "u=1, i", 6);
    e = &p.sv_log.ev[2];
    cr_assert_eq(e->stream_id, 3); /* not opened yet */
    cr_assert_eq(e->urgency, 7);
    cr_assert(!e->incremental);
    h2t_pair_free(&p);
}

Test(conn_priority, priority_update_replay)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    f_priority_update(&in, 0, 1, "u=2");
    f_priority_update(&in, 0, 1, "garbage(");
    f_priority_update(&in, 0, 1, "");
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 4);
    cr_assert_eq(r.log.ev[1].urgency, 2);
    cr_assert_eq(r.log.ev[2].urgency, 3);
    cr_assert_eq(r.log.ev[2].len, 8);
    cr_assert_eq(r.log.ev[3].len, 0);
    cr_assert_eq(r.log.ev[3].urgency, 3);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_priority, priority_update_closed_stream_discarded)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_rst(&in, 1, H2_CANCEL);
    f_priority_update(&in, 0, 1, "u=0");
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_PRIORITY_UPDATE_RECEIVED), 0);
    h2t_result_free(&r);
}

Test(conn_priority, priority_update_errors)
{
    f_priority_update(&in, 1, 1, "u=0");
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    f_priority_update(&in, 0, 0, "u=0");
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    f_priority_update(&in, 0, 2, "u=0"); /* a push stream never promised */
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    f_priority_update(&in, 0, 1, "u=0"); /* servers do not send it */
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    h2t_f_unknown(&in, 0x10, 0, 0, "\0\0\0", 3); /* shorter than 4 */
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(conn_priority, priority_update_for_pushed_stream)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, h2t_req_get, 4), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_send_priority_update(p.cl, 2, (const uint8_t *)"u=6", 3), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 1);
    cr_assert_eq(p.sv_log.ev[0].stream_id, 2);
    cr_assert_eq(p.sv_log.ev[0].urgency, 6);
    h2t_pair_free(&p);
}

/* RFC 9218 2.1: NO_RFC7540_PRIORITIES goes in the first SETTINGS frame. */
Test(conn_priority, no_rfc7540_priorities_in_preface)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.no_rfc7540_priorities = 1;
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    cr_assert_gt(out.len, 24);
    h2t_frame f[4];
    size_t n = h2t_parse_frames(out.p + 24, out.len - 24, f, 4);
    cr_assert_eq(n, 1);
    cr_assert_eq(f[0].type, 0x4);
    cr_assert_eq(f[0].len, 48); /* h2's seven settings plus this one */
    cr_assert_eq(f[0].payload[42], 0x00);
    cr_assert_eq(f[0].payload[43], 0x09);
    cr_assert_eq(h2t_u32(f[0].payload + 44), 1);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_priority, preface_without_no_rfc7540_priorities_is_h2s)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2t_frame f[2];
    cr_assert_eq(h2t_parse_frames(out.p, out.len, f, 2), 1);
    cr_assert_eq(f[0].len, 42);
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_priority, no_rfc7540_priorities_cannot_change_later)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.no_rfc7540_priorities = 1;
    h2_conn *c = h2t_client_ready(&cfg);
    h2_setting off = {H2_SETTING_NO_RFC7540_PRIORITIES, 0};
    cr_assert_eq(h2_conn_update_settings(c, &off, 1), H2_ESETTINGS);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_setting same = {H2_SETTING_NO_RFC7540_PRIORITIES, 1};
    cr_assert_eq(h2_conn_update_settings(c, &same, 1), 0);
    h2_conn_free(c);

    h2_conn *d = h2t_client_ready(NULL);
    h2_setting on = {H2_SETTING_NO_RFC7540_PRIORITIES, 1};
    cr_assert_eq(h2_conn_update_settings(d, &on, 1), H2_ESETTINGS);
    h2_conn_free(d);
}

Test(conn_priority, no_rfc7540_priorities_config_validated)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cr_assert_eq(cfg.no_rfc7540_priorities, 0);
    cr_assert_eq(cfg.max_reserved_streams, 100);
    cfg.no_rfc7540_priorities = 2;
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), H2_EINVAL);
    cr_assert_null(c);
}
