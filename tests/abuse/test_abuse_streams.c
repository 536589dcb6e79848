/*
 * Streams (SECURITY.md rows 13 and 15): the concurrency limit, stream ids
 * out of order or used up, and rotation after a number of requests.
 */
#include "abuse/abuse_util.h"

static h2t_ff ff;
static h2t_buf in, out;

static void setup(void)
{
    h2t_ff_init(&ff);
    h2t_buf_init(&in);
    h2t_buf_init(&out);
}

static void teardown(void)
{
    h2t_buf_free(&in);
    h2t_buf_free(&out);
    h2t_ff_free(&ff);
}

TestSuite(abuse_streams, .init = setup, .fini = teardown);

/* Row 15: 100 open streams are fine, the 101st is refused and counted. */
Test(abuse_streams, row15_101st_stream_refused)
{
    for (uint32_t i = 0; i < 101; i++)
        h2t_f_headers(&ff, &in, 1 + 2 * i, 0x4, h2t_req_post, 4);
    h2t_result res;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &res);
    cr_assert_eq(res.rv, 0);
    cr_assert_eq(h2t_log_count(&res.log, H2_EV_REQUEST_RECEIVED), 100);
    h2t_expect_rst(&res.out, 201, H2_REFUSED_STREAM);
    const h2t_ev *e = h2t_log_find(&res.log, H2_EV_LIMIT_EXCEEDED, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->stream_id, 201);
    h2_conn_stats s = ab_stats(res.conn);
    cr_assert_eq(s.limit_exceeded[H2_LIMIT_CONCURRENT_STREAMS], 1);
    cr_assert_eq(s.glitches, 1);
    cr_assert_eq(s.active_requests, 100);
    h2t_result_free(&res);
}

/* Row 13: HEADERS on stream 2^31-1, then on stream 3: a connection error,
 * no stream is created. */
Test(abuse_streams, row13_headers_on_a_lower_id)
{
    h2t_f_headers(&ff, &in, 0x7fffffff, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_result res;
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, &res);
    cr_assert_eq(res.rv, H2_EPROTO);
    cr_assert_eq(h2t_log_count(&res.log, H2_EV_REQUEST_RECEIVED), 1);
    cr_assert_eq(h2_conn_last_error(res.conn).code, H2_PROTOCOL_ERROR);
    h2t_result_free(&res);
}

/* Row 13 (client side): when ids run out, no new stream can be opened. */
Test(abuse_streams, row13_client_ids_used_up)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 0x7fffffff, h2t_req_get, 4, H2_SEND_END_STREAM, NULL),
                 0);
    cr_assert_eq(h2_conn_next_stream_id(p.cl), H2_ENOSTREAMID);
    h2t_pair_free(&p);
}

/* Rotation: with max_requests_per_connection 3, the third request is
 * accepted with a graceful GOAWAY(NO_ERROR, 5) naming the limit; the fourth
 * is refused; the accepted ones complete. */
Test(abuse_streams, rotation_after_n_requests)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_requests_per_connection = 3;
    h2_conn *c = h2t_server_ready(&cfg);
    for (uint32_t i = 0; i < 4; i++)
        h2t_f_headers(&ff, &in, 1 + 2 * i, 0x5, h2t_req_get, 4);
    ab_trace t;
    ab_trace_init(&t);
    cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), 0);
    cr_assert_eq(t.requests, 3);
    cr_assert_eq(t.last_limit, H2_LIMIT_REQUESTS_PER_CONNECTION);
    cr_assert_eq(t.last_limit_stream, 5);
    cr_assert_eq(t.last_limit_code, H2_NO_ERROR);
    cr_assert(t.last_limit_conn);
    h2t_take(c, &out);
    static h2t_frame fr[8];
    size_t n = h2t_parse_frames(out.p, out.len, fr, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(fr[0].type, 0x7);
    cr_assert_eq(h2t_u32(fr[0].payload), 5);
    cr_assert_eq(h2t_u32(fr[0].payload + 4), H2_NO_ERROR);
    cr_assert_eq(fr[0].len - 8, strlen("requests_per_connection"));
    cr_assert(memcmp(fr[0].payload + 8, "requests_per_connection", fr[0].len - 8) == 0);
    cr_assert_eq(fr[1].type, 0x3);
    cr_assert_eq(fr[1].id, 7);
    cr_assert_eq(h2t_u32(fr[1].payload), H2_REFUSED_STREAM);
    cr_assert(!h2_conn_last_error(c).occurred);
    for (uint32_t id = 1; id <= 5; id += 2)
        cr_assert_eq(h2_conn_send_headers(c, id, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert(!h2_conn_want_read(c));
    cr_assert_eq(ab_stats(c).limit_exceeded[H2_LIMIT_REQUESTS_PER_CONNECTION], 1);
    h2_conn_free(c);
}

/* h2c upgrade: the upgraded request holds a slot; HTTP2-Settings is held to
 * the same entry limit as a SETTINGS frame. */
Test(abuse_streams, upgrade_request_slot_and_settings_entries)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate_upgrade_server(c, "", 0), 0);
    cr_assert_eq(ab_stats(c).active_requests, 1);
    cr_assert_eq(ab_stats(c).streams_opened_remote, 1);
    cr_assert_eq(h2_conn_request_done(c, 1), 0);
    cr_assert_eq(ab_stats(c).active_requests, 0);
    h2_conn_free(c);
    h2_setting e[33];
    for (int i = 0; i < 33; i++)
        e[i] = (h2_setting){H2_SETTING_MAX_CONCURRENT_STREAMS, 100};
    char v[8 * 33 + 1];
    size_t vlen;
    for (size_t n = 32; n <= 33; n++) {
        cr_assert_eq(h2_settings_header_encode(e, n, v, sizeof(v), &vlen), 0);
        c = h2t_conn_new(H2_ROLE_SERVER, NULL);
        cr_assert_eq(h2_conn_initiate_upgrade_server(c, v, vlen), n == 32 ? 0 : H2_EINVAL);
        cr_assert_eq(h2_conn_output_pending(c) > 0, n == 32);
        h2_conn_free(c);
    }
}
