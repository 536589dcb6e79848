/*
 * Service: where the RFC 9218 priority of a stream comes from, and how it
 * reaches the scheduler (sched.h) that orders a connection's held sends.
 *
 * Signals, the most recent winning:
 *   - a request's "priority" header field (servers, when the request
 *     arrives); it does not replace a PRIORITY_UPDATE or an
 *     h2_svc_set_priority() that came before it for the same stream
 *     (RFC 9218 section 7: the frame overrides any other signal);
 *   - a PRIORITY_UPDATE frame from the client, also one received before
 *     its stream opened or before the stream's first held DATA;
 *   - the application's h2_svc_set_priority().
 *
 * A connection keeps the signals in a small table (stream id -> urgency,
 * incremental) until the stream can send no more (our END_STREAM went out
 * or it was reset); a stream record with held sends (svc_stream) takes its
 * priority from there when it is made. Streams without a signal have the
 * defaults (urgency 3, not incremental) and take no entry. The table is
 * bounded: once full, entries of streams that ended are purged, then it
 * grows up to the local MAX_CONCURRENT_STREAMS + 32 (at most 4096); past
 * that the oldest stream's entry gives way (a priority is only a hint).
 * Everything here runs on the connection's worker.
 */
#ifndef H2_SERVICE_SVC_PRIO_H
#define H2_SERVICE_SVC_PRIO_H

#include <stdbool.h>
#include <stdint.h>
#include "h2/hpack.h"
#include "h2/priority.h"

struct svc_conn;
struct svc_stream;
struct svc_cmd;

typedef struct svc_prio_entry {
    uint32_t id;
    uint8_t urgency;
    bool incremental;
    bool
        firm; /* from a PRIORITY_UPDATE or the application: a request's field does not replace it */
} svc_prio_entry;

/* The signals of one connection's streams; zeroed: empty. */
typedef struct svc_prio_tab {
    svc_prio_entry *v; /* allocated through the service's allocator, or NULL */
    uint32_t n;
    uint32_t cap;
} svc_prio_tab;

/* Servers: request |fields| (|n|) arrived on |stream_id|: records its "priority" field. */
void svc_prio_on_request(struct svc_conn *c, uint32_t stream_id, const h2_header *fields, size_t n);

/* A PRIORITY_UPDATE for |stream_id| arrived (parsed by the core). */
void svc_prio_on_update(struct svc_conn *c, uint32_t stream_id, uint8_t urgency, bool incremental);

/*
 * Carries out H2_SVC_CMD_SET_PRIORITY |cmd| (answers it): applies its
 * priority to the stream, or remembers it for a stream without held
 * sends. A stream that can send no more fails with H2_ESTREAM_CLOSED.
 */
void svc_prio_command(struct svc_conn *c, struct svc_cmd *cmd);

/* The record |s| of a stream with held sends was made: schedules it with its priority. */
void svc_prio_stream_new(struct svc_conn *c, struct svc_stream *s);

/* |s| holds nothing more: takes it out of the scheduler, and forgets its
 * priority when the stream can send no more. */
void svc_prio_stream_gone(struct svc_conn *c, struct svc_stream *s);

/* The connection ended: frees the table. */
void svc_prio_free(struct svc_conn *c);

#endif /* H2_SERVICE_SVC_PRIO_H */
