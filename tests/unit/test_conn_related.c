/* Related events: stream_ended / priority_updated links and event counts. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static h2t_buf in;
static h2t_buf blk;
static h2t_ff ff;

static void setup(void)
{
    h2t_ff_init(&ff);
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
}

static void teardown(void)
{
    h2t_buf_free(&in);
    h2t_buf_free(&blk);
    h2t_ff_free(&ff);
}

TestSuite(conn_related, .init = setup, .fini = teardown);

static void replay(h2t_setup_fn s, h2t_result *r)
{
    h2t_replay_ok(s, NULL, &in, r);
}

Test(conn_related, request_with_end_stream_and_priority)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 17, 0, true, -1);
    h2t_result r;
    replay(h2t_setup_server, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_ended, 1);
    cr_assert_eq(r.log.ev[0].priority_updated, 2);
    cr_assert_eq(r.log.ev[1].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(r.log.ev[2].type, H2_EV_PRIORITY_UPDATED);
    cr_assert_eq(r.log.ev[2].weight, 17);
    cr_assert(r.log.ev[2].exclusive);
    cr_assert_eq(r.log.ev[2].depends_on, 0);
    h2t_result_free(&r);
}

Test(conn_related, request_without_end_stream_or_priority)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_get, 4);
    h2t_result r;
    replay(h2t_setup_server, &r);
    cr_assert_eq(r.log.n, 1);
    cr_assert_eq(r.log.ev[0].stream_ended, -1);
    cr_assert_eq(r.log.ev[0].priority_updated, -1);
    h2t_result_free(&r);
}

Test(conn_related, request_with_priority_only)
{
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(&in, 3, 0x4, blk.p, blk.len, 256, 1, false, -1);
    h2t_result r;
    replay(h2t_setup_server, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].stream_ended, -1);
    cr_assert_eq(r.log.ev[0].priority_updated, 1);
    cr_assert_eq(r.log.ev[1].weight, 256);
    cr_assert_eq(r.log.ev[1].depends_on, 1);
    h2t_result_free(&r);
}

Test(conn_related, response_with_end_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_resp_200, 2);
    h2t_result r;
    replay(h2t_setup_client_get, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_RESPONSE_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_ended, 1);
    h2t_result_free(&r);
}

Test(conn_related, response_with_priority)
{
    h2t_ff_encode(&ff, h2t_resp_200, 2, &blk);
    h2t_f_headers_raw(&in, 1, 0x4, blk.p, blk.len, 8, 0, false, -1);
    h2t_result r;
    replay(h2t_setup_client_get, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].priority_updated, 1);
    cr_assert_eq(r.log.ev[1].stream_id, 1);
    h2t_result_free(&r);
}

Test(conn_related, trailers_always_end_the_stream)
{
    static const h2_header tr[] = {H2T_HDR("grpc-status", "0")};
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    h2t_f_headers(&ff, &in, 1, 0x5, tr, 1);
    h2t_result r;
    replay(h2t_setup_client_get, &r);
    cr_assert_eq(r.log.n, 3);
    cr_assert_eq(r.log.ev[1].type, H2_EV_TRAILERS_RECEIVED);
    cr_assert_eq(r.log.ev[1].stream_ended, 1);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[1], "grpc-status"), "0");
    h2t_result_free(&r);
}

Test(conn_related, trailers_with_priority)
{
    static const h2_header tr[] = {H2T_HDR("grpc-status", "0")};
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    h2t_ff_encode(&ff, tr, 1, &blk);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 2, 0, false, -1);
    h2t_result r;
    replay(h2t_setup_client_get, &r);
    cr_assert_eq(r.log.n, 4);
    cr_assert_eq(r.log.ev[1].stream_ended, 1);
    cr_assert_eq(r.log.ev[1].priority_updated, 2);
    h2t_result_free(&r);
}

Test(conn_related, informational_links_only_priority)
{
    static const h2_header r100[] = {H2T_HDR(":status", "100")};
    h2t_ff_encode(&ff, r100, 1, &blk);
    h2t_f_headers_raw(&in, 1, 0x4, blk.p, blk.len, 30, 0, false, -1);
    h2t_result r;
    replay(h2t_setup_client_get, &r);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_INFORMATIONAL_RESPONSE_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_ended, -1);
    cr_assert_eq(r.log.ev[0].priority_updated, 1);
    h2t_result_free(&r);
}

Test(conn_related, data_with_end_stream)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_resp_200, 2);
    h2t_f_data(&in, 1, 0, "a", 1, -1);
    h2t_f_data(&in, 1, 0x1, "b", 1, -1);
    h2t_result r;
    replay(h2t_setup_client_get, &r);
    cr_assert_eq(r.log.n, 4);
    cr_assert_eq(r.log.ev[1].stream_ended, -1);
    cr_assert_eq(r.log.ev[2].stream_ended, 1);
    cr_assert_eq(r.log.ev[3].type, H2_EV_STREAM_ENDED);
    h2t_result_free(&r);
}

Test(conn_related, links_point_into_the_same_array)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2t_f_headers(&ff, &in, 1, 0x5, h2t_req_get, 4);
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(ev[2].u.headers.stream_ended, 3);
    cr_assert_eq(ev[ev[2].u.headers.stream_ended].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(ev[ev[2].u.headers.stream_ended].stream_id, 3);
    h2_conn_free(c);
}

Test(conn_related, multiple_streams_interleaved)
{
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_headers(&ff, &in, 3, 0x4, h2t_req_post, 4);
    h2t_f_data(&in, 3, 0x1, "three", 5, -1);
    h2t_f_data(&in, 1, 0x1, "one", 3, -1);
    h2t_result r;
    replay(h2t_setup_server, &r);
    cr_assert_eq(r.log.n, 6);
    cr_assert_eq(r.log.ev[2].stream_id, 3);
    cr_assert_eq(r.log.ev[3].stream_id, 3);
    cr_assert_eq(r.log.ev[3].type, H2_EV_STREAM_ENDED);
    cr_assert_eq(r.log.ev[4].stream_id, 1);
    cr_assert_arr_eq(r.log.ev[4].data, "one", 3);
    h2t_result_free(&r);
}
