/* ALTSVC (RFC 7838): advertising on a server, AlternativeServiceAvailable on a client. */
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

TestSuite(rfc7838, .init = setup, .fini = teardown);

static const char ALT[] = "h2=\":8000\"; ma=60";

static void f_altsvc(h2t_buf *b, uint32_t id, const char *origin, const char *value)
{
    uint8_t p[256];
    size_t ol = strlen(origin), vl = strlen(value);
    p[0] = (uint8_t)(ol >> 8);
    p[1] = (uint8_t)ol;
    memcpy(p + 2, origin, ol);
    memcpy(p + 2 + ol, value, vl);
    h2t_f_unknown(b, 0xa, 0, id, p, 2 + ol + vl);
}

static void replay_client(h2t_result *r)
{
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, r);
    cr_assert_eq(r->out.len, 0);
}

Test(rfc7838, stream_zero_with_origin)
{
    f_altsvc(&in, 0, "https://example.com", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 1);
    const h2t_ev *e = &r.log.ev[0];
    cr_assert_eq(e->type, H2_EV_ALTERNATIVE_SERVICE_AVAILABLE);
    cr_assert_eq(e->stream_id, 0);
    cr_assert_str_eq(e->origin, "https://example.com");
    cr_assert_eq(e->len, strlen(ALT));
    cr_assert_arr_eq(e->data, ALT, strlen(ALT));
    h2t_result_free(&r);
}

Test(rfc7838, stream_zero_without_origin_ignored)
{
    f_altsvc(&in, 0, "", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 0);
    h2t_result_free(&r);
}

Test(rfc7838, on_open_stream_origin_is_the_request_s)
{
    f_altsvc(&in, 1, "", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].stream_id, 1);
    cr_assert_null(r.log.ev[0].origin);
    cr_assert_eq(r.log.ev[0].origin_len, 0);
    cr_assert_arr_eq(r.log.ev[0].data, ALT, strlen(ALT));
    h2t_result_free(&r);
}

Test(rfc7838, on_stream_with_origin_ignored)
{
    f_altsvc(&in, 1, "https://example.com", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 0);
    h2t_result_free(&r);
}

Test(rfc7838, after_response_ignored)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    f_altsvc(&in, 1, "", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    h2t_result_free(&r);
}

Test(rfc7838, idle_and_closed_streams_ignored)
{
    f_altsvc(&in, 3, "", ALT);
    f_altsvc(&in, 2, "", ALT);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    f_altsvc(&in, 1, "", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_ALTERNATIVE_SERVICE_AVAILABLE), 0);
    h2t_result_free(&r);
}

Test(rfc7838, on_pushed_stream_before_its_response)
{
    h2t_f_push_promise(&ff, &in, 1, 2, h2t_req_get, 4);
    f_altsvc(&in, 2, "", ALT);
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[1].type, H2_EV_ALTERNATIVE_SERVICE_AVAILABLE);
    cr_assert_eq(r.log.ev[1].stream_id, 2);
    h2t_result_free(&r);
}

Test(rfc7838, empty_field_value)
{
    f_altsvc(&in, 0, "https://a.example", "");
    h2t_result r;
    replay_client(&r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].len, 0);
    h2t_result_free(&r);
}

Test(rfc7838, server_ignores_altsvc)
{
    f_altsvc(&in, 0, "https://example.com", ALT);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    f_altsvc(&in, 1, "", ALT);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(rfc7838, malformed_frames)
{
    uint8_t bad[3] = {0, 5, 'x'}; /* origin length past the end */
    h2t_f_unknown(&in, 0xa, 0, 0, bad, 3);
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_FRAME_SIZE_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    h2t_f_unknown(&in, 0xa, 0, 0, bad, 1); /* shorter than 2 */
    h2t_replay_conn_error(h2t_setup_client_get, NULL, &in, H2_FRAME_SIZE_ERROR);
}

Test(rfc7838, server_explicit_bytes)
{
    h2_conn *s = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 0, (const uint8_t *)"o.example", 9,
                                                       (const uint8_t *)"h2=\":1\"", 7),
                 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(s, &out);
    cr_assert_eq(out.len, 27);
    cr_assert_eq(out.p[2], 18);
    cr_assert_eq(out.p[3], 0xa);
    cr_assert_eq(h2t_u32(out.p + 5), 0);
    cr_assert_eq(out.p[9], 0);
    cr_assert_eq(out.p[10], 9);
    cr_assert_arr_eq(out.p + 11, "o.example", 9);
    cr_assert_arr_eq(out.p + 20, "h2=\":1\"", 7);
    h2t_buf_free(&out);
    h2_conn_free(s);
}

Test(rfc7838, server_implicit_round_trip)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(
        h2_conn_advertise_alternative_service(p.sv, 1, NULL, 0, (const uint8_t *)ALT, strlen(ALT)),
        0);
    cr_assert_eq(h2_conn_advertise_alternative_service(p.sv, 0, (const uint8_t *)"https://x", 9,
                                                       (const uint8_t *)ALT, strlen(ALT)),
                 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 2);
    cr_assert_eq(p.cl_log.ev[0].stream_id, 1);
    cr_assert_eq(p.cl_log.ev[1].stream_id, 0);
    cr_assert_str_eq(p.cl_log.ev[1].origin, "https://x");
    /* after the response the stream no longer takes one */
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(
        h2_conn_advertise_alternative_service(p.sv, 1, NULL, 0, (const uint8_t *)ALT, strlen(ALT)),
        H2_ESTATE);
    h2t_pair_free(&p);
}

Test(rfc7838, server_implicit_on_pushed_stream)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, h2t_req_get, 4), 0);
    cr_assert_eq(
        h2_conn_advertise_alternative_service(p.sv, 2, NULL, 0, (const uint8_t *)ALT, strlen(ALT)),
        0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 2);
    cr_assert_eq(p.cl_log.ev[1].type, H2_EV_ALTERNATIVE_SERVICE_AVAILABLE);
    cr_assert_eq(p.cl_log.ev[1].stream_id, 2);
    h2t_pair_free(&p);
}

Test(rfc7838, send_refusals)
{
    h2_conn *s = h2t_server_ready(NULL);
    const uint8_t *o = (const uint8_t *)"https://x";
    const uint8_t *v = (const uint8_t *)ALT;
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 0, NULL, 0, v, 3), H2_EINVAL);
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 1, o, 9, v, 3), H2_EINVAL);
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 0, NULL, 9, v, 3), H2_EINVAL);
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 0, o, 9, NULL, 3), H2_EINVAL);
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 1, NULL, 0, v, 3), H2_ENOSTREAM);
    static uint8_t big[16384];
    cr_assert_eq(h2_conn_advertise_alternative_service(s, 0, o, 9, big, sizeof big),
                 H2_EFRAME_SIZE);
    cr_assert_eq(h2_conn_output_pending(s), 0);
    h2_conn_free(s);
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_advertise_alternative_service(c, 0, o, 9, v, 3), H2_EROLE);
    h2_conn_free(c);
    h2_conn *n = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_advertise_alternative_service(n, 0, o, 9, v, 3), H2_ESTATE);
    h2_conn_free(n);
}

Test(rfc7838, closed_stream_refused)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_reset_stream(p.sv, 1, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_advertise_alternative_service(p.sv, 1, NULL, 0, (const uint8_t *)"x", 1),
                 H2_ESTREAM_CLOSED);
    h2t_pair_free(&p);
}
