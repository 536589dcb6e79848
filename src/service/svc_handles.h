/*
 * Service: stream handles (svc_handles.c). h2_svc_open_stream() gives a new
 * stream a handle at post time; the worker maps each handle to its stream:
 * commands addressed to a stream still waiting for a slot wait behind its
 * HEADERS, and once it opened they are translated to its id. A handle is
 * forgotten when its stream closes.
 *
 * Threads: every call below runs on the connection's worker.
 */
#ifndef H2_SERVICE_SVC_HANDLES_H
#define H2_SERVICE_SVC_HANDLES_H

#include <stdbool.h>
#include <stdint.h>
#include "h2/service.h"
#include "service/svc_record.h"

struct svc_conn;

/* True when |s| names a stream: an id (1 .. 2^31-1) or a handle. */
static inline bool svc_stream_ref_ok(uint32_t s)
{
    if ((s & H2_SVC_STREAM_HANDLE) != 0)
        return (s & ~H2_SVC_STREAM_HANDLE) != 0;
    return s != 0;
}

/* True when |s| is a handle. */
static inline bool svc_is_handle(uint32_t s)
{
    return (s & H2_SVC_STREAM_HANDLE) != 0;
}

/*
 * The HEADERS |cmd| of h2_svc_open_stream() is about to be opened or held:
 * makes sure its handle is known. False when memory ran out: |cmd| was
 * answered (COMMAND_FAILED, H2_ENOMEM).
 */
bool svc_handle_begin(struct svc_conn *c, svc_cmd *cmd);

/* The stream of |handle| opened as |id|: what waited behind it goes on. */
void svc_handle_opened(struct svc_conn *c, uint32_t handle, uint32_t id);

/* The open of |handle| failed (answered already): what waited behind it
 * fails with H2_ESTREAM_CLOSED and the handle is forgotten. */
void svc_handle_abandon(struct svc_conn *c, uint32_t handle);

/*
 * |cmd| names a handle (svc_is_handle(cmd->stream_id)). Returns false when
 * it was translated to the stream's id and is to be carried out as usual;
 * true when it was taken: held behind a waiting stream, answered
 * (unknown handle: H2_ESTREAM_CLOSED), or a reset that cancelled a waiting
 * stream.
 */
bool svc_handle_route(struct svc_conn *c, svc_cmd *cmd);

/* Something happened on stream |id| (an event, a reset): its handle, if
 * any, is forgotten when the stream closed, or looked at again by each
 * svc_handles_sweep() while only the peer ended it. */
void svc_handles_check(struct svc_conn *c, uint32_t id);

/* Forgets the handles of streams that closed (end of every pump). */
void svc_handles_sweep(struct svc_conn *c);

/* The connection ended for |reason|: fails what waits behind streams
 * (H2_ECLOSED) and frees every handle. */
void svc_handles_free(struct svc_conn *c, int reason);

#endif /* H2_SERVICE_SVC_HANDLES_H */
