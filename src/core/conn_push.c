/*
 * Server push (RFC 9113 section 8.4): h2_conn_push_stream() on a server,
 * and on a client the acceptance or refusal of a received PUSH_PROMISE.
 *
 * A promised stream is modelled with the ordinary stream states: on the
 * server it is half-closed (remote) from the promise on, without final
 * headers sent (the response is sent with h2_conn_send_headers()); on the
 * client it is half-closed (local), without final headers received (the
 * response arrives as ResponseReceived). "Reserved" is the part of that
 * life before the response headers.
 */
#include <string.h>
#include "core/conn_internal.h"
#include "core/mem.h"

/* The :method value of a block, or NULL/0 when absent. */
static const uint8_t *find_method(const h2_header *f, size_t n, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len == 7 && memcmp(f[i].name, ":method", 7) == 0) {
            *len = f[i].value_len;
            return f[i].value;
        }
    }
    *len = 0;
    return NULL;
}

/* A promised request must be safe and cacheable (RFC 9113 8.4): GET or HEAD. */
static bool pushable_method(const h2_header *f, size_t n)
{
    size_t len;
    const uint8_t *m = find_method(f, n, &len);
    return m != NULL &&
           ((len == 3 && memcmp(m, "GET", 3) == 0) || (len == 4 && memcmp(m, "HEAD", 4) == 0));
}

/* ---- sending (server) ---------------------------------------------------------- */

/*
 * Serializes an encoded block that sits at base + 13 as PUSH_PROMISE (+
 * CONTINUATION) frames in place. Returns the total bytes written.
 */
static size_t frame_push_block(uint8_t *base, uint32_t parent, uint32_t promised, size_t blen,
                               uint32_t max_frame)
{
    size_t first_cap = max_frame - 4;
    uint8_t *block = base + 13;
    size_t n_extra = 0;
    if (blen > first_cap)
        n_extra = (blen - first_cap + max_frame - 1) / max_frame;
    for (size_t k = n_extra; k >= 1; k--) {
        size_t start = first_cap + (k - 1) * max_frame;
        size_t len = blen - start < max_frame ? blen - start : max_frame;
        uint8_t *dst = block + start + 9 * k;
        memmove(dst, block + start, len);
        h2_frame_hd_pack(dst - 9, (uint32_t)len, H2_FRAME_CONTINUATION,
                         k == n_extra ? H2_FLAG_END_HEADERS : 0, parent);
    }
    size_t first_len = blen < first_cap ? blen : first_cap;
    h2_frame_hd_pack(base, (uint32_t)(first_len + 4), H2_FRAME_PUSH_PROMISE,
                     n_extra == 0 ? H2_FLAG_END_HEADERS : 0, parent);
    h2_frame_put_u32(base + 9, promised & H2_MAX_STREAM_ID);
    return 9 * (1 + n_extra) + 4 + blen;
}

/* The checks of h2_conn_push_stream() that come before the header block. */
static int check_push(const h2_conn *c, uint32_t parent_id, uint32_t promised)
{
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (h2_conn_is_client(c))
        return H2_EROLE;
    if (h2_settings_get(&c->remote, H2_SETTING_ENABLE_PUSH) == 0)
        return H2_EPUSH_DISABLED;
    if (c->flags & (H2_CF_GOAWAY_SENT | H2_CF_GOAWAY_RECV))
        return H2_ECLOSED;
    h2_stream *parent;
    rv = h2_conn_find_stream(c, parent_id, &parent);
    if (rv != 0)
        return rv;
    /* no push on a pushed stream; the parent's response must not be over */
    if (h2_conn_is_ours(c, parent_id) || parent->state == H2_SS_HALF_CLOSED_LOCAL)
        return H2_ESTATE;
    if (promised == 0 || promised > H2_MAX_STREAM_ID || !h2_conn_is_ours(c, promised) ||
        promised <= c->highest_outbound)
        return H2_ESTREAM_ID;
    return 0;
}

int h2_conn_push_stream(h2_conn *c, uint32_t parent_id, uint32_t promised, const h2_header *fields,
                        size_t n)
{
    if (c == NULL || (fields == NULL && n > 0))
        return H2_EINVAL;
    int rv = check_push(c, parent_id, promised);
    if (rv != 0)
        return rv;
    h2_block_expect ex = {.request = true, .final_seen = false, .connect_protocol = false};
    h2_outbound_opts opts = {
        .normalize = c->cfg.normalize_outbound_headers,
        .split_cookies = c->cfg.split_outbound_cookies,
        .validate = c->cfg.validate_outbound_headers,
    };
    const h2_header *of;
    size_t on;
    h2_block_info info;
    h2_hdr_scratch_reset(&c->scratch);
    rv = h2_headers_prepare_outbound(fields, n, &ex, &opts, &c->scratch, &of, &on, &info);
    if (rv != 0)
        return rv == H2_ENOMEM ? H2_ENOMEM : H2_EHEADER;
    if (opts.validate && !pushable_method(of, on))
        return H2_EHEADER;
    rv = h2_conn_check_send_list(c, of, on);
    if (rv != 0)
        return rv;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;

    if (h2_conn_ensure_encoder(c) != 0)
        return H2_ENOMEM;
    size_t bound = h2_hpack_encode_bound(c->enc, of, on);
    uint32_t max_frame = h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE);
    size_t first_cap = max_frame - 4;
    size_t n_frames = 1;
    if (bound > first_cap)
        n_frames += (bound - first_cap + max_frame - 1) / max_frame;
    if (h2_obuf_reserve(&c->out, &c->mem, 9 * n_frames + 4 + bound) != 0)
        return H2_ENOMEM;
    if (h2_stream_reserve(&c->streams, &c->mem) != 0)
        return H2_ENOMEM;
    uint8_t *base = h2_obuf_tail(&c->out);
    size_t blen;
    rv = h2_hpack_encode(c->enc, of, on, base + 13, bound, &blen);
    if (rv != 0)
        return rv == H2_ENOMEM ? H2_ENOMEM : H2_EINTERNAL;

    /* Commit. */
    h2_obuf_commit(&c->out, frame_push_block(base, parent_id, promised, blen, max_frame));
    c->stats.frames_sent +=
        1 + (blen > first_cap ? (blen - first_cap + max_frame - 1) / max_frame : 0);
    c->stats.streams_opened_local++;
    h2_stream *s = h2_stream_new(&c->streams, &c->mem, promised);
    s->state = H2_SS_HALF_CLOSED_REMOTE;
    s->flags = H2_SF_OUTBOUND;
    s->send_window = (int32_t)h2_settings_get(&c->remote, H2_SETTING_INITIAL_WINDOW_SIZE);
    h2_recv_window_init(&s->recv, h2_settings_get(&c->local, H2_SETTING_INITIAL_WINDOW_SIZE));
    c->highest_outbound = promised;
    c->n_outbound++;
    return 0;
}

/* ---- receiving (client) ----------------------------------------------------------- */

struct reserved_count {
    uint32_t n;
};

/* On a client every live inbound stream is a pushed one; it is reserved until
 * its response headers arrive. */
static void count_reserved(h2_stream *s, void *arg)
{
    struct reserved_count *rc = arg;
    if (!(s->flags & (H2_SF_OUTBOUND | H2_SF_RECV_FINAL)))
        rc->n++;
}

static uint32_t max_reserved(const h2_conn *c)
{
    return c->cfg.max_reserved_streams == 0 ? 100u : c->cfg.max_reserved_streams;
}

static int refuse(h2_conn *c, uint32_t promised, uint32_t code)
{
    return h2_conn_stream_error(c, NULL, promised, code, false);
}

int h2_conn_on_push_promise(h2_conn *c, h2_stream *parent, uint32_t parent_id, uint32_t promised,
                            const h2_header *f, size_t n)
{
    /* a promise on a stream we reset, or past our GOAWAY: refused quietly */
    if (parent == NULL)
        return refuse(c, promised, H2_REFUSED_STREAM);
    if ((c->flags & H2_CF_GOAWAY_SENT) && promised > c->goaway_sent_last)
        return refuse(c, promised, H2_REFUSED_STREAM);
    int rv = h2_conn_normalize_inbound(c, &f, &n);
    if (rv != 0)
        return rv;
    h2_block_expect ex = {.request = true, .final_seen = false, .connect_protocol = false};
    h2_block_info info;
    bool validate = c->cfg.validate_inbound_headers;
    if (h2_headers_check_inbound(f, n, &ex, validate, &info) != 0 ||
        (validate && !pushable_method(f, n)) || info.content_length > 0)
        return refuse(c, promised, H2_PROTOCOL_ERROR);
    struct reserved_count rc = {0};
    h2_stream_map_each(&c->streams.live, count_reserved, &rc);
    if (rc.n >= max_reserved(c)) {
        rv = h2_conn_limit_note(c, H2_LIMIT_RESERVED_STREAMS, promised, H2_REFUSED_STREAM, false);
        if (rv == 0)
            rv = h2_conn_glitch(c);
        return rv != 0 ? rv : refuse(c, promised, H2_REFUSED_STREAM);
    }
    if (h2_stream_reserve(&c->streams, &c->mem) != 0)
        return H2_ENOMEM;
    h2_stream *s = h2_stream_new(&c->streams, &c->mem, promised);
    s->state = H2_SS_HALF_CLOSED_LOCAL;
    s->flags = info.method_head ? H2_SF_HEAD : 0;
    s->send_window = (int32_t)h2_settings_get(&c->remote, H2_SETTING_INITIAL_WINDOW_SIZE);
    h2_recv_window_init(&s->recv, h2_settings_get(&c->local, H2_SETTING_INITIAL_WINDOW_SIZE));
    c->n_inbound++;
    c->stats.streams_opened_remote++;
    h2_event *e = h2_conn_push_event(c, H2_EV_PUSHED_STREAM_RECEIVED, promised);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.push.fields = f;
    e->u.push.n = n;
    e->u.push.parent_stream_id = parent_id;
    return 0;
}
