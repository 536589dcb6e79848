/*
 * Buffers (SECURITY.md rows 1, 7) and client-side limits: the core never
 * buffers bodies on its own, refuses new work over the output mark, bounds
 * pushed streams; and the limit paths survive allocation failures.
 */
#include "abuse/abuse_util.h"

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

TestSuite(abuse_buffers, .init = setup, .fini = teardown);

/* Row 1, dribble: INITIAL_WINDOW_SIZE 1 and 1-byte WINDOW_UPDATEs on 100
 * streams. The server can send one byte at a time, never more than the
 * window (H2_EFLOW_CONTROL), and memory stays flat: nothing is buffered. */
Test(abuse_buffers, row1_data_dribble)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg = ab_server_cfg(&tm);
    h2_conn *c = h2t_server_ready(&cfg);
    h2_setting e = {H2_SETTING_INITIAL_WINDOW_SIZE, 1};
    h2t_f_settings(&in, 0, &e, 1);
    for (uint32_t i = 0; i < 100; i++)
        h2t_f_headers(&ff, &in, 1 + 2 * i, 0x5, h2t_req_get, 4);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    for (uint32_t i = 0; i < 100; i++)
        cr_assert_eq(h2_conn_send_headers(c, 1 + 2 * i, h2t_resp_200, 2, 0, NULL), 0);
    h2t_take(c, NULL);
    size_t live = 0;
    uint8_t body[16384] = {0};
    for (int round = 0; round < 200; round++) {
        for (uint32_t i = 0; i < 100; i++) {
            uint32_t id = 1 + 2 * i;
            int32_t w;
            cr_assert_eq(h2_conn_send_window(c, id, &w), 0);
            cr_assert_eq(w, 1);
            cr_assert_eq(h2_conn_send_data(c, id, body, 2, 0, -1), H2_EFLOW_CONTROL);
            cr_assert_eq(h2_conn_send_data(c, id, body, 1, 0, -1), 0);
        }
        h2t_take(c, NULL);
        h2t_buf_free(&in);
        for (uint32_t i = 0; i < 100; i++)
            h2t_f_window_update(&in, 1 + 2 * i, 1);
        h2t_f_window_update(&in, 0, 100);
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
        h2_conn_release_events(c);
        if (round == 1)
            live = tm.live_bytes;
    }
    cr_assert_eq(tm.live_bytes, live);
    for (int i = 0; i < H2_LIMIT_COUNT; i++)
        cr_assert_eq(ab_stats(c).limit_exceeded[i], 0);
    h2_conn_free(c);
}

/* Row 7, internal buffering: with the windows wide open and a peer that
 * does not read, new DATA is refused once the output passes its mark, so
 * the queue stays under output_high_water plus one frame. */
Test(abuse_buffers, row7_output_mark_bounds_the_queue)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.connection_window_size = H2_MAX_WINDOW_SIZE;
    h2_conn *c = h2t_server_ready(&cfg);
    h2t_f_window_update(&in, 0, 0x7fffffff - 65535);
    for (uint32_t i = 0; i < 10; i++) {
        h2t_f_headers(&ff, &in, 1 + 2 * i, 0x5, h2t_req_get, 4);
        h2t_f_window_update(&in, 1 + 2 * i, 0x7fffffff - 65535);
    }
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    static uint8_t body[16384];
    size_t refused = 0;
    for (uint32_t i = 0; i < 10; i++)
        cr_assert_eq(h2_conn_send_headers(c, 1 + 2 * i, h2t_resp_200, 2, 0, NULL), 0);
    for (int k = 0; k < 1000; k++) {
        uint32_t id = 1 + 2 * (uint32_t)(k % 10);
        int rv = h2_conn_send_data(c, id, body, sizeof(body), 0, -1);
        cr_assert(rv == 0 || rv == H2_ENOBUFS);
        refused += rv == H2_ENOBUFS;
        cr_assert_leq(h2_conn_output_pending(c), cfg.output_high_water + 9 + sizeof(body));
    }
    cr_assert_gt(refused, 900);
    h2_conn_free(c);
}

/* Client: a server promising 101 pushes that wait for their response: the
 * 101st is refused with RST_STREAM(REFUSED_STREAM) and counted. */
Test(abuse_buffers, client_reserved_streams)
{
    static const h2_header push_req[] = {H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),
                                         H2T_HDR(":authority", "a.example"),
                                         H2T_HDR(":path", "/p")};
    for (uint32_t i = 0; i < 101; i++)
        h2t_f_push_promise(&ff, &in, 1, 2 + 2 * i, push_req, 4);
    h2t_result r;
    h2t_replay(h2t_setup_client_get, NULL, in.p, in.len, &r);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_PUSHED_STREAM_RECEIVED), 100);
    h2t_expect_rst(&r.out, 202, H2_REFUSED_STREAM);
    h2_conn_stats s = ab_stats(r.conn);
    cr_assert_eq(s.limit_exceeded[H2_LIMIT_RESERVED_STREAMS], 1);
    cr_assert_eq(s.streams_opened_remote, 100);
    const h2t_ev *e = h2t_log_find(&r.log, H2_EV_LIMIT_EXCEEDED, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->stream_id, 202);
    h2t_result_free(&r);
}

/* Client: the glitch budget also guards a client (unknown frames from a server). */
Test(abuse_buffers, client_glitches)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.glitch_burst = 50;
    for (int i = 0; i < 51; i++)
        h2t_f_unknown(&in, 0xfa, 0, 0, NULL, 0);
    h2t_result r;
    h2t_replay(h2t_setup_client, &cfg, in.p, in.len, &r);
    cr_assert_eq(r.rv, H2_EPROTO);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_UNKNOWN_FRAME_RECEIVED), 50);
    ab_expect_goaway_debug(&r.out, H2_ENHANCE_YOUR_CALM, "glitches");
    h2t_result_free(&r);
}

/* ---- allocation failures on the limit paths ------------------------------------------ */

struct sweep_arg {
    h2t_buf *in;
};

/* Rapid Reset pairs, refusals, a glitch trip: every allocation may fail. */
static int sweep_scenario(testmem *tm, void *argp)
{
    struct sweep_arg *a = argp;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.mem = &tm->mem;
    cfg.max_active_requests = 4;
    cfg.glitch_burst = 20;
    h2_conn *c;
    if (h2_conn_new(&c, &cfg) != 0)
        return 0;
    if (h2_conn_initiate(c) != 0) {
        h2_conn_free(c);
        return 0;
    }
    const h2_event *ev;
    size_t n;
    int rv = h2_conn_receive(c, a->in->p, a->in->len, &ev, &n);
    int bad = 0;
    if (rv != 0 && rv != H2_EPROTO && rv != H2_ENOMEM)
        bad = 1;
    h2_conn_stats s = {.size = sizeof(s)};
    h2_conn_get_stats(c, &s);
    if (s.active_requests > 4)
        bad = 1;
    if (rv == 0) {
        /* the next call frees the held slots */
        rv = h2_conn_receive(c, NULL, 0, &ev, &n);
        h2_conn_get_stats(c, &s);
        if (rv == 0 && s.active_requests != 0)
            bad = 1;
    }
    h2_conn_free(c);
    return bad;
}

Test(abuse_buffers, limit_paths_survive_allocation_failures)
{
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_f_settings(&in, 1, NULL, 0);
    for (uint32_t i = 0; i < 12; i++) {
        h2t_f_headers(&ff, &in, 1 + 2 * i, 0x5, h2t_req_get, 4);
        h2t_f_rst(&in, 1 + 2 * i, H2_CANCEL);
        h2t_f_priority(&in, 1 + 2 * i, 0, 16, false);
    }
    struct sweep_arg a = {&in};
    size_t calls = testmem_sweep(sweep_scenario, &a);
    cr_assert_gt(calls, 5);
}
