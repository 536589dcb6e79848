/*
 * Service worker: the core's events for frames the service has no use of
 * its own for (ALTSVC, RFC 7540 priority, extension frames) and the
 * separate end-of-stream event, turned into records the application owns.
 * Payloads are copied into the record's block.
 */
#include <string.h>

#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

/* A record with |a| (|alen| bytes) copied to |data| and |b| (|blen|) to |origin|. */
static svc_event_rec *two_bytes_event(svc_conn *c, const uint8_t *a, size_t alen,
                                      const uint8_t *b, size_t blen)
{
    uint8_t *tail = NULL;
    svc_event_rec *rec = svc_worker_event_alloc(c->worker, alen + blen, &tail);
    if (rec == NULL)
        return NULL;
    if (alen > 0) {
        memcpy(tail, a, alen);
        rec->pub.data = tail;
        rec->pub.len = alen;
    }
    if (blen > 0) {
        memcpy(tail + alen, b, blen);
        rec->pub.origin = tail + alen;
        rec->pub.origin_len = blen;
    }
    return rec;
}

svc_event_rec *svc_conn_frame_event(svc_conn *c, const h2_event *ev, bool *skip)
{
    svc_event_rec *rec = NULL;
    switch (ev->type) {
    case H2_EV_ALTERNATIVE_SERVICE_AVAILABLE:
        return two_bytes_event(c, ev->u.altsvc.field_value, ev->u.altsvc.field_value_len,
                               ev->u.altsvc.origin, ev->u.altsvc.origin_len);
    case H2_EV_UNKNOWN_FRAME_RECEIVED:
        rec = two_bytes_event(c, ev->u.unknown.payload, ev->u.unknown.len, NULL, 0);
        if (rec != NULL) {
            rec->pub.frame_type = ev->u.unknown.frame_type;
            rec->pub.frame_flags = ev->u.unknown.flags;
        }
        return rec;
    case H2_EV_PRIORITY_UPDATED:
        rec = svc_worker_event_alloc(c->worker, 0, NULL);
        if (rec != NULL) {
            rec->pub.depends_on = ev->u.priority.depends_on;
            rec->pub.weight = ev->u.priority.weight;
            rec->pub.exclusive = ev->u.priority.exclusive;
        }
        return rec;
    case H2_EV_STREAM_ENDED:
        if (!c->stream_ended_events)
            break;
        return svc_worker_event_alloc(c->worker, 0, NULL);
    default:
        break;
    }
    *skip = true;
    return NULL;
}
