/*
 * Helpers shared by the frame codec tests: a textual description of a
 * parsed frame (so frames from different splits can be compared after their
 * views went stale) and a driver that feeds the reader in given chunks.
 */
#ifndef H2_TESTS_FRAME_TESTUTIL_H
#define H2_TESTS_FRAME_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/frame.h"

#define DESC_MAX 512
#define FEED_MAX_FRAMES 64

/* Appends up to 64 bytes of |p| as hex, then a hash and the length of all |n|. */
static inline size_t hex_append(char *out, size_t pos, size_t cap, const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    for (size_t i = 0; i < n && i < 64 && pos + 3 < cap; i++)
        pos += (size_t)snprintf(out + pos, cap - pos, "%02x", p[i]);
    if (pos < cap)
        pos += (size_t)snprintf(out + pos, cap - pos, "#%08x:%zu", h, n);
    return pos < cap ? pos : cap - 1;
}

/* Describes every field of |f| (views as hex, at most ~DESC_MAX chars). */
static inline void frame_describe(const h2_frame *f, char *out, size_t cap)
{
    size_t pos = (size_t)snprintf(out, cap, "t=%u f=%02x s=%u l=%u pad=%u |", f->hd.type,
                                  f->hd.flags, f->hd.stream_id, f->hd.length, f->pad_len);
#define ADD(...) (pos += pos < cap ? (size_t)snprintf(out + pos, cap - pos, __VA_ARGS__) : 0)
    switch (f->hd.type) {
    case H2_FRAME_DATA:
        pos = hex_append(out, pos, cap, f->u.data.data, f->u.data.len);
        break;
    case H2_FRAME_HEADERS:
        ADD("prio=%d dep=%u w=%u ex=%d ", f->u.headers.has_priority,
            f->u.headers.priority.depends_on, f->u.headers.priority.weight,
            f->u.headers.priority.exclusive);
        pos = hex_append(out, pos, cap, f->u.headers.block, f->u.headers.block_len);
        break;
    case H2_FRAME_PRIORITY:
        ADD("dep=%u w=%u ex=%d", f->u.priority.depends_on, f->u.priority.weight,
            f->u.priority.exclusive);
        break;
    case H2_FRAME_RST_STREAM:
        ADD("err=%u", f->u.rst_error_code);
        break;
    case H2_FRAME_SETTINGS:
        for (size_t i = 0; i < f->u.settings.n; i++) {
            h2_settings_entry e = h2_frame_settings_entry(f, i);
            ADD("%u=%u,", e.id, e.value);
        }
        break;
    case H2_FRAME_PUSH_PROMISE:
        ADD("promised=%u ", f->u.push_promise.promised_stream_id);
        pos = hex_append(out, pos, cap, f->u.push_promise.block, f->u.push_promise.block_len);
        break;
    case H2_FRAME_PING:
        pos = hex_append(out, pos, cap, f->u.ping, 8);
        break;
    case H2_FRAME_GOAWAY:
        ADD("last=%u err=%u ", f->u.goaway.last_stream_id, f->u.goaway.error_code);
        pos = hex_append(out, pos, cap, f->u.goaway.debug, f->u.goaway.debug_len);
        break;
    case H2_FRAME_WINDOW_UPDATE:
        ADD("inc=%u", f->u.window_increment);
        break;
    case H2_FRAME_CONTINUATION:
        pos = hex_append(out, pos, cap, f->u.continuation.block, f->u.continuation.block_len);
        break;
    case H2_FRAME_ALTSVC:
        pos = hex_append(out, pos, cap, f->u.altsvc.origin, f->u.altsvc.origin_len);
        ADD("/");
        pos = hex_append(out, pos, cap, f->u.altsvc.field_value, f->u.altsvc.field_value_len);
        break;
    case H2_FRAME_PRIORITY_UPDATE:
        ADD("id=%u ", f->u.priority_update.prioritized_stream_id);
        pos = hex_append(out, pos, cap, f->u.priority_update.field_value,
                         f->u.priority_update.field_value_len);
        break;
    default:
        pos = hex_append(out, pos, cap, f->u.unknown.payload, f->u.unknown.len);
        break;
    }
#undef ADD
    (void)pos;
}

/* What one run of the reader over a whole input produced. */
typedef struct feed_result {
    size_t n_frames;
    char desc[FEED_MAX_FRAMES][DESC_MAX];
    int final_rv;          /* 0, H2_EFRAME or H2_ENOMEM */
    uint32_t wire_error;   /* valid when final_rv == H2_EFRAME */
    size_t left_in_reader; /* r->buf_len at the end */
} feed_result;

/*
 * Feeds |in| to a fresh reader in chunks ending at |cuts| (ascending
 * offsets, the last chunk runs to |len|), calling next until each chunk is
 * used up. Stops at the first error. Returns the result in |res|.
 */
static inline void feed_chunks(const uint8_t *in, size_t len, const size_t *cuts, size_t n_cuts,
                               uint32_t max_frame_size, feed_result *res)
{
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    r.max_frame_size = max_frame_size;
    memset(res, 0, sizeof(*res));
    size_t start = 0;
    for (size_t c = 0; c <= n_cuts && res->final_rv == 0; c++) {
        size_t end = c < n_cuts ? cuts[c] : len;
        /* Copy the chunk so views into the caller's slice are checked by ASan. */
        size_t n = end - start;
        uint8_t *chunk = malloc(n ? n : 1);
        memcpy(chunk, in + start, n);
        const uint8_t *p = chunk;
        for (;;) {
            size_t used = 99999;
            h2_frame f;
            uint32_t we = 0;
            int rv = h2_frame_reader_next(&r, p, n, &used, &f, &we);
            if (used > n) {
                res->final_rv = -999;
                break;
            }
            p += used;
            n -= used;
            if (rv == 1) {
                if (used == 0) {
                    res->final_rv = -997; /* a frame must consume bytes */
                    break;
                }
                if (res->n_frames < FEED_MAX_FRAMES)
                    frame_describe(&f, res->desc[res->n_frames], DESC_MAX);
                res->n_frames++;
                continue;
            }
            if (rv == 0) {
                if (n != 0)
                    res->final_rv = -998;
                break;
            }
            res->final_rv = rv;
            res->wire_error = we;
            break;
        }
        free(chunk);
        start = end;
    }
    res->left_in_reader = r.buf_len;
    h2_frame_reader_free(&r);
}

static inline void feed_whole(const uint8_t *in, size_t len, uint32_t mfs, feed_result *res)
{
    feed_chunks(in, len, NULL, 0, mfs, res);
}

static inline void feed_bytewise(const uint8_t *in, size_t len, uint32_t mfs, feed_result *res)
{
    size_t *cuts = malloc((len ? len : 1) * sizeof(size_t));
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    feed_chunks(in, len, cuts, len > 0 ? len - 1 : 0, mfs, res);
    free(cuts);
}

#endif
