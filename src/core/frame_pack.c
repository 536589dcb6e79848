/*
 * Frame serializers: each writes one complete frame into a caller buffer
 * with straight stores and memcpy.
 */
#include <string.h>
#include "core/frame.h"

void h2_frame_hd_pack(uint8_t *out, uint32_t length, uint8_t type, uint8_t flags,
                      uint32_t stream_id)
{
    out[0] = (uint8_t)(length >> 16);
    out[1] = (uint8_t)(length >> 8);
    out[2] = (uint8_t)length;
    out[3] = type;
    out[4] = flags;
    h2_frame_put_u32(out + 5, stream_id & H2_STREAM_ID_MASK);
}

static inline uint8_t *put_bytes(uint8_t *p, const uint8_t *src, size_t len)
{
    if (len != 0)
        memcpy(p, src, len);
    return p + len;
}

static void put_priority_spec(uint8_t *p, const h2_priority_spec *ps)
{
    uint32_t v = ps->depends_on & H2_STREAM_ID_MASK;
    if (ps->exclusive)
        v |= 0x80000000u;
    h2_frame_put_u32(p, v);
    uint16_t w = ps->weight;
    if (w < 1)
        w = 1;
    if (w > 256)
        w = 256;
    p[4] = (uint8_t)(w - 1u);
}

/*
 * Writes the header of a frame whose payload is |fixed| bytes of fixed
 * fields plus |body_len| bytes plus optional padding, and the Pad Length
 * field. Returns the position of the fixed fields, or NULL when the
 * arguments cannot be encoded. |*total| receives the frame length.
 */
static uint8_t *begin_padded(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id,
                             size_t fixed, size_t body_len, int pad_len, size_t *total)
{
    if (pad_len < -1 || pad_len > 255 || body_len > H2_MAX_FRAME_SIZE_LIMIT)
        return NULL;
    size_t plen = fixed + body_len + (pad_len >= 0 ? 1u + (size_t)pad_len : 0u);
    if (plen > H2_MAX_FRAME_SIZE_LIMIT)
        return NULL;
    if (pad_len >= 0)
        flags = (uint8_t)(flags | H2_FLAG_PADDED);
    else
        flags = (uint8_t)(flags & ~H2_FLAG_PADDED);
    h2_frame_hd_pack(out, (uint32_t)plen, type, flags, stream_id);
    *total = H2_FRAME_HEADER_LEN + plen;
    uint8_t *p = out + H2_FRAME_HEADER_LEN;
    if (pad_len >= 0)
        *p++ = (uint8_t)pad_len;
    return p;
}

static void put_padding(uint8_t *p, int pad_len)
{
    if (pad_len > 0)
        memset(p, 0, (size_t)pad_len);
}

size_t h2_frame_pack_data(uint8_t *out, uint32_t stream_id, uint8_t flags, const uint8_t *data,
                          size_t len, int pad_len)
{
    size_t total;
    uint8_t *p = begin_padded(out, H2_FRAME_DATA, flags, stream_id, 0, len, pad_len, &total);
    if (p == NULL)
        return 0;
    put_padding(put_bytes(p, data, len), pad_len);
    return total;
}

size_t h2_frame_pack_headers(uint8_t *out, uint32_t stream_id, uint8_t flags,
                             const h2_priority_spec *prio, const uint8_t *block, size_t block_len,
                             int pad_len)
{
    if (prio != NULL)
        flags = (uint8_t)(flags | H2_FLAG_PRIORITY);
    else
        flags = (uint8_t)(flags & ~H2_FLAG_PRIORITY);
    size_t total;
    uint8_t *p = begin_padded(out, H2_FRAME_HEADERS, flags, stream_id, prio != NULL ? 5u : 0u,
                              block_len, pad_len, &total);
    if (p == NULL)
        return 0;
    if (prio != NULL) {
        put_priority_spec(p, prio);
        p += 5;
    }
    put_padding(put_bytes(p, block, block_len), pad_len);
    return total;
}

size_t h2_frame_pack_priority(uint8_t *out, uint32_t stream_id, const h2_priority_spec *prio)
{
    h2_frame_hd_pack(out, 5, H2_FRAME_PRIORITY, 0, stream_id);
    put_priority_spec(out + H2_FRAME_HEADER_LEN, prio);
    return H2_FRAME_PRIORITY_LEN;
}

size_t h2_frame_pack_rst_stream(uint8_t *out, uint32_t stream_id, uint32_t error_code)
{
    h2_frame_hd_pack(out, 4, H2_FRAME_RST_STREAM, 0, stream_id);
    h2_frame_put_u32(out + H2_FRAME_HEADER_LEN, error_code);
    return H2_FRAME_RST_STREAM_LEN;
}

size_t h2_frame_pack_settings(uint8_t *out, uint8_t flags, const h2_settings_entry *entries,
                              size_t n)
{
    if (n > H2_MAX_FRAME_SIZE_LIMIT / H2_FRAME_SETTINGS_ENTRY_LEN)
        return 0;
    size_t plen = n * H2_FRAME_SETTINGS_ENTRY_LEN;
    h2_frame_hd_pack(out, (uint32_t)plen, H2_FRAME_SETTINGS, flags, 0);
    uint8_t *p = out + H2_FRAME_HEADER_LEN;
    for (size_t i = 0; i < n; i++, p += H2_FRAME_SETTINGS_ENTRY_LEN) {
        h2_frame_put_u16(p, entries[i].id);
        h2_frame_put_u32(p + 2, entries[i].value);
    }
    return H2_FRAME_HEADER_LEN + plen;
}

size_t h2_frame_pack_push_promise(uint8_t *out, uint32_t stream_id, uint8_t flags,
                                  uint32_t promised_stream_id, const uint8_t *block,
                                  size_t block_len, int pad_len)
{
    size_t total;
    uint8_t *p =
        begin_padded(out, H2_FRAME_PUSH_PROMISE, flags, stream_id, 4, block_len, pad_len, &total);
    if (p == NULL)
        return 0;
    h2_frame_put_u32(p, promised_stream_id & H2_STREAM_ID_MASK);
    put_padding(put_bytes(p + 4, block, block_len), pad_len);
    return total;
}

size_t h2_frame_pack_ping(uint8_t *out, uint8_t flags, const uint8_t opaque[8])
{
    h2_frame_hd_pack(out, 8, H2_FRAME_PING, flags, 0);
    memcpy(out + H2_FRAME_HEADER_LEN, opaque, 8);
    return H2_FRAME_PING_LEN;
}

size_t h2_frame_pack_goaway(uint8_t *out, uint32_t last_stream_id, uint32_t error_code,
                            const uint8_t *debug, size_t debug_len)
{
    if (debug_len > H2_MAX_FRAME_SIZE_LIMIT - 8)
        return 0;
    h2_frame_hd_pack(out, (uint32_t)(8 + debug_len), H2_FRAME_GOAWAY, 0, 0);
    uint8_t *p = out + H2_FRAME_HEADER_LEN;
    h2_frame_put_u32(p, last_stream_id & H2_STREAM_ID_MASK);
    h2_frame_put_u32(p + 4, error_code);
    put_bytes(p + 8, debug, debug_len);
    return H2_FRAME_HEADER_LEN + 8 + debug_len;
}

size_t h2_frame_pack_window_update(uint8_t *out, uint32_t stream_id, uint32_t increment)
{
    h2_frame_hd_pack(out, 4, H2_FRAME_WINDOW_UPDATE, 0, stream_id);
    h2_frame_put_u32(out + H2_FRAME_HEADER_LEN, increment & H2_STREAM_ID_MASK);
    return H2_FRAME_WINDOW_UPDATE_LEN;
}

size_t h2_frame_pack_continuation(uint8_t *out, uint32_t stream_id, uint8_t flags,
                                  const uint8_t *block, size_t block_len)
{
    return h2_frame_pack_unknown(out, H2_FRAME_CONTINUATION, flags, stream_id, block, block_len);
}

size_t h2_frame_pack_altsvc(uint8_t *out, uint32_t stream_id, const uint8_t *origin,
                            size_t origin_len, const uint8_t *field_value, size_t field_value_len)
{
    if (origin_len > UINT16_MAX || field_value_len > H2_MAX_FRAME_SIZE_LIMIT - 2 - origin_len)
        return 0;
    size_t plen = 2 + origin_len + field_value_len;
    h2_frame_hd_pack(out, (uint32_t)plen, H2_FRAME_ALTSVC, 0, stream_id);
    uint8_t *p = out + H2_FRAME_HEADER_LEN;
    h2_frame_put_u16(p, (uint16_t)origin_len);
    put_bytes(put_bytes(p + 2, origin, origin_len), field_value, field_value_len);
    return H2_FRAME_HEADER_LEN + plen;
}

size_t h2_frame_pack_priority_update(uint8_t *out, uint32_t prioritized_stream_id,
                                     const uint8_t *field_value, size_t field_value_len)
{
    if (field_value_len > H2_MAX_FRAME_SIZE_LIMIT - 4)
        return 0;
    h2_frame_hd_pack(out, (uint32_t)(4 + field_value_len), H2_FRAME_PRIORITY_UPDATE, 0, 0);
    uint8_t *p = out + H2_FRAME_HEADER_LEN;
    h2_frame_put_u32(p, prioritized_stream_id & H2_STREAM_ID_MASK);
    put_bytes(p + 4, field_value, field_value_len);
    return H2_FRAME_HEADER_LEN + 4 + field_value_len;
}

size_t h2_frame_pack_unknown(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id,
                             const uint8_t *payload, size_t len)
{
    if (len > H2_MAX_FRAME_SIZE_LIMIT)
        return 0;
    h2_frame_hd_pack(out, (uint32_t)len, type, flags, stream_id);
    put_bytes(out + H2_FRAME_HEADER_LEN, payload, len);
    return H2_FRAME_HEADER_LEN + len;
}
