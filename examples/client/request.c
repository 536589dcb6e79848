/*
 * h2client: building, sending and settling the requests (see
 * fetch_internal.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h2/version.h"

#include "client/fetch_internal.h"
#include "client/net.h"

/* ------------------------------------------------------------------------ */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------ */

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
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
void fetch_log(const fetch *f, const char *fmt, ...)
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
const char *fetch_code_name(uint32_t code, char *buf, size_t size)
{
    const char *name = h2_error_code_name(code);
    if (name != NULL)
        return name;
    snprintf(buf, size, "0x%" PRIx32, code);
    return buf;
}

/* A posting call found the command ring full: wait a moment. False once the deadline passed. */
bool fetch_wait_for_room(const fetch *f)
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

request *fetch_by_stream(fetch *f, uint32_t stream_id)
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
request *fetch_by_tag(fetch *f, uint64_t tag)
{
    if (tag == 0 || tag > f->opts->n_urls)
        return NULL;
    return &f->reqs[tag - 1];
}

/* ------------------------------------------------------------------------ */
/* Request outcomes                                                           */
/* ------------------------------------------------------------------------ */

/* The request is over: its body destination is closed or passes the turn on. */
void req_finish(fetch *f, request *r)
{
    if (r->state == REQ_DONE)
        return;
    r->state = REQ_DONE;
    f->n_done++;
    output_finish(&f->out, req_index(f, r));
}

/*
 * The request failed: keeps the first reason, resets the stream when
 * |reset| and it is still open, and finishes it.
 */
void req_fail(fetch *f, request *r, bool reset, const char *fmt, ...)
{
    if (!r->failed) {
        r->failed = true;
        va_list ap;
        va_start(ap, fmt);
        r->error = vformat(fmt, ap);
        va_end(ap);
    }
    if (reset && r->state == REQ_OPEN && !f->closed) {
        int rv;
        while ((rv = h2_svc_reset_stream(f->svc, f->conn, r->stream_id, H2_CANCEL, 0)) ==
                   H2_EAGAIN &&
               fetch_wait_for_room(f)) {
        }
        if (rv == 0)
            fetch_log(f, "> RST_STREAM stream %" PRIu32 ": CANCEL", r->stream_id);
    }
    req_finish(f, r);
}

void fetch_set_error(fetch *f, const char *fmt, ...)
{
    if (f->conn_failed)
        return;
    f->conn_failed = true;
    va_list ap;
    va_start(ap, fmt);
    f->conn_error = vformat(fmt, ap);
    va_end(ap);
}

/* Fails every request not finished yet with |reason|. */
void fetch_fail_unfinished(fetch *f, const char *reason)
{
    for (size_t i = 0; i < f->opts->n_urls; i++) {
        if (f->reqs[i].state != REQ_DONE)
            req_fail(f, &f->reqs[i], false, "%s", reason);
    }
}

/* The server ended the stream: the outcome depends on the status. */
void req_complete(fetch *f, request *r)
{
    if (r->state == REQ_DONE)
        return;
    fetch_log(f, "* stream %" PRIu32 " complete: status %d, %" PRIu64 " body bytes", r->stream_id,
              r->status, r->body_bytes);
    if (r->status < 200 || r->status > 299)
        req_fail(f, r, false, "HTTP status %d", r->status);
    else
        req_finish(f, r);
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

/* Fields the client sets itself, unless -H gives them. */
static bool own_field(const char *name)
{
    return strcmp(name, "host") == 0 || strcmp(name, "user-agent") == 0 ||
           strcmp(name, "accept") == 0;
}

/*
 * Fills |fields| (room for 7 + the -H count) with URL |i|'s request block
 * and returns how many; |length| (|length_size| bytes) holds the
 * content-length text the block points to.
 */
static size_t request_fields(const fetch *f, size_t i, h2_header *fields, char *length,
                             size_t length_size)
{
    const options *o = f->opts;
    const url *u = &o->urls[i];
    size_t n = 0;
    fields[n++] = field(":method", o->has_body ? "POST" : "GET");
    fields[n++] = field(":scheme", u->scheme);
    /* A -H host: header names the authority, as HTTP/2 has no Host line. */
    fields[n++] = field(":authority", user_value(o, "host", u->authority));
    fields[n++] = field(":path", u->path);
    fields[n++] = field("user-agent", user_value(o, "user-agent", "h2client/" H2_VERSION_STRING));
    fields[n++] = field("accept", user_value(o, "accept", "*/*"));
    if (o->has_body) {
        snprintf(length, length_size, "%zu", o->body_len);
        fields[n++] = field("content-length", length);
    }
    for (size_t k = 0; k < o->n_headers; k++) {
        if (!own_field(o->headers[k].name))
            fields[n++] = field(o->headers[k].name, o->headers[k].value);
    }
    return n;
}

/* Posts the HEADERS of request |i|; the stream id comes back in STREAM_OPENED. */
static int submit(fetch *f, size_t i)
{
    h2_header *fields = calloc(7 + f->opts->n_headers, sizeof(*fields));
    if (fields == NULL)
        return H2_ENOMEM;
    char length[32];
    size_t n = request_fields(f, i, fields, length, sizeof(length));
    /* No body, or an empty one: the HEADERS frame ends the request. */
    uint32_t flags = f->opts->body_len == 0 ? H2_SEND_END_STREAM : 0;
    int rv;
    /* The fields are copied by the call; |i| + 1 tags the STREAM_OPENED event. */
    while ((rv = h2_svc_submit_headers(f->svc, f->conn, 0, fields, n, flags, i + 1)) ==
               H2_EAGAIN &&
           fetch_wait_for_room(f)) {
    }
    free(fields);
    return rv;
}

void req_submit_more(fetch *f)
{
    const options *o = f->opts;
    if (f->goaway || f->closed || f->aborted)
        return; /* queued requests wait for a new connection, or fail */
    for (size_t i = 0; i < o->n_urls; i++) {
        request *r = &f->reqs[i];
        if (o->has_body && r->state == REQ_WAITING)
            return;
        if (r->state != REQ_QUEUED)
            continue;
        r->state = REQ_WAITING;
        int rv = submit(f, i);
        if (rv != 0)
            req_fail(f, r, false, "could not send the request: %s", h2_strerror(rv));
        else if (o->has_body)
            return;
    }
}

/* Logs the request block as sent (the stream id is known from STREAM_OPENED on). */
static void log_request(const fetch *f, size_t i, uint32_t stream_id)
{
    if (!f->opts->verbose)
        return;
    h2_header *fields = calloc(7 + f->opts->n_headers, sizeof(*fields));
    if (fields == NULL)
        return;
    char length[32];
    size_t n = request_fields(f, i, fields, length, sizeof(length));
    fprintf(stderr, "> HEADERS stream %" PRIu32 "%s\n", stream_id,
            f->opts->body_len == 0 ? " (END_STREAM)" : "");
    for (size_t k = 0; k < n; k++)
        fprintf(stderr, ">   %.*s: %.*s\n", (int)fields[k].name_len, (const char *)fields[k].name,
                (int)fields[k].value_len, (const char *)fields[k].value);
    free(fields);
}

/* A stream is open: log it and post its body, which the worker sends as windows allow. */
void req_opened(fetch *f, const h2_svc_event *ev)
{
    request *r = fetch_by_tag(f, ev->user);
    if (r == NULL)
        return;
    r->stream_id = ev->stream_id;
    log_request(f, req_index(f, r), ev->stream_id);
    if (r->state != REQ_WAITING) {
        /* Given up already (the deadline, a GOAWAY): do not leave the stream
         * open, or the graceful close would wait for it. */
        if (!f->closed && !f->aborted &&
            h2_svc_reset_stream(f->svc, f->conn, r->stream_id, H2_CANCEL, 0) == 0)
            fetch_log(f, "> RST_STREAM stream %" PRIu32 ": CANCEL", r->stream_id);
        return;
    }
    r->state = REQ_OPEN;
    const options *o = f->opts;
    if (o->body_len == 0) {
        req_submit_more(f);
        return;
    }
    int rv;
    while ((rv = h2_svc_send_data_ref(f->svc, f->conn, r->stream_id, o->body, o->body_len,
                                          H2_SEND_END_STREAM, ev->user, noop_release, NULL)) ==
               H2_EAGAIN &&
           fetch_wait_for_room(f)) {
    }
    if (rv != 0)
        req_fail(f, r, true, "could not send the request body: %s", h2_strerror(rv));
    else
        fetch_log(f, "> DATA stream %" PRIu32 ": %zu bytes queued, END_STREAM", r->stream_id,
                  o->body_len);
    /* Only now the next request: its HEADERS must not go ahead of this body. */
    req_submit_more(f);
}
