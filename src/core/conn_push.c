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
    h2_outbound_block ob;
    rv = h2_conn_prepare_outbound(c, fields, n, &ex, &ob);
    if (rv != 0)
        return rv;
    if (c->cfg.validate_outbound_headers && !pushable_method(ob.fields, ob.n))
        return H2_EHEADER;
    rv = h2_conn_check_send_list(c, ob.fields, ob.n);
    if (rv != 0)
        return rv;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    h2_block_frame bf = {
        .type = H2_FRAME_PUSH_PROMISE,
        .stream_id = parent_id,
        .promised = promised,
    };
    rv = h2_conn_queue_block(c, &bf, &ob, true);
    if (rv != 0)
        return rv;
    (void)h2_conn_open_local_stream(c, promised, H2_SS_HALF_CLOSED_REMOTE, H2_SF_OUTBOUND);
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
    if (h2_stream_reserve(&c->streams, c->mem) != 0)
        return H2_ENOMEM;
    h2_stream *s = h2_stream_new(&c->streams, c->mem, promised);
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
