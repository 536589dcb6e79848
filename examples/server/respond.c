/*
 * h2server: answering requests (worker threads).
 *
 * Bodies are posted by reference (h2_svc_send_data_ref), never copied
 * by h2server:
 *   - a file of up to 1 MiB is posted straight from the worker's file cache
 *     (cache.c) with END_STREAM; the response holds a reference on the
 *     cache entry until the release callback (which also writes the log
 *     line);
 *   - a larger file streams through CHUNK buffers: each buffer is
 *     refilled from the file when the service releases it, which happens
 *     once the service no longer needs its bytes (they went out, as the
 *     peer's flow-control windows allowed). One buffer is in flight at
 *     first, a second once the first was released; a stalled reader holds
 *     one chunk of this server's memory per stream, a reading one two,
 *     whatever the file's size;
 *   - POST /echo posts each received DATA event's payload back by
 *     reference and releases the event (which acknowledges it for flow
 *     control) only when the service released that payload: the peer can
 *     send no faster than it reads, and at most one receive window of
 *     request data is held per stream.
 *
 * A POST with a gRPC content type goes to grpc.c (the gRPC echo service),
 * and so do that stream's DATA, end and reset.
 */
#include "server/cache.h"
#include "server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* Read size for files, and the largest file sent from a single buffer. */
#define CHUNK (64u * 1024u)
/* Bodies up to this size go out with their head in one command, copied. */
#define COPY_MAX (16u * 1024u)
#define LOG_TEXT 200

/* What the request log says about a request. */
typedef struct srv_log {
    uint64_t t0; /* request received (ex_now_ns) */
    int status;
    uint64_t bytes; /* body bytes handed to the service */
    char method[16];
    char path[LOG_TEXT];
} srv_log;

enum { ST_FILE = 1, ST_ECHO };

/* A response that spans several callbacks: a large file, or an echo. */
struct srv_stream {
    srv_conn *c; /* holds a reference on it */
    srv_stream *prev, *next;
    uint32_t id;
    int kind;
    bool dead;         /* reset, failed, or the connection closed */
    bool ended;        /* END_STREAM posted */
    unsigned inflight; /* payloads posted and not released yet */
    int fd;            /* ST_FILE: the file */
    uint64_t off, left;
    uint8_t *buf[2];
    srv_log log;
};

/* -v: the log of a response whose body goes out in one piece. */
typedef struct srv_small {
    const srv_server *srv;
    srv_log log;
    srv_cached *cached; /* the body lies in this cache entry, or NULL (static text) */
} srv_small;

const char srv_builtin_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>h2server</title></head>\n"
    "<body><h1>h2server</h1><p>This page was served over HTTP/2 by libh2. Start h2server "
    "with <code>--root DIR</code> to serve files; <code>POST /echo</code> returns the "
    "request body.</p></body></html>\n";

/* ------------------------------------------------------------------------ */
/* Request log                                                               */
/* ------------------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    if (len > cap - 1)
        len = cap - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
    }
    dst[len] = '\0';
}

static void log_line(const srv_server *srv, const srv_log *l, const char *note)
{
    if (!srv->verbose)
        return;
    double ms = (double)(ex_now_ns() - l->t0) / 1e6; /* t0 is set with -v */
    fprintf(stderr, "%s %s %d %llu %.3fms%s\n", l->method, l->path, l->status,
            (unsigned long long)l->bytes, ms, note);
}

/* ------------------------------------------------------------------------ */
/* Whole-body responses                                                      */
/* ------------------------------------------------------------------------ */

/* Release callbacks of one-piece bodies: a cache entry, static text, or
 * either with a log line to write (-v). */
static void cached_release(void *user, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    srv_cache_release(user);
}

static void static_release(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    (void)data;
    (void)len;
}

static void logged_release(void *user, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    srv_small *s = user;
    log_line(s->srv, &s->log, "");
    srv_cache_release(s->cached);
    free(s);
}

/* |type| must be static (the head may wait in the outbox). */
static void set_type(srv_head *h, const char *type)
{
    h->type_static = type != NULL ? type : "application/octet-stream";
}

/*
 * Sends a response whose body |body| (|len| bytes) goes out in one piece:
 * static text, or the bytes of the cache entry |cached| (whose reference
 * this call takes over). With |head_only|, only the head (with the length).
 */
static void send_whole(srv_conn *c, uint32_t id, srv_log *log, srv_cached *cached, int status,
                       const char *type, const uint8_t *body, size_t len, bool head_only)
{
    srv_head h = {.status = status, .length = (int64_t)len};
    set_type(&h, type);
    log->status = status;
    if (head_only || len == 0) {
        srv_post_head(c, id, &h, H2_SEND_END_STREAM);
        log_line(c->srv, log, "");
        srv_cache_release(cached);
        return;
    }
    log->bytes = len;
    h2_svc_release_fn release = cached != NULL ? cached_release : static_release;
    void *release_user = cached;
    if (len <= COPY_MAX && !c->srv->verbose) {
        /* Copying a small body costs less than a second command. */
        if (srv_post_response(c, id, &h, body, len, release, release_user) != 0)
            release(release_user, body, len);
        return;
    }
    if (c->srv->verbose) {
        /* The log line is written when the service is done with the body. */
        srv_small *s = malloc(sizeof(*s));
        if (s != NULL) {
            *s = (srv_small){.srv = c->srv, .log = *log, .cached = cached};
            release = logged_release;
            release_user = s;
        }
    }
    if (srv_post_head(c, id, &h, 0) != 0 ||
        srv_post_data(c, id, body, len, H2_SEND_END_STREAM, release, release_user) != 0)
        release(release_user, body, len);
}

/* An answer with a short static text body (errors, the built-in page). */
static void send_static(srv_conn *c, uint32_t id, srv_log *log, int status, const char *type,
                        const char *text, bool head_only)
{
    send_whole(c, id, log, NULL, status, type, (const uint8_t *)text, strlen(text), head_only);
}

static void send_error(srv_conn *c, uint32_t id, srv_log *log, int status, bool head_only)
{
    const char *text = status == 404   ? "not found\n"
                       : status == 400 ? "bad request\n"
                       : status == 405 ? "method not allowed\n"
                                       : "internal server error\n";
    send_static(c, id, log, status, "text/plain; charset=utf-8", text, head_only);
}

/* ------------------------------------------------------------------------ */
/* Streams that span callbacks                                               */
/* ------------------------------------------------------------------------ */

static srv_stream *stream_find(srv_conn *c, uint32_t id)
{
    for (srv_stream *s = c->streams; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static srv_stream *stream_new(srv_conn *c, uint32_t id, int kind, const srv_log *log)
{
    srv_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->c = c;
    s->id = id;
    s->kind = kind;
    s->fd = -1;
    s->log = *log;
    s->next = c->streams;
    if (c->streams != NULL)
        c->streams->prev = s;
    c->streams = s;
    srv_conn_ref(c);
    return s;
}

/* Frees |s| once nothing of it is in flight and nothing more will be sent. */
static void stream_maybe_finish(srv_stream *s)
{
    srv_conn *c = s->c;
    if (s->inflight > 0 || !(s->dead || s->ended || c->closed))
        return;
    log_line(c->srv, &s->log, s->dead || !s->ended ? " (not completed)" : "");
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->streams = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf[0]);
    free(s->buf[1]);
    free(s);
    srv_conn_unref(c);
}

void srv_stream_dead(srv_conn *c, uint32_t stream_id)
{
    srv_grpc_dead(c, stream_id);
    srv_stream *s = stream_find(c, stream_id);
    if (s != NULL) {
        s->dead = true;
        stream_maybe_finish(s);
    }
}

void srv_streams_closed(srv_conn *c)
{
    srv_grpc_closed(c);
    srv_stream *s = c->streams;
    while (s != NULL) {
        srv_stream *next = s->next;
        s->dead = true;
        stream_maybe_finish(s);
        s = next;
    }
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/* Reads exactly |len| bytes at |off|; false on error or end of file. */
static bool read_at(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static void file_release(void *user, const uint8_t *data, size_t len);

/* Fills |buf| with the file's next chunk and posts it. */
static void file_next(srv_stream *s, uint8_t *buf)
{
    size_t want = s->left < CHUNK ? (size_t)s->left : CHUNK;
    if (!read_at(s->fd, buf, want, s->off)) {
        /* The file shrank or failed: the promised length cannot be met. */
        s->dead = true;
        srv_post_reset(s->c, s->id, H2_INTERNAL_ERROR);
        return;
    }
    s->off += want;
    s->left -= want;
    s->log.bytes += want;
    uint32_t flags = 0;
    if (s->left == 0) {
        flags = H2_SEND_END_STREAM;
        s->ended = true;
    }
    s->inflight++;
    if (srv_post_data(s->c, s->id, buf, want, flags, file_release, s) != 0) {
        s->inflight--;
        s->dead = true;
    }
}

/* The service is done with a chunk: refill it, or finish. */
static void file_release(void *user, const uint8_t *data, size_t len)
{
    (void)len;
    srv_stream *s = user;
    s->inflight--;
    if (!s->dead && !s->c->closed && s->left > 0) {
        file_next(s, data == s->buf[0] ? s->buf[0] : s->buf[1]);
        /* The first chunk went out: the peer reads, so keep a second one
         * in flight from now on (a stalled reader holds just one). */
        if (s->buf[1] == NULL && !s->dead && s->left > 0 && (s->buf[1] = malloc(CHUNK)) != NULL)
            file_next(s, s->buf[1]);
    }
    stream_maybe_finish(s);
}

static bool is_root_page(const char *path, size_t len)
{
    size_t n = 0;
    while (n < len && path[n] != '?' && path[n] != '#')
        n++;
    return (n == 1 && path[0] == '/') || (n == 11 && memcmp(path, "/index.html", 11) == 0);
}

static void serve_file(srv_conn *c, uint32_t id, const char *path, size_t path_len, srv_log *log,
                       bool head_only)
{
    const srv_server *srv = c->srv;
    if (srv->root_fd < 0) {
        if (is_root_page(path, path_len))
            send_static(c, id, log, 200, "text/html; charset=utf-8", srv_builtin_page, head_only);
        else
            send_error(c, id, log, 404, head_only);
        return;
    }
    srv_file f;
    int status = srv_cache_open(srv, path, path_len, &f);
    if (status != 200) {
        send_error(c, id, log, status, head_only);
        return;
    }
    if (f.cached != NULL || head_only) {
        /* A small file from the cache, or a HEAD: one piece (or none). */
        if (f.fd >= 0)
            close(f.fd);
        send_whole(c, id, log, f.cached, 200, f.type, f.data, (size_t)f.size, head_only);
        return;
    }
    int fd = f.fd;
    uint64_t size = f.size;
    const char *type = f.type;
    /* A large file: stream it through one buffer, then two (file_release). */
    srv_stream *s = stream_new(c, id, ST_FILE, log);
    if (s == NULL || (s->buf[0] = malloc(CHUNK)) == NULL) {
        close(fd);
        if (s != NULL) {
            s->dead = true;
            stream_maybe_finish(s);
        }
        send_error(c, id, log, 500, false);
        return;
    }
    s->fd = fd;
    s->left = size;
    s->log.status = 200;
    srv_head h = {.status = 200, .length = (int64_t)size};
    set_type(&h, type);
    if (srv_post_head(c, id, &h, 0) != 0) {
        s->dead = true;
    } else {
        file_next(s, s->buf[0]);
    }
    stream_maybe_finish(s);
}

/* ------------------------------------------------------------------------ */
/* POST /echo                                                                */
/* ------------------------------------------------------------------------ */

static const h2_header *field(const h2_header *f, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; f != NULL && i < n; i++)
        if (f[i].name_len == len && memcmp(f[i].name, name, len) == 0)
            return &f[i];
    return NULL;
}

static void start_echo(srv_conn *c, uint32_t id, const h2_header *fields, size_t n, bool end_stream,
                       srv_log *log)
{
    srv_head h = {.status = 200, .length = -1};
    const h2_header *type = field(fields, n, "content-type");
    if (type != NULL && type->value_len > 0 && type->value_len < sizeof(h.type)) {
        memcpy(h.type, type->value, type->value_len);
        h.type[type->value_len] = '\0';
    } else {
        set_type(&h, NULL);
    }
    /* The echo has the request's length, when the request states it. */
    const h2_header *cl = field(fields, n, "content-length");
    char num[24];
    uint64_t length = 0;
    if (cl != NULL && cl->value_len > 0 && cl->value_len < sizeof(num)) {
        memcpy(num, cl->value, cl->value_len);
        num[cl->value_len] = '\0';
        if (ex_parse_uint(num, 0, INT64_MAX, &length))
            h.length = (int64_t)length;
    }
    log->status = 200;
    if (end_stream) {
        h.length = 0;
        srv_post_head(c, id, &h, H2_SEND_END_STREAM);
        log_line(c->srv, log, "");
        return;
    }
    srv_stream *s = stream_new(c, id, ST_ECHO, log);
    if (s == NULL) {
        srv_post_reset(c, id, H2_INTERNAL_ERROR);
        return;
    }
    if (srv_post_head(c, id, &h, 0) != 0) {
        s->dead = true;
        stream_maybe_finish(s);
    }
}

/* The service copied an echoed payload: release its DATA event (which
 * acknowledges the bytes to the peer). */
static void echo_release(void *user, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    h2_svc_event *ev = user;
    srv_conn *c = ev->conn_user;
    uint32_t id = ev->stream_id;
    h2_svc_event_release(ev);
    srv_stream *s = stream_find(c, id);
    if (s != NULL) {
        s->inflight--;
        stream_maybe_finish(s);
    }
}

void srv_request_data(srv_conn *c, h2_svc_event *ev)
{
    if (srv_grpc_data(c, ev))
        return;
    srv_stream *s = stream_find(c, ev->stream_id);
    if (s == NULL || s->kind != ST_ECHO || s->dead || s->ended) {
        h2_svc_event_release(ev); /* a body nobody asked for: acknowledged and dropped */
        return;
    }
    uint32_t flags = 0;
    if (ev->end_stream) {
        flags = H2_SEND_END_STREAM;
        s->ended = true;
    }
    s->inflight++;
    s->log.bytes += ev->len;
    if (srv_post_data(c, s->id, ev->data, ev->len, flags, echo_release, ev) != 0) {
        s->inflight--;
        s->dead = true;
        h2_svc_event_release(ev);
        stream_maybe_finish(s);
    }
}

void srv_request_end(srv_conn *c, uint32_t stream_id)
{
    if (srv_grpc_end(c, stream_id))
        return;
    srv_stream *s = stream_find(c, stream_id);
    if (s == NULL || s->kind != ST_ECHO || s->dead || s->ended)
        return;
    s->ended = true;
    if (srv_post_end(c, stream_id) != 0)
        s->dead = true;
    stream_maybe_finish(s);
}

/* The body of an upgraded request went out: free it. */
static void upgrade_body_release(void *user, const uint8_t *data, size_t len)
{
    (void)len;
    srv_conn *c = user;
    free((void *)(uintptr_t)data);
    srv_stream *s = stream_find(c, 1);
    if (s != NULL) {
        s->inflight--;
        stream_maybe_finish(s);
    }
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

static bool equals(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

void srv_respond(srv_conn *c, uint32_t stream_id, const char *method, size_t method_len,
                 const char *path, size_t path_len, const h2_header *fields, size_t n,
                 bool end_stream)
{
    srv_log log = {.t0 = c->srv->verbose ? ex_now_ns() : 0};
    copy_text(log.method, sizeof(log.method), method, method_len);
    copy_text(log.path, sizeof(log.path), path, path_len);
    bool head = equals(method, method_len, "HEAD");
    if (srv_grpc_wanted(method, method_len, fields, n))
        srv_grpc_start(c, stream_id, path, path_len, fields, n, end_stream);
    else if (head || equals(method, method_len, "GET"))
        serve_file(c, stream_id, path, path_len, &log, head);
    else if (equals(method, method_len, "POST") && equals(path, path_len, "/echo"))
        start_echo(c, stream_id, fields, n, end_stream, &log);
    else
        send_error(c, stream_id, &log, 405, false);
}

void srv_respond_upgraded(srv_conn *c, const char *method, const char *path, uint8_t *body,
                          size_t body_len)
{
    srv_respond(c, 1, method, strlen(method), path, strlen(path), NULL, 0, body_len == 0);
    if (body_len == 0) {
        free(body);
        return;
    }
    /* Only an echo wants the body; anything else was answered already. */
    srv_stream *s = stream_find(c, 1);
    if (s == NULL || s->kind != ST_ECHO || s->dead || s->ended) {
        free(body);
        return;
    }
    s->ended = true;
    s->inflight++;
    s->log.bytes += body_len;
    if (srv_post_data(c, 1, body, body_len, H2_SEND_END_STREAM, upgrade_body_release, c) != 0) {
        free(body);
        s->inflight--;
        s->dead = true;
        stream_maybe_finish(s);
    }
}
