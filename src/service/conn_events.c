/*
 * Service worker: received bytes go to the core, and the core's events
 * (h2_event, valid until the next call into the core) become event records
 * the application owns: header fields, payloads and settings are copied
 * into the record's block. Connection-level events (SETTINGS, PING, window
 * updates) are passed on only when the connection traces.
 */
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_handles.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

static svc_event_rec *fields_event(svc_conn *c, const h2_header *in, size_t n)
{
    size_t extra = n * sizeof(h2_header);
    for (size_t i = 0; i < n; i++)
        extra += in[i].name_len + in[i].value_len;
    uint8_t *tail = NULL;
    svc_event_rec *rec = svc_worker_event_alloc(c->worker, extra, &tail);
    if (rec == NULL)
        return NULL;
    h2_header *fields = (h2_header *)(void *)tail;
    uint8_t *bytes = tail + n * sizeof(h2_header);
    for (size_t i = 0; i < n; i++) {
        const h2_header *f = &in[i];
        fields[i] = *f;
        if (f->name_len > 0)
            memcpy(bytes, f->name, f->name_len);
        fields[i].name = bytes;
        bytes += f->name_len;
        if (f->value_len > 0)
            memcpy(bytes, f->value, f->value_len);
        fields[i].value = bytes;
        bytes += f->value_len;
    }
    rec->pub.fields = n > 0 ? fields : NULL;
    rec->pub.n_fields = n;
    return rec;
}

static svc_event_rec *headers_event(svc_conn *c, const h2_event *ev)
{
    svc_event_rec *rec = fields_event(c, ev->u.headers.fields, ev->u.headers.n);
    if (rec != NULL)
        rec->pub.end_stream = ev->u.headers.stream_ended >= 0;
    return rec;
}

static svc_event_rec *bytes_event(svc_conn *c, const uint8_t *data, size_t len)
{
    uint8_t *tail = NULL;
    svc_event_rec *rec = svc_worker_event_alloc(c->worker, len, &tail);
    if (rec == NULL)
        return NULL;
    if (len > 0)
        memcpy(tail, data, len);
    rec->pub.data = len > 0 ? tail : NULL;
    rec->pub.len = len;
    return rec;
}

/* |trace|: a SETTINGS event with its entries copied. */
static svc_event_rec *settings_event(svc_conn *c, const h2_event *ev)
{
    size_t n = ev->u.settings.n;
    uint8_t *tail = NULL;
    svc_event_rec *rec =
        svc_worker_event_alloc(c->worker, n * sizeof(h2_changed_setting), &tail);
    if (rec == NULL)
        return NULL;
    if (n > 0) {
        memcpy(tail, ev->u.settings.changed, n * sizeof(h2_changed_setting));
        rec->pub.settings = (const h2_changed_setting *)(const void *)tail;
    }
    rec->pub.n_settings = n;
    return rec;
}

/* PING and its ACK: the opaque data. */
static svc_event_rec *ping_event(svc_conn *c, const h2_event *ev)
{
    svc_event_rec *rec = svc_worker_event_alloc(c->worker, 0, NULL);
    if (rec != NULL)
        memcpy(rec->pub.ping, ev->u.ping, 8);
    return rec;
}

/* A connection-level event: its record when |c| traces, else NULL with |*skip| set. */
static svc_event_rec *trace_event(svc_conn *c, const h2_event *ev, bool *skip)
{
    if (ev->type == H2_EV_REMOTE_SETTINGS_CHANGED)
        c->got_settings = true;
    if (!c->trace) {
        *skip = true;
        return NULL;
    }
    if (ev->type == H2_EV_PING_RECEIVED)
        return ping_event(c, ev);
    if (ev->type != H2_EV_WINDOW_UPDATED)
        return settings_event(c, ev);
    svc_event_rec *rec = svc_worker_event_alloc(c->worker, 0, NULL);
    if (rec != NULL)
        rec->pub.window_delta = ev->u.window_delta;
    return rec;
}

/* The record for |ev|; NULL when memory ran out, or with |*skip| set when
 * the event is not passed on. */
static svc_event_rec *core_event(svc_conn *c, const h2_event *ev, bool *skip)
{
    svc_event_rec *rec = NULL;
    switch (ev->type) {
    case H2_EV_REQUEST_RECEIVED:
    case H2_EV_RESPONSE_RECEIVED:
    case H2_EV_TRAILERS_RECEIVED:
    case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
        if (ev->type == H2_EV_REQUEST_RECEIVED && c->server)
            svc_prio_on_request(c, ev->stream_id, ev->u.headers.fields, ev->u.headers.n);
        return headers_event(c, ev);
    case H2_EV_DATA_RECEIVED:
        rec = bytes_event(c, ev->u.data.data, ev->u.data.len);
        if (rec != NULL) {
            rec->pub.flow_controlled_length = ev->u.data.flow_controlled_length;
            rec->pub.end_stream = ev->u.data.stream_ended >= 0;
            /* Manual flow control: the release only frees the record. */
            if (rec->pub.flow_controlled_length > 0 && !c->manual_flow)
                svc_event_hold_ack(rec, c->worker);
        }
        return rec;
    case H2_EV_STREAM_RESET:
        rec = svc_worker_event_alloc(c->worker, 0, NULL);
        if (rec != NULL) {
            rec->pub.error_code = ev->u.reset.error_code;
            rec->pub.remote = ev->u.reset.remote_reset;
            /* Servers: its release frees the request's slot. */
            if (c->server)
                svc_event_hold_ack(rec, c->worker);
        }
        return rec;
    case H2_EV_PING_ACK_RECEIVED:
        return ping_event(c, ev);
    case H2_EV_CONNECTION_TERMINATED:
        c->goaway_received = true;
        rec = bytes_event(c, ev->u.terminated.debug, ev->u.terminated.debug_len);
        if (rec != NULL) {
            rec->pub.error_code = ev->u.terminated.error_code;
            rec->pub.last_stream_id = ev->u.terminated.last_stream_id;
        }
        return rec;
    case H2_EV_PUSHED_STREAM_RECEIVED:
        rec = fields_event(c, ev->u.push.fields, ev->u.push.n);
        if (rec != NULL)
            rec->pub.parent_stream_id = ev->u.push.parent_stream_id;
        return rec;
    case H2_EV_PRIORITY_UPDATE_RECEIVED:
        svc_prio_on_update(c, ev->stream_id, ev->u.priority_update.urgency,
                           ev->u.priority_update.incremental);
        return bytes_event(c, ev->u.priority_update.field_value,
                           ev->u.priority_update.field_value_len);
    case H2_EV_LIMIT_EXCEEDED:
        rec = svc_worker_event_alloc(c->worker, 0, NULL);
        if (rec != NULL) {
            rec->pub.limit = ev->u.limit.limit;
            rec->pub.error_code = ev->u.limit.error_code;
            rec->pub.limit_connection = ev->u.limit.connection;
        }
        return rec;
    case H2_EV_REMOTE_SETTINGS_CHANGED:
    case H2_EV_SETTINGS_ACKNOWLEDGED:
    case H2_EV_PING_RECEIVED:
    case H2_EV_WINDOW_UPDATED:
        return trace_event(c, ev, skip);
    case H2_EV_ALTERNATIVE_SERVICE_AVAILABLE:
    case H2_EV_PRIORITY_UPDATED:
    case H2_EV_UNKNOWN_FRAME_RECEIVED:
    case H2_EV_STREAM_ENDED:
        return svc_conn_frame_event(c, ev, skip);
    default:
        *skip = true;
        return NULL;
    }
}

/* Turns the core's events into records; false when memory ran out. */
static bool emit_core_events(svc_conn *c, const h2_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const h2_event *ev = &evs[i];
        bool skip = false;
        svc_handles_check(c, ev->stream_id); /* it may have closed */
        svc_event_rec *rec = core_event(c, ev, &skip);
        if (skip)
            continue;
        if (rec == NULL)
            return false;
        rec->pub.type = (h2_svc_event_type)ev->type;
        rec->pub.stream_id = ev->stream_id;
        svc_conn_emit(c, rec);
    }
    return true;
}

void svc_conn_receive(svc_conn *c, const uint8_t *data, size_t len)
{
    const h2_event *evs = NULL;
    size_t n = 0;
    c->last_active = c->worker->now;
    c->st.bytes_in += len;
    svc_count(&c->worker->count.bytes_in, len);
    /* The core's rate limits refill from this clock. */
    h2_conn_set_time(c->conn, (uint64_t)c->worker->now);
    int rv = h2_conn_receive(c->conn, data, len, &evs, &n);
    bool ok = emit_core_events(c, evs, n);
    /* Copied: give the core's event memory back at once. */
    h2_conn_release_events(c->conn);
    if (!ok) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    if (rv == H2_ENOMEM)
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
    else if (rv < 0)
        svc_conn_finish(c, H2_SVC_CLOSE_PROTOCOL, rv, 0);
    else
        svc_conn_touch(c);
}
