/*
 * ALTSVC (RFC 7838 section 4): advertising an alternative service from a
 * server, and the AlternativeServiceAvailable event on a client.
 */
#include "core/conn_internal.h"
#include "core/mem.h"

int h2_conn_advertise_alternative_service(h2_conn *c, uint32_t id, const uint8_t *origin,
                                          size_t origin_len, const uint8_t *value, size_t value_len)
{
    if (c == NULL || (origin == NULL && origin_len > 0) || (value == NULL && value_len > 0) ||
        origin_len > 0xffffu || (id == 0) != (origin_len > 0))
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (h2_conn_is_client(c))
        return H2_EROLE;
    if (id != 0) {
        h2_stream *s;
        rv = h2_conn_find_stream(c, id, &s);
        if (rv != 0)
            return rv;
        /* the origin is the stream's request: only before its response */
        if (s->flags & H2_SF_SENT_FINAL)
            return H2_ESTATE;
    }
    if (2 + origin_len + value_len > h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE))
        return H2_EFRAME_SIZE;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    size_t len = h2_frame_altsvc_len(origin_len, value_len);
    if (h2_obuf_reserve(&c->out, c->mem, len) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_altsvc(h2_obuf_tail(&c->out), id, origin, origin_len,
                                                 value, value_len));
    c->stats.frames_sent++;
    return 0;
}

int h2_conn_on_altsvc(h2_conn *c, const h2_frame *f)
{
    /* servers ignore ALTSVC (RFC 7838 section 4) */
    if (!h2_conn_is_client(c))
        return h2_conn_glitch(c);
    uint32_t id = f->hd.stream_id;
    size_t olen = f->u.altsvc.origin_len;
    if (id == 0) {
        if (olen == 0)
            return h2_conn_glitch(c);
    } else {
        if (olen > 0)
            return h2_conn_glitch(c);
        /* a live stream of ours (or pushed to us) whose response has not
         * arrived yet; everything else is ignored */
        h2_stream *s = h2_stream_get(&c->streams, id);
        if (s == NULL || (s->flags & H2_SF_RECV_FINAL))
            return h2_conn_glitch(c);
    }
    h2_event *e = h2_conn_push_event(c, H2_EV_ALTERNATIVE_SERVICE_AVAILABLE, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.altsvc.origin = olen > 0 ? f->u.altsvc.origin : NULL;
    e->u.altsvc.origin_len = olen;
    e->u.altsvc.field_value = f->u.altsvc.field_value_len > 0 ? f->u.altsvc.field_value : NULL;
    e->u.altsvc.field_value_len = f->u.altsvc.field_value_len;
    return 0;
}
