/*
 * Receive path for header blocks: HEADERS, PUSH_PROMISE and CONTINUATION
 * reassembly, HPACK decoding, header checks (RFC 9113 8.1-8.3), stream
 * opening and the request/response/trailers/1xx events.
 */
#include <string.h>
#include "core/conn_internal.h"
#include "core/hpack_limits.h"
#include "core/mem.h"

static int hb_append(h2_conn *c, const uint8_t *p, size_t n)
{
    h2_hblock *hb = &c->hb;
    if (hb->len + n > h2_conn_max_header_block(c))
        return h2_conn_limit_fail(c, H2_LIMIT_HEADER_BLOCK_SIZE, H2_ENHANCE_YOUR_CALM,
                                  "header block too large");
    if (hb->len + n > hb->cap) {
        size_t cap = hb->cap < 1024 ? 1024 : hb->cap;
        while (cap < hb->len + n)
            cap *= 2;
        uint8_t *nb = h2_mem_realloc(c->mem, hb->buf, cap);
        if (nb == NULL)
            return H2_ENOMEM;
        hb->buf = nb;
        hb->cap = cap;
    }
    if (n > 0)
        memcpy(hb->buf + hb->len, p, n);
    hb->len += n;
    return 0;
}

static int process_block(h2_conn *c, const uint8_t *block, size_t len);

static int start_block(h2_conn *c, const h2_frame *f, const uint8_t *block, size_t len)
{
    h2_hblock *hb = &c->hb;
    hb->type = f->hd.type;
    hb->flags = f->hd.flags;
    hb->stream_id = f->hd.stream_id;
    hb->n_frames = 1;
    hb->len = 0;
    hb->has_priority = false;
    hb->promised_id = 0;
    if (f->hd.type == H2_FRAME_HEADERS) {
        hb->has_priority = f->u.headers.has_priority;
        hb->priority = f->u.headers.priority;
    } else {
        hb->promised_id = f->u.push_promise.promised_stream_id;
    }
    if (f->hd.flags & H2_FLAG_END_HEADERS)
        return process_block(c, block, len);
    int rv = len == 0 ? h2_conn_glitch(c) : 0; /* an empty fragment that ends nothing */
    if (rv == 0)
        rv = hb_append(c, block, len);
    if (rv != 0)
        return rv;
    hb->active = true;
    return 0;
}

int h2_conn_on_headers_frame(h2_conn *c, const h2_frame *f)
{
    /* judged on the frame, before the block is decoded or a stream opened
     * (the rule and its reasons are those of the PRIORITY frame) */
    if (f->u.headers.has_priority && f->u.headers.priority.depends_on == f->hd.stream_id)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "HEADERS making a stream depend on itself");
    return start_block(c, f, f->u.headers.block, f->u.headers.block_len);
}

int h2_conn_on_push_promise_frame(h2_conn *c, const h2_frame *f)
{
    if (!h2_conn_is_client(c))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PUSH_PROMISE sent to a server");
    if (h2_settings_get(&c->local, H2_SETTING_ENABLE_PUSH) == 0)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PUSH_PROMISE while push is disabled");
    return start_block(c, f, f->u.push_promise.block, f->u.push_promise.block_len);
}

int h2_conn_on_continuation_frame(h2_conn *c, const h2_frame *f)
{
    h2_hblock *hb = &c->hb;
    if (!hb->active)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "CONTINUATION outside a header block");
    if (++hb->n_frames > c->cfg.max_continuation_frames)
        return h2_conn_limit_fail(c, H2_LIMIT_CONTINUATION_FRAMES, H2_ENHANCE_YOUR_CALM,
                                  "too many CONTINUATION frames");
    bool end = (f->hd.flags & H2_FLAG_END_HEADERS) != 0;
    int rv = f->u.continuation.block_len == 0 && !end ? h2_conn_glitch(c) : 0;
    if (rv == 0)
        rv = hb_append(c, f->u.continuation.block, f->u.continuation.block_len);
    if (rv != 0)
        return rv;
    if (!(f->hd.flags & H2_FLAG_END_HEADERS))
        return 0;
    hb->active = false;
    return process_block(c, hb->buf, hb->len);
}

/* Decodes a block; 0, H2_EPROTO (connection error queued) or H2_ENOMEM. */
static int decode(h2_conn *c, const uint8_t *block, size_t len, const h2_header **f, size_t *n)
{
    if (h2_conn_ensure_decoder(c) != 0)
        return H2_ENOMEM;
    int rv = h2_hpack_decode(c->dec, block, len, f, n);
    if (rv == 0)
        return 0;
    h2_hpack_limit_hit hit = h2_hpack_decoder_limit_hit(c->dec);
    if (rv == H2_EHEADER_LIST_SIZE) {
        if (hit == H2_HPACK_HIT_STRING)
            return h2_conn_limit_fail(c, H2_LIMIT_HEADER_FIELD_SIZE, H2_ENHANCE_YOUR_CALM,
                                      "header field longer than allowed");
        return h2_conn_limit_fail(c, H2_LIMIT_HEADER_LIST_SIZE, H2_ENHANCE_YOUR_CALM,
                                  "header list larger than MAX_HEADER_LIST_SIZE");
    }
    if (rv == H2_ENOMEM)
        return H2_ENOMEM;
    if (hit == H2_HPACK_HIT_FIELDS)
        return h2_conn_limit_fail(c, H2_LIMIT_HEADER_FIELDS_HARD, H2_COMPRESSION_ERROR,
                                  "too many header fields in a block");
    if (hit == H2_HPACK_HIT_TABLE_SIZE)
        return h2_conn_limit_fail(c, H2_LIMIT_HPACK_TABLE_SIZE, H2_COMPRESSION_ERROR,
                                  "HPACK table size update above our limit");
    return h2_conn_fail(c, H2_COMPRESSION_ERROR, "header block could not be decoded");
}

/*
 * True when a decoded block has more fields than the soft limit. Cookie
 * crumbs (RFC 9113 8.2.3) count as one field, as they are joined.
 */
static bool over_soft_fields(const h2_conn *c, const h2_header *f, size_t n)
{
    uint32_t soft = h2_conn_max_fields_soft(c);
    if (n <= soft)
        return false;
    size_t count = 0;
    bool cookie = false;
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len == 6 && memcmp(f[i].name, "cookie", 6) == 0) {
            if (cookie)
                continue;
            cookie = true;
        }
        count++;
    }
    return count > soft;
}

/* A block over the soft field limit: the stream (or the new one) is reset. */
static int soft_fields_reset(h2_conn *c, h2_stream *s, uint32_t id)
{
    int rv = h2_conn_limit_note(c, H2_LIMIT_HEADER_FIELDS, id, H2_ENHANCE_YOUR_CALM, false);
    return rv != 0 ? rv : h2_conn_stream_error(c, s, id, H2_ENHANCE_YOUR_CALM, s != NULL);
}

static bool is_cookie(const h2_header *h)
{
    return h->name_len == 6 && memcmp(h->name, "cookie", 6) == 0;
}

/*
 * Inbound normalisation (cookie joining). The joined list lives in
 * scratch_in, whose chunks never move and which is reset only at the next
 * receive call, so it lives as long as the events.
 */
int h2_conn_normalize_inbound(h2_conn *c, const h2_header **f, size_t *n)
{
    if (!c->cfg.normalize_inbound_headers)
        return 0;
    size_t cookies = 0, last = 0;
    for (size_t i = 0; i < *n; i++) {
        if (is_cookie(&(*f)[i])) {
            cookies++;
            last = i;
        }
    }
    if (cookies == 0)
        return 0;
    if (cookies == 1 && last == *n - 1) {
        /* Already joined and last: only the never-index flag changes. The
         * array is the decoder's output for this call, writable by design. */
        ((h2_header *)(uintptr_t)*f)[last].flags |= H2_HEADER_NEVER_INDEX;
        return 0;
    }
    const h2_header *out;
    size_t n_out;
    if (h2_headers_normalize_inbound(*f, *n, &c->scratch_in, &out, &n_out) != 0)
        return H2_ENOMEM;
    *f = out;
    *n = n_out;
    return 0;
}

/* Pushes a headers event plus its linked StreamEnded / PriorityUpdated. */
static int emit_headers(h2_conn *c, int type, uint32_t id, const h2_header *f, size_t n, bool end)
{
    size_t idx = c->n_ev;
    h2_event *e = h2_conn_push_event(c, type, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.headers.fields = f;
    e->u.headers.n = n;
    e->u.headers.stream_ended = -1;
    e->u.headers.priority_updated = -1;
    if (end) {
        if (h2_conn_push_event(c, H2_EV_STREAM_ENDED, id) == NULL)
            return H2_ENOMEM;
        c->ev[idx].u.headers.stream_ended = (int32_t)(c->n_ev - 1);
    }
    if (c->hb.has_priority && !h2_conn_ignores_rfc7540(c)) {
        h2_event *p = h2_conn_push_event(c, H2_EV_PRIORITY_UPDATED, id);
        if (p == NULL)
            return H2_ENOMEM;
        p->u.priority.depends_on = c->hb.priority.depends_on;
        p->u.priority.weight = c->hb.priority.weight;
        p->u.priority.exclusive = c->hb.priority.exclusive;
        c->ev[idx].u.headers.priority_updated = (int32_t)(c->n_ev - 1);
    }
    return 0;
}

/* A block that opens a new stream from the peer (we are the server). */
/* Refuses a new stream because of |lim|: counted, a glitch, RST(REFUSED_STREAM). */
static int refuse_limit(h2_conn *c, uint32_t id, h2_limit lim)
{
    int rv = h2_conn_limit_note(c, lim, id, H2_REFUSED_STREAM, false);
    if (rv == 0)
        rv = h2_conn_glitch(c);
    return rv != 0 ? rv : h2_conn_stream_error(c, NULL, id, H2_REFUSED_STREAM, false);
}

/* Rotation: the request limit of the connection is reached with |id|. */
static int rotate(h2_conn *c, uint32_t id)
{
    int rv = h2_conn_limit_note(c, H2_LIMIT_REQUESTS_PER_CONNECTION, id, H2_NO_ERROR, true);
    if (rv != 0)
        return rv;
    const char *name = h2_limit_name(H2_LIMIT_REQUESTS_PER_CONNECTION);
    if (h2_conn_write_goaway(c, id, H2_NO_ERROR, (const uint8_t *)name, strlen(name)) != 0)
        return H2_ENOMEM;
    if (!(c->flags & H2_CF_GOAWAY_SENT) || id < c->goaway_sent_last)
        c->goaway_sent_last = id;
    c->flags |= H2_CF_GOAWAY_SENT;
    return 0;
}

static int open_inbound(h2_conn *c, uint32_t id, const h2_header *f, size_t n, bool end)
{
    c->highest_inbound = id;
    uint32_t mcs = h2_settings_get(&c->local, H2_SETTING_MAX_CONCURRENT_STREAMS);
    if ((c->flags & H2_CF_GOAWAY_SENT) && id > c->goaway_sent_last)
        return h2_conn_stream_error(c, NULL, id, H2_REFUSED_STREAM, false);
    if (mcs != H2_SETTING_UNSET && c->n_inbound >= mcs)
        return refuse_limit(c, id, H2_LIMIT_CONCURRENT_STREAMS);
    if (c->n_slots >= h2_conn_max_active(c))
        return refuse_limit(c, id, H2_LIMIT_ACTIVE_REQUESTS);
    if (over_soft_fields(c, f, n))
        return soft_fields_reset(c, NULL, id);
    int rv = h2_conn_normalize_inbound(c, &f, &n);
    if (rv != 0)
        return rv;
    h2_block_expect ex = {.request = true,
                          .final_seen = false,
                          .connect_protocol =
                              h2_settings_get(&c->local, H2_SETTING_ENABLE_CONNECT_PROTOCOL) == 1};
    h2_block_info info;
    if (h2_headers_check_inbound(f, n, &ex, c->cfg.validate_inbound_headers, &info) != 0 ||
        (end && info.content_length > 0))
        return h2_conn_stream_error(c, NULL, id, H2_PROTOCOL_ERROR, false);
    if (h2_stream_reserve(&c->streams, c->mem) != 0 || h2_conn_slot_take(c, id) != 0)
        return H2_ENOMEM;
    h2_stream *s = h2_stream_new(&c->streams, c->mem, id);
    s->state = end ? H2_SS_HALF_CLOSED_REMOTE : H2_SS_OPEN;
    s->flags = H2_SF_RECV_FINAL;
    s->content_left = info.content_length;
    s->send_window = (int32_t)h2_settings_get(&c->remote, H2_SETTING_INITIAL_WINDOW_SIZE);
    h2_recv_window_init(&s->recv, h2_settings_get(&c->local, H2_SETTING_INITIAL_WINDOW_SIZE));
    c->n_inbound++;
    c->stats.streams_opened_remote++;
    c->requests_accepted++;
    rv = emit_headers(c, H2_EV_REQUEST_RECEIVED, id, f, n, end);
    if (rv == 0 && c->cfg.max_requests_per_connection != 0 &&
        c->requests_accepted == c->cfg.max_requests_per_connection)
        rv = rotate(c, id);
    return rv;
}

/* A block on a stream that is open (response, 1xx or trailers). */
static int on_stream_block(h2_conn *c, h2_stream *s, const h2_header *f, size_t n, bool end)
{
    uint32_t id = s->id;
    /* RFC 9113 5.1: reserved (local) receives no HEADERS */
    if (!h2_conn_is_client(c) && h2_stream_is_reserved(c, s))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "HEADERS on a reserved stream");
    if (s->state == H2_SS_HALF_CLOSED_REMOTE)
        return h2_conn_stream_error(c, s, id, H2_STREAM_CLOSED, true);
    if (over_soft_fields(c, f, n))
        return soft_fields_reset(c, s, id);
    int rv = h2_conn_normalize_inbound(c, &f, &n);
    if (rv != 0)
        return rv;
    h2_block_expect ex = {.request = false,
                          .final_seen = (s->flags & H2_SF_RECV_FINAL) != 0,
                          .connect_protocol = false};
    h2_block_info info;
    if (h2_headers_check_inbound(f, n, &ex, c->cfg.validate_inbound_headers, &info) != 0)
        return h2_conn_stream_error(c, s, id, H2_PROTOCOL_ERROR, true);
    int type;
    switch (info.kind) {
    case H2_BLOCK_INFORMATIONAL:
        /* only a response to our request, before the final one (RFC 9113 8.1) */
        if (end || (s->flags & H2_SF_RECV_FINAL) || !(s->flags & H2_SF_OUTBOUND))
            return h2_conn_stream_error(c, s, id, H2_PROTOCOL_ERROR, true);
        type = H2_EV_INFORMATIONAL_RESPONSE_RECEIVED;
        break;
    case H2_BLOCK_TRAILERS:
        if (!end || s->content_left > 0)
            return h2_conn_stream_error(c, s, id, H2_PROTOCOL_ERROR, true);
        s->flags |= H2_SF_RECV_TRAILERS;
        type = H2_EV_TRAILERS_RECEIVED;
        break;
    default: {
        int64_t cl = info.content_length;
        if ((s->flags & H2_SF_HEAD) || info.status == 204 || info.status == 304)
            cl = 0;
        if (end && cl > 0)
            return h2_conn_stream_error(c, s, id, H2_PROTOCOL_ERROR, true);
        s->content_left = cl;
        s->flags |= H2_SF_RECV_FINAL;
        type = H2_EV_RESPONSE_RECEIVED;
        break;
    }
    }
    rv = emit_headers(c, type, id, f, n, end);
    if (rv != 0)
        return rv;
    if (end) {
        if (s->state == H2_SS_HALF_CLOSED_LOCAL)
            h2_conn_close_stream(c, s, H2_CLOSED_END_STREAM);
        else
            s->state = H2_SS_HALF_CLOSED_REMOTE;
    }
    return 0;
}

static int on_headers_block(h2_conn *c, const uint8_t *block, size_t len)
{
    uint32_t id = c->hb.stream_id;
    bool end = (c->hb.flags & H2_FLAG_END_STREAM) != 0;
    const h2_header *f;
    size_t n;
    int rv;
    h2_stream *s = h2_stream_get(&c->streams, id);
    if (s != NULL) {
        rv = decode(c, block, len, &f, &n);
        return rv != 0 ? rv : on_stream_block(c, s, f, n, end);
    }
    bool ours = h2_conn_is_ours(c, id);
    uint32_t highest = ours ? c->highest_outbound : c->highest_inbound;
    /* a new id cannot be remembered as closed: skip the lookup */
    uint32_t how = id > highest ? 0 : h2_stream_closed_how(&c->streams, id);
    if (how == H2_CLOSED_END_STREAM)
        return h2_conn_fail(c, H2_STREAM_CLOSED, "HEADERS on a stream closed by END_STREAM");
    if (how == 0 && id <= highest)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "HEADERS on a closed stream");
    if (how == 0 && ours)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "HEADERS on a stream we did not open");
    if (how == 0 && h2_conn_is_client(c))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "HEADERS opening a stream from a server");
    rv = decode(c, block, len, &f, &n);
    if (rv != 0)
        return rv;
    /* a block on a stream we reset is decoded (HPACK state) and ignored: a glitch */
    if (how == H2_CLOSED_RST_SENT)
        return h2_conn_glitch(c);
    if (how == H2_CLOSED_RST_RECV) {
        rv = h2_conn_glitch(c);
        if (rv == 0)
            rv = h2_conn_reply_room(c, 13);
        return rv != 0 ? rv : h2_conn_write_rst(c, id, H2_STREAM_CLOSED);
    }
    return open_inbound(c, id, f, n, end);
}

static int on_push_promise_block(h2_conn *c, const uint8_t *block, size_t len)
{
    uint32_t parent_id = c->hb.stream_id;
    uint32_t promised = c->hb.promised_id;
    if (promised == 0 || (promised & 1u) || promised <= c->highest_inbound)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "invalid promised stream id");
    h2_stream *parent = h2_stream_get(&c->streams, parent_id);
    if (parent == NULL) {
        if (h2_stream_closed_how(&c->streams, parent_id) != H2_CLOSED_RST_SENT)
            return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PUSH_PROMISE on a closed stream");
    } else if (!(parent->flags & H2_SF_OUTBOUND) || parent->state == H2_SS_HALF_CLOSED_REMOTE) {
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PUSH_PROMISE on a stream that cannot carry one");
    }
    const h2_header *f;
    size_t n;
    int rv = decode(c, block, len, &f, &n);
    if (rv != 0)
        return rv;
    c->highest_inbound = promised;
    if (over_soft_fields(c, f, n))
        return soft_fields_reset(c, NULL, promised);
    return h2_conn_on_push_promise(c, parent, parent_id, promised, f, n);
}

static int process_block(h2_conn *c, const uint8_t *block, size_t len)
{
    if (c->hb.type == H2_FRAME_PUSH_PROMISE)
        return on_push_promise_block(c, block, len);
    return on_headers_block(c, block, len);
}
