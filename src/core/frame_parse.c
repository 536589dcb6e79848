/*
 * Frame header decoding, header checks and payload parsing (RFC 9113
 * sections 4.1 and 6, RFC 7838 section 4, RFC 9218 section 7.1).
 *
 * The rules follow RFC 9113. Where the behaviour table inherited from
 * h2/hyperframe differs, the RFC wins and a comment says so.
 */
#include <string.h>
#include "core/frame.h"

void h2_frame_hd_unpack(h2_frame_hd *hd, const uint8_t *in)
{
    hd->length = h2_frame_get_u24(in);
    hd->type = in[3];
    hd->flags = in[4];
    hd->stream_id = h2_frame_get_u32(in + 5) & H2_STREAM_ID_MASK;
}

enum { SID_ANY = 0, SID_ZERO = 1, SID_NONZERO = 2 };

/* Per-type header rules. exact_len 0 means "no exact length". */
typedef struct frame_rule {
    uint8_t sid;
    uint8_t exact_len;
    uint8_t min_len;
    uint8_t paddable;
} frame_rule;

static const frame_rule rules[H2_FRAME_PRIORITY_UPDATE + 1] = {
    [H2_FRAME_DATA] = {SID_NONZERO, 0, 0, 1},
    [H2_FRAME_HEADERS] = {SID_NONZERO, 0, 0, 1},
    /*
     * RFC 9113 6.3 makes a bad PRIORITY length a stream error; 5.4.1 lets
     * an endpoint treat it as a connection error, which is what we do.
     */
    [H2_FRAME_PRIORITY] = {SID_NONZERO, 5, 0, 0},
    [H2_FRAME_RST_STREAM] = {SID_NONZERO, 4, 0, 0},
    [H2_FRAME_SETTINGS] = {SID_ZERO, 0, 0, 0},
    [H2_FRAME_PUSH_PROMISE] = {SID_NONZERO, 0, 4, 1},
    [H2_FRAME_PING] = {SID_ZERO, 8, 0, 0},
    [H2_FRAME_GOAWAY] = {SID_ZERO, 0, 8, 0},
    [H2_FRAME_WINDOW_UPDATE] = {SID_ANY, 4, 0, 0},
    [H2_FRAME_CONTINUATION] = {SID_NONZERO, 0, 0, 0},
    [H2_FRAME_ALTSVC] = {SID_ANY, 0, 2, 0},
    /* 0xb..0xf: unknown, zero rules. */
    [H2_FRAME_PRIORITY_UPDATE] = {SID_ZERO, 0, 4, 0},
};

uint32_t h2_frame_check_hd(const h2_frame_hd *hd, uint32_t max_frame_size)
{
    /* Checked from the header so nothing oversized is buffered (h2 reads it whole first). */
    if (hd->length > max_frame_size)
        return H2_FRAME_SIZE_ERROR;
    if (hd->type > H2_FRAME_PRIORITY_UPDATE)
        return H2_NO_ERROR;
    const frame_rule *r = &rules[hd->type];
    if (r->sid == SID_NONZERO ? hd->stream_id == 0 : (r->sid == SID_ZERO && hd->stream_id != 0))
        return H2_PROTOCOL_ERROR;
    if (r->exact_len != 0 && hd->length != r->exact_len)
        return H2_FRAME_SIZE_ERROR;
    uint32_t min = r->min_len;
    if (r->paddable && (hd->flags & H2_FLAG_PADDED))
        min += 1;
    if (hd->type == H2_FRAME_HEADERS && (hd->flags & H2_FLAG_PRIORITY))
        min += 5;
    if (hd->length < min)
        return H2_FRAME_SIZE_ERROR;
    if (hd->type == H2_FRAME_SETTINGS) {
        /* RFC 9113 6.5: ACK with a payload is FRAME_SIZE_ERROR (h2 says PROTOCOL_ERROR). */
        if ((hd->flags & H2_FLAG_ACK) && hd->length != 0)
            return H2_FRAME_SIZE_ERROR;
        if (hd->length % H2_FRAME_SETTINGS_ENTRY_LEN != 0)
            return H2_FRAME_SIZE_ERROR;
    }
    return H2_NO_ERROR;
}

static void parse_priority_spec(h2_priority_spec *ps, const uint8_t *p)
{
    uint32_t v = h2_frame_get_u32(p);
    ps->exclusive = (v >> 31) != 0;
    ps->depends_on = v & H2_STREAM_ID_MASK;
    ps->weight = (uint16_t)(p[4] + 1u);
}

/*
 * Strips the Pad Length field of a PADDED frame. On entry *len is the
 * payload length; on return *p and *len describe what follows the field,
 * padding included. Returns the pad length, or -1 for an empty payload.
 */
static int take_pad_len(const uint8_t **p, size_t *len)
{
    if (*len == 0)
        return -1;
    int pad = **p;
    (*p)++;
    (*len)--;
    return pad;
}

static uint32_t parse_data(h2_frame *out, const h2_frame_hd *hd, const uint8_t *p)
{
    size_t len = hd->length;
    if (hd->flags & H2_FLAG_PADDED) {
        int pad = take_pad_len(&p, &len);
        if (pad < 0)
            return H2_FRAME_SIZE_ERROR;
        /* RFC 9113 6.1: pad length >= payload length; payload-1 is allowed. */
        if ((size_t)pad > len)
            return H2_PROTOCOL_ERROR;
        len -= (size_t)pad;
        out->pad_len = (uint8_t)pad;
    }
    out->u.data.data = p;
    out->u.data.len = len;
    return H2_NO_ERROR;
}

static uint32_t parse_headers(h2_frame *out, const h2_frame_hd *hd, const uint8_t *p)
{
    size_t len = hd->length;
    int pad = 0;
    if (hd->flags & H2_FLAG_PADDED) {
        pad = take_pad_len(&p, &len);
        if (pad < 0)
            return H2_FRAME_SIZE_ERROR;
    }
    out->u.headers.has_priority = (hd->flags & H2_FLAG_PRIORITY) != 0;
    if (out->u.headers.has_priority) {
        if (len < 5)
            return H2_FRAME_SIZE_ERROR;
        parse_priority_spec(&out->u.headers.priority, p);
        p += 5;
        len -= 5;
    } else {
        memset(&out->u.headers.priority, 0, sizeof(out->u.headers.priority));
    }
    /*
     * RFC 9113 6.2: padding may fill everything after the fixed fields, so an
     * empty fragment with maximum padding is valid (h2 rejects it).
     */
    if ((size_t)pad > len)
        return H2_PROTOCOL_ERROR;
    out->pad_len = (uint8_t)pad;
    out->u.headers.block = p;
    out->u.headers.block_len = len - (size_t)pad;
    return H2_NO_ERROR;
}

static uint32_t parse_push_promise(h2_frame *out, const h2_frame_hd *hd, const uint8_t *p)
{
    size_t len = hd->length;
    int pad = 0;
    if (hd->flags & H2_FLAG_PADDED) {
        pad = take_pad_len(&p, &len);
        if (pad < 0)
            return H2_FRAME_SIZE_ERROR;
    }
    if (len < 4)
        return H2_FRAME_SIZE_ERROR;
    uint32_t promised = h2_frame_get_u32(p) & H2_STREAM_ID_MASK;
    p += 4;
    len -= 4;
    if ((size_t)pad > len)
        return H2_PROTOCOL_ERROR;
    /* RFC 9113 6.6/5.1.1: only servers push, on even ids; 0 or odd is illegal. */
    if (promised == 0 || (promised & 1u) != 0)
        return H2_PROTOCOL_ERROR;
    out->pad_len = (uint8_t)pad;
    out->u.push_promise.promised_stream_id = promised;
    out->u.push_promise.block = p;
    out->u.push_promise.block_len = len - (size_t)pad;
    return H2_NO_ERROR;
}

static uint32_t parse_altsvc(h2_frame *out, const h2_frame_hd *hd, const uint8_t *p)
{
    size_t len = hd->length;
    if (len < 2)
        return H2_FRAME_SIZE_ERROR;
    size_t olen = h2_frame_get_u16(p);
    if (olen > len - 2)
        return H2_FRAME_SIZE_ERROR;
    out->u.altsvc.origin = p + 2;
    out->u.altsvc.origin_len = olen;
    out->u.altsvc.field_value = p + 2 + olen;
    out->u.altsvc.field_value_len = len - 2 - olen;
    return H2_NO_ERROR;
}

uint32_t h2_frame_parse_payload(h2_frame *out, const h2_frame_hd *hd, const uint8_t *payload)
{
    const uint8_t *p = payload;
    size_t len = hd->length;
    out->hd = *hd;
    out->pad_len = 0;
    switch (hd->type) {
    case H2_FRAME_DATA:
        return parse_data(out, hd, p);
    case H2_FRAME_HEADERS:
        return parse_headers(out, hd, p);
    case H2_FRAME_PRIORITY:
        if (len != 5)
            return H2_FRAME_SIZE_ERROR;
        parse_priority_spec(&out->u.priority, p);
        return H2_NO_ERROR;
    case H2_FRAME_RST_STREAM:
        if (len != 4)
            return H2_FRAME_SIZE_ERROR;
        out->u.rst_error_code = h2_frame_get_u32(p);
        return H2_NO_ERROR;
    case H2_FRAME_SETTINGS:
        if (len % H2_FRAME_SETTINGS_ENTRY_LEN != 0 || ((hd->flags & H2_FLAG_ACK) && len != 0))
            return H2_FRAME_SIZE_ERROR;
        out->u.settings.raw = p;
        out->u.settings.n = len / H2_FRAME_SETTINGS_ENTRY_LEN;
        return H2_NO_ERROR;
    case H2_FRAME_PUSH_PROMISE:
        return parse_push_promise(out, hd, p);
    case H2_FRAME_PING:
        if (len != 8)
            return H2_FRAME_SIZE_ERROR;
        memcpy(out->u.ping, p, 8);
        return H2_NO_ERROR;
    case H2_FRAME_GOAWAY:
        if (len < 8)
            return H2_FRAME_SIZE_ERROR;
        out->u.goaway.last_stream_id = h2_frame_get_u32(p) & H2_STREAM_ID_MASK;
        out->u.goaway.error_code = h2_frame_get_u32(p + 4);
        out->u.goaway.debug = p + 8;
        out->u.goaway.debug_len = len - 8;
        return H2_NO_ERROR;
    case H2_FRAME_WINDOW_UPDATE:
        if (len != 4)
            return H2_FRAME_SIZE_ERROR;
        out->u.window_increment = h2_frame_get_u32(p) & H2_STREAM_ID_MASK;
        return H2_NO_ERROR;
    case H2_FRAME_CONTINUATION:
        out->u.continuation.block = p;
        out->u.continuation.block_len = len;
        return H2_NO_ERROR;
    case H2_FRAME_ALTSVC:
        return parse_altsvc(out, hd, p);
    case H2_FRAME_PRIORITY_UPDATE:
        if (len < 4)
            return H2_FRAME_SIZE_ERROR;
        out->u.priority_update.prioritized_stream_id = h2_frame_get_u32(p) & H2_STREAM_ID_MASK;
        /* RFC 9218 7.1: prioritized stream id 0 is a connection PROTOCOL_ERROR. */
        if (out->u.priority_update.prioritized_stream_id == 0)
            return H2_PROTOCOL_ERROR;
        out->u.priority_update.field_value = p + 4;
        out->u.priority_update.field_value_len = len - 4;
        return H2_NO_ERROR;
    default:
        out->u.unknown.payload = p;
        out->u.unknown.len = len;
        return H2_NO_ERROR;
    }
}

h2_settings_entry h2_frame_settings_entry(const h2_frame *f, size_t i)
{
    const uint8_t *p = f->u.settings.raw + i * H2_FRAME_SETTINGS_ENTRY_LEN;
    h2_settings_entry e = {h2_frame_get_u16(p), h2_frame_get_u32(p + 2)};
    return e;
}
