/*
 * Read-only views of a connection's streams and settings (h2/conn.h,
 * "Introspection"): stream states, how closed streams ended, the highest
 * stream ids, and our settings waiting for an ACK.
 */
#include "core/conn_internal.h"

static int state_of(const h2_conn *c, const h2_stream *s)
{
    if (h2_stream_is_reserved(c, s))
        return h2_conn_is_ours(c, s->id) ? H2_STATE_RESERVED_LOCAL : H2_STATE_RESERVED_REMOTE;
    switch (s->state) {
    case H2_SS_HALF_CLOSED_LOCAL:
        return H2_STATE_HALF_CLOSED_LOCAL;
    case H2_SS_HALF_CLOSED_REMOTE:
        return H2_STATE_HALF_CLOSED_REMOTE;
    default:
        return H2_STATE_OPEN;
    }
}

int h2_conn_stream_state(const h2_conn *c, uint32_t id)
{
    if (c == NULL || id == 0 || id > H2_MAX_STREAM_ID)
        return H2_EINVAL;
    const h2_stream *s = h2_stream_get(&c->streams, id);
    if (s != NULL)
        return state_of(c, s);
    uint32_t highest = h2_conn_is_ours(c, id) ? c->highest_outbound : c->highest_inbound;
    return id <= highest ? H2_STATE_CLOSED : H2_STATE_IDLE;
}

int h2_conn_stream_closed_by(const h2_conn *c, uint32_t id)
{
    int st = h2_conn_stream_state(c, id);
    if (st < 0)
        return st;
    if (st != H2_STATE_CLOSED)
        return H2_ESTATE;
    switch (h2_stream_closed_how(&c->streams, id)) {
    case H2_CLOSED_END_STREAM:
        return H2_CLOSED_BY_END_STREAM;
    case H2_CLOSED_RST_RECV:
        return H2_CLOSED_BY_RESET_RECEIVED;
    case H2_CLOSED_RST_SENT:
        /* our streams above a received GOAWAY's last id were not processed
         * by the peer: the GOAWAY closed them, or we had reset them first */
        if ((c->flags & H2_CF_GOAWAY_RECV) && h2_conn_is_ours(c, id) && id > c->goaway_recv_last)
            return H2_CLOSED_BY_GOAWAY;
        return H2_CLOSED_BY_RESET_SENT;
    default:
        return H2_CLOSED_BY_UNKNOWN;
    }
}

/* Keeps the |cap| lowest ids seen, sorted, in |out|; counts all of them. */
struct collect {
    const h2_conn *c;
    h2_stream_info *out;
    size_t cap, n_out, total;
};

static void collect_one(h2_stream *s, void *arg)
{
    struct collect *k = arg;
    k->total++;
    if (k->cap == 0)
        return;
    if (k->n_out == k->cap && s->id > k->out[k->cap - 1].stream_id)
        return;
    size_t i = k->n_out < k->cap ? k->n_out++ : k->cap - 1;
    while (i > 0 && k->out[i - 1].stream_id > s->id) {
        k->out[i] = k->out[i - 1];
        i--;
    }
    k->out[i].stream_id = s->id;
    k->out[i].state = state_of(k->c, s);
}

size_t h2_conn_streams(const h2_conn *c, h2_stream_info *out, size_t cap)
{
    if (c == NULL)
        return 0;
    struct collect k = {c, out, out != NULL ? cap : 0, 0, 0};
    h2_stream_map_each(&c->streams.live, collect_one, &k);
    return k.total;
}

uint32_t h2_conn_highest_inbound_stream_id(const h2_conn *c)
{
    return c->highest_inbound;
}

uint32_t h2_conn_highest_outbound_stream_id(const h2_conn *c)
{
    return c->highest_outbound;
}

uint32_t h2_conn_max_inbound_frame_size(const h2_conn *c)
{
    return h2_settings_get(&c->local, H2_SETTING_MAX_FRAME_SIZE);
}

size_t h2_conn_pending_settings(const h2_conn *c, h2_setting *out, size_t cap)
{
    const h2_settings_pending *p = &c->pending;
    for (size_t i = 0; out != NULL && i < cap && i < p->n_entries; i++)
        out[i] = p->entries[i];
    return p->n_entries;
}

bool h2_conn_setting_pending(const h2_conn *c, uint16_t id, uint32_t *value)
{
    const h2_settings_pending *p = &c->pending;
    for (size_t i = p->n_entries; i > 0; i--) {
        if (p->entries[i - 1].id == id) {
            if (value != NULL)
                *value = p->entries[i - 1].value;
            return true;
        }
    }
    return false;
}
