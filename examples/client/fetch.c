/*
 * h2client: the requests over one connection (see fetch.h).
 *
 * The program hands its socket to a libh2 service with one worker thread.
 * That worker runs the HTTP/2 connection: it answers PING and SETTINGS,
 * sends WINDOW_UPDATEs as DATA events are released, and sends request
 * bodies as the server's windows allow. This thread posts commands
 * (requests, bodies, the final GOAWAY) and reads the connection's events
 * from a queue until the connection is closed.
 */
#include "client/fetch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "h2/service.h"
#include "h2/version.h"

#include "client/net.h"
#include "client/output.h"
#include "client/tls.h"

#define PROG "h2client"

/* Receive windows we offer: large, since bodies are written as they come. */
#define STREAM_WINDOW (1u << 20)
#define CONNECTION_WINDOW (8u << 20)
/* Events read from the queue per poll, and the queue's size. */
#define EVENT_BATCH 64
#define QUEUE_CAPACITY 1024u
/* After an abort, how long to wait for the connection's last event. */
#define ABORT_GRACE_MS 2000

typedef enum req_state {
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
    char *error;         /* the first failure, malloc'd; NULL when none */
} request;

typedef struct fetch {
    const options *opts;
    request *reqs;
    size_t n_done; /* requests in REQ_DONE */
    outputs out;
    h2_service *svc;
    h2_svc_queue *queue;
    h2_svc_conn_id conn;
    int64_t deadline;
    bool attached;     /* the service owns the socket */
    bool close_sent;   /* our GOAWAY was posted */
    bool aborted;      /* h2_service_abort() was posted */
    bool closed;       /* H2_SVC_EV_CLOSED seen */
    bool heard;        /* an event from the server's frames arrived */
    int64_t ping_sent; /* -v: when our PING left (now_ms()), to show the round trip */
    char *conn_error;  /* a connection-level failure, malloc'd */
} fetch;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------ */

static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s != NULL)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* Logs one line on stderr when -v was given. */
static void vlog(const fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(const fetch *f, const char *fmt, ...)
{
    if (!f->opts->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A wire error code by name, or in hex when RFC 9113 does not name it. */
static const char *code_name(uint32_t code, char *buf, size_t size)
{
    const char *name = h2_error_code_name(code);
    if (name != NULL)
        return name;
    snprintf(buf, size, "0x%" PRIx32, code);
    return buf;
}

/* A posting call found the command ring full: wait a moment. False once the deadline passed. */
static bool wait_for_room(const fetch *f)
{
    if (ms_left(f->deadline) == 0)
        return false;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&ts, NULL);
    return true;
}

static void noop_release(void *user, const uint8_t *data, size_t len)
{
    /* The body lives in the options until the program ends. */
    (void)user;
    (void)data;
    (void)len;
}

static size_t request_index(const fetch *f, const request *r)
{
    return (size_t)(r - f->reqs);
}

static request *by_stream(fetch *f, uint32_t stream_id)
{
    if (stream_id == 0)
        return NULL;
    for (size_t i = 0; i < f->opts->n_urls; i++) {
        if (f->reqs[i].stream_id == stream_id)
            return &f->reqs[i];
    }
    return NULL;
}

/* The request a command's |user| tag names (index + 1), or NULL. */
static request *by_tag(fetch *f, uint64_t tag)
{
    if (tag == 0 || tag > f->opts->n_urls)
        return NULL;
    return &f->reqs[tag - 1];
}

/* ------------------------------------------------------------------------ */
/* Request outcomes                                                           */
/* ------------------------------------------------------------------------ */

/* The request is over: its body destination is closed or passes the turn on. */
static void finish(fetch *f, request *r)
{
    if (r->state == REQ_DONE)
        return;
    r->state = REQ_DONE;
    f->n_done++;
    output_finish(&f->out, request_index(f, r));
}

/*
 * The request failed: keeps the first reason, resets the stream when
 * |reset| and it is still open, and finishes it.
 */
static void fail(fetch *f, request *r, bool reset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(fetch *f, request *r, bool reset, const char *fmt, ...)
{
    if (r->error == NULL) {
        va_list ap;
        va_start(ap, fmt);
        r->error = vformat(fmt, ap);
        va_end(ap);
    }
    if (reset && r->state == REQ_OPEN && !f->closed) {
        int rv;
        while ((rv = h2_service_reset_stream(f->svc, f->conn, r->stream_id, H2_CANCEL, 0)) ==
                   H2_EAGAIN &&
               wait_for_room(f)) {
        }
        if (rv == 0)
            vlog(f, "> RST_STREAM stream %" PRIu32 ": CANCEL", r->stream_id);
    }
    finish(f, r);
}

static void set_conn_error(fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_conn_error(fetch *f, const char *fmt, ...)
{
    if (f->conn_error != NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    f->conn_error = vformat(fmt, ap);
    va_end(ap);
}

/* Fails every request not finished yet with |reason|. */
static void fail_unfinished(fetch *f, const char *reason)
{
    for (size_t i = 0; i < f->opts->n_urls; i++) {
        if (f->reqs[i].state != REQ_DONE)
            fail(f, &f->reqs[i], false, "%s", reason);
    }
}

/* The server ended the stream: the outcome depends on the status. */
static void complete(fetch *f, request *r)
{
    if (r->state == REQ_DONE)
        return;
    vlog(f, "* stream %" PRIu32 " complete: status %d, %" PRIu64 " body bytes", r->stream_id,
         r->status, r->body_bytes);
    if (r->status < 200 || r->status > 299)
        fail(f, r, false, "HTTP status %d", r->status);
    else
        finish(f, r);
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                    */
/* ------------------------------------------------------------------------ */

static h2_header field(const char *name, const char *value)
{
    h2_header h = {
        .name = (const uint8_t *)name,
        .name_len = strlen(name),
        .value = (const uint8_t *)value,
        .value_len = strlen(value),
        .flags = 0,
    };
    return h;
}

/* The value of -H |name| if given, else |fallback|. */
static const char *user_value(const options *o, const char *name, const char *fallback)
{
    for (size_t i = 0; i < o->n_headers; i++) {
        if (strcmp(o->headers[i].name, name) == 0)
            return o->headers[i].value;
    }
    return fallback;
}

/* Posts the HEADERS of request |i|; the stream id comes back in STREAM_OPENED. */
static int submit_request(fetch *f, size_t i)
{
    const options *o = f->opts;
    const url *u = &o->urls[i];
    size_t cap = 7 + o->n_headers;
    h2_header *fields = calloc(cap, sizeof(*fields));
    if (fields == NULL)
        return H2_ENOMEM;
    char length[32];
    size_t n = 0;
    fields[n++] = field(":method", o->has_body ? "POST" : "GET");
    fields[n++] = field(":scheme", u->scheme);
    /* A -H host: header names the authority, as HTTP/2 has no Host line. */
    fields[n++] = field(":authority", user_value(o, "host", u->authority));
    fields[n++] = field(":path", u->path);
    fields[n++] = field("user-agent", user_value(o, "user-agent", "h2client/" H2_VERSION_STRING));
    fields[n++] = field("accept", user_value(o, "accept", "*/*"));
    if (o->has_body) {
        snprintf(length, sizeof(length), "%zu", o->body_len);
        fields[n++] = field("content-length", length);
    }
    for (size_t k = 0; k < o->n_headers; k++) {
        const char *name = o->headers[k].name;
        if (strcmp(name, "host") == 0 || strcmp(name, "user-agent") == 0 ||
            strcmp(name, "accept") == 0)
            continue;
        fields[n++] = field(name, o->headers[k].value);
    }
    /* No body, or an empty one: the HEADERS frame ends the request. */
    uint32_t flags = o->body_len == 0 ? H2_SEND_END_STREAM : 0;
    int rv;
    while ((rv = h2_service_submit_headers(f->svc, f->conn, 0, fields, n, flags, i + 1)) ==
               H2_EAGAIN &&
           wait_for_room(f)) {
    }
    free(fields);
    return rv;
}

/* Logs the request block as sent (the stream id is known from STREAM_OPENED on). */
static void log_request(const fetch *f, size_t i, uint32_t stream_id)
{
    const options *o = f->opts;
    const url *u = &o->urls[i];
    if (!o->verbose)
        return;
    fprintf(stderr, "> HEADERS stream %" PRIu32 "%s\n", stream_id,
            o->body_len == 0 ? " (END_STREAM)" : "");
    fprintf(stderr, ">   :method: %s\n", o->has_body ? "POST" : "GET");
    fprintf(stderr, ">   :scheme: %s\n", u->scheme);
    fprintf(stderr, ">   :authority: %s\n", user_value(o, "host", u->authority));
    fprintf(stderr, ">   :path: %s\n", u->path);
    fprintf(stderr, ">   user-agent: %s\n",
            user_value(o, "user-agent", "h2client/" H2_VERSION_STRING));
    fprintf(stderr, ">   accept: %s\n", user_value(o, "accept", "*/*"));
    if (o->has_body)
        fprintf(stderr, ">   content-length: %zu\n", o->body_len);
    for (size_t k = 0; k < o->n_headers; k++) {
        const char *name = o->headers[k].name;
        if (strcmp(name, "host") != 0 && strcmp(name, "user-agent") != 0 &&
            strcmp(name, "accept") != 0)
            fprintf(stderr, ">   %s: %s\n", name, o->headers[k].value);
    }
}

/* A stream is open: log it and post its body, which the worker sends as windows allow. */
static void on_opened(fetch *f, const h2_svc_event *ev)
{
    request *r = by_tag(f, ev->user);
    if (r == NULL)
        return;
    r->stream_id = ev->stream_id;
    log_request(f, request_index(f, r), ev->stream_id);
    if (r->state != REQ_WAITING) {
        /* Given up already (the deadline, a GOAWAY): do not leave the stream
         * open, or the graceful close would wait for it. */
        if (!f->closed && !f->aborted &&
            h2_service_reset_stream(f->svc, f->conn, r->stream_id, H2_CANCEL, 0) == 0)
            vlog(f, "> RST_STREAM stream %" PRIu32 ": CANCEL", r->stream_id);
        return;
    }
    r->state = REQ_OPEN;
    const options *o = f->opts;
    if (o->body_len == 0)
        return;
    int rv;
    while ((rv = h2_service_send_data_ref(f->svc, f->conn, r->stream_id, o->body, o->body_len,
                                          H2_SEND_END_STREAM, ev->user, noop_release, NULL)) ==
               H2_EAGAIN &&
           wait_for_room(f)) {
    }
    if (rv != 0)
        fail(f, r, true, "could not send the request body: %s", h2_strerror(rv));
    else
        vlog(f, "> DATA stream %" PRIu32 ": %zu bytes queued, END_STREAM", r->stream_id,
             o->body_len);
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                  */
/* ------------------------------------------------------------------------ */

static void log_fields(const fetch *f, const h2_svc_event *ev, const char *what)
{
    if (!f->opts->verbose)
        return;
    fprintf(stderr, "< HEADERS stream %" PRIu32 " (%s)%s\n", ev->stream_id, what,
            ev->end_stream ? ", END_STREAM" : "");
    for (size_t i = 0; i < ev->n_fields; i++) {
        const h2_header *h = &ev->fields[i];
        fprintf(stderr, "<   %.*s: %.*s\n", (int)h->name_len, (const char *)h->name,
                (int)h->value_len, (const char *)h->value);
    }
}

/* The :status of a response block (validated by the core: three digits). */
static int status_of(const h2_svc_event *ev)
{
    for (size_t i = 0; i < ev->n_fields; i++) {
        const h2_header *h = &ev->fields[i];
        if (h->name_len == 7 && memcmp(h->name, ":status", 7) == 0 && h->value_len == 3) {
            int s = 0;
            for (size_t k = 0; k < 3; k++)
                s = s * 10 + (h->value[k] - '0');
            return s;
        }
    }
    return 0;
}

static void on_response(fetch *f, const h2_svc_event *ev)
{
    log_fields(f, ev, "response");
    request *r = by_stream(f, ev->stream_id);
    if (r == NULL || r->state == REQ_DONE)
        return;
    r->status = status_of(ev);
    if (output_open(&f->out, request_index(f, r)) != 0) {
        fail(f, r, true, "%s", output_error(&f->out, request_index(f, r)));
        return;
    }
    if (ev->end_stream)
        complete(f, r);
}

static void on_data(fetch *f, const h2_svc_event *ev)
{
    vlog(f, "< DATA stream %" PRIu32 ": %zu bytes%s", ev->stream_id, ev->len,
         ev->end_stream ? ", END_STREAM" : "");
    request *r = by_stream(f, ev->stream_id);
    if (r == NULL || r->state == REQ_DONE)
        return;
    r->body_bytes += ev->len;
    size_t i = request_index(f, r);
    if (output_write(&f->out, i, ev->data, ev->len) != 0) {
        fail(f, r, true, "%s", output_error(&f->out, i));
        return;
    }
    if (ev->end_stream)
        complete(f, r);
}

static void on_reset(fetch *f, const h2_svc_event *ev)
{
    char buf[16];
    const char *name = code_name(ev->error_code, buf, sizeof(buf));
    if (ev->remote)
        vlog(f, "< RST_STREAM stream %" PRIu32 ": %s", ev->stream_id, name);
    else
        vlog(f, "* stream %" PRIu32 " closed by this end: %s", ev->stream_id, name);
    request *r = by_stream(f, ev->stream_id);
    if (r == NULL || r->state == REQ_DONE)
        return;
    if (ev->remote)
        fail(f, r, false, "stream reset by the server (%s)", name);
    else
        fail(f, r, false, "stream reset after a protocol error of the server (%s)", name);
}

/* The server's GOAWAY: streams above its last id were not processed. */
static void on_goaway(fetch *f, const h2_svc_event *ev)
{
    char buf[16];
    const char *name = code_name(ev->error_code, buf, sizeof(buf));
    vlog(f, "< GOAWAY: %s, last stream %" PRIu32 "%s%.*s", name, ev->last_stream_id,
         ev->len > 0 ? ", debug: " : "", (int)ev->len, (const char *)ev->data);
    for (size_t i = 0; i < f->opts->n_urls; i++) {
        request *r = &f->reqs[i];
        if (r->state != REQ_DONE && (r->stream_id == 0 || r->stream_id > ev->last_stream_id))
            fail(f, r, false, "not processed: the server is shutting the connection down (%s)",
                 name);
    }
    if (ev->error_code != H2_NO_ERROR)
        set_conn_error(f, "the server closed the connection with %s%s%.*s", name,
                       ev->len > 0 ? ": " : "", (int)ev->len, (const char *)ev->data);
}

static void on_command_failed(fetch *f, const h2_svc_event *ev)
{
    vlog(f, "* command %d on stream %" PRIu32 " failed: %s", ev->command, ev->stream_id,
         h2_strerror(ev->error));
    request *r = by_tag(f, ev->user);
    switch (ev->command) {
    case H2_SVC_CMD_HEADERS:
        if (r != NULL)
            fail(f, r, false, "could not send the request: %s", h2_strerror(ev->error));
        break;
    case H2_SVC_CMD_DATA:
    case H2_SVC_CMD_END_STREAM:
        if (r != NULL)
            fail(f, r, true, "could not send the request body: %s", h2_strerror(ev->error));
        break;
    case H2_SVC_CMD_ATTACH:
        set_conn_error(f, "could not start the connection: %s", h2_strerror(ev->error));
        break;
    default:
        /* Resets and the closing GOAWAY may fail once the connection is gone. */
        break;
    }
}

static const char *close_reason(const h2_svc_event *ev, bool heard, char *buf, size_t size)
{
    char cb[16];
    switch (ev->reason) {
    case H2_SVC_CLOSE_GRACEFUL:
        return "the connection was closed";
    case H2_SVC_CLOSE_PEER_EOF:
        if (ev->sys_errno != 0)
            snprintf(buf, size, "the server closed the connection (%s)", strerror(ev->sys_errno));
        else
            snprintf(buf, size, "the server closed the connection");
        return buf;
    case H2_SVC_CLOSE_PROTOCOL:
        /* H2_EPROTO says no more than the reason itself; other codes name the rule. */
        snprintf(buf, size, "the server broke the HTTP/2 protocol%s%s%s (GOAWAY %s sent)",
                 ev->error != H2_EPROTO ? ": " : "",
                 ev->error != H2_EPROTO ? h2_strerror(ev->error) : "",
                 heard ? "" : " before its first frame; is it an HTTP/2 server?",
                 code_name(ev->error_code, cb, sizeof(cb)));
        return buf;
    case H2_SVC_CLOSE_IO:
        snprintf(buf, size, "connection failed: %s",
                 ev->sys_errno != 0 ? strerror(ev->sys_errno) : h2_strerror(ev->error));
        return buf;
    case H2_SVC_CLOSE_ABORTED:
        return "the connection was aborted";
    case H2_SVC_CLOSE_NOMEM:
        return "out of memory";
    default:
        return "the connection was shut down";
    }
}

static void on_closed(fetch *f, const h2_svc_event *ev)
{
    char buf[256];
    const char *why = close_reason(ev, f->heard, buf, sizeof(buf));
    vlog(f, "* connection closed: %s", why);
    f->closed = true;
    fail_unfinished(f, why);
    /* A failure of the connection itself is an error even when every response was complete. */
    if (ev->reason == H2_SVC_CLOSE_PROTOCOL || ev->reason == H2_SVC_CLOSE_IO ||
        ev->reason == H2_SVC_CLOSE_NOMEM)
        set_conn_error(f, "%s", why);
}

/* -v: a PING right after the preface shows the round-trip time. */
static void send_ping(fetch *f)
{
    static const uint8_t opaque[8] = {'h', '2', 'c', 'l', 'i', 'e', 'n', 't'};
    if (!f->opts->verbose || h2_service_ping(f->svc, f->conn, opaque, 0) != 0)
        return;
    f->ping_sent = now_ms();
    vlog(f, "> PING");
}

static void on_event(fetch *f, const h2_svc_event *ev)
{
    request *r;
    if (ev->type < H2_SVC_EV_ATTACHED)
        f->heard = true; /* a core event: something the server sent */
    switch (ev->type) {
    case H2_SVC_EV_ATTACHED:
        vlog(f, "> connection preface and SETTINGS sent");
        send_ping(f);
        break;
    case H2_SVC_EV_STREAM_OPENED:
        on_opened(f, ev);
        break;
    case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
        log_fields(f, ev, "informational");
        break;
    case H2_EV_RESPONSE_RECEIVED:
        on_response(f, ev);
        break;
    case H2_EV_TRAILERS_RECEIVED:
        log_fields(f, ev, "trailers");
        r = by_stream(f, ev->stream_id);
        if (r != NULL && ev->end_stream)
            complete(f, r);
        break;
    case H2_EV_DATA_RECEIVED:
        on_data(f, ev);
        break;
    case H2_EV_STREAM_RESET:
        on_reset(f, ev);
        break;
    case H2_EV_PING_ACK_RECEIVED:
        vlog(f, "< PING ACK: round trip %" PRId64 " ms", now_ms() - f->ping_sent);
        break;
    case H2_EV_CONNECTION_TERMINATED:
        on_goaway(f, ev);
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        on_command_failed(f, ev);
        break;
    case H2_SVC_EV_CLOSED:
        on_closed(f, ev);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* The connection                                                             */
/* ------------------------------------------------------------------------ */

/* Connects (and runs TLS) and hands the socket to the service. Returns 0 or -1 (conn_error set). */
static int open_connection(fetch *f)
{
    const options *o = f->opts;
    const url *u = &o->urls[0];
    char err[512];
    int fd = net_connect(u->host, u->port, f->deadline, o->verbose, err, sizeof(err));
    if (fd < 0) {
        set_conn_error(f, "%s", err);
        return -1;
    }
    h2_svc_conn_config cfg;
    h2_svc_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.conn.enable_push = 0; /* pushed responses would have nowhere to go */
    cfg.conn.initial_window_size = STREAM_WINDOW;
    cfg.conn.connection_window_size = CONNECTION_WINDOW;
    cfg.queue = f->queue;
    h2_svc_transport transport;
    tls_conn *tc = NULL;
    if (u->tls) {
        tls_options topts = {
            .host = u->host,
            .insecure = o->insecure,
            .cacert = o->cacert,
            .verbose = o->verbose,
        };
        if (tls_connect(fd, &topts, f->deadline, &tc, err, sizeof(err)) != 0) {
            set_conn_error(f, "%s", err);
            close(fd);
            return -1;
        }
        tls_transport(tc, &transport);
        cfg.transport = &transport;
    }
    int rv;
    while ((rv = h2_service_attach_fd(f->svc, fd, &cfg, &f->conn)) == H2_EAGAIN &&
           wait_for_room(f)) {
    }
    if (rv != 0) {
        /* Not attached: the socket and the TLS session are still ours. */
        tls_conn_free(tc);
        close(fd);
        set_conn_error(f, "could not start the connection: %s", h2_strerror(rv));
        return -1;
    }
    f->attached = true;
    return 0;
}

/* Waits for events until |deadline| (or, with |until_closed| false, for one batch). */
static void handle_events(fetch *f, int wait_ms)
{
    h2_svc_event *evs[EVENT_BATCH];
    if (h2_svc_queue_wait(f->queue, wait_ms) <= 0)
        return;
    size_t n;
    while ((n = h2_svc_queue_poll(f->queue, evs, EVENT_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++) {
            on_event(f, evs[i]);
            /* Releasing a DATA event reopens the flow-control windows. */
            h2_svc_event_release(evs[i]);
        }
        if (f->closed)
            break;
    }
}

/* Runs the connection until it is closed, or the deadline (plus a grace to see it close). */
static void run(fetch *f)
{
    const options *o = f->opts;
    for (size_t i = 0; i < o->n_urls; i++) {
        int rv = submit_request(f, i);
        if (rv != 0)
            fail(f, &f->reqs[i], false, "could not send the request: %s", h2_strerror(rv));
    }
    int64_t abort_deadline = 0;
    while (!f->closed) {
        if (f->n_done == o->n_urls && !f->close_sent && !f->aborted) {
            /* Every stream is finished: GOAWAY, then the worker closes. */
            int rv;
            while ((rv = h2_service_close(f->svc, f->conn, H2_NO_ERROR, 0)) == H2_EAGAIN &&
                   wait_for_room(f)) {
            }
            f->close_sent = true;
            if (rv == 0)
                vlog(f, "> GOAWAY: NO_ERROR");
        }
        if (!f->aborted && ms_left(f->deadline) == 0) {
            char reason[64];
            snprintf(reason, sizeof(reason), "timed out (-m %g)", o->timeout);
            vlog(f, "* %s", reason);
            if (f->n_done < o->n_urls)
                fail_unfinished(f, reason);
            h2_service_abort(f->svc, f->conn, 0);
            f->aborted = true;
            abort_deadline = now_ms() + ABORT_GRACE_MS;
        }
        if (f->aborted && ms_left(abort_deadline) == 0)
            break;
        handle_events(f, ms_left(f->aborted ? abort_deadline : f->deadline));
    }
}

/* Releases what is left in the queue (DATA events must go before the service). */
static void drain(fetch *f)
{
    h2_svc_event *evs[EVENT_BATCH];
    size_t n;
    while ((n = h2_svc_queue_poll(f->queue, evs, EVENT_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            h2_svc_event_release(evs[i]);
    }
}

/* Prints one line per failed URL, in URL order. Returns the exit status. */
static int report(fetch *f)
{
    const options *o = f->opts;
    int status = 0;
    for (size_t i = 0; i < o->n_urls; i++) {
        const char *err = f->reqs[i].error;
        if (err == NULL)
            err = output_error(&f->out, i);
        if (err != NULL) {
            fprintf(stderr, PROG ": %s: %s\n", o->url_texts[i], err);
            status = 1;
        }
    }
    if (f->conn_error != NULL) {
        /* Named after the first URL: the connection serves them all. */
        bool shown = false;
        for (size_t i = 0; i < o->n_urls && !shown; i++)
            shown = f->reqs[i].error != NULL && strcmp(f->reqs[i].error, f->conn_error) == 0;
        if (!shown)
            fprintf(stderr, PROG ": %s: %s\n", o->url_texts[0], f->conn_error);
        status = 1;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": %s: cannot write stdout: %s\n", o->url_texts[0], strerror(errno));
        status = 1;
    }
    return status;
}

int fetch_all(const options *opts)
{
    fetch f;
    memset(&f, 0, sizeof(f));
    f.opts = opts;
    f.deadline = now_ms() + (int64_t)(opts->timeout * 1000.0);
    f.reqs = calloc(opts->n_urls, sizeof(request));
    if (f.reqs == NULL || outputs_init(&f.out, opts->n_urls, opts->outputs) != 0) {
        free(f.reqs);
        fprintf(stderr, PROG ": %s: out of memory\n", opts->url_texts[0]);
        return 1;
    }

    h2_service_config scfg;
    h2_service_config_init(&scfg);
    scfg.workers = 1; /* one connection: one worker thread */
    int rv = h2_svc_queue_new(&f.queue, QUEUE_CAPACITY, NULL);
    if (rv == 0) {
        scfg.queue = f.queue; /* failures about the connection's id land here too */
        rv = h2_service_new(&f.svc, &scfg);
    }
    if (rv != 0)
        set_conn_error(&f, "cannot start the HTTP/2 service: %s", h2_strerror(rv));
    else if (open_connection(&f) == 0)
        run(&f);

    if (!f.attached)
        fail_unfinished(&f, f.conn_error != NULL ? f.conn_error : "no connection");
    drain(&f);
    h2_service_free(f.svc);
    h2_svc_queue_free(f.queue);
    /* Anything cut short by the shutdown still has its body destination closed. */
    fail_unfinished(&f, "no response");

    int status = report(&f);
    for (size_t i = 0; i < opts->n_urls; i++)
        free(f.reqs[i].error);
    free(f.reqs);
    free(f.conn_error);
    outputs_free(&f.out);
    return status;
}
