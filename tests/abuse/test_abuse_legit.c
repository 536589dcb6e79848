/*
 * No false positives: traffic of a browser-like client near each limit
 * goes through untouched (no LimitExceeded event, every counter at 0):
 * 100 parallel streams, 8 KiB of cookies in crumbs, many small DATA
 * frames, PINGs at a normal rate, a client resetting after each response.
 */
#include <stdio.h>
#include "abuse/abuse_util.h"

static void no_limit_tripped(const h2_conn *c)
{
    h2_conn_stats s = ab_stats(c);
    for (int i = 0; i < H2_LIMIT_COUNT; i++)
        cr_assert_eq(s.limit_exceeded[i], 0, "%s tripped", h2_limit_name(i));
}

/* 100 parallel requests with 8 KiB of cookies in 200 crumbs and 30 other
 * fields each; every response sent; the client reads everything. */
Test(abuse_legit, browser_100_streams_big_cookies)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    enum { N_CRUMBS = 200, N_OTHER = 30 };
    static char names[N_OTHER][32], crumbs[N_CRUMBS][64];
    h2_header req[4 + N_OTHER + N_CRUMBS];
    memcpy(req, h2t_req_get, sizeof(h2t_req_get));
    size_t n = 4;
    for (int i = 0; i < N_OTHER; i++) {
        snprintf(names[i], sizeof(names[i]), "x-header-%d", i);
        req[n++] = (h2_header){(const uint8_t *)names[i], strlen(names[i]),
                               (const uint8_t *)"some value", 10, 0};
    }
    for (int i = 0; i < N_CRUMBS; i++) {
        snprintf(crumbs[i], sizeof(crumbs[i]), "c%03d=%038d", i, i);
        req[n++] = (h2_header){(const uint8_t *)"cookie", 6, (const uint8_t *)crumbs[i],
                               strlen(crumbs[i]), 0};
    }
    for (int round = 0; round < 3; round++) {
        for (uint32_t k = 0; k < 100; k++) {
            uint32_t id = (uint32_t)h2_conn_next_stream_id(p.cl);
            int rv = h2_conn_send_headers(p.cl, id, req, n, H2_SEND_END_STREAM, NULL);
            cr_assert_eq(rv, 0, "round %d k %u: %s", round, k, h2_errname(rv));
            /* about 8.6 KiB per request: flush before the client's 64 KiB mark */
            if (k % 5 == 4)
                cr_assert_eq(h2t_c2s(&p), 0);
        }
        cr_assert_eq(h2t_c2s(&p), 0);
        cr_assert_eq(h2_conn_open_inbound_streams(p.sv), 100);
        for (uint32_t k = 0; k < 100; k++) {
            uint32_t id = (uint32_t)(1 + 2 * (round * 100 + k));
            cr_assert_eq(h2_conn_send_headers(p.sv, id, h2t_resp_200, 2, 0, NULL), 0);
            for (int d = 0; d < 4; d++)
                cr_assert_eq(h2_conn_send_data(p.sv, id, (const uint8_t *)"0123456789", 10,
                                               d == 3 ? H2_SEND_END_STREAM : 0, -1),
                             0);
            if (k % 10 == 9)
                cr_assert_eq(h2t_s2c(&p), 0);
        }
        cr_assert_eq(h2t_s2c(&p), 0);
        cr_assert_eq(h2t_c2s(&p), 0);
    }
    no_limit_tripped(p.sv);
    no_limit_tripped(p.cl);
    cr_assert_eq(ab_stats(p.sv).streams_opened_remote, 300);
    cr_assert_eq(ab_stats(p.sv).glitches, 0);
    h2t_pair_free(&p);
}

/* An upload in 20 000 DATA frames of 3 bytes, the server acknowledging the
 * data as it goes, with a PING every 100 frames. */
Test(abuse_legit, many_small_data_frames_and_pings)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    uint8_t op[8] = {0};
    for (int i = 0; i < 20000; i++) {
        cr_assert_eq(h2_conn_send_data(p.cl, 1, (const uint8_t *)"abc", 3, 0, -1), 0);
        if (i % 100 == 0) {
            op[0] = (uint8_t)i;
            cr_assert_eq(h2_conn_ping(p.cl, op), 0);
        }
        if (i % 50 == 49) {
            cr_assert_eq(h2t_c2s(&p), 0);
            cr_assert_eq(h2_conn_ack_data(p.sv, 1, 150), 0);
            cr_assert_eq(h2t_s2c(&p), 0);
        }
    }
    cr_assert_eq(h2_conn_end_stream(p.cl, 1), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    no_limit_tripped(p.sv);
    cr_assert_eq(ab_stats(p.sv).glitches, 0);
    h2t_pair_free(&p);
}

/* A client that resets every stream after its response (nghttp2 #1984):
 * 5000 requests; the resets hit closed streams and cost nothing. */
Test(abuse_legit, reset_after_every_response)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    for (uint32_t i = 0; i < 5000; i++) {
        uint32_t id = 1 + 2 * i;
        cr_assert_eq(h2_conn_send_headers(p.cl, id, h2t_req_get, 4, H2_SEND_END_STREAM, NULL), 0);
        cr_assert_eq(h2t_c2s(&p), 0);
        cr_assert_eq(h2_conn_send_headers(p.sv, id, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
        cr_assert_eq(h2t_s2c(&p), 0);
        /* the stream is closed on the client: send the RST by hand */
        h2t_buf rst;
        h2t_buf_init(&rst);
        h2t_f_rst(&rst, id, H2_CANCEL);
        cr_assert_eq(h2t_feed(p.sv, rst.p, rst.len, NULL), 0);
        h2t_buf_free(&rst);
    }
    no_limit_tripped(p.sv);
    cr_assert_eq(ab_stats(p.sv).resets_received, 5000);
    cr_assert_eq(ab_stats(p.sv).glitches, 0);
    h2t_pair_free(&p);
}

/* Cancelled requests at a sustainable rate (a user navigating away): 10
 * per second for 10 minutes of simulated time. */
Test(abuse_legit, occasional_cancels_with_a_clock)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    uint32_t id = 1;
    for (int sec = 0; sec < 600; sec++) {
        h2_conn_set_time(p.sv, 10000 + (uint64_t)sec * 1000);
        for (int k = 0; k < 10; k++, id += 2) {
            cr_assert_eq(h2_conn_send_headers(p.cl, id, h2t_req_get, 4, H2_SEND_END_STREAM, NULL),
                         0);
            cr_assert_eq(h2_conn_reset_stream(p.cl, id, H2_CANCEL), 0);
        }
        cr_assert_eq(h2t_c2s(&p), 0);
        cr_assert_eq(h2t_s2c(&p), 0);
    }
    no_limit_tripped(p.sv);
    cr_assert_eq(ab_stats(p.sv).resets_received, 6000);
    h2t_pair_free(&p);
}
