/*
 * Incremental frame reader: turns an arbitrarily split byte stream into
 * frames. Frames lying whole in the caller's slice are parsed in place;
 * only a frame straddling two calls is copied into the reassembly buffer.
 */
#include <string.h>
#include "core/frame.h"
#include "core/mem.h"

/* First allocation of the reassembly buffer when only a header is pending. */
#define READER_MIN_CAP 64u

void h2_frame_reader_init(h2_frame_reader *r, const h2_mem *mem)
{
    r->mem = h2_mem_or_default(mem);
    r->max_frame_size = H2_DEFAULT_MAX_FRAME_SIZE;
    r->buf = NULL;
    r->buf_len = 0;
    r->buf_cap = 0;
    r->error = H2_NO_ERROR;
}

void h2_frame_reader_free(h2_frame_reader *r)
{
    h2_mem_free(r->mem, r->buf);
    r->buf = NULL;
    r->buf_len = 0;
    r->buf_cap = 0;
}

/*
 * Makes room for |need| bytes (need <= max_frame_size + 9, which the header
 * check guarantees). Grows geometrically but never past that bound.
 */
static int reserve(h2_frame_reader *r, size_t need)
{
    if (need <= r->buf_cap)
        return 0;
    size_t limit = (size_t)r->max_frame_size + H2_FRAME_HEADER_LEN;
    size_t cap = r->buf_cap * 2;
    if (cap < READER_MIN_CAP)
        cap = READER_MIN_CAP;
    if (cap > limit)
        cap = limit;
    if (cap < need)
        cap = need;
    uint8_t *nb = h2_mem_realloc(r->mem, r->buf, cap);
    if (nb == NULL)
        return H2_ENOMEM;
    r->buf = nb;
    r->buf_cap = cap;
    return 0;
}

static int fail(h2_frame_reader *r, uint32_t err, uint32_t *wire_error)
{
    r->error = err;
    *wire_error = err;
    return H2_EFRAME;
}

/* Slow path: bytes are buffered already, or the slice ends inside a frame. */
static int next_buffered(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame *out, uint32_t *wire_error)
{
    size_t have = r->buf_len;
    if (have + len < H2_FRAME_HEADER_LEN) {
        /* Not even a header yet: keep what there is. */
        if (len == 0)
            return 0;
        int rv = reserve(r, H2_FRAME_HEADER_LEN);
        if (rv != 0)
            return rv;
        memcpy(r->buf + have, in, len);
        r->buf_len = have + len;
        *consumed = len;
        return 0;
    }

    /* The header is complete across buffer and slice: look at it unbuffered. */
    uint8_t hdbytes[H2_FRAME_HEADER_LEN];
    size_t hd_from_in = 0;
    if (have >= H2_FRAME_HEADER_LEN) {
        memcpy(hdbytes, r->buf, H2_FRAME_HEADER_LEN);
    } else {
        hd_from_in = H2_FRAME_HEADER_LEN - have;
        memcpy(hdbytes, r->buf, have);
        memcpy(hdbytes + have, in, hd_from_in);
    }
    h2_frame_hd hd;
    h2_frame_hd_unpack(&hd, hdbytes);
    if (have < H2_FRAME_HEADER_LEN) {
        /* The header completes now: its checks have not run yet. */
        uint32_t err = h2_frame_check_hd(&hd, r->max_frame_size);
        if (err != H2_NO_ERROR) {
            r->buf_len = 0;
            return fail(r, err, wire_error);
        }
    }

    /* Reserve the whole frame before taking anything, so ENOMEM consumes nothing. */
    size_t total = H2_FRAME_HEADER_LEN + (size_t)hd.length;
    int rv = reserve(r, total);
    if (rv != 0)
        return rv;
    size_t take = total - have;
    if (take > len)
        take = len;
    memcpy(r->buf + have, in, take);
    r->buf_len = have + take;
    *consumed = take;
    if (r->buf_len < total)
        return 0;

    /* Whole frame buffered: parse it; the buffer is reused from the next call on. */
    r->buf_len = 0;
    uint32_t err = h2_frame_parse_payload(out, &hd, r->buf + H2_FRAME_HEADER_LEN);
    if (err != H2_NO_ERROR)
        return fail(r, err, wire_error);
    return 1;
}

int h2_frame_reader_next(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame *out, uint32_t *wire_error)
{
    *consumed = 0;
    if (r->error != H2_NO_ERROR) {
        *wire_error = r->error;
        return H2_EFRAME;
    }
    if (r->buf_len == 0 && len >= H2_FRAME_HEADER_LEN) {
        /* Fast path: parse in place when the whole frame is in the slice. */
        h2_frame_hd hd;
        h2_frame_hd_unpack(&hd, in);
        uint32_t err = h2_frame_check_hd(&hd, r->max_frame_size);
        if (err != H2_NO_ERROR)
            return fail(r, err, wire_error);
        if (len - H2_FRAME_HEADER_LEN >= hd.length) {
            err = h2_frame_parse_payload(out, &hd, in + H2_FRAME_HEADER_LEN);
            if (err != H2_NO_ERROR)
                return fail(r, err, wire_error);
            *consumed = H2_FRAME_HEADER_LEN + (size_t)hd.length;
            return 1;
        }
        /* Partial frame: reserve its full size, then buffer the slice. */
        int rv = reserve(r, H2_FRAME_HEADER_LEN + (size_t)hd.length);
        if (rv != 0)
            return rv;
        memcpy(r->buf, in, len);
        r->buf_len = len;
        *consumed = len;
        return 0;
    }
    return next_buffered(r, in, len, consumed, out, wire_error);
}
