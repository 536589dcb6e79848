/*
 * Incremental frame reader: split invariance, zero copy, sticky errors,
 * the size limit at header time, and memory (bounds, failures, leaks).
 */
#include <criterion/criterion.h>
#include "frame_testutil.h"
#include "support/testmem.h"

static const uint8_t BLOCK[] =
    "\x82\x86\x84\x41\x8c\xf1\xe3\xc2\xe5\xf2\x3a\x6b\xa0\xab\x90\xf4\xff";

TestSuite(frame_reader, .timeout = 60);

/* A stream holding every frame type and variant, back to back. */
static size_t build_stream(uint8_t *b)
{
    size_t n = 0;
    h2_priority_spec ps = {3, 42, true};
    h2_settings_entry se[3] = {{1, 0}, {4, 1u << 20}, {9, 1}};
    const uint8_t op[8] = "pingpong";
    n += h2_frame_pack_settings(b + n, 0, se, 3);
    n += h2_frame_pack_settings(b + n, H2_FLAG_ACK, NULL, 0);
    n += h2_frame_pack_window_update(b + n, 0, 1u << 30);
    n += h2_frame_pack_headers(b + n, 1, H2_FLAG_END_HEADERS, NULL, BLOCK, 17, -1);
    n += h2_frame_pack_headers(b + n, 3, 0, &ps, BLOCK, 10, 7);
    n += h2_frame_pack_continuation(b + n, 3, 0, BLOCK, 3);
    n += h2_frame_pack_continuation(b + n, 3, H2_FLAG_END_HEADERS, NULL, 0);
    n += h2_frame_pack_data(b + n, 1, 0, BLOCK, 17, -1);
    n += h2_frame_pack_data(b + n, 1, 0, NULL, 0, -1);
    n += h2_frame_pack_data(b + n, 3, H2_FLAG_END_STREAM, BLOCK, 2, 30);
    n += h2_frame_pack_priority(b + n, 5, &ps);
    n += h2_frame_pack_rst_stream(b + n, 3, H2_CANCEL);
    n += h2_frame_pack_push_promise(b + n, 1, H2_FLAG_END_HEADERS, 2, BLOCK, 8, -1);
    n += h2_frame_pack_push_promise(b + n, 1, 0, 4, BLOCK, 5, 3);
    n += h2_frame_pack_ping(b + n, 0, op);
    n += h2_frame_pack_ping(b + n, H2_FLAG_ACK, op);
    n += h2_frame_pack_window_update(b + n, 1, 0);
    n += h2_frame_pack_altsvc(b + n, 0, (const uint8_t *)"https://a.example", 17,
                              (const uint8_t *)"h2=\":443\"", 9);
    n += h2_frame_pack_altsvc(b + n, 1, NULL, 0, (const uint8_t *)"clear", 5);
    n += h2_frame_pack_priority_update(b + n, 1, (const uint8_t *)"u=0", 3);
    n += h2_frame_pack_unknown(b + n, 0xb, 0xff, 0, BLOCK, 4);
    n += h2_frame_pack_unknown(b + n, 0xff, 0, 7, NULL, 0);
    n += h2_frame_pack_goaway(b + n, 3, H2_NO_ERROR, (const uint8_t *)"bye", 3);
    return n;
}
#define STREAM_FRAMES 23

static void assert_same(const feed_result *a, const feed_result *b, const char *what)
{
    cr_assert_eq(b->final_rv, a->final_rv, "%s", what);
    cr_assert_eq(b->wire_error, a->wire_error, "%s", what);
    cr_assert_eq(b->n_frames, a->n_frames, "%s", what);
    for (size_t i = 0; i < a->n_frames && i < FEED_MAX_FRAMES; i++)
        cr_assert_str_eq(b->desc[i], a->desc[i], "%s, frame %zu", what, i);
    cr_assert_eq(b->left_in_reader, a->left_in_reader, "%s", what);
}

Test(frame_reader, stream_whole_split_bytewise)
{
    uint8_t b[1024];
    size_t len = build_stream(b);
    feed_result whole, other;
    feed_whole(b, len, H2_DEFAULT_MAX_FRAME_SIZE, &whole);
    cr_assert_eq(whole.final_rv, 0);
    cr_assert_eq(whole.n_frames, STREAM_FRAMES);
    cr_assert_eq(whole.left_in_reader, 0);
    char msg[64];
    for (size_t cut = 0; cut <= len; cut++) {
        feed_chunks(b, len, &cut, 1, H2_DEFAULT_MAX_FRAME_SIZE, &other);
        snprintf(msg, sizeof(msg), "split at %zu", cut);
        assert_same(&whole, &other, msg);
    }
    feed_bytewise(b, len, H2_DEFAULT_MAX_FRAME_SIZE, &other);
    assert_same(&whole, &other, "byte by byte");
}

Test(frame_reader, stream_random_multi_splits)
{
    uint8_t b[1024];
    size_t len = build_stream(b);
    feed_result whole, other;
    feed_whole(b, len, H2_DEFAULT_MAX_FRAME_SIZE, &whole);
    uint32_t seed = 12345;
    char msg[64];
    for (int iter = 0; iter < 500; iter++) {
        size_t cuts[12];
        size_t n = 0, pos = 0;
        while (n < 12) {
            seed = seed * 1103515245u + 12345u;
            pos += (seed >> 16) % 40;
            if (pos > len)
                break;
            cuts[n++] = pos;
        }
        feed_chunks(b, len, cuts, n, H2_DEFAULT_MAX_FRAME_SIZE, &other);
        snprintf(msg, sizeof(msg), "iteration %d", iter);
        assert_same(&whole, &other, msg);
    }
}

Test(frame_reader, stream_then_error_any_split)
{
    uint8_t b[1100];
    size_t len = build_stream(b);
    /* Append a PING on stream 1: PROTOCOL_ERROR after all good frames. */
    const uint8_t op[8] = {0};
    size_t bad = h2_frame_pack_ping(b + len, 0, op);
    b[len + 8] = 1;
    len += bad;
    feed_result whole, other;
    feed_whole(b, len, H2_DEFAULT_MAX_FRAME_SIZE, &whole);
    cr_assert_eq(whole.n_frames, STREAM_FRAMES);
    cr_assert_eq(whole.final_rv, H2_EFRAME);
    cr_assert_eq(whole.wire_error, H2_PROTOCOL_ERROR);
    char msg[64];
    for (size_t cut = 0; cut <= len; cut++) {
        feed_chunks(b, len, &cut, 1, H2_DEFAULT_MAX_FRAME_SIZE, &other);
        snprintf(msg, sizeof(msg), "split at %zu", cut);
        cr_assert_eq(other.n_frames, STREAM_FRAMES, "%s", msg);
        cr_assert_eq(other.final_rv, H2_EFRAME, "%s", msg);
        cr_assert_eq(other.wire_error, H2_PROTOCOL_ERROR, "%s", msg);
    }
}

Test(frame_reader, whole_frames_are_views_into_the_slice)
{
    uint8_t b[1024];
    size_t len = build_stream(b);
    testmem tm;
    testmem_init(&tm);
    h2_frame_reader r;
    h2_frame_reader_init(&r, &tm.mem);
    const uint8_t *p = b;
    size_t left = len, frames = 0;
    for (;;) {
        size_t used;
        uint32_t we;
        h2_frame f;
        int rv = h2_frame_reader_next(&r, p, left, &used, &f, &we);
        if (rv == 0)
            break;
        cr_assert_eq(rv, 1);
        cr_assert_eq(used, 9 + f.hd.length, "consumed exactly one frame");
        const uint8_t *view = NULL;
        switch (f.hd.type) {
        case H2_FRAME_DATA:
            view = f.u.data.data;
            break;
        case H2_FRAME_HEADERS:
            view = f.u.headers.block;
            break;
        case H2_FRAME_CONTINUATION:
            view = f.u.continuation.block;
            break;
        case H2_FRAME_SETTINGS:
            view = f.u.settings.raw;
            break;
        case H2_FRAME_GOAWAY:
            view = f.u.goaway.debug;
            break;
        case H2_FRAME_ALTSVC:
            view = f.u.altsvc.origin;
            break;
        default:
            break;
        }
        if (view != NULL)
            cr_assert(view >= p + 9 && view <= p + used, "frame %zu view in slice", frames);
        p += used;
        left -= used;
        frames++;
    }
    cr_assert_eq(frames, STREAM_FRAMES);
    cr_assert_eq(left, 0);
    cr_assert_eq(tm.n_calls, 0, "no allocation for whole frames");
    h2_frame_reader_free(&r);
}

Test(frame_reader, straddling_frame_is_copied_then_zero_copy_resumes)
{
    uint8_t b[128];
    size_t n1 = h2_frame_pack_data(b, 1, 0, BLOCK, 17, -1);
    size_t n2 = h2_frame_pack_data(b + n1, 3, 0, BLOCK, 5, -1);
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame f;
    size_t used;
    uint32_t we;
    cr_assert_eq(h2_frame_reader_next(&r, b, 12, &used, &f, &we), 0);
    cr_assert_eq(used, 12);
    cr_assert_eq(r.buf_len, 12);
    cr_assert_eq(h2_frame_reader_next(&r, b + 12, n1 + n2 - 12, &used, &f, &we), 1);
    cr_assert_eq(used, n1 - 12);
    cr_assert_eq(f.hd.stream_id, 1);
    cr_assert_eq(f.u.data.data, r.buf + 9, "straddling frame lives in the reader's buffer");
    cr_assert_arr_eq(f.u.data.data, BLOCK, 17);
    cr_assert_leq(r.buf_cap, (size_t)H2_DEFAULT_MAX_FRAME_SIZE + 9);
    const uint8_t *rest = b + n1;
    cr_assert_eq(h2_frame_reader_next(&r, rest, n2, &used, &f, &we), 1);
    cr_assert_eq(used, n2);
    cr_assert_eq(f.hd.stream_id, 3);
    cr_assert_eq(f.u.data.data, rest + 9, "next whole frame is a view again");
    cr_assert_eq(h2_frame_reader_next(&r, NULL, 0, &used, &f, &we), 0);
    cr_assert_eq(used, 0);
    h2_frame_reader_free(&r);
}

Test(frame_reader, empty_input)
{
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    cr_assert_eq(r.max_frame_size, H2_DEFAULT_MAX_FRAME_SIZE);
    h2_frame f;
    size_t used = 77;
    uint32_t we;
    cr_assert_eq(h2_frame_reader_next(&r, NULL, 0, &used, &f, &we), 0);
    cr_assert_eq(used, 0);
    cr_assert_null(r.buf);
    h2_frame_reader_free(&r);
}

Test(frame_reader, sticky_error)
{
    uint8_t b[64];
    size_t n = h2_frame_pack_rst_stream(b, 1, 0);
    b[2] = 5; /* length 5 */
    uint8_t good[32];
    size_t gn = h2_frame_pack_window_update(good, 0, 100);
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame f;
    size_t used = 99;
    uint32_t we = 0;
    cr_assert_eq(h2_frame_reader_next(&r, b, n, &used, &f, &we), H2_EFRAME);
    cr_assert_eq(we, H2_FRAME_SIZE_ERROR);
    cr_assert_eq(used, 0);
    for (int i = 0; i < 3; i++) {
        used = 99;
        we = 0;
        cr_assert_eq(h2_frame_reader_next(&r, good, gn, &used, &f, &we), H2_EFRAME);
        cr_assert_eq(used, 0, "nothing consumed once failed");
        cr_assert_eq(we, H2_FRAME_SIZE_ERROR, "same code every time");
    }
    cr_assert_eq(h2_frame_reader_next(&r, NULL, 0, &used, &f, &we), H2_EFRAME);
    h2_frame_reader_free(&r);
}

Test(frame_reader, sticky_error_from_buffered_payload)
{
    /* A payload error found after reassembly also sticks. */
    static const uint8_t bad[] = {0, 0, 3, 0, 8, 0, 0, 0, 1, 3, 0, 0}; /* DATA pad 3 of 3 */
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame f;
    size_t used;
    uint32_t we = 0;
    cr_assert_eq(h2_frame_reader_next(&r, bad, 10, &used, &f, &we), 0);
    cr_assert_eq(h2_frame_reader_next(&r, bad + 10, 2, &used, &f, &we), H2_EFRAME);
    cr_assert_eq(we, H2_PROTOCOL_ERROR);
    cr_assert_eq(used, 2);
    we = 0;
    cr_assert_eq(h2_frame_reader_next(&r, bad, sizeof(bad), &used, &f, &we), H2_EFRAME);
    cr_assert_eq(used, 0);
    cr_assert_eq(we, H2_PROTOCOL_ERROR);
    h2_frame_reader_free(&r);
}

Test(frame_reader, reserved_bit_masked)
{
    uint8_t b[32];
    size_t n = h2_frame_pack_data(b, 5, 0, BLOCK, 3, -1);
    b[5] |= 0x80;
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame f;
    size_t used;
    uint32_t we;
    cr_assert_eq(h2_frame_reader_next(&r, b, n, &used, &f, &we), 1);
    cr_assert_eq(f.hd.stream_id, 5);
    /* GOAWAY last stream id and PRIORITY_UPDATE ids are masked too. */
    n = h2_frame_pack_goaway(b, 9, 0, NULL, 0);
    b[9] |= 0x80;
    cr_assert_eq(h2_frame_reader_next(&r, b, n, &used, &f, &we), 1);
    cr_assert_eq(f.u.goaway.last_stream_id, 9);
    h2_frame_reader_free(&r);
}

Test(frame_reader, size_limit_checked_from_the_header_alone)
{
    testmem tm;
    testmem_init(&tm);
    h2_frame_reader r;
    h2_frame_reader_init(&r, &tm.mem);
    uint8_t hd[9];
    h2_frame_hd_pack(hd, 0xffffff, H2_FRAME_DATA, 0, 1);
    h2_frame f;
    size_t used;
    uint32_t we = 0;
    /* Only the 9 header bytes: rejected at once, nothing buffered. */
    cr_assert_eq(h2_frame_reader_next(&r, hd, 9, &used, &f, &we), H2_EFRAME);
    cr_assert_eq(we, H2_FRAME_SIZE_ERROR);
    cr_assert_eq(tm.n_calls, 0);
    h2_frame_reader_free(&r);

    /* Header split 4 + 5: the small header buffer only, then the error. */
    h2_frame_reader_init(&r, &tm.mem);
    h2_frame_hd_pack(hd, H2_DEFAULT_MAX_FRAME_SIZE + 1, H2_FRAME_HEADERS, 4, 1);
    cr_assert_eq(h2_frame_reader_next(&r, hd, 4, &used, &f, &we), 0);
    cr_assert_eq(used, 4);
    cr_assert_eq(h2_frame_reader_next(&r, hd + 4, 5, &used, &f, &we), H2_EFRAME);
    cr_assert_eq(we, H2_FRAME_SIZE_ERROR);
    cr_assert_leq(tm.peak_bytes, 64, "never sized for the oversized frame");
    h2_frame_reader_free(&r);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(frame_reader, max_frame_size_can_change_between_frames)
{
    uint8_t *b = calloc(1, 41000);
    size_t n = h2_frame_pack_data(b, 1, 0, b + 20016, 20000, -1);
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame f;
    size_t used;
    uint32_t we;
    r.max_frame_size = 20000;
    cr_assert_eq(h2_frame_reader_next(&r, b, n - 1, &used, &f, &we), 0);
    cr_assert_eq(r.buf_cap, 20009, "buffer capped at max_frame_size + 9");
    cr_assert_eq(h2_frame_reader_next(&r, b + n - 1, 1, &used, &f, &we), 1);
    cr_assert_eq(f.u.data.len, 20000);
    r.max_frame_size = 19999;
    cr_assert_eq(h2_frame_reader_next(&r, b, n, &used, &f, &we), H2_EFRAME);
    cr_assert_eq(we, H2_FRAME_SIZE_ERROR);
    h2_frame_reader_free(&r);
    free(b);
}

Test(frame_reader, buffer_never_exceeds_limit_bytewise)
{
    testmem tm;
    testmem_init(&tm);
    size_t plen = H2_DEFAULT_MAX_FRAME_SIZE;
    uint8_t *b = malloc(plen + 9);
    uint8_t *src = malloc(plen);
    for (size_t i = 0; i < plen; i++)
        src[i] = (uint8_t)(i ^ (i >> 8));
    h2_frame_pack_data(b, 1, 0, src, plen, -1);
    free(src);
    h2_frame_reader r;
    h2_frame_reader_init(&r, &tm.mem);
    h2_frame f;
    size_t used;
    uint32_t we;
    for (size_t i = 0; i + 1 < plen + 9; i++) {
        cr_assert_eq(h2_frame_reader_next(&r, b + i, 1, &used, &f, &we), 0, "byte %zu", i);
        cr_assert_eq(used, 1);
    }
    cr_assert_eq(h2_frame_reader_next(&r, b + plen + 8, 1, &used, &f, &we), 1);
    cr_assert_eq(f.u.data.len, plen);
    cr_assert_arr_eq(f.u.data.data, b + 9, plen);
    cr_assert_leq(r.buf_cap, plen + 9);
    cr_assert_leq(tm.peak_bytes, plen + 9);
    cr_assert_leq(tm.n_calls, 2, "at most two allocations");
    h2_frame_reader_free(&r);
    cr_assert_eq(tm.live_blocks, 0);
    free(b);
}

Test(frame_reader, buffer_growth_is_capped)
{
    /* A 12000-byte frame then a maximal one: doubling must stop at 16384 + 9. */
    uint8_t *b = calloc(1, 40000);
    uint8_t *src = calloc(1, H2_DEFAULT_MAX_FRAME_SIZE);
    size_t n1 = h2_frame_pack_data(b, 1, 0, src, 12000, -1);
    size_t n2 = h2_frame_pack_data(b + n1, 1, 0, src, H2_DEFAULT_MAX_FRAME_SIZE, -1);
    free(src);
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame f;
    size_t used;
    uint32_t we;
    cr_assert_eq(h2_frame_reader_next(&r, b, 10, &used, &f, &we), 0);
    cr_assert_eq(h2_frame_reader_next(&r, b + 10, n1 - 10, &used, &f, &we), 1);
    cr_assert_eq(r.buf_cap, 12009);
    cr_assert_eq(h2_frame_reader_next(&r, b + n1, 10, &used, &f, &we), 0);
    cr_assert_eq(r.buf_cap, H2_DEFAULT_MAX_FRAME_SIZE + 9);
    cr_assert_eq(h2_frame_reader_next(&r, b + n1 + 10, n2 - 10, &used, &f, &we), 1);
    cr_assert_eq(f.u.data.len, H2_DEFAULT_MAX_FRAME_SIZE);
    h2_frame_reader_free(&r);
    free(b);
}

Test(frame_reader, enomem_consumes_nothing_and_can_be_retried)
{
    testmem tm;
    testmem_init(&tm);
    uint8_t b[300], src[200];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)i;
    size_t n = h2_frame_pack_data(b, 1, 0, src, 200, -1);
    h2_frame_reader r;
    h2_frame_reader_init(&r, &tm.mem);
    h2_frame f;
    size_t used = 99;
    uint32_t we;
    /* Fast path, partial frame: the first allocation fails. */
    tm.fail_at = 1;
    cr_assert_eq(h2_frame_reader_next(&r, b, 100, &used, &f, &we), H2_ENOMEM);
    cr_assert_eq(used, 0);
    cr_assert_eq(r.buf_len, 0);
    cr_assert_eq(tm.live_blocks, 0);
    /* Retry works. */
    cr_assert_eq(h2_frame_reader_next(&r, b, 100, &used, &f, &we), 0);
    cr_assert_eq(used, 100);
    cr_assert_eq(h2_frame_reader_next(&r, b + 100, n - 100, &used, &f, &we), 1);
    cr_assert_eq(f.u.data.len, 200);
    h2_frame_reader_free(&r);
    cr_assert_eq(tm.live_blocks, 0);

    /* Slow path: 5 header bytes buffered (64-byte buffer), then growth fails. */
    testmem_init(&tm);
    h2_frame_reader_init(&r, &tm.mem);
    cr_assert_eq(h2_frame_reader_next(&r, b, 5, &used, &f, &we), 0);
    cr_assert_eq(tm.n_alloc, 1);
    tm.fail_at = tm.n_calls + 1;
    cr_assert_eq(h2_frame_reader_next(&r, b + 5, 100, &used, &f, &we), H2_ENOMEM);
    cr_assert_eq(used, 0);
    cr_assert_eq(r.buf_len, 5, "reader unchanged");
    cr_assert_eq(h2_frame_reader_next(&r, b + 5, n - 5, &used, &f, &we), 1);
    cr_assert_eq(used, n - 5);
    cr_assert_arr_eq(f.u.data.data, src, 200);
    h2_frame_reader_free(&r);
    cr_assert_eq(tm.live_blocks, 0);
}

typedef struct sweep_arg {
    const uint8_t *in;
    size_t len;
    size_t chunk;
} sweep_arg;

/* Feeds the stream in fixed chunks; ENOMEM ends the run cleanly. */
static int sweep_scenario(testmem *tm, void *varg)
{
    const sweep_arg *a = varg;
    h2_frame_reader r;
    h2_frame_reader_init(&r, &tm->mem);
    size_t frames = 0;
    int status = 0;
    for (size_t off = 0; off < a->len && status == 0;) {
        size_t n = a->len - off < a->chunk ? a->len - off : a->chunk;
        const uint8_t *p = a->in + off;
        off += n;
        for (;;) {
            size_t used;
            uint32_t we;
            h2_frame f;
            int rv = h2_frame_reader_next(&r, p, n, &used, &f, &we);
            if (rv == H2_ENOMEM) {
                status = used == 0 ? 1 : -1;
                break;
            }
            if (rv < 0) {
                status = -1;
                break;
            }
            p += used;
            n -= used;
            if (rv == 0)
                break;
            frames++;
        }
    }
    h2_frame_reader_free(&r);
    if (status < 0)
        return 1;
    if (status == 0 && frames != STREAM_FRAMES)
        return 1;
    return 0;
}

Test(frame_reader, allocation_failure_sweep_no_leak)
{
    uint8_t b[1024];
    sweep_arg a = {b, build_stream(b), 7};
    size_t calls = testmem_sweep(sweep_scenario, &a);
    cr_assert_geq(calls, 1);
    cr_assert_leq(calls, 4, "the buffer grows only a few times");
}

Test(frame_reader, free_releases_everything)
{
    testmem tm;
    testmem_init(&tm);
    h2_frame_reader r;
    h2_frame_reader_init(&r, &tm.mem);
    uint8_t b[64];
    size_t n = h2_frame_pack_goaway(b, 1, 0, BLOCK, 10);
    h2_frame f;
    size_t used;
    uint32_t we;
    cr_assert_eq(h2_frame_reader_next(&r, b, n - 3, &used, &f, &we), 0);
    cr_assert_eq(tm.live_blocks, 1);
    h2_frame_reader_free(&r); /* with a partial frame pending */
    cr_assert_eq(tm.live_blocks, 0);
    cr_assert_null(r.buf);
    h2_frame_reader_free(&r); /* twice is harmless */
    cr_assert_eq(tm.live_blocks, 0);
}

Test(frame_reader, buffered_frame_survives_the_next_straddling_frame)
{
    /* One slice can end a buffered frame and begin another: both must hold. */
    uint8_t b[128];
    size_t n1 = h2_frame_pack_data(b, 1, 0, BLOCK, 17, -1);
    size_t n2 = h2_frame_pack_data(b + n1, 3, 0, BLOCK + 1, 16, -1);
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    h2_frame_hd hd;
    const uint8_t *p1 = NULL, *p2 = NULL;
    size_t used;
    cr_assert_eq(h2_frame_reader_take(&r, b, 5, &used, &hd, &p1), 0);
    cr_assert_eq(h2_frame_reader_take(&r, b + 5, n1 + 12 - 5, &used, &hd, &p1), 1);
    cr_assert_eq(used, n1 - 5);
    cr_assert_eq(hd.stream_id, 1);
    cr_assert_eq(h2_frame_reader_take(&r, b + n1, 12, &used, &hd, &p2), 0);
    cr_assert_eq(used, 12);
    cr_assert_arr_eq(p1, BLOCK, 17, "the first frame was not overwritten");
    cr_assert_eq(h2_frame_reader_take(&r, b + n1 + 12, n2 - 12, &used, &hd, &p2), 1);
    cr_assert_eq(hd.stream_id, 3);
    cr_assert_arr_eq(p2, BLOCK + 1, 16);
    cr_assert_arr_eq(p1, BLOCK, 17);
    h2_frame_reader_free(&r);
}

typedef struct counting_reader {
    h2_frame_reader r;
    int seen;
} counting_reader;

static int refuse_stream_7(h2_frame_reader *r, const h2_frame_hd *hd)
{
    counting_reader *cr = (counting_reader *)r;
    cr->seen++;
    return hd->stream_id == 7 ? -12345 : 0;
}

Test(frame_reader, owner_check_runs_once_per_frame_and_its_result_is_returned)
{
    uint8_t b[128];
    size_t n1 = h2_frame_pack_data(b, 1, 0, BLOCK, 17, -1);
    size_t n2 = h2_frame_pack_data(b + n1, 7, 0, BLOCK, 3, -1);
    counting_reader cr = {.seen = 0};
    h2_frame_reader_init(&cr.r, NULL);
    cr.r.check = refuse_stream_7;
    h2_frame_hd hd;
    const uint8_t *p = NULL;
    size_t used;
    cr_assert_eq(h2_frame_reader_take(&cr.r, b, 4, &used, &hd, &p), 0);
    cr_assert_eq(cr.seen, 0, "no header yet");
    cr_assert_eq(h2_frame_reader_take(&cr.r, b + 4, 8, &used, &hd, &p), 0);
    cr_assert_eq(cr.seen, 1);
    cr_assert_eq(h2_frame_reader_take(&cr.r, b + 12, n1 - 12, &used, &hd, &p), 1);
    cr_assert_eq(cr.seen, 1, "not checked again once buffered");
    cr_assert_eq(h2_frame_reader_take(&cr.r, b + n1, n2, &used, &hd, &p), -12345);
    cr_assert_eq(used, 0);
    cr_assert_eq(cr.seen, 2);
    h2_frame_reader_free(&cr.r);
}
