/*
 * Fuzz target: the frame reader and the frame parser over arbitrary bytes.
 * The reader is the one h2_conn_receive() cuts its input with (there with
 * the connection's own header check), so what is found here is found in
 * the code the connection runs.
 *
 * Input: one option byte, then the byte stream (no client preface).
 *   bits 0-1: the reader's max_frame_size (16384, 2^24 - 1, 100, 16384 + 4 KiB)
 *   bits 4-7: how the second pass cuts the stream (see fuzz_split)
 *
 * Checks:
 *   - the reader yields the same frames and the same final state whether
 *     the stream is fed whole or cut into chunks;
 *   - every frame it yields serializes again with the matching packer, and
 *     parsing that gives back the same frame;
 *   - a frame handed out by h2_frame_reader_next() passes
 *     h2_frame_check_hd() again.
 */
#include <stdlib.h>
#include <string.h>
#include "core/frame.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void digest_prio(fuzz_digest *d, const h2_priority_spec *p)
{
    fuzz_digest_u64(d, p->depends_on);
    fuzz_digest_u64(d, p->weight);
    fuzz_digest_u64(d, p->exclusive);
}

/*
 * Digest of what a frame means: type, stream, the flags that carry
 * meaning, and the parsed payload. Padding contents and undefined flag bits
 * are left out, so a frame and its re-serialization give the same digest.
 */
static uint64_t frame_meaning(const h2_frame *f)
{
    fuzz_digest d;
    fuzz_digest_init(&d);
    fuzz_digest_u64(&d, f->hd.type);
    fuzz_digest_u64(&d, f->hd.stream_id);
    switch (f->hd.type) {
    case H2_FRAME_DATA:
        fuzz_digest_u64(&d, f->hd.flags & (H2_FLAG_END_STREAM | H2_FLAG_PADDED));
        fuzz_digest_u64(&d, f->pad_len);
        fuzz_digest_bytes(&d, f->u.data.data, f->u.data.len);
        fuzz_digest_u64(&d, f->u.data.len);
        break;
    case H2_FRAME_HEADERS:
        fuzz_digest_u64(&d, f->hd.flags & (H2_FLAG_END_STREAM | H2_FLAG_END_HEADERS |
                                           H2_FLAG_PADDED | H2_FLAG_PRIORITY));
        fuzz_digest_u64(&d, f->pad_len);
        fuzz_digest_u64(&d, f->u.headers.has_priority);
        if (f->u.headers.has_priority)
            digest_prio(&d, &f->u.headers.priority);
        fuzz_digest_bytes(&d, f->u.headers.block, f->u.headers.block_len);
        fuzz_digest_u64(&d, f->u.headers.block_len);
        break;
    case H2_FRAME_PRIORITY:
        digest_prio(&d, &f->u.priority);
        break;
    case H2_FRAME_RST_STREAM:
        fuzz_digest_u64(&d, f->u.rst_error_code);
        break;
    case H2_FRAME_SETTINGS:
        fuzz_digest_u64(&d, f->hd.flags & H2_FLAG_ACK);
        fuzz_digest_u64(&d, f->u.settings.n);
        for (size_t i = 0; i < f->u.settings.n; i++) {
            h2_settings_entry e = h2_frame_settings_entry(f, i);
            fuzz_digest_u64(&d, e.id);
            fuzz_digest_u64(&d, e.value);
        }
        break;
    case H2_FRAME_PUSH_PROMISE:
        fuzz_digest_u64(&d, f->hd.flags & (H2_FLAG_END_HEADERS | H2_FLAG_PADDED));
        fuzz_digest_u64(&d, f->pad_len);
        fuzz_digest_u64(&d, f->u.push_promise.promised_stream_id);
        fuzz_digest_bytes(&d, f->u.push_promise.block, f->u.push_promise.block_len);
        fuzz_digest_u64(&d, f->u.push_promise.block_len);
        break;
    case H2_FRAME_PING:
        fuzz_digest_u64(&d, f->hd.flags & H2_FLAG_ACK);
        fuzz_digest_bytes(&d, f->u.ping, 8);
        break;
    case H2_FRAME_GOAWAY:
        fuzz_digest_u64(&d, f->u.goaway.last_stream_id);
        fuzz_digest_u64(&d, f->u.goaway.error_code);
        fuzz_digest_bytes(&d, f->u.goaway.debug, f->u.goaway.debug_len);
        fuzz_digest_u64(&d, f->u.goaway.debug_len);
        break;
    case H2_FRAME_WINDOW_UPDATE:
        fuzz_digest_u64(&d, f->u.window_increment);
        break;
    case H2_FRAME_CONTINUATION:
        fuzz_digest_u64(&d, f->hd.flags & H2_FLAG_END_HEADERS);
        fuzz_digest_bytes(&d, f->u.continuation.block, f->u.continuation.block_len);
        fuzz_digest_u64(&d, f->u.continuation.block_len);
        break;
    case H2_FRAME_ALTSVC:
        fuzz_digest_bytes(&d, f->u.altsvc.origin, f->u.altsvc.origin_len);
        fuzz_digest_u64(&d, f->u.altsvc.origin_len);
        fuzz_digest_bytes(&d, f->u.altsvc.field_value, f->u.altsvc.field_value_len);
        fuzz_digest_u64(&d, f->u.altsvc.field_value_len);
        break;
    case H2_FRAME_PRIORITY_UPDATE:
        fuzz_digest_u64(&d, f->u.priority_update.prioritized_stream_id);
        fuzz_digest_bytes(&d, f->u.priority_update.field_value,
                          f->u.priority_update.field_value_len);
        fuzz_digest_u64(&d, f->u.priority_update.field_value_len);
        break;
    default:
        fuzz_digest_u64(&d, f->hd.flags);
        fuzz_digest_bytes(&d, f->u.unknown.payload, f->u.unknown.len);
        fuzz_digest_u64(&d, f->u.unknown.len);
        break;
    }
    return d.h;
}

static int pad_of(const h2_frame *f)
{
    return (f->hd.flags & H2_FLAG_PADDED) ? (int)f->pad_len : -1;
}

/* Serializes |f| again and parses the result: the meaning must not change. */
static void check_round_trip(const h2_frame *f)
{
    size_t cap = H2_FRAME_HEADER_LEN + (size_t)f->hd.length + 16;
    uint8_t *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL);
    size_t n = 0;
    uint32_t sid = f->hd.stream_id;
    switch (f->hd.type) {
    case H2_FRAME_DATA:
        n = h2_frame_pack_data(buf, sid, f->hd.flags, f->u.data.data, f->u.data.len, pad_of(f));
        break;
    case H2_FRAME_HEADERS:
        n = h2_frame_pack_headers(buf, sid, f->hd.flags,
                                  f->u.headers.has_priority ? &f->u.headers.priority : NULL,
                                  f->u.headers.block, f->u.headers.block_len, pad_of(f));
        break;
    case H2_FRAME_PRIORITY:
        n = h2_frame_pack_priority(buf, sid, &f->u.priority);
        break;
    case H2_FRAME_RST_STREAM:
        n = h2_frame_pack_rst_stream(buf, sid, f->u.rst_error_code);
        break;
    case H2_FRAME_SETTINGS: {
        size_t cnt = f->u.settings.n;
        h2_settings_entry *e = malloc((cnt ? cnt : 1) * sizeof *e);
        FUZZ_CHECK(e != NULL);
        for (size_t i = 0; i < cnt; i++)
            e[i] = h2_frame_settings_entry(f, i);
        n = h2_frame_pack_settings(buf, f->hd.flags, e, cnt);
        free(e);
        break;
    }
    case H2_FRAME_PUSH_PROMISE:
        n = h2_frame_pack_push_promise(buf, sid, f->hd.flags, f->u.push_promise.promised_stream_id,
                                       f->u.push_promise.block, f->u.push_promise.block_len,
                                       pad_of(f));
        break;
    case H2_FRAME_PING:
        n = h2_frame_pack_ping(buf, f->hd.flags, f->u.ping);
        break;
    case H2_FRAME_GOAWAY:
        n = h2_frame_pack_goaway(buf, f->u.goaway.last_stream_id, f->u.goaway.error_code,
                                 f->u.goaway.debug, f->u.goaway.debug_len);
        break;
    case H2_FRAME_WINDOW_UPDATE:
        n = h2_frame_pack_window_update(buf, sid, f->u.window_increment);
        break;
    case H2_FRAME_CONTINUATION:
        n = h2_frame_pack_continuation(buf, sid, f->hd.flags, f->u.continuation.block,
                                       f->u.continuation.block_len);
        break;
    case H2_FRAME_ALTSVC:
        n = h2_frame_pack_altsvc(buf, sid, f->u.altsvc.origin, f->u.altsvc.origin_len,
                                 f->u.altsvc.field_value, f->u.altsvc.field_value_len);
        break;
    case H2_FRAME_PRIORITY_UPDATE:
        n = h2_frame_pack_priority_update(buf, f->u.priority_update.prioritized_stream_id,
                                          f->u.priority_update.field_value,
                                          f->u.priority_update.field_value_len);
        break;
    default:
        n = h2_frame_pack_unknown(buf, f->hd.type, f->hd.flags, sid, f->u.unknown.payload,
                                  f->u.unknown.len);
        break;
    }
    /* A parsed frame always has a payload that fits 24 bits: it must pack. */
    FUZZ_CHECK(n == H2_FRAME_HEADER_LEN + (size_t)f->hd.length);
    FUZZ_CHECK(n <= cap);

    h2_frame_hd hd;
    h2_frame_hd_unpack(&hd, buf);
    FUZZ_CHECK(hd.length == f->hd.length && hd.type == f->hd.type &&
               hd.stream_id == f->hd.stream_id);
    FUZZ_CHECK(h2_frame_check_hd(&hd, H2_MAX_FRAME_SIZE_LIMIT) == H2_NO_ERROR);
    h2_frame again;
    FUZZ_CHECK(h2_frame_parse_payload(&again, &hd, buf + H2_FRAME_HEADER_LEN) == H2_NO_ERROR);
    FUZZ_CHECK(frame_meaning(&again) == frame_meaning(f));
    free(buf);
}

/*
 * Runs the reader over |p| cut by |mode|; returns a digest of every frame
 * (meaning, raw flags, padding length) and of the final state.
 */
static uint64_t read_all(const uint8_t *p, size_t len, uint32_t max_frame_size, unsigned mode,
                         bool checks)
{
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    r.max_frame_size = max_frame_size;
    fuzz_split split;
    fuzz_split_init(&split, mode);
    fuzz_digest d;
    fuzz_digest_init(&d);

    size_t off = 0;
    int rv = 0;
    uint32_t werr = 0;
    while (off < len) {
        size_t chunk = fuzz_split_next(&split, len - off);
        const uint8_t *c = p + off;
        size_t left = chunk;
        for (;;) {
            size_t used = 0;
            h2_frame f;
            rv = h2_frame_reader_next(&r, c, left, &used, &f, &werr);
            FUZZ_CHECK(used <= left);
            c += used;
            left -= used;
            if (rv != 1)
                break;
            fuzz_digest_u64(&d, frame_meaning(&f));
            fuzz_digest_u64(&d, f.hd.flags);
            fuzz_digest_u64(&d, f.hd.length);
            fuzz_digest_u64(&d, f.pad_len);
            if (checks) {
                FUZZ_CHECK(f.hd.length <= max_frame_size);
                FUZZ_CHECK(h2_frame_check_hd(&f.hd, max_frame_size) == H2_NO_ERROR);
                check_round_trip(&f);
            }
        }
        if (rv != 0) {
            FUZZ_CHECK(rv == H2_EFRAME);
            FUZZ_CHECK(werr != H2_NO_ERROR);
            break;
        }
        FUZZ_CHECK(left == 0);
        off += chunk;
    }
    fuzz_digest_u64(&d, (uint64_t)(int64_t)rv);
    fuzz_digest_u64(&d, rv == H2_EFRAME ? werr : 0);
    if (rv == H2_EFRAME) {
        /* The error is sticky. */
        size_t used = 1;
        h2_frame f;
        uint32_t again = 0;
        FUZZ_CHECK(h2_frame_reader_next(&r, p, len, &used, &f, &again) == H2_EFRAME);
        FUZZ_CHECK(used == 0 && again == werr);
    } else {
        /* Bytes of an unfinished frame are held: the count is all we compare. */
        fuzz_digest_u64(&d, r.buf_len);
    }
    h2_frame_reader_free(&r);
    return d.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t opt = fuzz_u8(&in);
    static const uint32_t limits[4] = {H2_DEFAULT_MAX_FRAME_SIZE, H2_MAX_FRAME_SIZE_LIMIT, 100,
                                       H2_DEFAULT_MAX_FRAME_SIZE + 4096};
    uint32_t max_frame_size = limits[opt & 3u];
    unsigned mode = opt >> 4;

    uint64_t whole = read_all(in.p, in.len, max_frame_size, 0, true);
    uint64_t cut = read_all(in.p, in.len, max_frame_size, mode == 0 ? 1u : mode, false);
    FUZZ_CHECK(whole == cut);

    /* The stateless parser on the input taken as one frame. */
    if (in.len >= H2_FRAME_HEADER_LEN) {
        h2_frame_hd hd;
        h2_frame_hd_unpack(&hd, in.p);
        if (h2_frame_check_hd(&hd, max_frame_size) == H2_NO_ERROR &&
            in.len - H2_FRAME_HEADER_LEN >= hd.length) {
            h2_frame f;
            if (h2_frame_parse_payload(&f, &hd, in.p + H2_FRAME_HEADER_LEN) == H2_NO_ERROR)
                check_round_trip(&f);
        }
    }
    return 0;
}
