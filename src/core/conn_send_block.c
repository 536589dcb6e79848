/*
 * Outbound header blocks, the one path for HEADERS and PUSH_PROMISE: the
 * fields are normalised and checked, encoded with the connection's HPACK
 * encoder straight into the output, then framed in place as the first
 * frame plus as many CONTINUATION frames as the peer's MAX_FRAME_SIZE
 * needs. Also the stream a sent block opens on our side.
 */
#include <string.h>
#include "core/conn_internal.h"
#include "core/hpack_encoder.h"
#include "core/mem.h"

int h2_conn_prepare_outbound(h2_conn *c, const h2_header *fields, size_t n,
                             const h2_block_expect *ex, h2_outbound_block *out)
{
    h2_outbound_opts opts = {
        .normalize = c->cfg.normalize_outbound_headers,
        .split_cookies = c->cfg.split_outbound_cookies,
        .validate = c->cfg.validate_outbound_headers,
    };
    h2_hdr_scratch_reset(&c->scratch);
    int rv = h2_headers_prepare_outbound(fields, n, ex, &opts, &c->scratch, &out->fields, &out->n,
                                         &out->info);
    if (rv != 0)
        return rv == H2_ENOMEM ? H2_ENOMEM : H2_EHEADER;
    return 0;
}

/* Bytes between the first frame's header and the block: priority or promised id. */
static size_t lead_len(const h2_block_frame *b)
{
    if (b->type == H2_FRAME_PUSH_PROMISE)
        return 4;
    return b->prio != NULL ? 5 : 0;
}

/* Writes the first frame's fields before the block and returns its flags. */
static uint8_t put_lead(uint8_t *p, const h2_block_frame *b)
{
    if (b->type == H2_FRAME_PUSH_PROMISE) {
        h2_frame_put_u32(p, b->promised & H2_MAX_STREAM_ID);
        return b->flags;
    }
    if (b->prio == NULL)
        return b->flags;
    h2_frame_put_u32(p, b->prio->depends_on | (b->prio->exclusive ? 0x80000000u : 0));
    p[4] = (uint8_t)(b->prio->weight - 1);
    return (uint8_t)(b->flags | H2_FLAG_PRIORITY);
}

/*
 * Frames an encoded block of |blen| bytes that sits at base + 9 + lead in
 * place: CONTINUATION headers are made room for by moving the tail pieces
 * up, last piece first. Returns the total bytes written.
 */
static size_t frame_in_place(uint8_t *base, const h2_block_frame *b, size_t blen,
                             uint32_t max_frame)
{
    size_t lead = lead_len(b);
    size_t first_cap = max_frame - lead;
    uint8_t *block = base + H2_FRAME_HEADER_LEN + lead;
    size_t n_cont = h2_frame_continuations(blen, first_cap, max_frame);
    for (size_t k = n_cont; k >= 1; k--) {
        size_t start = first_cap + (k - 1) * max_frame;
        size_t len = blen - start < max_frame ? blen - start : max_frame;
        uint8_t *dst = block + start + H2_FRAME_HEADER_LEN * k;
        memmove(dst, block + start, len);
        h2_frame_hd_pack(dst - H2_FRAME_HEADER_LEN, (uint32_t)len, H2_FRAME_CONTINUATION,
                         k == n_cont ? H2_FLAG_END_HEADERS : 0, b->stream_id);
    }
    uint8_t flags = put_lead(base + H2_FRAME_HEADER_LEN, b);
    if (n_cont == 0)
        flags |= H2_FLAG_END_HEADERS;
    size_t first_len = blen < first_cap ? blen : first_cap;
    h2_frame_hd_pack(base, (uint32_t)(first_len + lead), b->type, flags, b->stream_id);
    return H2_FRAME_HEADER_LEN * (1 + n_cont) + lead + blen;
}

int h2_conn_queue_block(h2_conn *c, const h2_block_frame *b, const h2_outbound_block *ob,
                        bool new_stream)
{
    if (h2_conn_ensure_encoder(c) != 0)
        return H2_ENOMEM;
    size_t bound = h2_hpack_encode_bound(c->enc, ob->fields, ob->n);
    uint32_t max_frame = h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE);
    size_t lead = lead_len(b);
    size_t n_frames = 1 + h2_frame_continuations(bound, max_frame - lead, max_frame);
    if (h2_obuf_reserve(&c->out, c->mem, H2_FRAME_HEADER_LEN * n_frames + lead + bound) != 0)
        return H2_ENOMEM;
    if (new_stream && h2_stream_reserve(&c->streams, c->mem) != 0)
        return H2_ENOMEM;
    uint8_t *base = h2_obuf_tail(&c->out);
    size_t blen;
    int rv = h2_hpack_encode_within(c->enc, ob->fields, ob->n, base + H2_FRAME_HEADER_LEN + lead,
                                    bound, &blen);
    if (rv != 0)
        return rv == H2_ENOMEM ? H2_ENOMEM : H2_EINTERNAL;
    h2_obuf_commit(&c->out, frame_in_place(base, b, blen, max_frame));
    c->stats.frames_sent += 1 + h2_frame_continuations(blen, max_frame - lead, max_frame);
    return 0;
}

h2_stream *h2_conn_open_local_stream(h2_conn *c, uint32_t id, uint8_t state, uint8_t flags)
{
    c->stats.streams_opened_local++;
    h2_stream *s = h2_stream_new(&c->streams, c->mem, id);
    s->state = state;
    s->flags = flags;
    s->send_window = (int32_t)h2_settings_get(&c->remote, H2_SETTING_INITIAL_WINDOW_SIZE);
    h2_recv_window_init(&s->recv, h2_settings_get(&c->local, H2_SETTING_INITIAL_WINDOW_SIZE));
    c->highest_outbound = id;
    c->n_outbound++;
    return s;
}
