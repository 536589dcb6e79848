/*
 * The output queue: DATA sent by reference (h2_conn_send_data_ref), the
 * release callback, h2_conn_output_iov, partial consumption, ordering with
 * control frames, the high-water mark; and the per-receive memory given
 * back by h2_conn_release_events after a burst.
 */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "core/frame.h"
#include "support/conn_helpers.h"
#include "support/testmem.h"

/* ---- helpers -----------------------------------------------------------------------------------
 */

typedef struct rel {
    int calls;
    const uint8_t *data; /* arguments of the last call */
    size_t len;
} rel;

static void on_release(void *user, const uint8_t *data, size_t len)
{
    rel *r = user;
    r->calls++;
    r->data = data;
    r->len = len;
}

/* A payload whose byte i is a function of i and |seed|. */
static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n > 0 ? n : 1);
    cr_assert_not_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 8));
    return p;
}

/* Gathers the whole output through h2_conn_output_iov (without consuming). */
static void gather_iov(const h2_conn *c, h2t_buf *out)
{
    struct iovec iov[64];
    int n = h2_conn_output_iov(c, iov, 64);
    cr_assert_geq(n, 0);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_gt(iov[i].iov_len, 0);
        h2t_buf_put(out, iov[i].iov_base, iov[i].iov_len);
        total += iov[i].iov_len;
    }
    cr_assert_eq(total, h2_conn_output_pending(c), "iov covers %zu of %zu bytes", total,
                 h2_conn_output_pending(c));
}

/* Moves all output of |from| to |to| through iovecs; returns the receive rv. */
static int xfer_iov(h2_conn *from, h2_conn *to, h2t_log *log)
{
    h2t_buf b;
    h2t_buf_init(&b);
    gather_iov(from, &b);
    h2_conn_output_consume(from, b.len);
    cr_assert_eq(h2_conn_output_pending(from), 0);
    int rv = h2t_feed(to, b.p, b.len, log);
    h2t_buf_free(&b);
    return rv;
}

/* A pair with stream 1 requested by the client and answered with headers by the server. */
static void pair_with_response2(h2t_pair *p, const h2_conn_config *ccfg, const h2_conn_config *scfg)
{
    h2t_pair_init(p, ccfg, scfg);
    cr_assert_eq(h2t_send_get(p->cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(p), 0);
    cr_assert_eq(h2_conn_send_headers(p->sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2t_s2c(p), 0);
}

static void pair_with_response(h2t_pair *p, const h2_conn_config *scfg)
{
    pair_with_response2(p, NULL, scfg);
}

/* The DATA bytes the client received on |id|, concatenated. */
static void data_of(const h2t_log *l, uint32_t id, h2t_buf *out)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->ev[i].type == H2_EV_DATA_RECEIVED && l->ev[i].stream_id == id)
            h2t_buf_put(out, l->ev[i].data, l->ev[i].len);
}

/* ---- by-reference DATA -------------------------------------------------------------------------
 */

Test(conn_output, ref_round_trip)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *body = pattern(4000, 1);
    rel r = {0};
    size_t before = h2_conn_output_pending(p.sv);
    cr_assert_eq(before, 0);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 4000, H2_SEND_END_STREAM, -1, on_release, &r),
                 0);
    cr_assert_eq(r.calls, 0, "released before the bytes were taken");
    cr_assert_eq(h2_conn_output_pending(p.sv), 9 + 4000);
    struct iovec iov[4];
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 2);
    cr_assert_eq(iov[0].iov_len, 9);
    cr_assert_eq(iov[1].iov_base, body, "the payload is handed out by reference");
    cr_assert_eq(iov[1].iov_len, 4000);
    cr_assert_eq(xfer_iov(p.sv, p.cl, &p.cl_log), 0);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.data, body);
    cr_assert_eq(r.len, 4000);
    h2t_buf got;
    h2t_buf_init(&got);
    data_of(&p.cl_log, 1, &got);
    cr_assert_eq(got.len, 4000);
    cr_assert_eq(memcmp(got.p, body, 4000), 0);
    cr_assert_eq(h2t_log_count(&p.cl_log, H2_EV_STREAM_ENDED), 1);
    h2t_buf_free(&got);
    h2t_pair_free(&p);
    cr_assert_eq(r.calls, 1, "released again at free");
    free(body);
}

Test(conn_output, ref_without_callback)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *body = pattern(1000, 2);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 1000, 0, -1, NULL, NULL), 0);
    cr_assert_eq(h2_conn_output_pending(p.sv), 1009);
    cr_assert_eq(xfer_iov(p.sv, p.cl, &p.cl_log), 0);
    h2t_buf got;
    h2t_buf_init(&got);
    data_of(&p.cl_log, 1, &got);
    cr_assert_eq(got.len, 1000);
    cr_assert_eq(memcmp(got.p, body, 1000), 0);
    h2t_buf_free(&got);
    h2t_pair_free(&p);
    free(body);
}

Test(conn_output, small_payload_copied_and_released_at_once)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t body[255];
    memset(body, 'a', sizeof(body));
    rel r = {0};
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, sizeof(body), 0, -1, on_release, &r), 0);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.data, body);
    cr_assert_eq(r.len, 255);
    memset(body, 'b', sizeof(body)); /* the caller may reuse it at once */
    struct iovec iov[4];
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 1, "copied into the own buffer");
    cr_assert_eq(iov[0].iov_len, 9 + 255);
    cr_assert_eq(((const uint8_t *)iov[0].iov_base)[9], 'a');
    cr_assert_eq(((const uint8_t *)iov[0].iov_base)[9 + 254], 'a');
    /* 256 bytes is the first length sent by reference */
    uint8_t *big = pattern(256, 3);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, big, 256, 0, -1, on_release, &r), 0);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 2);
    cr_assert_eq(iov[1].iov_base, big);
    /* an empty frame never holds a reference */
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, big, 0, H2_SEND_END_STREAM, -1, on_release, &r), 0);
    cr_assert_eq(r.calls, 2);
    cr_assert_eq(r.len, 0);
    cr_assert_eq(xfer_iov(p.sv, p.cl, &p.cl_log), 0);
    cr_assert_eq(r.calls, 3);
    cr_assert_eq(r.data, big);
    h2t_buf got;
    h2t_buf_init(&got);
    data_of(&p.cl_log, 1, &got);
    cr_assert_eq(got.len, 255 + 256);
    cr_assert_eq(got.p[0], 'a');
    cr_assert_eq(memcmp(got.p + 255, big, 256), 0);
    h2t_buf_free(&got);
    h2t_pair_free(&p);
    free(big);
}

Test(conn_output, refused_call_keeps_ownership)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *body = pattern(1000, 4);
    rel r = {0};
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 3, body, 1000, 0, -1, on_release, &r), H2_ENOSTREAM);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 1000, 0, 256, on_release, &r), H2_EINVAL);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, NULL, 1000, 0, -1, on_release, &r), H2_EINVAL);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 1000, 0x80, -1, on_release, &r), H2_EINVAL);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 16385, 0, -1, on_release, &r),
                 H2_EFRAME_SIZE);
    cr_assert_eq(r.calls, 0);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    h2t_pair_free(&p);
    cr_assert_eq(r.calls, 0);
    free(body);
}

Test(conn_output, release_exactly_once_on_partial_consume)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *body = pattern(600, 5);
    rel r = {0};
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 600, 0, -1, on_release, &r), 0);
    /* byte by byte: released by the consume that takes the last payload byte */
    for (size_t i = 0; i < 9 + 600; i++) {
        cr_assert_eq(r.calls, 0, "released after %zu bytes", i);
        const uint8_t *v;
        size_t n;
        h2_conn_output_view(p.sv, &v, &n);
        if (i < 9) {
            cr_assert_eq(n, 9 - i);
        } else {
            cr_assert_eq(v, body + (i - 9), "the view points into the payload");
            cr_assert_eq(n, 600 - (i - 9));
        }
        h2_conn_output_consume(p.sv, 1);
    }
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    h2_conn_output_consume(p.sv, 10);
    h2_conn_clear_output(p.sv);
    h2t_pair_free(&p);
    cr_assert_eq(r.calls, 1);
    free(body);
}

Test(conn_output, release_on_clear_and_on_free)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *a = pattern(500, 6), *b = pattern(700, 7);
    rel ra = {0}, rb = {0};
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 500, 0, -1, on_release, &ra), 0);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, b, 700, 0, -1, on_release, &rb), 0);
    h2_conn_output_consume(p.sv, 20); /* into a's payload */
    cr_assert_eq(ra.calls, 0);
    h2_conn_clear_output(p.sv);
    cr_assert_eq(ra.calls, 1);
    cr_assert_eq(rb.calls, 1);
    cr_assert_eq(rb.data, b);
    cr_assert_eq(rb.len, 700);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    h2_conn_clear_output(p.sv);
    cr_assert_eq(ra.calls, 1);
    /* queued again, then the connection is freed */
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 500, 0, -1, on_release, &ra), 0);
    cr_assert_eq(h2_conn_ping(p.sv, (const uint8_t *)"12345678"), 0);
    h2t_pair_free(&p);
    cr_assert_eq(ra.calls, 2);
    cr_assert_eq(rb.calls, 1);
    free(a);
    free(b);
}

Test(conn_output, padded_by_reference)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *body = pattern(300, 8);
    rel r = {0};
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, body, 300, H2_SEND_END_STREAM, 10, on_release, &r),
                 0);
    struct iovec iov[4];
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 3);
    cr_assert_eq(iov[0].iov_len, 10);
    cr_assert_eq(iov[1].iov_base, body);
    cr_assert_eq(iov[2].iov_len, 10);
    h2t_buf out;
    h2t_buf_init(&out);
    gather_iov(p.sv, &out);
    static const uint8_t hd[10] = {0, 0x01, 0x37, 0x0, 0x9, 0, 0, 0, 1, 10};
    cr_assert_eq(out.len, 9 + 1 + 300 + 10);
    cr_assert_eq(memcmp(out.p, hd, 10), 0);
    cr_assert_eq(memcmp(out.p + 10, body, 300), 0);
    for (size_t i = 310; i < 320; i++)
        cr_assert_eq(out.p[i], 0);
    cr_assert_eq(xfer_iov(p.sv, p.cl, &p.cl_log), 0);
    cr_assert_eq(r.calls, 1);
    const h2t_ev *e = h2t_log_find(&p.cl_log, H2_EV_DATA_RECEIVED, 0);
    cr_assert_not_null(e);
    cr_assert_eq(e->len, 300);
    cr_assert_eq(e->fcl, 311);
    cr_assert_eq(memcmp(e->data, body, 300), 0);
    int32_t w;
    cr_assert_eq(h2_conn_send_window(p.sv, 0, &w), 0);
    cr_assert_eq(w, 65535 - 311);
    h2t_buf_free(&out);
    h2t_pair_free(&p);
    free(body);
}

/* ---- ordering and the three readers ------------------------------------------------------------
 */

/* Queues control frames and DATA, by reference and copied, on two streams. */
static void queue_mix(h2t_pair *p, uint8_t *a, uint8_t *b, rel *r)
{
    cr_assert_eq(h2t_send_get(p->cl, 3, true), 0);
    cr_assert_eq(h2t_c2s(p), 0);
    cr_assert_eq(h2_conn_send_headers(p->sv, 3, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_ping(p->sv, (const uint8_t *)"pingpong"), 0);
    cr_assert_eq(h2_conn_send_data_ref(p->sv, 1, a, 1000, 0, -1, on_release, r), 0);
    cr_assert_eq(h2_conn_send_data_ref(p->sv, 3, b, 2000, 0, -1, on_release, r), 0);
    cr_assert_eq(h2_conn_increment_window(p->sv, 0, 100), 0);
    cr_assert_eq(h2_conn_send_data(p->sv, 1, (const uint8_t *)"tail", 4, 0, -1), 0);
    cr_assert_eq(
        h2_conn_send_data_ref(p->sv, 1, a + 1000, 500, H2_SEND_END_STREAM, -1, on_release, r), 0);
    cr_assert_eq(
        h2_conn_send_data_ref(p->sv, 3, b + 2000, 300, H2_SEND_END_STREAM, -1, on_release, r), 0);
    h2_setting s = {H2_SETTING_MAX_CONCURRENT_STREAMS, 7};
    cr_assert_eq(h2_conn_update_settings(p->sv, &s, 1), 0);
}

Test(conn_output, order_with_control_frames)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *a = pattern(1500, 9), *b = pattern(2300, 10);
    rel r = {0};
    queue_mix(&p, a, b, &r);
    h2t_buf out;
    h2t_buf_init(&out);
    gather_iov(p.sv, &out);
    h2t_frame f[16];
    size_t n = h2t_parse_frames(out.p, out.len, f, 16);
    static const uint8_t want[] = {H2_FRAME_HEADERS, H2_FRAME_PING,          H2_FRAME_DATA,
                                   H2_FRAME_DATA,    H2_FRAME_WINDOW_UPDATE, H2_FRAME_DATA,
                                   H2_FRAME_DATA,    H2_FRAME_DATA,          H2_FRAME_SETTINGS};
    static const uint32_t want_id[] = {3, 0, 1, 3, 0, 1, 1, 3, 0};
    cr_assert_eq(n, H2T_N(want));
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(f[i].type, want[i], "frame %zu has type %u", i, f[i].type);
        cr_assert_eq(f[i].id, want_id[i], "frame %zu on stream %u", i, f[i].id);
    }
    cr_assert_eq(f[2].len, 1000);
    cr_assert_eq(memcmp(f[2].payload, a, 1000), 0);
    cr_assert_eq(f[3].len, 2000);
    cr_assert_eq(memcmp(f[3].payload, b, 2000), 0);
    cr_assert_eq(memcmp(f[5].payload, "tail", 4), 0);
    cr_assert_eq(memcmp(f[6].payload, a + 1000, 500), 0);
    cr_assert_eq(f[7].flags, H2_FLAG_END_STREAM);
    cr_assert_eq(memcmp(f[7].payload, b + 2000, 300), 0);
    cr_assert_eq(memcmp(f[1].payload, "pingpong", 8), 0);

    /* the client sees the bodies whole */
    cr_assert_eq(xfer_iov(p.sv, p.cl, &p.cl_log), 0);
    cr_assert_eq(r.calls, 4);
    h2t_buf got;
    h2t_buf_init(&got);
    data_of(&p.cl_log, 1, &got);
    cr_assert_eq(got.len, 1504);
    cr_assert_eq(memcmp(got.p, a, 1000), 0);
    cr_assert_eq(memcmp(got.p + 1000, "tail", 4), 0);
    cr_assert_eq(memcmp(got.p + 1004, a + 1000, 500), 0);
    got.len = 0;
    data_of(&p.cl_log, 3, &got);
    cr_assert_eq(got.len, 2300);
    cr_assert_eq(memcmp(got.p, b, 2300), 0);
    cr_assert_eq(h2t_log_count(&p.cl_log, H2_EV_STREAM_ENDED), 2);
    cr_assert_eq(h2t_log_count(&p.cl_log, H2_EV_PING_RECEIVED), 1);
    h2t_buf_free(&got);
    h2t_buf_free(&out);
    h2t_pair_free(&p);
    free(a);
    free(b);
}

/* The same queue read by data_to_send in small pieces and by view/consume gives the same bytes. */
Test(conn_output, readers_agree)
{
    uint8_t *a = pattern(1500, 11), *b = pattern(2300, 12);
    h2t_buf ref;
    h2t_buf_init(&ref);
    for (int way = 0; way < 4; way++) {
        h2t_pair p;
        pair_with_response(&p, NULL);
        rel r = {0};
        queue_mix(&p, a, b, &r);
        size_t total = h2_conn_output_pending(p.sv);
        h2t_buf out;
        h2t_buf_init(&out);
        if (way == 0) {
            gather_iov(p.sv, &out);
            h2_conn_output_consume(p.sv, out.len);
        } else if (way == 1 || way == 2) {
            size_t cap = way == 1 ? 7 : 4096;
            uint8_t tmp[4096];
            size_t k;
            while ((k = h2_conn_data_to_send(p.sv, tmp, cap)) > 0) {
                cr_assert_leq(k, cap);
                h2t_buf_put(&out, tmp, k);
            }
        } else {
            const uint8_t *v;
            size_t n;
            for (h2_conn_output_view(p.sv, &v, &n); n > 0; h2_conn_output_view(p.sv, &v, &n)) {
                size_t take = n > 3 ? n - 3 : n; /* leave a few bytes of each segment */
                h2t_buf_put(&out, v, take);
                h2_conn_output_consume(p.sv, take);
            }
        }
        cr_assert_eq(out.len, total);
        cr_assert_eq(h2_conn_output_pending(p.sv), 0);
        cr_assert_eq(r.calls, 4, "way %d: %d releases", way, r.calls);
        if (way == 0) {
            h2t_buf_put(&ref, out.p, out.len);
        } else {
            cr_assert_eq(out.len, ref.len);
            cr_assert_eq(memcmp(out.p, ref.p, ref.len), 0, "way %d differs", way);
        }
        h2t_buf_free(&out);
        h2t_pair_free(&p);
    }
    h2t_buf_free(&ref);
    free(a);
    free(b);
}

Test(conn_output, iov_with_small_max)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *a = pattern(1000, 13), *b = pattern(800, 14);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 1000, 0, -1, NULL, NULL), 0);
    cr_assert_eq(h2_conn_ping(p.sv, (const uint8_t *)"abcdefgh"), 0);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, b, 800, 0, -1, NULL, NULL), 0);
    /* segments: [hd 9] [a 1000] [ping 17 + hd 9] [b 800] */
    static const size_t lens[] = {9, 1000, 26, 800};
    struct iovec iov[8];
    memset(iov, 0, sizeof(iov));
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 0), 0);
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, -3), 0);
    cr_assert_eq(h2_conn_output_iov(p.sv, NULL, 0), 0);
    cr_assert_eq(h2_conn_output_iov(p.sv, NULL, 2), H2_EINVAL);
    cr_assert_eq(h2_conn_output_iov(NULL, iov, 2), H2_EINVAL);
    for (int max = 1; max <= 6; max++) {
        memset(iov, 0, sizeof(iov));
        int n = h2_conn_output_iov(p.sv, iov, max);
        cr_assert_eq(n, max < 4 ? max : 4, "max %d gave %d", max, n);
        for (int i = 0; i < n; i++)
            cr_assert_eq(iov[i].iov_len, lens[i], "max %d iov %d", max, i);
        cr_assert_null(iov[n].iov_base, "iov %d written past the count", n);
    }
    cr_assert_eq(iov[1].iov_base, a);
    cr_assert_eq(iov[3].iov_base, b);
    h2_conn_output_consume(p.sv, 9 + 1000 + 26 + 800);
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 8), 0);
    h2t_pair_free(&p);
    free(a);
    free(b);
}

Test(conn_output, partial_consume_inside_segments)
{
    h2t_pair p;
    pair_with_response(&p, NULL);
    uint8_t *a = pattern(1000, 15);
    cr_assert_eq(h2_conn_ping(p.sv, (const uint8_t *)"abcdefgh"), 0);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 1000, 0, -1, NULL, NULL), 0);
    cr_assert_eq(h2_conn_ping(p.sv, (const uint8_t *)"ijklmnop"), 0);
    /* [ping 17 + hd 9] [a 1000] [ping 17] */
    struct iovec iov[4];
    h2_conn_output_consume(p.sv, 5);
    cr_assert_eq(h2_conn_output_pending(p.sv), 26 - 5 + 1000 + 17);
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 3);
    cr_assert_eq(iov[0].iov_len, 21);
    cr_assert_eq(((const uint8_t *)iov[0].iov_base)[21 - 9 - 8], 'a', "ping payload shifted");
    h2_conn_output_consume(p.sv, 21 + 333);
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 2);
    cr_assert_eq(iov[0].iov_base, a + 333);
    cr_assert_eq(iov[0].iov_len, 667);
    cr_assert_eq(iov[1].iov_len, 17);
    /* more queued while a reference is in the middle */
    cr_assert_eq(h2_conn_send_data(p.sv, 1, (const uint8_t *)"xy", 2, 0, -1), 0);
    cr_assert_eq(h2_conn_output_iov(p.sv, iov, 4), 2, "own bytes after a reference stay one run");
    cr_assert_eq(iov[1].iov_len, 17 + 11);
    uint8_t tmp[2000];
    size_t k = h2_conn_data_to_send(p.sv, tmp, sizeof(tmp));
    cr_assert_eq(k, 667 + 17 + 11);
    cr_assert_eq(memcmp(tmp, a + 333, 667), 0);
    cr_assert_eq(memcmp(tmp + 667 + 9, "ijklmnop", 8), 0);
    cr_assert_eq(memcmp(tmp + 667 + 17 + 9, "xy", 2), 0);
    cr_assert_eq(h2_conn_output_pending(p.sv), 0);
    h2t_pair_free(&p);
    free(a);
}

Test(conn_output, high_water_counts_referenced_bytes)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.output_high_water = 3000;
    h2t_pair p;
    pair_with_response(&p, &scfg);
    uint8_t *a = pattern(16384, 16);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 2900, 0, -1, NULL, NULL), 0);
    cr_assert_eq(h2_conn_output_pending(p.sv), 2909);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 1000, 0, -1, NULL, NULL), 0, "at the mark");
    cr_assert_eq(h2_conn_output_pending(p.sv), 3918);
    rel r = {0};
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 1000, 0, -1, on_release, &r), H2_ENOBUFS);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, a, 10, 0, -1), H2_ENOBUFS);
    cr_assert_eq(h2_conn_ping(p.sv, (const uint8_t *)"12345678"), H2_ENOBUFS);
    cr_assert_eq(r.calls, 0);
    /* part of the output leaves: room again */
    h2t_buf wire;
    h2t_buf_init(&wire);
    const uint8_t *v;
    size_t n;
    h2_conn_output_view(p.sv, &v, &n);
    cr_assert_eq(n, 9);
    h2t_buf_put(&wire, v, 9);
    h2_conn_output_consume(p.sv, 9);
    h2_conn_output_view(p.sv, &v, &n);
    cr_assert_eq(v, a);
    h2t_buf_put(&wire, v, 1000);
    h2_conn_output_consume(p.sv, 1000);
    cr_assert_eq(h2_conn_output_pending(p.sv), 2909);
    cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a, 1000, 0, -1, on_release, &r), 0);
    cr_assert_eq(h2_conn_output_pending(p.sv), 3918);
    gather_iov(p.sv, &wire);
    h2_conn_output_consume(p.sv, 3918);
    cr_assert_eq(r.calls, 1);
    int rv = h2t_feed(p.cl, wire.p, wire.len, &p.cl_log);
    cr_assert_eq(rv, 0, "%s", h2_strerror(rv));
    h2t_buf got;
    h2t_buf_init(&got);
    data_of(&p.cl_log, 1, &got);
    cr_assert_eq(got.len, 2900 + 1000 + 1000);
    cr_assert_eq(memcmp(got.p, a, 2900), 0);
    cr_assert_eq(memcmp(got.p + 2900, a, 1000), 0);
    cr_assert_eq(memcmp(got.p + 3900, a, 1000), 0);
    h2t_buf_free(&wire);
    h2t_buf_free(&got);
    h2t_pair_free(&p);
    free(a);
}

/* Steady state: queuing by reference and draining does not allocate. */
Test(conn_output, steady_state_does_not_allocate)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config scfg, ccfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.mem = &tm.mem;
    h2_conn_config_init(&ccfg, H2_ROLE_CLIENT);
    ccfg.initial_window_size = H2_MAX_WINDOW_SIZE;
    ccfg.connection_window_size = H2_MAX_WINDOW_SIZE;
    h2t_pair p;
    pair_with_response2(&p, &ccfg, &scfg);
    uint8_t *a = pattern(16384, 17);
    struct iovec iov[16];
    size_t allocs = 0;
    for (int round = 0; round < 50; round++) {
        if (round == 2)
            allocs = tm.n_alloc;
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(h2_conn_send_data_ref(p.sv, 1, a + k, 1000, 0, -1, NULL, NULL), 0);
            cr_assert_eq(h2_conn_ping(p.sv, (const uint8_t *)"12345678"), 0);
        }
        int n = h2_conn_output_iov(p.sv, iov, 16);
        cr_assert_eq(n, 7); /* [hd] [ref] [ping hd] [ref] [ping hd] [ref] [ping] */
        h2_conn_output_consume(p.sv, h2_conn_output_pending(p.sv));
    }
    cr_assert_eq(tm.n_alloc, allocs, "%zu allocations in steady state", tm.n_alloc - allocs);
    h2t_pair_free(&p);
    cr_assert_eq(tm.live_blocks, 0);
    free(a);
}

/* Every allocation of a by-reference exchange fails in turn. */
static int ref_scenario(testmem *tm, void *arg)
{
    (void)arg;
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.mem = &tm->mem;
    h2_conn *sv = NULL;
    int rv = h2_conn_new(&sv, &scfg);
    if (rv != 0)
        return rv == H2_ENOMEM ? 0 : 1;
    static uint8_t body[3000];
    rel r = {0};
    int queued = 0, bad = 0;
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_f_headers(&ff, &in, 1, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, h2t_req_get, 4);
    h2t_ff_free(&ff);
    const h2_event *ev;
    size_t nev;
    rv = h2_conn_initiate(sv);
    if (rv == 0)
        rv = h2_conn_receive(sv, in.p, in.len, &ev, &nev);
    if (rv == 0)
        rv = h2_conn_send_headers(sv, 1, h2t_resp_200, 2, 0, NULL);
    for (int k = 0; k < 3 && rv == 0; k++) {
        rv = h2_conn_send_data_ref(sv, 1, body + 1000 * k, 1000, 0, -1, on_release, &r);
        queued += rv == 0;
        if (rv == 0 && k == 1)
            rv = h2_conn_ping(sv, (const uint8_t *)"12345678");
    }
    if (rv != 0 && rv != H2_ENOMEM)
        bad = 1;
    if (r.calls != 0)
        bad = 1;
    /* what was queued is whole */
    struct iovec iov[16];
    int n = h2_conn_output_iov(sv, iov, 16);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (total != h2_conn_output_pending(sv))
        bad = 1;
    h2_conn_output_consume(sv, total / 2);
    h2_conn_free(sv);
    if (r.calls != queued)
        bad = 1;
    h2t_buf_free(&in);
    return bad;
}

Test(conn_output, allocation_failures)
{
    size_t calls = testmem_sweep(ref_scenario, NULL);
    cr_assert_gt(calls, 3);
}

/* ---- events released after a burst -------------------------------------------------------------
 */

static const h2_header burst_req[] = {
    H2T_HDR(":method", "GET"),
    H2T_HDR(":scheme", "https"),
    H2T_HDR(":authority", "www.example.com"),
    H2T_HDR(":path", "/static/app/main.js?v=12345"),
    H2T_HDR("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                          "like Gecko) Chrome/120.0.0.0 Safari/537.36"),
    H2T_HDR("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                      "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
    H2T_HDR("accept-encoding", "gzip, deflate, br"),
    H2T_HDR("accept-language", "en-US,en;q=0.9"),
    H2T_HDR("cookie", "session=abcdef0123456789; theme=dark"),
};

#define BURST 1000u

typedef struct burst {
    testmem tm;
    h2_conn *cl, *sv;
    size_t idle;     /* server live bytes after the handshake, events released */
    size_t held;     /* right after the receive of the burst */
    size_t released; /* after h2_conn_release_events */
} burst;

/* Receives BURST requests in one call; |release|: then releases the events. */
static void burst_run(burst *b, bool release)
{
    testmem_init(&b->tm);
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.max_concurrent_streams = BURST;
    scfg.mem = &b->tm.mem;
    b->cl = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    b->sv = h2t_conn_new(H2_ROLE_SERVER, &scfg);
    h2t_handshake(b->cl, b->sv);
    h2_conn_release_events(b->sv);
    b->idle = b->tm.live_bytes;
    for (uint32_t i = 0; i < BURST; i++)
        cr_assert_eq(h2_conn_send_headers(b->cl, 2 * i + 1, burst_req, H2T_N(burst_req),
                                          H2_SEND_END_STREAM, NULL),
                     0);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_take(b->cl, &in);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(b->sv, in.p, in.len, &ev, &n), 0);
    cr_assert_eq(n, 2 * BURST);
    size_t ok = 0;
    for (size_t i = 0; i < n; i += 2) {
        cr_assert_eq(ev[i].type, H2_EV_REQUEST_RECEIVED);
        cr_assert_eq(ev[i].u.headers.n, H2T_N(burst_req));
        const h2_header *f = &ev[i].u.headers.fields[4];
        ok += f->value_len == burst_req[4].value_len &&
              memcmp(f->value, burst_req[4].value, f->value_len) == 0;
    }
    cr_assert_eq(ok, BURST);
    b->held = b->tm.live_bytes;
    if (release)
        h2_conn_release_events(b->sv);
    b->released = b->tm.live_bytes;
    cr_assert_eq(h2_conn_open_inbound_streams(b->sv), BURST);
    h2t_buf_free(&in);
}

static void burst_free(burst *b)
{
    h2_conn_free(b->cl);
    h2_conn_free(b->sv);
    cr_assert_eq(b->tm.live_blocks, 0);
}

Test(conn_output, burst_memory_returns_after_release)
{
    burst b;
    burst_run(&b, true);
    /* during the call: events and decoded fields of every request */
    cr_assert_gt(b.held - b.idle, (size_t)BURST * 500, "held %zu", b.held - b.idle);
    /* after: the stream objects (well under 128 bytes each) and 4 KiB buffers */
    cr_assert_lt(b.released - b.idle, (size_t)BURST * 128, "kept %zu bytes for %u streams",
                 b.released - b.idle, BURST);
    /* releasing again changes nothing; closing the streams keeps their
     * objects pooled for reuse: only the output buffer that held the 1000
     * RST_STREAM frames (13 KB) is added */
    h2_conn_release_events(b.sv);
    cr_assert_eq(b.tm.live_bytes, b.released);
    for (uint32_t i = 0; i < BURST; i++)
        cr_assert_eq(h2_conn_reset_stream(b.sv, 2 * i + 1, H2_CANCEL), 0);
    h2_conn_clear_output(b.sv);
    cr_assert_eq(h2_conn_open_inbound_streams(b.sv), 0);
    cr_assert_leq(b.tm.live_bytes, b.released + 32 * 1024, "%zu bytes above idle, %zu before",
                  b.tm.live_bytes - b.idle, b.released - b.idle);
    burst_free(&b);
}

Test(conn_output, next_receive_trims_too)
{
    burst b;
    burst_run(&b, false);
    cr_assert_eq(b.released, b.held);
    h2_conn_release_events(NULL);
    /* not released by the caller: the next receive gives the memory back */
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_ping(&in, 0, (const uint8_t *)"12345678");
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(b.sv, in.p, in.len, &log), 0);
    cr_assert_eq(log.n, 1);
    cr_assert_eq(log.ev[0].type, H2_EV_PING_RECEIVED);
    cr_assert_eq(memcmp(log.ev[0].ping, "12345678", 8), 0);
    cr_assert_lt(b.tm.live_bytes - b.idle, (size_t)BURST * 128, "kept %zu bytes",
                 b.tm.live_bytes - b.idle);
    h2t_log_free(&log);
    h2t_buf_free(&in);
    burst_free(&b);
}

/*
 * A header block split over two receive calls, with the events released in
 * between, after a first call that made the per-call buffers grow: the core
 * keeps nothing of the released memory.
 */
Test(conn_output, release_between_header_fragments)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf first;
    h2t_buf_init(&first);
    for (uint32_t id = 1; id < 400; id += 2)
        h2t_f_headers(&ff, &first, id, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, burst_req,
                      H2T_N(burst_req));
    h2t_buf block;
    h2t_buf_init(&block);
    h2t_ff_encode(&ff, burst_req, H2T_N(burst_req), &block);
    h2t_buf a, c;
    h2t_buf_init(&a);
    h2t_buf_init(&c);
    size_t half = block.len / 2;
    h2t_f_headers_raw(&a, 401, H2_FLAG_END_STREAM, block.p, half, -1, 0, false, -1);
    h2t_f_continuation(&c, 401, H2_FLAG_END_HEADERS, block.p + half, block.len - half);
    for (int release = 0; release < 2; release++) {
        h2_conn_config cfg;
        h2_conn_config_init(&cfg, H2_ROLE_SERVER);
        cfg.max_concurrent_streams = 1000;
        h2_conn *sv = h2t_server_ready(&cfg);
        h2t_log log;
        h2t_log_init(&log);
        cr_assert_eq(h2t_feed(sv, first.p, first.len, &log), 0);
        cr_assert_eq(log.n, 400);
        h2t_log_clear(&log);
        if (release)
            h2_conn_release_events(sv);
        cr_assert_eq(h2t_feed(sv, a.p, a.len, &log), 0);
        cr_assert_eq(log.n, 0);
        if (release) {
            h2_conn_release_events(sv);
            h2_conn_release_events(sv);
        }
        cr_assert_eq(h2t_feed(sv, c.p, c.len, &log), 0);
        cr_assert_eq(log.n, 2);
        cr_assert_eq(log.ev[0].type, H2_EV_REQUEST_RECEIVED);
        cr_assert_eq(log.ev[0].stream_id, 401);
        cr_assert_eq(log.ev[0].n_hdrs, H2T_N(burst_req));
        cr_assert_str_eq(h2t_ev_header(&log.ev[0], "cookie"),
                         "session=abcdef0123456789; theme=dark");
        cr_assert_str_eq(h2t_ev_header(&log.ev[0], ":path"), "/static/app/main.js?v=12345");
        cr_assert_eq(log.ev[1].type, H2_EV_STREAM_ENDED);
        h2t_log_free(&log);
        h2_conn_free(sv);
    }
    h2t_buf_free(&first);
    h2t_buf_free(&a);
    h2t_buf_free(&c);
    h2t_buf_free(&block);
    h2t_ff_free(&ff);
}
