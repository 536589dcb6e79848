/* Utilities: stream id allocation, queries, output API. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

Test(conn_utils, client_stream_ids)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_next_stream_id(c), 1);
    cr_assert_eq(h2_conn_next_stream_id(c), 1);
    for (uint32_t id = 1; id < 21; id += 2) {
        cr_assert_eq(h2_conn_next_stream_id(c), id);
        cr_assert_eq(h2t_send_get(c, id, true), 0);
    }
    cr_assert_eq(h2_conn_next_stream_id(c), 21);
    h2_conn_free(c);
}

Test(conn_utils, server_stream_ids)
{
    h2_conn *c = h2t_server_ready(NULL);
    cr_assert_eq(h2_conn_next_stream_id(c), 2);
    h2_conn_free(c);
}

Test(conn_utils, stream_ids_run_out)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2t_send_get(c, 0x7ffffffd, true), 0);
    cr_assert_eq(h2_conn_next_stream_id(c), 0x7fffffff);
    cr_assert_eq(h2t_send_get(c, 0x7fffffff, true), 0);
    cr_assert_eq(h2_conn_next_stream_id(c), H2_ENOSTREAMID);
    h2_conn_free(c);
}

Test(conn_utils, failed_send_does_not_use_the_id)
{
    h2_conn *c = h2t_client_ready(NULL);
    static const h2_header bad[] = {H2T_HDR(":method", "GET")};
    cr_assert_eq(h2_conn_send_headers(c, 1, bad, 1, H2_SEND_END_STREAM, NULL), H2_EHEADER);
    cr_assert_eq(h2_conn_next_stream_id(c), 1);
    h2_conn_free(c);
}

Test(conn_utils, data_to_send_in_pieces)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    size_t total = h2_conn_output_pending(c);
    cr_assert_eq(total, 24 + 9 + 42);
    uint8_t buf[100];
    cr_assert_eq(h2_conn_data_to_send(c, buf, 10), 10);
    cr_assert_arr_eq(buf, "PRI * HTTP", 10);
    cr_assert_eq(h2_conn_output_pending(c), total - 10);
    cr_assert_eq(h2_conn_data_to_send(c, buf, 100), total - 10);
    cr_assert_eq(buf[0], '/');
    cr_assert_eq(h2_conn_data_to_send(c, buf, 100), 0);
    h2_conn_free(c);
}

Test(conn_utils, output_view_and_consume)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(c, &v, &n);
    cr_assert_null(v);
    cr_assert_eq(n, 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2_conn_output_view(c, &v, &n);
    cr_assert_eq(n, 75);
    cr_assert_arr_eq(v, "PRI", 3);
    h2_conn_output_consume(c, 24);
    h2_conn_output_view(c, &v, &n);
    cr_assert_eq(n, 51);
    cr_assert_eq(v[3], 0x4);
    h2_conn_output_consume(c, 1000);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    h2_conn_free(c);
}

Test(conn_utils, clear_output)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2_conn_clear_output(c);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_not(h2_conn_want_write(c));
    h2_conn_free(c);
}

Test(conn_utils, interleaved_consume_and_append)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    uint8_t op[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    h2t_buf all;
    h2t_buf_init(&all);
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(h2_conn_ping(p.cl, op), 0);
        uint8_t b[7];
        size_t n = h2_conn_data_to_send(p.cl, b, sizeof(b));
        h2t_buf_put(&all, b, n);
    }
    h2t_take(p.cl, &all);
    cr_assert_eq(all.len, 50 * 17);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(p.sv, all.p, all.len, &log), 0);
    cr_assert_eq(h2t_log_count(&log, H2_EV_PING_RECEIVED), 50);
    h2t_log_free(&log);
    h2t_buf_free(&all);
    h2t_pair_free(&p);
}

Test(conn_utils, ping_and_ack)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    uint8_t op[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    cr_assert_eq(h2_conn_ping(p.cl, op), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.n, 1);
    cr_assert_eq(p.sv_log.ev[0].type, H2_EV_PING_RECEIVED);
    cr_assert_arr_eq(p.sv_log.ev[0].ping, op, 8);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(p.cl_log.n, 1);
    cr_assert_eq(p.cl_log.ev[0].type, H2_EV_PING_ACK_RECEIVED);
    cr_assert_arr_eq(p.cl_log.ev[0].ping, op, 8);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);
    cr_assert_eq(h2_conn_ping(p.cl, NULL), H2_EINVAL);
    h2t_pair_free(&p);
}

Test(conn_utils, ping_ack_bytes)
{
    h2t_buf in;
    h2t_buf_init(&in);
    uint8_t op[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    h2t_f_ping(&in, 0, op);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    static const uint8_t expect[] = {0, 0, 8, 6, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7};
    cr_assert_eq(r.out.len, sizeof(expect));
    cr_assert_arr_eq(r.out.p, expect, sizeof(expect));
    h2t_result_free(&r);
    h2t_buf_free(&in);
}

Test(conn_utils, max_outbound_frame_size_default)
{
    h2_conn *c = h2t_client_ready(NULL);
    cr_assert_eq(h2_conn_max_outbound_frame_size(c), 16384);
    h2_conn_free(c);
}

Test(conn_utils, windows_of_unknown_streams)
{
    h2_conn *c = h2t_client_ready(NULL);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(c, 1, &w), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_recv_window(c, 2, &w), H2_ENOSTREAM);
    h2_conn_free(c);
}

Test(conn_utils, last_error_before_any_error)
{
    h2_conn *c = h2t_client_ready(NULL);
    h2_conn_error e = h2_conn_last_error(c);
    cr_assert_not(e.occurred);
    cr_assert_str_eq(e.message, "");
    h2_conn_free(c);
}

Test(conn_utils, free_null)
{
    h2_conn_free(NULL);
}
