/*
 * Receive path: preface, framing (zero copy for frames that lie whole in the
 * input, one copy for frames that straddle calls), and the handlers of the
 * frames that do not carry header blocks.
 */
#include <stddef.h>
#include <string.h>
#include "core/conn_internal.h"
#include "core/mem.h"

/* True when |id| was never opened by its side (RFC 9113 5.1 "idle"). */
static bool is_idle(const h2_conn *c, uint32_t id)
{
    /* ids above the highest used were never opened, so they are neither
     * live nor remembered */
    return id > (h2_conn_is_ours(c, id) ? c->highest_outbound : c->highest_inbound);
}

/*
 * Automatic replies may not pile up without bound (RFC 9113 10.5): at most
 * max_queued_replies frames and the high-water mark of bytes of them between
 * two moments the output is empty.
 */
int h2_conn_reply_room(h2_conn *c, size_t n)
{
    if (h2_obuf_pending(&c->out) == 0) {
        c->reply_bytes = 0;
        c->reply_frames = 0;
    }
    uint32_t max = c->cfg.max_queued_replies ? c->cfg.max_queued_replies : 1000u;
    if (c->reply_frames >= max)
        return h2_conn_limit_fail(c, H2_LIMIT_QUEUED_REPLIES, H2_ENHANCE_YOUR_CALM,
                                  "peer keeps sending frames that need replies");
    if (c->reply_bytes + n > c->cfg.output_high_water)
        return h2_conn_limit_fail(c, H2_LIMIT_QUEUED_REPLY_BYTES, H2_ENHANCE_YOUR_CALM,
                                  "peer keeps sending frames that need replies");
    c->reply_bytes += n;
    c->reply_frames++;
    return 0;
}

int h2_conn_stream_error(h2_conn *c, h2_stream *s, uint32_t id, uint32_t code, bool event)
{
    /* Stream errors the peer provokes cost a glitch (MadeYouReset); refusals
     * are charged by their callers where the peer is at fault. */
    int rv = code == H2_REFUSED_STREAM ? 0 : h2_conn_glitch(c);
    if (rv != 0)
        return rv;
    rv = h2_conn_reply_room(c, 13);
    if (rv != 0)
        return rv;
    if (h2_conn_write_rst(c, id, code) != 0)
        return H2_ENOMEM;
    if (s == NULL) {
        h2_stream_remember(&c->streams, c->mem, id, H2_CLOSED_RST_SENT);
        return 0;
    }
    h2_conn_close_stream(c, s, H2_CLOSED_RST_SENT);
    if (!event)
        return 0;
    h2_event *e = h2_conn_push_event(c, H2_EV_STREAM_RESET, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.reset.error_code = code;
    e->u.reset.remote_reset = false;
    return 0;
}

static void recv_end_stream(h2_conn *c, h2_stream *s)
{
    if (s->state == H2_SS_HALF_CLOSED_LOCAL)
        h2_conn_close_stream(c, s, H2_CLOSED_END_STREAM);
    else
        s->state = H2_SS_HALF_CLOSED_REMOTE;
}

/* ---- DATA ------------------------------------------------------------------ */

static int on_data(h2_conn *c, const h2_frame *f)
{
    uint32_t id = f->hd.stream_id;
    uint32_t fcl = f->hd.length;
    h2_stream *s = h2_stream_get(&c->streams, id);
    if (s == NULL && is_idle(c, id))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "DATA on an idle stream");
    if (!h2_recv_window_consume(&c->recv_window, fcl))
        return h2_conn_fail(c, H2_FLOW_CONTROL_ERROR, "connection receive window exceeded");
    if (s == NULL) {
        /* Closed: the application never sees these bytes, so return them. */
        if (h2_conn_credit_connection(c, fcl) != 0)
            return H2_ENOMEM;
        uint32_t how = h2_stream_closed_how(&c->streams, id);
        if (how == H2_CLOSED_END_STREAM)
            return h2_conn_fail(c, H2_STREAM_CLOSED, "DATA on a stream closed by END_STREAM");
        if (how == H2_CLOSED_RST_SENT)
            return 0;
        int rv = h2_conn_glitch(c);
        if (rv == 0)
            rv = h2_conn_reply_room(c, 13);
        return rv != 0 ? rv : h2_conn_write_rst(c, id, H2_STREAM_CLOSED);
    }
    /* RFC 9113 5.1: DATA is none of the frames a reserved stream may receive */
    if (h2_stream_is_reserved(c, s))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "DATA on a reserved stream");
    if (s->state == H2_SS_HALF_CLOSED_REMOTE) {
        if (h2_conn_credit_connection(c, fcl) != 0)
            return H2_ENOMEM;
        return h2_conn_stream_error(c, s, id, H2_STREAM_CLOSED, true);
    }
    if (!h2_recv_window_consume(&s->recv, fcl))
        return h2_conn_fail(c, H2_FLOW_CONTROL_ERROR, "stream receive window exceeded");
    bool end = (f->hd.flags & H2_FLAG_END_STREAM) != 0;
    if (fcl == 0 && !end) {
        /* an empty DATA frame without END_STREAM does nothing (CVE-2019-9518) */
        int rv = h2_conn_glitch(c);
        if (rv != 0)
            return rv;
    }
    bool malformed = !(s->flags & H2_SF_RECV_FINAL) || (s->flags & H2_SF_RECV_TRAILERS);
    if (s->content_left >= 0) {
        if (f->u.data.len > (uint64_t)s->content_left)
            malformed = true;
        else
            s->content_left -= (int64_t)f->u.data.len;
        if (end && s->content_left != 0)
            malformed = true;
    }
    if (malformed) {
        if (h2_conn_credit_connection(c, fcl) != 0)
            return H2_ENOMEM;
        return h2_conn_stream_error(c, s, id, H2_PROTOCOL_ERROR, true);
    }
    size_t idx = c->n_ev;
    h2_event *e = h2_conn_push_event(c, H2_EV_DATA_RECEIVED, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.data.data = f->u.data.len > 0 ? f->u.data.data : NULL;
    e->u.data.len = f->u.data.len;
    e->u.data.flow_controlled_length = fcl;
    e->u.data.stream_ended = -1;
    if (end) {
        if (h2_conn_push_event(c, H2_EV_STREAM_ENDED, id) == NULL)
            return H2_ENOMEM;
        c->ev[idx].u.data.stream_ended = (int32_t)(c->n_ev - 1);
        recv_end_stream(c, s);
    }
    return 0;
}

/* ---- control frames ----------------------------------------------------------- */

static int on_priority(h2_conn *c, const h2_frame *f)
{
    /* RFC 7540 5.3.1 made a self-dependency an error; RFC 9113 5.4.1 lets it
     * end the connection, as other implementations do, whatever the state
     * of the stream and whether priority signals are used or not */
    if (f->u.priority.depends_on == f->hd.stream_id)
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PRIORITY making a stream depend on itself");
    /* every PRIORITY frame costs a glitch (CVE-2019-9513); no state is kept */
    int rv = h2_conn_glitch(c);
    if (rv != 0 || h2_conn_ignores_rfc7540(c))
        return rv;
    h2_event *e = h2_conn_push_event(c, H2_EV_PRIORITY_UPDATED, f->hd.stream_id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.priority.depends_on = f->u.priority.depends_on;
    e->u.priority.weight = f->u.priority.weight;
    e->u.priority.exclusive = f->u.priority.exclusive;
    return 0;
}

static int on_rst_stream(h2_conn *c, const h2_frame *f)
{
    uint32_t id = f->hd.stream_id;
    c->stats.resets_received++;
    h2_stream *s = h2_stream_get(&c->streams, id);
    if (s == NULL) {
        if (is_idle(c, id))
            return h2_conn_fail(c, H2_PROTOCOL_ERROR, "RST_STREAM on an idle stream");
        /* a reset of a stream the peer already reset is a glitch; a reset
         * racing with the stream's normal end or with our own reset is not */
        if (h2_stream_closed_how(&c->streams, id) == H2_CLOSED_RST_RECV)
            return h2_conn_glitch(c);
        return 0;
    }
    /* Rapid Reset (CVE-2023-44487): a server limits the resets of live streams */
    if (!h2_conn_is_client(c)) {
        int rv = h2_conn_charge_reset(c);
        if (rv != 0)
            return rv;
    }
    h2_event *e = h2_conn_push_event(c, H2_EV_STREAM_RESET, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.reset.error_code = f->u.rst_error_code;
    e->u.reset.remote_reset = true;
    h2_conn_close_stream(c, s, H2_CLOSED_RST_RECV);
    return 0;
}

/* Adds |id| -> |value| to a changed-settings list, one entry per id. */
static void note_change(h2_changed_setting *list, size_t *n, const h2_settings_vals *cur,
                        uint16_t id, uint32_t value)
{
    for (size_t i = 0; i < *n; i++) {
        if (list[i].id == id) {
            list[i].new_value = value;
            return;
        }
    }
    h2_changed_setting *ch = &list[(*n)++];
    ch->id = id;
    ch->new_value = value;
    ch->original = h2_settings_get(cur, id);
    ch->had_original = h2_settings_known(id) && (cur->set & (1u << id));
    if (!ch->had_original)
        ch->original = 0;
}

struct window_delta {
    int64_t delta;
    bool ok;
};

static void check_send_delta(h2_stream *s, void *arg)
{
    struct window_delta *d = arg;
    if ((int64_t)s->send_window + d->delta > H2_FLOW_MAX)
        d->ok = false;
}

static void apply_send_delta(h2_stream *s, void *arg)
{
    struct window_delta *d = arg;
    (void)h2_send_window_add(&s->send_window, d->delta);
}

static void apply_recv_delta(h2_stream *s, void *arg)
{
    struct window_delta *d = arg;
    int64_t cur = (int64_t)s->recv.current + d->delta;
    int64_t max = (int64_t)s->recv.max + d->delta;
    if (cur > H2_FLOW_MAX || max > H2_FLOW_MAX)
        return;
    s->recv.current = (int32_t)(cur < -(int64_t)H2_FLOW_MAX ? -(int64_t)H2_FLOW_MAX : cur);
    s->recv.max = (int32_t)(max < 0 ? 0 : max);
}

static int on_settings_ack(h2_conn *c)
{
    h2_setting e[H2_SETTINGS_MAX_PER_FRAME];
    bool initial = c->pending.n_frames > 0 && !(c->flags & H2_CF_GOT_SETTINGS_ACK);
    int n = h2_settings_pending_pop(&c->pending, c->mem, e);
    c->flags |= H2_CF_GOT_SETTINGS_ACK;
    h2_changed_setting *list = NULL;
    if (n > 0) {
        list = h2_arena_alloc(&c->arena, c->mem, (size_t)n * sizeof(*list));
        if (list == NULL)
            return H2_ENOMEM;
    }
    size_t nl = 0;
    h2_settings_vals before = c->local;
    for (int i = 0; i < n; i++) {
        if (initial && h2_settings_get(&before, e[i].id) == e[i].value)
            continue;
        note_change(list, &nl, &before, e[i].id, e[i].value);
    }
    for (size_t i = 0; i < nl; i++) {
        uint16_t id = list[i].id;
        uint32_t v = list[i].new_value;
        uint32_t old = h2_settings_get(&c->local, id);
        h2_settings_put(&c->local, id, v);
        if (id == H2_SETTING_INITIAL_WINDOW_SIZE) {
            struct window_delta d = {(int64_t)v - (int64_t)old, true};
            h2_stream_map_each(&c->streams.live, apply_recv_delta, &d);
        } else if (id == H2_SETTING_HEADER_TABLE_SIZE && c->dec != NULL) {
            if (h2_hpack_decoder_set_max_table_size(c->dec, v) != 0)
                return H2_ENOMEM;
        } else if (id == H2_SETTING_MAX_HEADER_LIST_SIZE) {
            h2_conn_decoder_limits(c);
        }
    }
    h2_event *ev = h2_conn_push_event(c, H2_EV_SETTINGS_ACKNOWLEDGED, 0);
    if (ev == NULL)
        return H2_ENOMEM;
    ev->u.settings.changed = list;
    ev->u.settings.n = nl;
    return 0;
}

static int on_settings(h2_conn *c, const h2_frame *f)
{
    if (f->hd.flags & H2_FLAG_ACK)
        return on_settings_ack(c);
    size_t n = f->u.settings.n;
    bool from_server = h2_conn_is_client(c);
    for (size_t i = 0; i < n; i++) {
        h2_settings_entry se = h2_frame_settings_entry(f, i);
        uint32_t code = h2_settings_check(se.id, se.value, from_server);
        if (code != H2_NO_ERROR)
            return h2_conn_fail(c, code, "invalid SETTINGS value");
        if (!h2_settings_change_allowed(&c->remote, se.id, se.value,
                                        !(c->flags & H2_CF_GOT_SETTINGS)))
            return h2_conn_fail(c, H2_PROTOCOL_ERROR, "SETTINGS value may not change so");
    }
    int rv = h2_conn_reply_room(c, 9);
    if (rv != 0)
        return rv;
    h2_changed_setting *list = NULL;
    if (n > 0) {
        list = h2_arena_alloc(&c->arena, c->mem, n * sizeof(*list));
        if (list == NULL)
            return H2_ENOMEM;
    }
    size_t nl = 0;
    for (size_t i = 0; i < n; i++) {
        h2_settings_entry se = h2_frame_settings_entry(f, i);
        note_change(list, &nl, &c->remote, se.id, se.value);
    }
    for (size_t i = 0; i < nl; i++) {
        if (list[i].id != H2_SETTING_INITIAL_WINDOW_SIZE)
            continue;
        struct window_delta d = {
            (int64_t)list[i].new_value -
                (int64_t)h2_settings_get(&c->remote, H2_SETTING_INITIAL_WINDOW_SIZE),
            true};
        h2_stream_map_each(&c->streams.live, check_send_delta, &d);
        if (!d.ok)
            return h2_conn_fail(c, H2_FLOW_CONTROL_ERROR,
                                "INITIAL_WINDOW_SIZE change overflows a stream window");
        h2_stream_map_each(&c->streams.live, apply_send_delta, &d);
    }
    if (h2_obuf_reserve(&c->out, c->mem, 9) != 0)
        return H2_ENOMEM;
    for (size_t i = 0; i < nl; i++) {
        if (list[i].id == H2_SETTING_HEADER_TABLE_SIZE && c->enc != NULL &&
            h2_hpack_encoder_set_peer_max_table_size(c->enc, list[i].new_value) != 0)
            return H2_ENOMEM;
        h2_settings_put(&c->remote, list[i].id, list[i].new_value);
    }
    (void)h2_conn_write_settings(c, H2_FLAG_ACK, NULL, 0);
    h2_event *ev = h2_conn_push_event(c, H2_EV_REMOTE_SETTINGS_CHANGED, 0);
    if (ev == NULL)
        return H2_ENOMEM;
    ev->u.settings.changed = list;
    ev->u.settings.n = nl;
    return 0;
}

static int on_ping(h2_conn *c, const h2_frame *f)
{
    bool ack = (f->hd.flags & H2_FLAG_ACK) != 0;
    if (ack) {
        /* An ACK that answers no PING of ours brings nothing: a glitch. */
        if (c->pings_unacked == 0) {
            int rv = h2_conn_glitch(c);
            if (rv != 0)
                return rv;
        } else {
            c->pings_unacked--;
        }
    } else {
        int rv = h2_conn_reply_room(c, 17);
        if (rv != 0)
            return rv;
        if (h2_conn_write_ping(c, H2_FLAG_ACK, f->u.ping) != 0)
            return H2_ENOMEM;
    }
    h2_event *e = h2_conn_push_event(c, ack ? H2_EV_PING_ACK_RECEIVED : H2_EV_PING_RECEIVED, 0);
    if (e == NULL)
        return H2_ENOMEM;
    memcpy(e->u.ping, f->u.ping, 8);
    return 0;
}

struct goaway_sweep {
    uint32_t last;
    uint32_t *ids;
    size_t n;
};

static void collect_refused(h2_stream *s, void *arg)
{
    struct goaway_sweep *g = arg;
    if ((s->flags & H2_SF_OUTBOUND) && s->id > g->last)
        g->ids[g->n++] = s->id;
}

static int on_goaway(h2_conn *c, const h2_frame *f)
{
    uint32_t last = f->u.goaway.last_stream_id;
    h2_event *e = h2_conn_push_event(c, H2_EV_CONNECTION_TERMINATED, 0);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.terminated.error_code = f->u.goaway.error_code;
    e->u.terminated.last_stream_id = last;
    e->u.terminated.debug = f->u.goaway.debug_len > 0 ? f->u.goaway.debug : NULL;
    e->u.terminated.debug_len = f->u.goaway.debug_len;
    if (!(c->flags & H2_CF_GOAWAY_RECV) || last < c->goaway_recv_last)
        c->goaway_recv_last = last;
    c->flags |= H2_CF_GOAWAY_RECV;
    /* Our streams above |last| were never processed by the peer. */
    if (c->n_outbound == 0)
        return 0;
    struct goaway_sweep g = {c->goaway_recv_last, NULL, 0};
    g.ids = h2_arena_alloc(&c->arena, c->mem, c->n_outbound * sizeof(uint32_t));
    if (g.ids == NULL)
        return H2_ENOMEM;
    h2_stream_map_each(&c->streams.live, collect_refused, &g);
    for (size_t i = 0; i < g.n; i++) {
        h2_stream *s = h2_stream_get(&c->streams, g.ids[i]);
        h2_event *r = h2_conn_push_event(c, H2_EV_STREAM_RESET, g.ids[i]);
        if (r == NULL)
            return H2_ENOMEM;
        r->u.reset.error_code = H2_REFUSED_STREAM;
        r->u.reset.remote_reset = false;
        h2_conn_close_stream(c, s, H2_CLOSED_RST_SENT);
    }
    return 0;
}

static int on_window_update(h2_conn *c, const h2_frame *f)
{
    uint32_t id = f->hd.stream_id;
    uint32_t inc = f->u.window_increment;
    if (id == 0) {
        if (inc == 0)
            return h2_conn_fail(c, H2_PROTOCOL_ERROR, "WINDOW_UPDATE with a zero increment");
        if (!h2_send_window_add(&c->send_window, inc))
            return h2_conn_fail(c, H2_FLOW_CONTROL_ERROR, "connection send window overflow");
    } else {
        h2_stream *s = h2_stream_get(&c->streams, id);
        if (s == NULL) {
            if (is_idle(c, id))
                return h2_conn_fail(c, H2_PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
            return 0;
        }
        /* RFC 9113 5.1: reserved (remote) receives only HEADERS, RST_STREAM
         * and PRIORITY (reserved (local) may receive WINDOW_UPDATE) */
        if (h2_conn_is_client(c) && h2_stream_is_reserved(c, s))
            return h2_conn_fail(c, H2_PROTOCOL_ERROR, "WINDOW_UPDATE on a reserved stream");
        if (inc == 0)
            return h2_conn_stream_error(c, s, id, H2_PROTOCOL_ERROR, true);
        if (!h2_send_window_add(&s->send_window, inc))
            return h2_conn_stream_error(c, s, id, H2_FLOW_CONTROL_ERROR, true);
    }
    h2_event *e = h2_conn_push_event(c, H2_EV_WINDOW_UPDATED, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.window_delta = inc;
    return 0;
}

static int on_unknown(h2_conn *c, const h2_frame_hd *hd, const uint8_t *payload)
{
    int rv = h2_conn_glitch(c);
    if (rv != 0)
        return rv;
    h2_event *e = h2_conn_push_event(c, H2_EV_UNKNOWN_FRAME_RECEIVED, hd->stream_id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.unknown.frame_type = hd->type;
    e->u.unknown.flags = hd->flags;
    e->u.unknown.payload = hd->length > 0 ? payload : NULL;
    e->u.unknown.len = hd->length;
    return 0;
}

/* ---- framing --------------------------------------------------------------------- */

/* Checks made as soon as a frame header is known. */
static int check_header(h2_conn *c, const h2_frame_hd *hd)
{
    uint32_t max = h2_settings_get(&c->local, H2_SETTING_MAX_FRAME_SIZE);
    if (c->hb.active && (hd->type != H2_FRAME_CONTINUATION || hd->stream_id != c->hb.stream_id))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR,
                            "frame other than CONTINUATION in a header block");
    if (!(c->flags & H2_CF_GOT_SETTINGS) &&
        (hd->type != H2_FRAME_SETTINGS || (hd->flags & H2_FLAG_ACK)))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "the peer's first frame is not SETTINGS");
    if (hd->length > max)
        return h2_conn_fail(c, H2_FRAME_SIZE_ERROR, "frame larger than our MAX_FRAME_SIZE");
    uint32_t code = h2_frame_check_hd(hd, max);
    if (code != H2_NO_ERROR)
        return h2_conn_fail(c, code,
                            code == H2_FRAME_SIZE_ERROR ? "frame length invalid for its type"
                                                        : "frame on the wrong stream for its type");
    /* CVE-2020-11080: a SETTINGS frame is judged on its header, before its
     * entries are read */
    if (hd->type == H2_FRAME_SETTINGS && hd->length / 6 > h2_conn_max_settings_entries(c))
        return h2_conn_limit_fail(c, H2_LIMIT_SETTINGS_ENTRIES, H2_ENHANCE_YOUR_CALM,
                                  "too many entries in a SETTINGS frame");
    return 0;
}

static int on_frame(h2_conn *c, const h2_frame_hd *hd, const uint8_t *payload)
{
    c->stats.frames_received++;
    if (c->cfg.trace != NULL)
        h2_conn_trace_received(c, hd, payload);
    if (hd->type > H2_FRAME_CONTINUATION && hd->type != H2_FRAME_ALTSVC &&
        hd->type != H2_FRAME_PRIORITY_UPDATE)
        return on_unknown(c, hd, payload);
    h2_frame f;
    uint32_t code = h2_frame_parse_payload(&f, hd, payload);
    if (code != H2_NO_ERROR)
        return h2_conn_fail(c, code, "malformed frame payload");
    switch (hd->type) {
    case H2_FRAME_DATA:
        return on_data(c, &f);
    case H2_FRAME_HEADERS:
        return h2_conn_on_headers_frame(c, &f);
    case H2_FRAME_PRIORITY:
        return on_priority(c, &f);
    case H2_FRAME_RST_STREAM:
        return on_rst_stream(c, &f);
    case H2_FRAME_SETTINGS: {
        int rv = on_settings(c, &f);
        if (rv == 0)
            c->flags |= H2_CF_GOT_SETTINGS;
        return rv;
    }
    case H2_FRAME_PUSH_PROMISE:
        return h2_conn_on_push_promise_frame(c, &f);
    case H2_FRAME_PING:
        return on_ping(c, &f);
    case H2_FRAME_GOAWAY:
        return on_goaway(c, &f);
    case H2_FRAME_WINDOW_UPDATE:
        return on_window_update(c, &f);
    case H2_FRAME_ALTSVC:
        return h2_conn_on_altsvc(c, &f);
    case H2_FRAME_PRIORITY_UPDATE:
        return h2_conn_on_priority_update(c, &f);
    default:
        return h2_conn_on_continuation_frame(c, &f);
    }
}

/* The reader's header check: the connection's rules, in its words. */
static int reader_check(h2_frame_reader *r, const h2_frame_hd *hd)
{
    h2_conn *c = (h2_conn *)(void *)((char *)r - offsetof(h2_conn, reader));
    /* Bounds the reassembly buffer's growth by the limit in force. */
    c->reader.max_frame_size = h2_settings_get(&c->local, H2_SETTING_MAX_FRAME_SIZE);
    return check_header(c, hd);
}

void h2_conn_reader_init(h2_conn *c)
{
    h2_frame_reader_init(&c->reader, c->mem);
    c->reader.check = reader_check;
}

int h2_conn_receive(h2_conn *c, const uint8_t *in, size_t len, const h2_event **events,
                    size_t *n_events)
{
    if (c == NULL || (in == NULL && len > 0) || events == NULL || n_events == NULL)
        return H2_EINVAL;
    *events = NULL;
    *n_events = 0;
    if (!(c->flags & H2_CF_INITIATED))
        return H2_ESTATE;
    if (c->flags & H2_CF_ERROR)
        return H2_ECLOSED;
    h2_conn_begin_receive(c);
    c->stats.bytes_received += len;
    if (++c->recv_calls == 0)
        c->recv_calls = 1;
    c->in_receive = true;
    size_t pos = 0;
    int rv = 0;
    if (!h2_conn_is_client(c) && !(c->flags & H2_CF_PREFACE_DONE)) {
        const char *magic = H2_CLIENT_PREFACE;
        while (pos < len && c->preface_matched < H2_CLIENT_PREFACE_LEN) {
            if (in[pos] != (uint8_t)magic[c->preface_matched]) {
                rv = h2_conn_fail(c, H2_PROTOCOL_ERROR, "invalid connection preface");
                goto out;
            }
            pos++;
            c->preface_matched++;
        }
        if (c->preface_matched < H2_CLIENT_PREFACE_LEN)
            goto out;
        c->flags |= H2_CF_PREFACE_DONE;
    }
    while (pos < len && rv == 0) {
        size_t used;
        h2_frame_hd hd;
        const uint8_t *payload = NULL;
        rv = h2_frame_reader_take(&c->reader, in + pos, len - pos, &used, &hd, &payload);
        pos += used;
        if (rv == 1)
            rv = on_frame(c, &hd, payload);
    }
out:
    c->in_receive = false;
    h2_conn_slots_sweep(c);
    *events = c->n_ev > 0 ? c->ev : NULL;
    *n_events = c->n_ev;
    if (rv == H2_ENOMEM)
        c->flags |= H2_CF_ERROR;
    return rv;
}
