/*
 * Deterministic mutation runs: a valid client or server byte stream with
 * bytes flipped, inserted or cut, fed in random pieces. The connection must
 * never crash, leak or return anything but 0, H2_EPROTO, H2_ECLOSED; after
 * H2_EPROTO it must stay closed.
 */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"
#include "support/testmem.h"

static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* A realistic client stream: preface, settings, requests, bodies, control frames. */
static void client_stream(h2t_buf *b)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_f_preface(b);
    h2_setting e[] = {{H2_SETTING_INITIAL_WINDOW_SIZE, 100000}, {H2_SETTING_ENABLE_PUSH, 0}};
    h2t_f_settings(b, 0, e, 2);
    h2t_f_settings(b, 1, NULL, 0);
    h2t_f_headers(&ff, b, 1, 0x4, h2t_req_post, 4);
    h2t_f_data(b, 1, 0, "first part", 10, -1);
    h2t_f_data(b, 1, 0x1, "second", 6, 3);
    h2t_f_headers(&ff, b, 3, 0x5, h2t_req_get, 4);
    uint8_t op[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    h2t_f_ping(b, 0, op);
    h2t_f_window_update(b, 0, 5000);
    h2t_f_priority(b, 5, 3, 20, true);
    h2t_buf blk;
    h2t_buf_init(&blk);
    h2t_ff_encode(&ff, h2t_req_get, 4, &blk);
    h2t_f_headers_raw(b, 7, 0x1, blk.p, 3, 0, 0, false, -1);
    h2t_f_continuation(b, 7, 0x4, blk.p + 3, blk.len - 3);
    h2t_f_rst(b, 7, H2_CANCEL);
    h2t_f_unknown(b, 0x33, 0, 0, "ext", 3);
    h2t_f_goaway(b, 0, H2_NO_ERROR, "done", 4);
    h2t_buf_free(&blk);
    h2t_ff_free(&ff);
}

/* A server stream for a client that sent GET on stream 1. */
static void server_stream(h2t_buf *b)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_f_settings(b, 0, NULL, 0);
    h2t_f_settings(b, 1, NULL, 0);
    static const h2_header r100[] = {H2T_HDR(":status", "100")};
    h2t_f_headers(&ff, b, 1, 0x4, r100, 1);
    h2t_f_headers(&ff, b, 1, 0x4, h2t_resp_200, 2);
    h2t_f_data(b, 1, 0, "body", 4, -1);
    static const h2_header tr[] = {H2T_HDR("x-t", "1")};
    h2t_f_headers(&ff, b, 1, 0x5, tr, 1);
    h2t_f_push_promise(&ff, b, 3, 2, h2t_req_get, 4);
    h2t_f_window_update(b, 3, 10);
    h2t_ff_free(&ff);
}

static void mutate(h2t_buf *src, h2t_buf *dst, size_t skip)
{
    h2t_buf_put(dst, src->p, src->len);
    int n = 1 + (int)(rnd() % 4);
    for (int i = 0; i < n && dst->len > skip; i++) {
        size_t at = skip + rnd() % (dst->len - skip);
        switch (rnd() % 4) {
        case 0:
            dst->p[at] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1:
            dst->p[at] = (uint8_t)rnd();
            break;
        case 2:
            dst->len = at; /* cut */
            break;
        default:
            if (at + 1 < dst->len) /* drop one byte */
                memmove(dst->p + at, dst->p + at + 1, dst->len - at - 1), dst->len--;
            break;
        }
    }
}

static void run(h2_role role, void (*make)(h2t_buf *), uint32_t seed, int iterations)
{
    rng_state = seed;
    h2t_buf base;
    h2t_buf_init(&base);
    make(&base);
    size_t skip = role == H2_ROLE_SERVER ? 24 : 0;
    int n_closed = 0;
    size_t n_events = 0;
    for (int it = 0; it < iterations; it++) {
        h2t_buf m;
        h2t_buf_init(&m);
        mutate(&base, &m, skip);
        testmem tm;
        testmem_init(&tm);
        h2_conn_config cfg;
        h2_conn_config_init(&cfg, role);
        cfg.mem = &tm.mem;
        h2_conn *c = NULL;
        cr_assert_eq(h2_conn_new(&c, &cfg), 0);
        cr_assert_eq(h2_conn_initiate(c), 0);
        if (role == H2_ROLE_CLIENT)
            cr_assert_eq(h2t_send_get(c, 1, false), 0);
        bool closed = false;
        size_t pos = 0;
        while (pos < m.len) {
            size_t k = 1 + rnd() % 64;
            if (k > m.len - pos)
                k = m.len - pos;
            const h2_event *ev;
            size_t ne;
            int rv = h2_conn_receive(c, m.p + pos, k, &ev, &ne);
            pos += k;
            if (closed) {
                cr_assert_eq(rv, H2_ECLOSED);
                continue;
            }
            cr_assert(rv == 0 || rv == H2_EPROTO, "rv %d at iteration %d", rv, it);
            for (size_t i = 0; i < ne; i++) {
                cr_assert(ev[i].type >= H2_EV_REQUEST_RECEIVED &&
                          ev[i].type <= H2_EV_LIMIT_EXCEEDED);
                if (ev[i].type == H2_EV_DATA_RECEIVED && ev[i].u.data.len > 0)
                    cr_assert_not_null(ev[i].u.data.data);
            }
            n_events += ne;
            if (rv == H2_EPROTO) {
                n_closed++;
                closed = true;
                cr_assert(h2_conn_last_error(c).occurred);
            }
            h2t_take(c, NULL);
        }
        h2_conn_free(c);
        cr_assert_eq(tm.live_blocks, 0);
        h2t_buf_free(&m);
    }
    /* the mutations hit both error paths and successful processing */
    cr_assert_gt(n_closed, iterations / 10, "%d of %d runs ended in an error", n_closed,
                 iterations);
    cr_assert_lt(n_closed, iterations, "every run ended in an error");
    cr_assert_gt(n_events, (size_t)iterations * 2, "%zu events", n_events);
    h2t_buf_free(&base);
}

Test(conn_mutations, server_side_seed_1)
{
    run(H2_ROLE_SERVER, client_stream, 1, 1500);
}

Test(conn_mutations, server_side_seed_2)
{
    run(H2_ROLE_SERVER, client_stream, 0x9e3779b9u, 1500);
}

Test(conn_mutations, client_side_seed_1)
{
    run(H2_ROLE_CLIENT, server_stream, 7, 1500);
}

Test(conn_mutations, client_side_seed_2)
{
    run(H2_ROLE_CLIENT, server_stream, 0xdeadbeefu, 1500);
}
