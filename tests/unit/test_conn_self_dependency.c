/*
 * A stream that depends on itself (a PRIORITY frame, or a HEADERS frame
 * with the PRIORITY flag, whose dependency is its own stream id) is a
 * connection error PROTOCOL_ERROR, on idle and open streams alike. The
 * request of such a HEADERS frame is not served: its stream is never
 * opened, so the GOAWAY's last stream id leaves it out.
 */
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

TestSuite(conn_self_dependency, .init = setup, .fini = teardown);

/* A GET on |id| carrying priority fields that name |dep|. */
static void headers_prio(uint32_t id, uint8_t flags, uint32_t dep, bool exclusive)
{
    h2t_buf block;
    h2t_buf_init(&block);
    h2t_ff_encode(&ff, h2t_req_get, 4, &block);
    h2t_f_headers_raw(&in, id, (uint8_t)(flags | 0x20), block.p, block.len, 16, dep, exclusive, -1);
    h2t_buf_free(&block);
}

/*
 * Replays |in| on a server and checks the one connection error: exactly
 * |n_events| events before it, the GOAWAY(last, PROTOCOL_ERROR) as the only
 * output, no glitch charged and the connection error counted.
 */
static void expect_self_dependency_error(uint32_t last, size_t n_events, h2t_result *r)
{
    h2t_replay(h2t_setup_server, NULL, in.p, in.len, r);
    cr_assert_eq(r->log.n, n_events, "%zu events", r->log.n);
    h2t_expect_goaway(&r->out, last, H2_PROTOCOL_ERROR);
    h2_conn_stats st = {.size = sizeof(st)};
    h2_conn_get_stats(r->conn, &st);
    cr_assert_eq(st.connection_errors, 1);
    cr_assert_eq(st.glitches, 0);
    h2_conn_error err = h2_conn_last_error(r->conn);
    cr_assert_eq(err.last_stream_id, last);
    h2t_expect_conn_error(r, H2_PROTOCOL_ERROR);
}

Test(conn_self_dependency, priority_frame_on_idle_stream)
{
    h2t_f_priority(&in, 5, 5, 16, false);
    h2t_result r;
    expect_self_dependency_error(0, 0, &r);
    h2t_result_free(&r);
}

Test(conn_self_dependency, priority_frame_on_idle_stream_exclusive)
{
    h2t_f_priority(&in, 1, 1, 256, true);
    h2t_result r;
    expect_self_dependency_error(0, 0, &r);
    h2t_result_free(&r);
}

/* The request on stream 1 is reported; the error comes after it. */
Test(conn_self_dependency, priority_frame_on_open_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    h2t_f_priority(&in, 1, 1, 16, false);
    h2t_result r;
    expect_self_dependency_error(1, 1, &r);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_id, 1);
    h2t_result_free(&r);
}

/* Stream 1 is half-closed (remote) after END_STREAM: still an error. */
Test(conn_self_dependency, priority_frame_on_half_closed_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_priority(&in, 1, 1, 16, false);
    h2t_result r;
    expect_self_dependency_error(1, 2, &r);
    cr_assert_eq(r.log.ev[1].type, H2_EV_STREAM_ENDED);
    h2t_result_free(&r);
}

/* A PRIORITY frame on an idle stream above the open one. */
Test(conn_self_dependency, priority_frame_on_idle_stream_after_open_one)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_priority(&in, 9, 9, 16, false);
    h2t_result r;
    expect_self_dependency_error(1, 2, &r);
    h2t_result_free(&r);
}

/* A HEADERS frame that opens a stream: no request event, last id 0. */
Test(conn_self_dependency, headers_opening_a_stream)
{
    headers_prio(1, 0x5, 1, false);
    h2t_result r;
    expect_self_dependency_error(0, 0, &r);
    h2t_result_free(&r);
}

Test(conn_self_dependency, headers_opening_a_later_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    headers_prio(3, 0x5, 3, true);
    h2t_result r;
    expect_self_dependency_error(1, 1, &r);
    cr_assert_eq(r.log.ev[0].stream_id, 1);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 1);
    h2t_result_free(&r);
}

/* Judged on the HEADERS frame: the CONTINUATION never has to come. */
Test(conn_self_dependency, headers_without_end_headers)
{
    h2t_buf block;
    h2t_buf_init(&block);
    h2t_ff_encode(&ff, h2t_req_get, 4, &block);
    h2t_f_headers_raw(&in, 1, 0x21, block.p, block.len, 16, 1, false, -1);
    h2t_buf_free(&block);
    h2t_result r;
    expect_self_dependency_error(0, 0, &r);
    h2t_result_free(&r);
}

/* Trailers on an open stream with priority fields naming the stream. */
Test(conn_self_dependency, headers_on_open_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    static const h2_header trailers[] = {H2T_HDR("x-sum", "1")};
    h2t_buf block;
    h2t_buf_init(&block);
    h2t_ff_encode(&ff, trailers, 1, &block);
    h2t_f_headers_raw(&in, 1, 0x25, block.p, block.len, 16, 1, false, -1);
    h2t_buf_free(&block);
    h2t_result r;
    expect_self_dependency_error(1, 1, &r);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    h2t_result_free(&r);
}

/* Padded HEADERS: the priority fields follow the pad length. */
Test(conn_self_dependency, padded_headers)
{
    h2t_buf block;
    h2t_buf_init(&block);
    h2t_ff_encode(&ff, h2t_req_get, 4, &block);
    h2t_f_headers_raw(&in, 1, 0x2d, block.p, block.len, 16, 1, false, 3);
    h2t_buf_free(&block);
    h2t_result r;
    expect_self_dependency_error(0, 0, &r);
    h2t_result_free(&r);
}

/* A server whose client sent SETTINGS_NO_RFC7540_PRIORITIES = 1. */
static h2_conn *server_no_rfc7540(void *arg)
{
    (void)arg;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_preface(&b);
    h2_setting no7540 = {H2_SETTING_NO_RFC7540_PRIORITIES, 1};
    h2t_f_settings(&b, 0, &no7540, 1);
    h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(c, NULL);
    return c;
}

/* Also when RFC 7540 priority signals are ignored: the frame is invalid. */
Test(conn_self_dependency, also_when_rfc7540_priorities_are_ignored)
{
    h2t_f_priority(&in, 3, 3, 16, false);
    h2t_replay_conn_error(server_no_rfc7540, NULL, &in, H2_PROTOCOL_ERROR);
    h2t_buf_free(&in);
    h2t_buf_init(&in);
    headers_prio(1, 0x5, 1, false);
    h2t_replay_conn_error(server_no_rfc7540, NULL, &in, H2_PROTOCOL_ERROR);
}

/* Depending on another stream, even an idle one, stays legal. */
Test(conn_self_dependency, other_dependencies_are_fine)
{
    h2t_f_priority(&in, 3, 1, 16, false);
    h2t_f_priority(&in, 3, 5, 16, true);
    headers_prio(1, 0x5, 3, false);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_PRIORITY_UPDATED), 3);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 1);
    cr_assert_eq(r.out.len, 0);
    h2_conn_stats st = {.size = sizeof(st)};
    h2_conn_get_stats(r.conn, &st);
    cr_assert_eq(st.connection_errors, 0);
    h2t_result_free(&r);
}
