/* content-length checks (RFC 9113 8.1.1) and responses to HEAD. */
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

TestSuite(conn_content_length, .init = setup, .fini = teardown);

static const h2_header req_cl5[] = {
    H2T_HDR(":method", "POST"), H2T_HDR(":scheme", "https"),    H2T_HDR(":authority", "a.example"),
    H2T_HDR(":path", "/"),      H2T_HDR("content-length", "5"),
};

static void expect_malformed(h2t_setup_fn s, void *arg, uint32_t id)
{
    h2t_result r;
    h2t_replay_ok(s, arg, &in, &r);
    h2t_frame f[8];
    size_t n = h2t_parse_frames(r.out.p, r.out.len, f, 8);
    cr_assert_geq(n, 1);
    cr_assert_eq(f[n - 1].type, 0x3);
    cr_assert_eq(f[n - 1].id, id);
    cr_assert_eq(h2t_u32(f[n - 1].payload), H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
}

Test(conn_content_length, exact_body_is_accepted)
{
    h2t_f_headers(&ff, &in, 1, 0x4, req_cl5, 5);
    h2t_f_data(&in, 1, 0, "ab", 2, -1);
    h2t_f_data(&in, 1, 0x1, "cde", 3, 3);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_DATA_RECEIVED), 2);
    h2t_result_free(&r);
}

Test(conn_content_length, too_much_data)
{
    h2t_f_headers(&ff, &in, 1, 0x4, req_cl5, 5);
    h2t_f_data(&in, 1, 0, "abcdef", 6, -1);
    expect_malformed(h2t_setup_server, NULL, 1);
}

Test(conn_content_length, too_little_data)
{
    h2t_f_headers(&ff, &in, 1, 0x4, req_cl5, 5);
    h2t_f_data(&in, 1, 0x1, "abcd", 4, -1);
    expect_malformed(h2t_setup_server, NULL, 1);
}

Test(conn_content_length, empty_final_frame_short)
{
    h2t_f_headers(&ff, &in, 1, 0x4, req_cl5, 5);
    h2t_f_data(&in, 1, 0x1, "", 0, -1);
    expect_malformed(h2t_setup_server, NULL, 1);
}

Test(conn_content_length, padding_does_not_count)
{
    h2t_f_headers(&ff, &in, 1, 0x4, req_cl5, 5);
    h2t_f_data(&in, 1, 0x1, "abcde", 5, 100);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_content_length, end_stream_on_headers_with_nonzero_length)
{
    h2t_f_headers(&ff, &in, 1, 0x5, req_cl5, 5);
    expect_malformed(h2t_setup_server, NULL, 1);
}

Test(conn_content_length, trailers_end_body_early)
{
    static const h2_header tr[] = {H2T_HDR("x-t", "1")};
    h2t_f_headers(&ff, &in, 1, 0x4, req_cl5, 5);
    h2t_f_data(&in, 1, 0, "ab", 2, -1);
    h2t_f_headers(&ff, &in, 1, 0x5, tr, 1);
    expect_malformed(h2t_setup_server, NULL, 1);
}

Test(conn_content_length, equal_duplicates_accepted)
{
    static const h2_header dup[] = {
        H2T_HDR(":method", "POST"), H2T_HDR(":scheme", "https"),    H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"),      H2T_HDR("content-length", "3"), H2T_HDR("content-length", "3"),
    };
    h2t_f_headers(&ff, &in, 1, 0x4, dup, 6);
    h2t_f_data(&in, 1, 0x1, "abc", 3, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_content_length, conflicting_duplicates_rejected)
{
    static const h2_header dup[] = {
        H2T_HDR(":method", "POST"),      H2T_HDR(":scheme", "https"),
        H2T_HDR(":authority", "a"),      H2T_HDR(":path", "/"),
        H2T_HDR("content-length", "15"), H2T_HDR("content-length", "16"),
    };
    h2t_f_headers(&ff, &in, 1, 0x4, dup, 6);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 0);
    h2t_result_free(&r);
}

Test(conn_content_length, invalid_values_rejected)
{
    static const char *bad[] = {"", "15a", " 15", "+15", "-15", "1e2", "0xF", "15,000", "1 5"};
    for (size_t i = 0; i < H2T_N(bad); i++) {
        h2t_buf_free(&in);
        h2t_ff_free(&ff);
        h2t_ff_init(&ff);
        h2_header h[] = {
            H2T_HDR(":method", "POST"),
            H2T_HDR(":scheme", "https"),
            H2T_HDR(":authority", "a"),
            H2T_HDR(":path", "/"),
            {(const uint8_t *)"content-length", 14, (const uint8_t *)bad[i], strlen(bad[i]), 0},
        };
        h2t_f_headers(&ff, &in, 1, 0x4, h, 5);
        h2_conn *c = h2t_server_ready(NULL);
        h2t_log log;
        h2t_log_init(&log);
        cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
        cr_assert_eq(log.n, 0, "value '%s' accepted", bad[i]);
        h2t_buf out;
        h2t_buf_init(&out);
        h2t_take(c, &out);
        h2t_expect_rst(&out, 1, H2_PROTOCOL_ERROR);
        h2t_buf_free(&out);
        h2t_log_free(&log);
        h2_conn_free(c);
    }
}

Test(conn_content_length, response_body_checked_too)
{
    static const h2_header resp[] = {H2T_HDR(":status", "200"), H2T_HDR("content-length", "2")};
    h2t_f_headers(&ff, &in, 1, 0x4, resp, 2);
    h2t_f_data(&in, 1, 0x1, "abc", 3, -1);
    expect_malformed(h2t_setup_client_get, NULL, 1);
}

Test(conn_content_length, no_content_length_any_body)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    static uint8_t body[10000];
    h2t_f_data(&in, 1, 0x1, body, sizeof(body), -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_content_length, status_204_has_no_content)
{
    static const h2_header resp[] = {H2T_HDR(":status", "204")};
    h2t_f_headers(&ff, &in, 1, 0x4, resp, 1);
    h2t_f_data(&in, 1, 0x1, "x", 1, -1);
    expect_malformed(h2t_setup_client_get, NULL, 1);
}

Test(conn_content_length, status_304_with_length_and_no_body)
{
    static const h2_header resp[] = {H2T_HDR(":status", "304"), H2T_HDR("content-length", "100")};
    h2t_f_headers(&ff, &in, 1, 0x5, resp, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_RESPONSE_RECEIVED), 1);
    h2t_result_free(&r);
}

/* HEAD: a client that sent HEAD on stream 1. */
static h2_conn *setup_client_head(void *arg)
{
    (void)arg;
    static const h2_header head[] = {
        H2T_HDR(":method", "HEAD"),
        H2T_HDR(":scheme", "https"),
        H2T_HDR(":authority", "example.com"),
        H2T_HDR(":path", "/"),
    };
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, head, 4, H2_SEND_END_STREAM, NULL), 0);
    h2t_take(c, NULL);
    return c;
}

Test(conn_content_length, head_response_with_length_and_no_body)
{
    static const h2_header resp[] = {H2T_HDR(":status", "200"), H2T_HDR("content-length", "1234")};
    h2t_f_headers(&ff, &in, 1, 0x5, resp, 2);
    h2t_result r;
    h2t_replay_ok(setup_client_head, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(r.log.n, 2);
    h2t_result_free(&r);
}

Test(conn_content_length, head_response_with_empty_end_frame)
{
    static const h2_header resp[] = {H2T_HDR(":status", "200"), H2T_HDR("content-length", "1234")};
    h2t_f_headers(&ff, &in, 1, 0x4, resp, 2);
    h2t_f_data(&in, 1, 0x1, "", 0, -1);
    h2t_result r;
    h2t_replay_ok(setup_client_head, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    h2t_result_free(&r);
}

Test(conn_content_length, head_response_with_body_is_malformed)
{
    static const h2_header resp[] = {H2T_HDR(":status", "200"), H2T_HDR("content-length", "4")};
    h2t_f_headers(&ff, &in, 1, 0x4, resp, 2);
    h2t_f_data(&in, 1, 0x1, "body", 4, -1);
    expect_malformed(setup_client_head, NULL, 1);
}
