/*
 * Introspection through real client/server exchanges: stream states and
 * listing, closed_by, highest stream ids, pending vs. acknowledged
 * settings, max_inbound_frame_size.
 */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

TestSuite(conn_introspect);

static const h2_header push_req[] = {
    H2_HDR(":method", "GET"),
    H2_HDR(":scheme", "https"),
    H2_HDR(":authority", "example.com"),
    H2_HDR(":path", "/style.css"),
};

Test(conn_introspect, fresh_pair)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_highest_inbound_stream_id(p.sv), 0);
    cr_assert_eq(h2_conn_highest_outbound_stream_id(p.cl), 0);
    cr_assert_eq(h2_conn_streams(p.cl, NULL, 0), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 1), H2_STATE_IDLE);
    cr_assert_eq(h2_conn_stream_state(p.sv, 1), H2_STATE_IDLE);
    cr_assert_eq(h2_conn_stream_state(p.sv, 2), H2_STATE_IDLE);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 1), H2_ESTATE);
    cr_assert_eq(h2_conn_max_inbound_frame_size(p.cl), 16384);
    cr_assert_eq(h2_conn_pending_settings(p.cl, NULL, 0), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 0), H2_EINVAL);
    cr_assert_eq(h2_conn_stream_state(p.cl, 0x80000000u), H2_EINVAL);
    cr_assert_eq(h2_conn_stream_state(NULL, 1), H2_EINVAL);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 0), H2_EINVAL);
    cr_assert_eq(h2_conn_streams(NULL, NULL, 0), 0);
    h2t_pair_free(&p);
}

Test(conn_introspect, states_through_a_request)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 1), H2_STATE_HALF_CLOSED_LOCAL);
    cr_assert_eq(h2_conn_stream_state(p.cl, 3), H2_STATE_OPEN);
    cr_assert_eq(h2_conn_highest_outbound_stream_id(p.cl), 3);
    cr_assert_eq(h2_conn_highest_inbound_stream_id(p.cl), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_stream_state(p.sv, 1), H2_STATE_HALF_CLOSED_REMOTE);
    cr_assert_eq(h2_conn_stream_state(p.sv, 3), H2_STATE_OPEN);
    cr_assert_eq(h2_conn_stream_state(p.sv, 5), H2_STATE_IDLE);
    cr_assert_eq(h2_conn_highest_inbound_stream_id(p.sv), 3);
    cr_assert_eq(h2_conn_highest_outbound_stream_id(p.sv), 0);

    h2_stream_info info[4];
    memset(info, 0xff, sizeof(info));
    cr_assert_eq(h2_conn_streams(p.sv, info, 4), 2);
    cr_assert_eq(info[0].stream_id, 1);
    cr_assert_eq(info[0].state, H2_STATE_HALF_CLOSED_REMOTE);
    cr_assert_eq(info[1].stream_id, 3);
    cr_assert_eq(info[1].state, H2_STATE_OPEN);
    /* a short array gets the lowest ids, and the count is still the total */
    memset(info, 0, sizeof(info));
    cr_assert_eq(h2_conn_streams(p.sv, info, 1), 2);
    cr_assert_eq(info[0].stream_id, 1);
    cr_assert_eq(info[1].stream_id, 0);

    /* the response ends stream 1 on both sides */
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_stream_state(p.sv, 1), H2_STATE_CLOSED);
    cr_assert_eq(h2_conn_stream_closed_by(p.sv, 1), H2_CLOSED_BY_END_STREAM);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 1), H2_STATE_CLOSED);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 1), H2_CLOSED_BY_END_STREAM);
    cr_assert_eq(h2_conn_streams(p.cl, info, 4), 1);
    cr_assert_eq(info[0].stream_id, 3);
    /* an open stream has no closed_by */
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 3), H2_ESTATE);

    /* skipping ids closes them implicitly, with nothing remembered */
    cr_assert_eq(h2t_send_get(p.cl, 9, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_stream_state(p.sv, 5), H2_STATE_CLOSED);
    cr_assert_eq(h2_conn_stream_state(p.cl, 7), H2_STATE_CLOSED);
    cr_assert_eq(h2_conn_stream_closed_by(p.sv, 5), H2_CLOSED_BY_UNKNOWN);
    cr_assert_eq(h2_conn_stream_state(p.sv, 11), H2_STATE_IDLE);
    cr_assert_eq(h2_conn_highest_inbound_stream_id(p.sv), 9);
    h2t_pair_free(&p);
}

Test(conn_introspect, resets_both_ways)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 1, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_reset_stream(p.sv, 3, H2_REFUSED_STREAM), 0);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 1), H2_CLOSED_BY_RESET_SENT);
    cr_assert_eq(h2_conn_stream_closed_by(p.sv, 3), H2_CLOSED_BY_RESET_SENT);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_stream_closed_by(p.sv, 1), H2_CLOSED_BY_RESET_RECEIVED);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 3), H2_CLOSED_BY_RESET_RECEIVED);
    cr_assert_eq(h2_conn_streams(p.cl, NULL, 0), 0);
    cr_assert_eq(h2_conn_streams(p.sv, NULL, 0), 0);
    h2t_pair_free(&p);
}

Test(conn_introspect, goaway_closes_unprocessed_streams)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 5, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_close(p.sv, H2_NO_ERROR, NULL, 0, 1), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 1), H2_STATE_OPEN);
    cr_assert_eq(h2_conn_stream_state(p.cl, 3), H2_STATE_CLOSED);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 3), H2_CLOSED_BY_GOAWAY);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 5), H2_CLOSED_BY_GOAWAY);
    h2_stream_info info[4];
    cr_assert_eq(h2_conn_streams(p.cl, info, 4), 1);
    cr_assert_eq(info[0].stream_id, 1);
    /* stream 1 was below the last id: reset by us, it stays RESET_SENT */
    cr_assert_eq(h2_conn_reset_stream(p.cl, 1, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 1), H2_CLOSED_BY_RESET_SENT);
    h2t_pair_free(&p);
}

Test(conn_introspect, push_reserved_states)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_push_stream(p.sv, 1, 2, push_req, 4), 0);
    cr_assert_eq(h2_conn_stream_state(p.sv, 2), H2_STATE_RESERVED_LOCAL);
    cr_assert_eq(h2_conn_highest_outbound_stream_id(p.sv), 2);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 2), H2_STATE_RESERVED_REMOTE);
    cr_assert_eq(h2_conn_highest_inbound_stream_id(p.cl), 2);
    h2_stream_info info[4];
    cr_assert_eq(h2_conn_streams(p.cl, info, 4), 2);
    cr_assert_eq(info[0].stream_id, 1);
    cr_assert_eq(info[0].state, H2_STATE_HALF_CLOSED_LOCAL);
    cr_assert_eq(info[1].stream_id, 2);
    cr_assert_eq(info[1].state, H2_STATE_RESERVED_REMOTE);
    /* the pushed response moves the stream out of reserved */
    cr_assert_eq(h2_conn_send_headers(p.sv, 2, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_stream_state(p.sv, 2), H2_STATE_HALF_CLOSED_REMOTE);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 2), H2_STATE_HALF_CLOSED_LOCAL);
    h2t_pair_free(&p);
}

Test(conn_introspect, pending_settings_until_ack)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2_setting s1[] = {{H2_SETTING_MAX_FRAME_SIZE, 32768}, {H2_SETTING_INITIAL_WINDOW_SIZE, 1000}};
    h2_setting s2[] = {{H2_SETTING_MAX_FRAME_SIZE, 65536}};
    cr_assert_eq(h2_conn_update_settings(p.cl, s1, 2), 0);
    cr_assert_eq(h2_conn_update_settings(p.cl, s2, 1), 0);
    h2_setting pend[8];
    cr_assert_eq(h2_conn_pending_settings(p.cl, pend, 8), 3);
    cr_assert_eq(pend[0].id, H2_SETTING_MAX_FRAME_SIZE);
    cr_assert_eq(pend[0].value, 32768);
    cr_assert_eq(pend[1].id, H2_SETTING_INITIAL_WINDOW_SIZE);
    cr_assert_eq(pend[2].value, 65536);
    cr_assert_eq(h2_conn_pending_settings(p.cl, pend, 1), 3);
    uint32_t v = 0;
    cr_assert(h2_conn_setting_pending(p.cl, H2_SETTING_MAX_FRAME_SIZE, &v));
    cr_assert_eq(v, 65536);
    cr_assert(h2_conn_setting_pending(p.cl, H2_SETTING_INITIAL_WINDOW_SIZE, NULL));
    cr_assert_not(h2_conn_setting_pending(p.cl, H2_SETTING_HEADER_TABLE_SIZE, &v));
    /* in force: still the old values */
    cr_assert_eq(h2_conn_setting(p.cl, false, H2_SETTING_MAX_FRAME_SIZE), 16384);
    cr_assert_eq(h2_conn_max_inbound_frame_size(p.cl), 16384);

    /* the peer's side takes them at once */
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_setting(p.sv, true, H2_SETTING_MAX_FRAME_SIZE), 65536);
    cr_assert_eq(h2_conn_max_outbound_frame_size(p.sv), 65536);
    cr_assert_eq(h2_conn_pending_settings(p.sv, NULL, 0), 0);

    /* the ACKs make them ours */
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_pending_settings(p.cl, pend, 8), 0);
    cr_assert_not(h2_conn_setting_pending(p.cl, H2_SETTING_MAX_FRAME_SIZE, &v));
    cr_assert_eq(h2_conn_setting(p.cl, false, H2_SETTING_MAX_FRAME_SIZE), 65536);
    cr_assert_eq(h2_conn_setting(p.cl, false, H2_SETTING_INITIAL_WINDOW_SIZE), 1000);
    cr_assert_eq(h2_conn_max_inbound_frame_size(p.cl), 65536);
    h2t_pair_free(&p);
}

/* The value reported is the one enforced: a frame of exactly that size passes, one byte more fails.
 */
Test(conn_introspect, max_inbound_frame_size_is_enforced)
{
    h2_conn_config cc;
    h2_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.max_frame_size = 20000;
    h2t_pair p;
    h2t_pair_init(&p, &cc, NULL);
    uint32_t max = h2_conn_max_inbound_frame_size(p.cl);
    cr_assert_eq(max, 20000);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    static uint8_t body[20001];
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_data(&b, 1, 0, body, max, -1);
    cr_assert_eq(h2t_feed(p.cl, b.p, b.len, NULL), 0);
    b.len = 0;
    h2t_f_data(&b, 1, 0, body, max + 1, -1);
    cr_assert_eq(h2t_feed(p.cl, b.p, b.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(p.cl).code, H2_FRAME_SIZE_ERROR);
    h2t_buf_free(&b);
    h2t_pair_free(&p);
}

Test(conn_introspect, closed_record_window)
{
    h2_conn_config cc;
    h2_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.max_closed_streams = 4;
    h2t_pair p;
    h2t_pair_init(&p, &cc, NULL);
    for (uint32_t id = 1; id <= 21; id += 2) {
        cr_assert_eq(h2_conn_send_headers(p.cl, id, h2t_req_post, 4, 0, NULL), 0);
        cr_assert_eq(h2_conn_reset_stream(p.cl, id, H2_CANCEL), 0);
    }
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 21), H2_CLOSED_BY_RESET_SENT);
    cr_assert_eq(h2_conn_stream_state(p.cl, 1), H2_STATE_CLOSED);
    cr_assert_eq(h2_conn_stream_closed_by(p.cl, 1), H2_CLOSED_BY_UNKNOWN);
    h2t_pair_free(&p);
}
