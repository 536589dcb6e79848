/*
 * Priority signals: RFC 7540 PRIORITY frames from a client
 * (h2_conn_prioritize()) and RFC 9218 PRIORITY_UPDATE frames, sent by a
 * client and received by a server. No priority tree is kept: received
 * signals become events for the application's scheduler.
 */
#include "core/conn_internal.h"
#include "core/mem.h"
#include "h2/priority.h"

int h2_conn_priority_spec(const h2_priority_args *prio, uint32_t id, h2_priority_spec *ps)
{
    ps->depends_on = 0;
    ps->weight = 16;
    ps->exclusive = false;
    if (prio != NULL) {
        ps->weight = prio->weight == 0 ? 16 : prio->weight;
        ps->depends_on = prio->depends_on;
        ps->exclusive = prio->exclusive;
    }
    if (ps->weight > 256 || ps->depends_on == id || ps->depends_on > H2_MAX_STREAM_ID)
        return H2_EINVAL;
    return 0;
}

int h2_conn_prioritize(h2_conn *c, uint32_t id, const h2_priority_args *prio)
{
    if (c == NULL)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (!h2_conn_is_client(c))
        return H2_EROLE;
    h2_priority_spec ps;
    if (id == 0 || id > H2_MAX_STREAM_ID || h2_conn_priority_spec(prio, id, &ps) != 0)
        return H2_EINVAL;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    if (h2_obuf_reserve(&c->out, c->mem, H2_FRAME_PRIORITY_LEN) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_priority(h2_obuf_tail(&c->out), id, &ps));
    c->stats.frames_sent++;
    return 0;
}

int h2_conn_send_priority_update(h2_conn *c, uint32_t id, const uint8_t *value, size_t len)
{
    if (c == NULL || (value == NULL && len > 0) || id == 0 || id > H2_MAX_STREAM_ID)
        return H2_EINVAL;
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    if (!h2_conn_is_client(c))
        return H2_EROLE;
    if (4 + len > h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE))
        return H2_EFRAME_SIZE;
    if (h2_conn_over_high_water(c))
        return H2_ENOBUFS;
    if (h2_obuf_reserve(&c->out, c->mem, h2_frame_priority_update_len(len)) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_priority_update(h2_obuf_tail(&c->out), id, value, len));
    c->stats.frames_sent++;
    return 0;
}

/* RFC 9218 section 7.1: receipt of PRIORITY_UPDATE (frame-level rules are
 * checked by the codec: stream 0, prioritized id not 0). */
int h2_conn_on_priority_update(h2_conn *c, const h2_frame *f)
{
    if (h2_conn_is_client(c))
        return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PRIORITY_UPDATE received by a client");
    uint32_t id = f->u.priority_update.prioritized_stream_id;
    h2_stream *s = h2_stream_get(&c->streams, id);
    if (s == NULL) {
        /* push streams cannot be prioritized before they are promised */
        if (h2_conn_is_ours(c, id) && id > c->highest_outbound)
            return h2_conn_fail(c, H2_PROTOCOL_ERROR, "PRIORITY_UPDATE for an idle push stream");
        /* closed streams are discarded; idle request streams are reported
         * so that the priority can be applied when the stream opens */
        uint32_t highest = h2_conn_is_ours(c, id) ? c->highest_outbound : c->highest_inbound;
        if (id <= highest)
            return h2_conn_glitch(c);
        /* idle: the core keeps no state for it, but it costs a glitch */
        int rv = h2_conn_glitch(c);
        if (rv != 0)
            return rv;
    } else if (s->state == H2_SS_HALF_CLOSED_LOCAL) {
        return h2_conn_glitch(c); /* nothing more will be sent on it */
    }
    const uint8_t *v = f->u.priority_update.field_value;
    size_t len = f->u.priority_update.field_value_len;
    h2_priority p;
    (void)h2_priority_parse(v, len, &p);
    h2_event *e = h2_conn_push_event(c, H2_EV_PRIORITY_UPDATE_RECEIVED, id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.priority_update.field_value = len > 0 ? v : NULL;
    e->u.priority_update.field_value_len = len;
    e->u.priority_update.urgency = p.urgency;
    e->u.priority_update.incremental = p.incremental;
    return 0;
}
