/*
 * Incremental frame reader: turns an arbitrarily split byte stream into
 * frames. Frames lying whole in the caller's slice are handed out in place;
 * only a frame straddling two calls is copied into a reassembly buffer.
 * The connection reads its input through this reader, so what the frame
 * tests and the frame fuzzer exercise is what runs.
 */
#include <string.h>
#include "core/frame.h"
#include "core/mem.h"

/* First allocation of a reassembly buffer when only a header is pending. */
#define READER_MIN_CAP 64u

void h2_frame_reader_init(h2_frame_reader *r, const h2_mem *mem)
{
    memset(r, 0, sizeof(*r));
    r->mem = h2_mem_or_default(mem);
    r->max_frame_size = H2_DEFAULT_MAX_FRAME_SIZE;
    r->error = H2_NO_ERROR;
}

void h2_frame_reader_free(h2_frame_reader *r)
{
    h2_mem_free(r->mem, r->buf);
    h2_mem_free(r->mem, r->spare);
    r->buf = NULL;
    r->spare = NULL;
    r->buf_len = 0;
    r->buf_cap = 0;
    r->spare_cap = 0;
    r->held = false;
}

/*
 * Makes room for |need| bytes (need <= 9 + the largest length the header
 * check accepts). Grows geometrically but not past max_frame_size + 9
 * unless the frame itself is larger.
 */
static int reserve(h2_frame_reader *r, size_t need)
{
    if (need <= r->buf_cap)
        return 0;
    size_t limit = (size_t)r->max_frame_size + H2_FRAME_HEADER_LEN;
    size_t cap = (size_t)r->buf_cap * 2;
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
    r->buf_cap = (uint32_t)cap;
    return 0;
}

/* A new frame starts straddling: keep the last frame handed out intact. */
static void begin_partial(h2_frame_reader *r)
{
    if (!r->held)
        return;
    uint8_t *b = r->buf;
    uint32_t cap = r->buf_cap;
    r->buf = r->spare;
    r->buf_cap = r->spare_cap;
    r->spare = b;
    r->spare_cap = cap;
    r->held = false;
}

static int check_header(h2_frame_reader *r, const h2_frame_hd *hd)
{
    if (r->check != NULL)
        return r->check(r, hd);
    uint32_t err = h2_frame_check_hd(hd, r->max_frame_size);
    if (err == H2_NO_ERROR)
        return 0;
    r->error = err;
    return H2_EFRAME;
}

/* Appends |n| bytes of |in| to the buffer (room reserved by the caller). */
static void append(h2_frame_reader *r, const uint8_t *in, size_t n)
{
    memcpy(r->buf + r->buf_len, in, n);
    r->buf_len += (uint32_t)n;
}

/* Slow path: bytes are buffered already, or the slice ends inside a header. */
static int take_buffered(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame_hd *hd, const uint8_t **payload)
{
    size_t have = r->buf_len;
    if (have + len < H2_FRAME_HEADER_LEN) {
        /* Not even a header yet: keep what there is. */
        if (len == 0)
            return 0;
        if (have == 0)
            begin_partial(r);
        int rv = reserve(r, H2_FRAME_HEADER_LEN);
        if (rv != 0)
            return rv;
        append(r, in, len);
        *consumed = len;
        return 0;
    }

    /* The header is complete across buffer and slice: look at it unbuffered. */
    uint8_t hdbytes[H2_FRAME_HEADER_LEN];
    if (have >= H2_FRAME_HEADER_LEN) {
        memcpy(hdbytes, r->buf, H2_FRAME_HEADER_LEN);
    } else {
        memcpy(hdbytes, r->buf, have);
        memcpy(hdbytes + have, in, H2_FRAME_HEADER_LEN - have);
    }
    h2_frame_hd_unpack(hd, hdbytes);
    if (have < H2_FRAME_HEADER_LEN) {
        /* The header completes now: its checks have not run yet. */
        int rv = check_header(r, hd);
        if (rv != 0) {
            r->buf_len = 0;
            return rv;
        }
    }

    /* Reserve the whole frame before taking anything, so ENOMEM consumes nothing. */
    size_t total = H2_FRAME_HEADER_LEN + (size_t)hd->length;
    int rv = reserve(r, total);
    if (rv != 0)
        return rv;
    size_t take = total - have;
    if (take > len)
        take = len;
    append(r, in, take);
    *consumed = take;
    if (r->buf_len < total)
        return 0;

    /* Whole frame buffered: it stays put until the next straddling frame but one. */
    r->buf_len = 0;
    r->held = true;
    *payload = r->buf + H2_FRAME_HEADER_LEN;
    return 1;
}

int h2_frame_reader_take(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame_hd *hd, const uint8_t **payload)
{
    *consumed = 0;
    if (r->error != H2_NO_ERROR)
        return H2_EFRAME;
    if (r->buf_len != 0 || len < H2_FRAME_HEADER_LEN)
        return take_buffered(r, in, len, consumed, hd, payload);
    /* Fast path: hand the frame out in place when it lies whole in the slice. */
    h2_frame_hd_unpack(hd, in);
    int rv = check_header(r, hd);
    if (rv != 0)
        return rv;
    size_t total = H2_FRAME_HEADER_LEN + (size_t)hd->length;
    if (len >= total) {
        *payload = in + H2_FRAME_HEADER_LEN;
        *consumed = total;
        return 1;
    }
    /* Partial frame: reserve its full size, then buffer the slice. */
    begin_partial(r);
    rv = reserve(r, total);
    if (rv != 0)
        return rv;
    append(r, in, len);
    *consumed = len;
    return 0;
}

int h2_frame_reader_next(h2_frame_reader *r, const uint8_t *in, size_t len, size_t *consumed,
                         h2_frame *out, uint32_t *wire_error)
{
    h2_frame_hd hd;
    const uint8_t *payload = NULL;
    int rv = h2_frame_reader_take(r, in, len, consumed, &hd, &payload);
    if (rv == H2_EFRAME && r->check == NULL)
        *wire_error = r->error;
    if (rv != 1)
        return rv;
    uint32_t err = h2_frame_parse_payload(out, &hd, payload);
    if (err != H2_NO_ERROR) {
        r->error = err;
        *wire_error = err;
        return H2_EFRAME;
    }
    return 1;
}
