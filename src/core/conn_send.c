/*
 * Sending API: every call validates everything first, then reserves the
 * memory it needs, then commits. A refused call changes nothing.
 */
#include <string.h>
#include "core/conn_internal.h"
#include "core/mem.h"

int h2_conn_check_send_list(const h2_conn *c, const h2_header *f, size_t n)
{
    /* Sum of name + value + 32 over the fields (RFC 9113 6.5.2). */
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        size += (uint64_t)f[i].name_len + f[i].value_len + H2_HPACK_ENTRY_OVERHEAD;
    uint32_t peer = h2_settings_get(&c->remote, H2_SETTING_MAX_HEADER_LIST_SIZE);
    if (peer != H2_SETTING_UNSET && size > peer)
        return H2_EHEADER_LIST_SIZE;
    if (c->cfg.max_send_header_list_size != 0 && size > c->cfg.max_send_header_list_size)
        return H2_EHEADER_LIST_SIZE;
    return 0;
}

/* After END_STREAM from us on a live stream. */
static void sent_end_stream(h2_conn *c, h2_stream *s)
{
    if (s->state == H2_SS_HALF_CLOSED_REMOTE)
        h2_conn_close_stream(c, s, H2_CLOSED_END_STREAM);
    else
        s->state = H2_SS_HALF_CLOSED_LOCAL;
}

/* Stream-id policy for a block on a stream that does not exist: only a
 * client opens streams, with fresh ids of its parity, within the peer's
 * MAX_CONCURRENT_STREAMS and before any GOAWAY. */
static int check_new_stream(const h2_conn *c, uint32_t id)
{
    bool fresh = h2_conn_is_ours(c, id) && id > c->highest_outbound;
    if (!fresh && h2_stream_closed_how(&c->streams, id) != 0)
        return H2_ESTREAM_CLOSED;
    if (!h2_conn_is_ours(c, id))
        return id <= c->highest_inbound ? H2_ESTREAM_CLOSED : H2_ESTREAM_ID;
    if (!h2_conn_is_client(c))
        return H2_EROLE;
    if (id <= c->highest_outbound)
        return H2_ESTREAM_ID;
    if (c->flags & (H2_CF_GOAWAY_SENT | H2_CF_GOAWAY_RECV))
        return H2_ECLOSED;
    uint32_t mcs = h2_settings_get(&c->remote, H2_SETTING_MAX_CONCURRENT_STREAMS);
    if (mcs == H2_SETTING_UNSET && c->cfg.assumed_peer_max_concurrent_streams != 0)
        mcs = c->cfg.assumed_peer_max_concurrent_streams;
    if (mcs != H2_SETTING_UNSET && c->n_outbound + 1 > mcs)
        return H2_ETOO_MANY_STREAMS;
    return 0;
}

/* The argument checks of h2_conn_send_headers() that come before the stream. */
static int check_headers_args(const h2_conn *c, uint32_t id, const h2_header *fields, size_t n,
                              uint32_t flags, const h2_priority_args *prio, h2_priority_spec *ps)
{
    if (c == NULL || (fields == NULL && n > 0) || (flags & ~(uint32_t)H2_SEND_END_STREAM))
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (prio != NULL) {
        if (!h2_conn_is_client(c))
            return H2_EROLE;
        rv = h2_conn_priority_spec(prio, id, ps);
        if (rv != 0)
            return rv;
    }
    if (id == 0 || id > H2_MAX_STREAM_ID)
        return H2_ESTREAM_ID;
    return 0;
}

/* What the block may be on stream |s| (NULL: a new stream |id|), in |ex|. */
static int expect_for_stream(const h2_conn *c, uint32_t id, const h2_stream *s,
                             h2_block_expect *ex)
{
    ex->connect_protocol =
        h2_settings_get(&c->remote, H2_SETTING_ENABLE_CONNECT_PROTOCOL) == 1;
    if (s == NULL) {
        ex->request = true;
        ex->final_seen = false;
        return check_new_stream(c, id);
    }
    if (s->state == H2_SS_HALF_CLOSED_LOCAL)
        return H2_ESTATE;
    ex->request = false;
    ex->final_seen = (s->flags & H2_SF_SENT_FINAL) != 0;
    return 0;
}

/* Whether a block of |kind| may go on stream |s| now. */
static int check_block_kind(const h2_stream *s, h2_block_kind kind, bool end)
{
    if (kind == H2_BLOCK_INFORMATIONAL) {
        /* only a server, before its final response */
        if (s == NULL || (s->flags & (H2_SF_OUTBOUND | H2_SF_SENT_FINAL)))
            return H2_ESTATE;
        if (end)
            return H2_EINVAL;
    }
    if (kind == H2_BLOCK_TRAILERS && !end)
        return H2_EINVAL;
    return 0;
}

/* Stream state after a block was queued on |s| (NULL: it opened stream |id|). */
static void after_headers_sent(h2_conn *c, uint32_t id, h2_stream *s, const h2_block_info *info,
                               bool end)
{
    if (s == NULL) {
        s = h2_conn_open_local_stream(
            c, id, H2_SS_OPEN,
            (uint8_t)(H2_SF_OUTBOUND | H2_SF_SENT_FINAL | (info->method_head ? H2_SF_HEAD : 0)));
    } else if (info->kind == H2_BLOCK_TRAILERS) {
        s->flags |= H2_SF_SENT_TRAILERS;
    } else if (info->kind != H2_BLOCK_INFORMATIONAL) {
        s->flags |= H2_SF_SENT_FINAL;
    }
    if (end)
        sent_end_stream(c, s);
}

int h2_conn_send_headers(h2_conn *c, uint32_t id, const h2_header *fields, size_t n, uint32_t flags,
                         const h2_priority_args *prio)
{
    h2_priority_spec ps;
    int rv = check_headers_args(c, id, fields, n, flags, prio, &ps);
    if (rv != 0)
        return rv;
    bool end = (flags & H2_SEND_END_STREAM) != 0;
    h2_stream *s = h2_stream_get(&c->streams, id);
    h2_block_expect ex;
    rv = expect_for_stream(c, id, s, &ex);
    if (rv != 0)
        return rv;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;

    h2_outbound_block ob;
    rv = h2_conn_prepare_outbound(c, fields, n, &ex, &ob);
    if (rv == 0)
        rv = check_block_kind(s, ob.info.kind, end);
    if (rv == 0)
        rv = h2_conn_check_send_list(c, ob.fields, ob.n);
    if (rv != 0)
        return rv;

    h2_block_frame bf = {
        .type = H2_FRAME_HEADERS,
        .flags = end ? H2_FLAG_END_STREAM : 0,
        .stream_id = id,
        .prio = prio != NULL ? &ps : NULL,
    };
    rv = h2_conn_queue_block(c, &bf, &ob, s == NULL);
    if (rv != 0)
        return rv;
    after_headers_sent(c, id, s, &ob.info, end);
    return 0;
}

/* Payloads shorter than this are copied even when sent by reference. */
#define DATA_REF_MIN 256u

/*
 * One DATA frame. |by_ref|: the payload is queued by reference (when long
 * enough) and |release| is called once the output no longer needs it.
 */
static int send_data(h2_conn *c, uint32_t id, const uint8_t *data, size_t len, uint32_t flags,
                     int pad_len, bool by_ref, h2_data_release_fn release, void *user)
{
    if (c == NULL || (data == NULL && len > 0) || (flags & ~(uint32_t)H2_SEND_END_STREAM) ||
        pad_len < -1 || pad_len > 255)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    h2_stream *s;
    rv = h2_conn_find_stream(c, id, &s);
    if (rv != 0)
        return rv;
    if (s->state == H2_SS_HALF_CLOSED_LOCAL || !(s->flags & H2_SF_SENT_FINAL))
        return H2_ESTATE;
    size_t size = len + (pad_len >= 0 ? (size_t)pad_len + 1 : 0);
    int64_t window = s->send_window < c->send_window ? s->send_window : c->send_window;
    if (size > 0 && (int64_t)size > window)
        return H2_EFLOW_CONTROL;
    if (size > h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE))
        return H2_EFRAME_SIZE;
    if (size > 0 && h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    uint8_t fflags = (flags & H2_SEND_END_STREAM) ? H2_FLAG_END_STREAM : 0;
    if (by_ref && len >= DATA_REF_MIN) {
        /* Own bytes: header and pad length, then the payload by reference,
         * then the padding. */
        size_t pad = pad_len >= 0 ? (size_t)pad_len : 0;
        if (h2_obuf_reserve_segs(&c->out, c->mem, 3) != 0 ||
            h2_obuf_reserve(&c->out, c->mem, 10 + pad) != 0)
            return H2_ENOMEM;
        uint8_t *p = h2_obuf_tail(&c->out);
        if (pad_len >= 0)
            fflags |= H2_FLAG_PADDED;
        h2_frame_hd_pack(p, (uint32_t)size, H2_FRAME_DATA, fflags, id);
        size_t head = 9;
        if (pad_len >= 0)
            p[head++] = (uint8_t)pad_len;
        h2_obuf_commit(&c->out, head);
        h2_obuf_add_ref(&c->out, data, len, release, user);
        c->stats.frames_sent++;
        if (pad > 0) {
            memset(h2_obuf_tail(&c->out), 0, pad);
            h2_obuf_commit(&c->out, pad);
        }
    } else {
        if (h2_obuf_reserve(&c->out, c->mem, 9 + size) != 0)
            return H2_ENOMEM;
        h2_obuf_commit(&c->out,
                       h2_frame_pack_data(h2_obuf_tail(&c->out), id, fflags, data, len, pad_len));
        c->stats.frames_sent++;
        if (by_ref && release != NULL)
            release(user, data, len);
    }
    s->send_window = (int32_t)(s->send_window - (int64_t)size);
    c->send_window = (int32_t)(c->send_window - (int64_t)size);
    if (flags & H2_SEND_END_STREAM)
        sent_end_stream(c, s);
    return 0;
}

int h2_conn_send_data(h2_conn *c, uint32_t id, const uint8_t *data, size_t len, uint32_t flags,
                      int pad_len)
{
    return send_data(c, id, data, len, flags, pad_len, false, NULL, NULL);
}

int h2_conn_send_data_ref(h2_conn *c, uint32_t id, const uint8_t *data, size_t len, uint32_t flags,
                          int pad_len, h2_data_release_fn release, void *user)
{
    return send_data(c, id, data, len, flags, pad_len, true, release, user);
}

int h2_conn_end_stream(h2_conn *c, uint32_t id)
{
    return h2_conn_send_data(c, id, NULL, 0, H2_SEND_END_STREAM, -1);
}

int h2_conn_reset_stream(h2_conn *c, uint32_t id, uint32_t error_code)
{
    if (c == NULL)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    h2_stream *s;
    rv = h2_conn_find_stream(c, id, &s);
    if (rv != 0)
        return rv;
    if (h2_conn_write_rst(c, id, error_code) != 0)
        return H2_ENOMEM;
    h2_conn_close_stream(c, s, H2_CLOSED_RST_SENT);
    return 0;
}

int h2_conn_close(h2_conn *c, uint32_t error_code, const uint8_t *debug, size_t debug_len,
                  int64_t last_stream_id)
{
    if (c == NULL || (debug == NULL && debug_len > 0) || last_stream_id < -1 ||
        last_stream_id > (int64_t)H2_MAX_STREAM_ID)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (debug_len > h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE) - 8)
        return H2_EINVAL;
    uint32_t last = last_stream_id < 0 ? c->highest_inbound : (uint32_t)last_stream_id;
    if (h2_obuf_reserve(&c->out, c->mem, 17 + debug_len) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out,
                   h2_frame_pack_goaway(h2_obuf_tail(&c->out), last, error_code, debug, debug_len));
    c->stats.frames_sent++;
    if (!(c->flags & H2_CF_GOAWAY_SENT) || last < c->goaway_sent_last)
        c->goaway_sent_last = last;
    c->flags |= H2_CF_GOAWAY_SENT;
    return 0;
}

int h2_conn_update_settings(h2_conn *c, const h2_setting *entries, size_t n)
{
    if (c == NULL || (entries == NULL && n > 0) || n > H2_SETTINGS_MAX_PER_FRAME)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    bool server = !h2_conn_is_client(c);
    for (size_t i = 0; i < n; i++) {
        if (h2_settings_check(entries[i].id, entries[i].value, server) != H2_NO_ERROR)
            return H2_ESETTINGS;
        /* RFC 9218 2.1: the value of the first SETTINGS frame is final. */
        if (entries[i].id == H2_SETTING_NO_RFC7540_PRIORITIES &&
            entries[i].value != c->cfg.no_rfc7540_priorities)
            return H2_ESETTINGS;
    }
    if (c->pending.n_frames >= H2_SETTINGS_MAX_PENDING)
        return H2_EAGAIN;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    if (h2_obuf_reserve(&c->out, c->mem, 9 + 6 * n) != 0)
        return H2_ENOMEM;
    rv = h2_settings_pending_push(&c->pending, c->mem, entries, n);
    if (rv != 0)
        return rv;
    (void)h2_conn_write_settings(c, 0, entries, n);
    return 0;
}

int h2_conn_ping(h2_conn *c, const uint8_t opaque[8])
{
    if (c == NULL || opaque == NULL)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    rv = h2_conn_write_ping(c, 0, opaque);
    if (rv == 0 && c->pings_unacked < UINT32_MAX)
        c->pings_unacked++;
    return rv;
}

int h2_conn_increment_window(h2_conn *c, uint32_t id, uint32_t increment)
{
    if (c == NULL || increment == 0 || increment > H2_MAX_WINDOW_SIZE)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    h2_recv_window *w = &c->recv_window;
    if (id != 0) {
        h2_stream *s;
        rv = h2_conn_find_stream(c, id, &s);
        if (rv != 0)
            return rv;
        w = &s->recv;
    }
    if (!h2_recv_window_can_open(w, increment))
        return H2_EFLOW_CONTROL;
    if (h2_conn_write_window_update(c, id, increment) != 0)
        return H2_ENOMEM;
    (void)h2_recv_window_open(w, increment);
    return 0;
}

int h2_conn_credit_connection(h2_conn *c, size_t n)
{
    if (h2_obuf_reserve(&c->out, c->mem, 13) != 0)
        return H2_ENOMEM;
    uint32_t inc = h2_recv_window_processed(&c->recv_window, n);
    if (inc > 0)
        (void)h2_conn_write_window_update(c, 0, inc);
    return 0;
}

int h2_conn_ack_data(h2_conn *c, uint32_t id, size_t n)
{
    if (c == NULL || id == 0 || id > H2_MAX_STREAM_ID)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    h2_stream *s;
    rv = h2_conn_find_stream(c, id, &s);
    if (rv == H2_ENOSTREAM)
        return rv;
    if (h2_obuf_reserve(&c->out, c->mem, 26) != 0)
        return H2_ENOMEM;
    (void)h2_conn_credit_connection(c, n);
    if (s != NULL && s->state != H2_SS_HALF_CLOSED_REMOTE) {
        uint32_t inc = h2_recv_window_processed(&s->recv, n);
        if (inc > 0)
            (void)h2_conn_write_window_update(c, id, inc);
    }
    return 0;
}
