/* Allocation failures: every allocation of full exchanges fails in turn; clean errors, no leaks. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"
#include "support/testmem.h"

static bool fatal_or_ok(int rv)
{
    return rv == 0 || rv == H2_ENOMEM;
}

/* Moves all output of |from| into |to|; returns the receive rv. */
static int pump(h2_conn *from, h2_conn *to, size_t *n_events)
{
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(from, &v, &n);
    const h2_event *ev;
    int rv = h2_conn_receive(to, v, n, &ev, n_events);
    h2_conn_output_consume(from, n);
    return rv;
}

/*
 * A client and a server, both on the failing allocator: handshake, a POST
 * with a body and trailers, a response with a body, a ping. Any call may
 * fail with H2_ENOMEM; the scenario then stops. Anything else is a bug.
 */
static int exchange(testmem *tm, void *arg)
{
    (void)arg;
    h2_conn_config ccfg, scfg;
    h2_conn_config_init(&ccfg, H2_ROLE_CLIENT);
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    ccfg.mem = &tm->mem;
    scfg.mem = &tm->mem;
    h2_conn *cl = NULL, *sv = NULL;
    int bad = 0;
    int rv = h2_conn_new(&cl, &ccfg);
    if (rv != 0)
        return rv == H2_ENOMEM ? 0 : 1;
    rv = h2_conn_new(&sv, &scfg);
    if (rv != 0) {
        h2_conn_free(cl);
        return rv == H2_ENOMEM ? 0 : 1;
    }
    size_t ne;
    static const h2_header tr[] = {H2T_HDR("x-sum", "abc")};
    static const uint8_t body[100] = {1};
    uint8_t op[8] = {9};
#define STEP(call)                                                                                 \
    do {                                                                                           \
        rv = (call);                                                                               \
        if (rv != 0) {                                                                             \
            bad = !fatal_or_ok(rv);                                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
    STEP(h2_conn_initiate(cl));
    STEP(h2_conn_initiate(sv));
    STEP(pump(cl, sv, &ne));
    STEP(pump(sv, cl, &ne));
    STEP(pump(cl, sv, &ne));
    STEP(h2_conn_send_headers(cl, 1, h2t_req_post, 4, 0, NULL));
    STEP(h2_conn_send_data(cl, 1, body, sizeof(body), 0, 3));
    STEP(h2_conn_send_headers(cl, 1, tr, 1, H2_SEND_END_STREAM, NULL));
    STEP(h2t_send_get(cl, 3, true));
    STEP(pump(cl, sv, &ne));
    if (ne != 6)
        bad = 1;
    STEP(h2_conn_send_headers(sv, 1, h2t_resp_200, 2, 0, NULL));
    STEP(h2_conn_send_data(sv, 1, body, sizeof(body), H2_SEND_END_STREAM, -1));
    STEP(h2_conn_reset_stream(sv, 3, H2_CANCEL));
    STEP(h2_conn_ping(sv, op));
    STEP(pump(sv, cl, &ne));
    if (ne != 5)
        bad = 1;
    STEP(h2_conn_ack_data(cl, 1, 40000));
    STEP(h2_conn_close(cl, 0, NULL, 0, -1));
    STEP(pump(cl, sv, &ne));
#undef STEP
out:
    h2_conn_free(cl);
    h2_conn_free(sv);
    return bad;
}

Test(conn_memory, allocation_failure_sweep_over_exchange)
{
    size_t n = testmem_sweep(exchange, NULL);
    cr_assert_gt(n, 5);
}

/* Receive-side only, with a frame straddling calls and a CONTINUATION block. */
static int straddled(testmem *tm, void *arg)
{
    (void)arg;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.mem = &tm->mem;
    h2_conn *c = NULL;
    int rv = h2_conn_new(&c, &cfg);
    if (rv != 0)
        return rv == H2_ENOMEM ? 0 : 1;
    h2t_buf in, blk;
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_ff_encode(&ff, h2t_req_post, 4, &blk);
    h2t_f_headers_raw(&in, 1, 0, blk.p, 3, 0, 0, false, -1);
    h2t_f_continuation(&in, 1, 0x4, blk.p + 3, blk.len - 3);
    h2t_f_data(&in, 1, 0x1, "hello", 5, -1);
    int bad = 0;
    rv = h2_conn_initiate(c);
    size_t pos = 0;
    while (rv == 0 && pos < in.len) {
        size_t k = in.len - pos < 7 ? in.len - pos : 7;
        const h2_event *ev;
        size_t ne;
        rv = h2_conn_receive(c, in.p + pos, k, &ev, &ne);
        pos += k;
    }
    if (!fatal_or_ok(rv))
        bad = 1;
    h2t_ff_free(&ff);
    h2t_buf_free(&in);
    h2t_buf_free(&blk);
    h2_conn_free(c);
    return bad;
}

Test(conn_memory, allocation_failure_sweep_over_split_input)
{
    size_t n = testmem_sweep(straddled, NULL);
    cr_assert_gt(n, 3);
}

Test(conn_memory, failed_send_leaves_connection_usable)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.mem = &tm.mem;
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    tm.fail_at = tm.n_calls + 1;
    int rv = h2t_send_get(c, 1, true);
    cr_assert_eq(rv, H2_ENOMEM);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_eq(h2_conn_next_stream_id(c), 1);
    tm.fail_at = 0;
    cr_assert_eq(h2t_send_get(c, 1, true), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2_conn *s = h2t_server_ready(NULL);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(s, out.p, out.len, &log), 0);
    cr_assert_eq(log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    h2t_log_free(&log);
    h2_conn_free(s);
    h2t_buf_free(&out);
    h2_conn_free(c);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(conn_memory, steady_state_does_not_allocate)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config ccfg, scfg;
    h2_conn_config_init(&ccfg, H2_ROLE_CLIENT);
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    ccfg.mem = &tm.mem;
    scfg.mem = &tm.mem;
    h2t_pair p;
    p.cl = NULL;
    p.sv = NULL;
    cr_assert_eq(h2_conn_new(&p.cl, &ccfg), 0);
    cr_assert_eq(h2_conn_new(&p.sv, &scfg), 0);
    h2t_log_init(&p.cl_log);
    h2t_log_init(&p.sv_log);
    h2t_handshake(p.cl, p.sv);
    size_t after = 0;
    for (uint32_t id = 1; id < 200; id += 2) {
        if (id == 21)
            after = tm.n_calls;
        cr_assert_eq(h2t_send_get(p.cl, id, true), 0);
        size_t ne;
        cr_assert_eq(pump(p.cl, p.sv, &ne), 0);
        cr_assert_eq(h2_conn_send_headers(p.sv, id, h2t_resp_200, 2, 0, NULL), 0);
        cr_assert_eq(h2_conn_send_data(p.sv, id, (const uint8_t *)"0123456789abcdef", 16,
                                       H2_SEND_END_STREAM, -1),
                     0);
        cr_assert_eq(pump(p.sv, p.cl, &ne), 0);
        cr_assert_eq(ne, 3);
        cr_assert_eq(h2_conn_ack_data(p.cl, id, 16), 0);
    }
    /* only the closed-stream record grows (it doubles a few times) */
    cr_assert_leq(tm.n_calls - after, 12, "%zu allocations in steady state", tm.n_calls - after);
    h2t_pair_free(&p);
    cr_assert_eq(tm.live_blocks, 0);
}
