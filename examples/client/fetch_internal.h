/*
 * h2client: what the parts of fetch.c share. fetch.c runs the connection,
 * request.c builds, sends and settles requests, events.c handles the
 * connection's events. Everything runs on the program's main thread; the
 * service's worker is reached only through posting calls and events.
 */
#ifndef H2CLIENT_FETCH_INTERNAL_H
#define H2CLIENT_FETCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h2/service.h"

#include "client/options.h"
#include "client/output.h"

typedef enum req_state {
    REQ_QUEUED,  /* not posted yet (see req_submit_more()) */
    REQ_WAITING, /* HEADERS posted, stream id not known yet */
    REQ_OPEN,    /* stream open, response not complete */
    REQ_DONE,    /* complete, failed or given up */
} req_state;

/* One URL's request. */
typedef struct request {
    uint32_t stream_id; /* 0 until H2_SVC_EV_STREAM_OPENED */
    req_state state;
    int status;          /* final :status, 0 before the response */
    uint64_t body_bytes; /* response body received */
    unsigned retries;    /* times sent again after REFUSED_STREAM */
    bool failed;         /* req_fail() was called */
    char *error;         /* its first reason, malloc'd (NULL when memory ran out) */
} request;

typedef struct fetch {
    const options *opts;
    request *reqs;
    size_t n_done; /* requests in REQ_DONE */
    outputs out;
    h2_svc *svc;
    h2_svc_queue *queue;
    h2_svc_conn_id conn;
    int64_t deadline;
    bool attached;           /* the service owns the socket */
    bool close_sent;         /* our GOAWAY was posted */
    bool aborted;            /* h2_svc_abort() was posted */
    bool closed;             /* H2_SVC_EV_CLOSED seen */
    bool goaway;             /* the server's GOAWAY arrived: no new stream on this connection */
    bool reconnect;          /* closed with requests left that may go on a new connection */
    unsigned reconnects;     /* connections opened after the first */
    bool heard;              /* an event from the server's frames arrived */
    int64_t ping_sent;       /* -v: when our PING left (now_ms()), to show the round trip */
    bool ping_pending;       /* -v: our PING is not acknowledged yet; the GOAWAY waits for it */
    bool conn_failed;        /* fetch_set_error() was called */
    char *conn_error;        /* its first message, malloc'd (NULL when memory ran out) */
    h2_conn_config settings; /* the core configuration: what our SETTINGS frame says */
} fetch;

/*
 * How often a request refused by the server (RST_STREAM REFUSED_STREAM, which
 * RFC 9113 section 8.7 says was not processed) is sent again. Servers
 * refuse streams past their MAX_CONCURRENT_STREAMS, which a client may
 * exceed before the server's SETTINGS arrived.
 */
#define MAX_RETRIES 8u

/*
 * How many new connections may be opened for requests that a server's
 * GOAWAY(NO_ERROR) left unprocessed (RFC 9113 section 6.8: safe to send
 * again).
 */
#define MAX_RECONNECTS 3u

/*
 * -v: how long, after the last response, the GOAWAY waits for the ACK of
 * our PING so that the log shows the round trip.
 */
#define PING_GRACE_MS 2000

/* Index of |r| in |f|->reqs (= its URL's position). */
static inline size_t req_index(const fetch *f, const request *r)
{
    return (size_t)(r - f->reqs);
}

/* Logs one line on stderr when -v was given. */
void fetch_log(const fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A wire error code by name, or in hex (in |buf|) when RFC 9113 does not name it. */
const char *fetch_code_name(uint32_t code, char *buf, size_t size);

/* A posting call found the command ring full: waits 1 ms. False once the deadline passed. */
bool fetch_wait_for_room(const fetch *f);

/* The request on |stream_id|, or NULL. */
request *fetch_by_stream(fetch *f, uint32_t stream_id);

/* The request a command's |user| tag names (URL index + 1), or NULL. */
request *fetch_by_tag(fetch *f, uint64_t tag);

/* Records a connection-level failure (the first one is kept). */
void fetch_set_error(fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails every request not finished yet with |reason|. */
void fetch_fail_unfinished(fetch *f, const char *reason);

/* Handles one event of the connection (the caller releases it). */
void fetch_on_event(fetch *f, const h2_svc_event *ev);

/*
 * Posts the HEADERS of queued requests (REQ_QUEUED), in URL order. Without
 * a request body all go at once. With a body only one request at a time
 * waits for its stream id: the service carries out a connection's commands
 * in order, so a body posted behind a HEADERS that waits for a stream slot
 * (the server's MAX_CONCURRENT_STREAMS) would wait too, while slots free
 * only as bodies are sent.
 */
void req_submit_more(fetch *f);

/* H2_SVC_EV_STREAM_OPENED: records the stream id, logs the request, posts the body. */
void req_opened(fetch *f, const h2_svc_event *ev);

/* The request is over: its body destination is closed or passes the turn on. */
void req_finish(fetch *f, request *r);

/*
 * The request failed: keeps the first reason, resets the stream (CANCEL)
 * when |reset| and it is still open, and finishes it.
 */
void req_fail(fetch *f, request *r, bool reset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The server ended the stream: a success for a 2xx status, else a failure. */
void req_complete(fetch *f, request *r);

#endif /* H2CLIENT_FETCH_INTERNAL_H */
