/*
 * h2server: a gRPC echo service on raw bytes (worker threads; deadlines on
 * each connection's user timer).
 *
 * A POST whose content-type is application/grpc (or application/grpc+...,
 * application/grpc;...) is a gRPC call. Messages are length-prefixed: a
 * 1-byte compressed flag and a 4-byte big-endian length, then the bytes.
 * Methods:
 *   /h2server.Echo/Unary   one request message, answered with a copy;
 *   /h2server.Echo/Stream  one request message whose first 4 bytes are the
 *                          big-endian count N: N response messages, each a
 *                          copy of the request message after those 4 bytes;
 *   /h2server.Echo/Bidi    each request message is echoed as soon as it is
 *                          complete; the call ends when the client ends.
 * Every answer has content-type application/grpc and ends with grpc-status
 * and grpc-message trailers (or is trailers-only when nothing else was
 * sent). Errors: unknown method UNIMPLEMENTED (12); bad framing (compressed
 * flag above 1, a message cut short by the end of the request, a compressed
 * message without grpc-encoding) INTERNAL (13); a compressed message with
 * grpc-encoding UNIMPLEMENTED (no codec here); a message over
 * GRPC_MAX_MESSAGE RESOURCE_EXHAUSTED (8); a missing or extra request
 * message on Unary/Stream INTERNAL; a Stream request shorter than 4 bytes
 * INVALID_ARGUMENT (3); grpc-timeout passed DEADLINE_EXCEEDED (4). An
 * RST_STREAM from the client drops the call and stops its responses.
 *
 * Memory stays bounded per call:
 *   - a request message is reassembled into one buffer (at most
 *     GRPC_MAX_MESSAGE plus the prefix), which is then posted by reference
 *     as the echo: the prefix and bytes are already the framed response;
 *   - while GRPC_OUT_LIMIT bytes or more of responses are posted and not
 *     released by the service (a client that sends but does not read),
 *     further DATA events are held unreleased, which keeps them
 *     unacknowledged: the client stops once the receive window is used up;
 *   - server streaming works as large files do in respond.c: responses are
 *     packed into GRPC_CHUNK buffers, one in flight at first and two once
 *     the first was released, each refilled from its release callback.
 *
 * Deadlines: the worker can only act on an event of the connection, so a
 * call with grpc-timeout sets the connection's user timer
 * (h2_svc_set_timer()) for its deadline; on its H2_SVC_EV_TIMER, as on any
 * event, srv_grpc_tick() ends the calls whose deadline passed. A
 * connection keeps one timer, for its earliest deadline, set again at each
 * tick.
 */
#include "server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

#define GRPC_MAX_MESSAGE (4u * 1024u * 1024u)
#define GRPC_OUT_LIMIT (1024u * 1024u)
#define GRPC_CHUNK (64u * 1024u)
#define GRPC_PREFIX 5u

enum {
    GS_OK = 0,
    GS_CANCELLED = 1,
    GS_INVALID_ARGUMENT = 3,
    GS_DEADLINE_EXCEEDED = 4,
    GS_RESOURCE_EXHAUSTED = 8,
    GS_UNIMPLEMENTED = 12,
    GS_INTERNAL = 13
};

enum { GM_UNARY = 1, GM_STREAM, GM_BIDI };

struct srv_grpc_call {
    srv_conn *c; /* holds a reference on it */
    srv_grpc_call *prev, *next;
    uint32_t id;
    int method;
    bool encoding;        /* grpc-encoding names a codec (not "identity") */
    bool dead;            /* reset, a command failed, or the connection closed */
    bool done;            /* the trailers went out: nothing more will be sent */
    bool head_sent;       /* response headers posted */
    unsigned inflight;    /* payloads posted and not released yet */
    size_t out_bytes;     /* their bytes */
    uint64_t deadline_ms; /* 0: none */
    /* The message being received: prefix, then its bytes in |msg| (which
     * starts with the prefix too). */
    uint8_t hdr[GRPC_PREFIX];
    size_t hdr_got;
    uint8_t *msg;
    size_t msg_len, msg_got, msg_cap;
    /* Unary and Stream: the request message (framed), once complete. */
    uint8_t *req;
    size_t req_len;
    /* Stream: messages left to send, and the two chunk buffers. */
    uint64_t left;
    size_t each;    /* bytes of one framed response message */
    size_t per_buf; /* messages per chunk buffer */
    uint8_t *buf[2];
    /* DATA events held back (unacknowledged) while responses pile up. */
    h2_svc_event **held;
    size_t n_held, cap_held;
    /* -v */
    uint64_t t0;
    uint64_t bytes;
    int status;
    char path[64];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Worker: makes sure the connection gets an event by |at_ms|: its user
 * timer, on the service's clock (CLOCK_MONOTONIC, as now_ms()). One timer
 * per connection, set for the earliest deadline; a later call replaces it.
 */
static void arm(srv_conn *c, uint64_t at_ms)
{
    if (c->grpc_armed_ms != 0 && c->grpc_armed_ms <= at_ms)
        return;
    uint64_t now = now_ms();
    int64_t delay = at_ms > now ? (int64_t)(at_ms - now) : 0;
    /* On failure the deadline is missed; the client's own deadline still ends the call. */
    if (h2_svc_set_timer(c->srv->svc, c->id, delay, SRV_WAKE_GRPC) == 0)
        c->grpc_armed_ms = at_ms;
}

/* ------------------------------------------------------------------------ */
/* Calls                                                                     */
/* ------------------------------------------------------------------------ */

static srv_grpc_call *call_find(srv_conn *c, uint32_t id)
{
    for (srv_grpc_call *g = c->grpc_calls; g != NULL; g = g->next)
        if (g->id == id)
            return g;
    return NULL;
}

static void log_call(const srv_server *srv, const char *path, int status, uint64_t bytes,
                     uint64_t t0, const char *note)
{
    if (!srv->verbose)
        return;
    double ms = (double)(ex_now_ns() - t0) / 1e6;
    fprintf(stderr, "POST %s 200 %llu %.3fms%s", path, (unsigned long long)bytes, ms, note);
    if (status >= 0)
        fprintf(stderr, " grpc-status %d", status);
    fputc('\n', stderr);
}

static void release_held(srv_grpc_call *g)
{
    for (size_t i = 0; i < g->n_held; i++)
        h2_svc_event_release(g->held[i]);
    g->n_held = 0;
}

/* Frees |g| once nothing of it is in flight and nothing more will be sent. */
static void call_maybe_free(srv_grpc_call *g)
{
    srv_conn *c = g->c;
    if (g->inflight > 0 || !(g->dead || g->done || c->closed))
        return;
    log_call(c->srv, g->path, g->done ? g->status : -1, g->bytes, g->t0,
             g->done ? "" : " (not completed)");
    if (g->prev != NULL)
        g->prev->next = g->next;
    else
        c->grpc_calls = g->next;
    if (g->next != NULL)
        g->next->prev = g->prev;
    release_held(g);
    free(g->held);
    free(g->msg);
    free(g->req);
    free(g->buf[0]);
    free(g->buf[1]);
    free(g);
    srv_conn_unref(c);
}

static void head_once(srv_grpc_call *g)
{
    if (g->head_sent)
        return;
    g->head_sent = true;
    srv_head h = {.status = 200, .type_static = "application/grpc", .length = -1};
    if (srv_post_head(g->c, g->id, &h, 0) != 0)
        g->dead = true;
}

/* Posts the trailers (or a trailers-only answer): the call is done. */
static void finish(srv_grpc_call *g, int status, const char *message)
{
    if (g->done || g->dead)
        return;
    g->done = true;
    g->status = status;
    srv_head h = {.length = -1, .grpc = true, .grpc_status = status, .grpc_message = message};
    if (!g->head_sent) {
        h.status = 200;
        h.type_static = "application/grpc";
    }
    if (srv_post_head(g->c, g->id, &h, H2_SEND_END_STREAM) != 0)
        g->dead = true;
    release_held(g);
    free(g->msg);
    g->msg = NULL;
    free(g->req);
    g->req = NULL;
}

/* The service is done with a posted message (|user| is the call). */
static void msg_release(void *user, const uint8_t *data, size_t len)
{
    srv_grpc_call *g = user;
    free((void *)(uintptr_t)data);
    g->inflight--;
    g->out_bytes -= len;
    if (g->out_bytes < GRPC_OUT_LIMIT)
        release_held(g);
    call_maybe_free(g);
}

/* Posts the framed message |m| (|len| bytes, malloc'ed; taken over) by reference. */
static void send_message(srv_grpc_call *g, uint8_t *m, size_t len)
{
    head_once(g);
    if (g->dead) {
        free(m);
        return;
    }
    g->inflight++;
    g->out_bytes += len;
    g->bytes += len;
    if (srv_post_data(g->c, g->id, m, len, 0, msg_release, g) != 0) {
        g->inflight--;
        g->out_bytes -= len;
        g->dead = true;
        free(m);
    }
}

/* ------------------------------------------------------------------------ */
/* Server streaming                                                          */
/* ------------------------------------------------------------------------ */

static void chunk_release(void *user, const uint8_t *data, size_t len);

/* Packs the next messages into |buf| and posts it; the trailers follow the last. */
static void chunk_next(srv_grpc_call *g, uint8_t *buf)
{
    size_t k = g->left < g->per_buf ? (size_t)g->left : g->per_buf;
    const uint8_t *payload = g->req + GRPC_PREFIX + 4;
    size_t plen = g->each - GRPC_PREFIX;
    for (size_t i = 0; i < k; i++) {
        uint8_t *m = buf + i * g->each;
        m[0] = 0;
        m[1] = (uint8_t)(plen >> 24);
        m[2] = (uint8_t)(plen >> 16);
        m[3] = (uint8_t)(plen >> 8);
        m[4] = (uint8_t)plen;
        memcpy(m + GRPC_PREFIX, payload, plen);
    }
    g->left -= k;
    size_t len = k * g->each;
    g->inflight++;
    g->out_bytes += len;
    g->bytes += len;
    if (srv_post_data(g->c, g->id, buf, len, 0, chunk_release, g) != 0) {
        g->inflight--;
        g->out_bytes -= len;
        g->dead = true;
        return;
    }
    if (g->left == 0)
        finish(g, GS_OK, NULL);
}

static void chunk_release(void *user, const uint8_t *data, size_t len)
{
    srv_grpc_call *g = user;
    g->inflight--;
    g->out_bytes -= len;
    if (!g->dead && !g->done && !g->c->closed && g->left > 0) {
        chunk_next(g, data == g->buf[0] ? g->buf[0] : g->buf[1]);
        /* The client reads: keep a second buffer in flight from now on. */
        if (g->buf[1] == NULL && !g->dead && !g->done && g->left > 0 &&
            (g->buf[1] = malloc(g->each * g->per_buf)) != NULL)
            chunk_next(g, g->buf[1]);
    }
    call_maybe_free(g);
}

static void start_stream(srv_grpc_call *g)
{
    size_t body = g->req_len - GRPC_PREFIX;
    if (body < 4) {
        finish(g, GS_INVALID_ARGUMENT, "the request must start with a 4-byte count");
        return;
    }
    const uint8_t *p = g->req + GRPC_PREFIX;
    g->left = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    if (g->left == 0) {
        finish(g, GS_OK, NULL);
        return;
    }
    g->each = GRPC_PREFIX + body - 4;
    g->per_buf = GRPC_CHUNK / g->each > 0 ? GRPC_CHUNK / g->each : 1;
    if (g->per_buf > g->left)
        g->per_buf = (size_t)g->left;
    head_once(g);
    if (g->dead)
        return;
    if ((g->buf[0] = malloc(g->each * g->per_buf)) == NULL) {
        finish(g, GS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    chunk_next(g, g->buf[0]);
}

/* ------------------------------------------------------------------------ */
/* Receiving                                                                 */
/* ------------------------------------------------------------------------ */

/* A whole request message |m| (framed, |len| bytes, taken over) arrived. */
static void on_message(srv_grpc_call *g, uint8_t *m, size_t len)
{
    if (g->method == GM_BIDI) {
        send_message(g, m, len);
        return;
    }
    if (g->req != NULL) {
        free(m);
        finish(g, GS_INTERNAL, "more than one request message");
        return;
    }
    g->req = m;
    g->req_len = len;
}

/* The 5-byte prefix is complete: checks it and sets up the message buffer. */
static bool message_begin(srv_grpc_call *g)
{
    uint8_t flag = g->hdr[0];
    size_t len =
        (size_t)g->hdr[1] << 24 | (size_t)g->hdr[2] << 16 | (size_t)g->hdr[3] << 8 | g->hdr[4];
    if (flag > 1) {
        finish(g, GS_INTERNAL, "bad compressed flag");
        return false;
    }
    if (flag == 1) {
        if (g->encoding)
            finish(g, GS_UNIMPLEMENTED, "compressed messages are not supported");
        else
            finish(g, GS_INTERNAL, "compressed flag set without grpc-encoding");
        return false;
    }
    if (len > GRPC_MAX_MESSAGE) {
        finish(g, GS_RESOURCE_EXHAUSTED, "message larger than the limit");
        return false;
    }
    /* Grows as bytes arrive: a large announced length alone costs nothing. */
    g->msg_cap = GRPC_PREFIX + (len < GRPC_CHUNK ? len : GRPC_CHUNK);
    g->msg = malloc(g->msg_cap);
    if (g->msg == NULL) {
        finish(g, GS_RESOURCE_EXHAUSTED, "out of memory");
        return false;
    }
    memcpy(g->msg, g->hdr, GRPC_PREFIX);
    g->msg_len = len;
    g->msg_got = 0;
    return true;
}

static void message_end(srv_grpc_call *g)
{
    uint8_t *m = g->msg;
    size_t len = GRPC_PREFIX + g->msg_len;
    g->msg = NULL;
    g->hdr_got = 0;
    on_message(g, m, len);
}

/* Appends |len| bytes to the message being received. */
static bool message_add(srv_grpc_call *g, const uint8_t *p, size_t len)
{
    size_t need = GRPC_PREFIX + g->msg_got + len;
    if (need > g->msg_cap) {
        size_t cap = g->msg_cap * 2 > need ? g->msg_cap * 2 : need;
        if (cap > GRPC_PREFIX + g->msg_len)
            cap = GRPC_PREFIX + g->msg_len;
        uint8_t *m = realloc(g->msg, cap);
        if (m == NULL) {
            finish(g, GS_RESOURCE_EXHAUSTED, "out of memory");
            return false;
        }
        g->msg = m;
        g->msg_cap = cap;
    }
    memcpy(g->msg + GRPC_PREFIX + g->msg_got, p, len);
    g->msg_got += len;
    return true;
}

/* Splits request bytes into messages. */
static void feed(srv_grpc_call *g, const uint8_t *p, size_t len)
{
    while (len > 0 && !g->done && !g->dead) {
        if (g->hdr_got < GRPC_PREFIX) {
            size_t take = GRPC_PREFIX - g->hdr_got < len ? GRPC_PREFIX - g->hdr_got : len;
            memcpy(g->hdr + g->hdr_got, p, take);
            g->hdr_got += take;
            p += take;
            len -= take;
            if (g->hdr_got < GRPC_PREFIX)
                return;
            if (!message_begin(g))
                return;
        } else {
            size_t want = g->msg_len - g->msg_got;
            size_t take = want < len ? want : len;
            if (!message_add(g, p, take))
                return;
            p += take;
            len -= take;
        }
        if (g->msg != NULL && g->msg_got == g->msg_len)
            message_end(g);
    }
}

/* The client ended its side of the call. */
static void request_end(srv_grpc_call *g)
{
    if (g->done || g->dead)
        return;
    if (g->hdr_got > 0) {
        finish(g, GS_INTERNAL, "the request ended inside a message");
        return;
    }
    if (g->method == GM_BIDI) {
        finish(g, GS_OK, NULL);
        return;
    }
    if (g->req == NULL) {
        finish(g, GS_INTERNAL, "no request message");
        return;
    }
    if (g->method == GM_UNARY) {
        uint8_t *m = g->req;
        size_t len = g->req_len;
        g->req = NULL;
        send_message(g, m, len);
        finish(g, GS_OK, NULL);
        return;
    }
    start_stream(g);
}

/* ------------------------------------------------------------------------ */
/* Entry points (server.h)                                                   */
/* ------------------------------------------------------------------------ */

static const h2_header *field(const h2_header *f, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; f != NULL && i < n; i++)
        if (f[i].name_len == len && memcmp(f[i].name, name, len) == 0)
            return &f[i];
    return NULL;
}

bool srv_grpc_wanted(const char *method, size_t method_len, const h2_header *fields, size_t n)
{
    if (method_len != 4 || memcmp(method, "POST", 4) != 0)
        return false;
    const h2_header *t = field(fields, n, "content-type");
    static const char type[] = "application/grpc";
    size_t tl = sizeof(type) - 1;
    if (t == NULL || t->value_len < tl || memcmp(t->value, type, tl) != 0)
        return false;
    return t->value_len == tl || t->value[tl] == '+' || t->value[tl] == ';';
}

/* grpc-timeout ("1-8 digits" and a unit H M S m u n) in ms, rounded up; false when malformed. */
static bool parse_timeout(const h2_header *f, uint64_t *ms)
{
    if (f == NULL || f->value_len < 2 || f->value_len > 9)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i + 1 < f->value_len; i++) {
        if (f->value[i] < '0' || f->value[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(f->value[i] - '0');
    }
    switch (f->value[f->value_len - 1]) {
    case 'H':
        *ms = v * 3600000u;
        return true;
    case 'M':
        *ms = v * 60000u;
        return true;
    case 'S':
        *ms = v * 1000u;
        return true;
    case 'm':
        *ms = v;
        return true;
    case 'u':
        *ms = (v + 999u) / 1000u;
        return true;
    case 'n':
        *ms = (v + 999999u) / 1000000u;
        return true;
    default:
        return false;
    }
}

static int method_of(const char *path, size_t len)
{
    static const char *const names[] = {"/h2server.Echo/Unary", "/h2server.Echo/Stream",
                                        "/h2server.Echo/Bidi"};
    for (int i = 0; i < 3; i++)
        if (len == strlen(names[i]) && memcmp(path, names[i], len) == 0)
            return GM_UNARY + i;
    return 0;
}

void srv_grpc_start(srv_conn *c, uint32_t stream_id, const char *path, size_t path_len,
                    const h2_header *fields, size_t n, bool end_stream)
{
    srv_grpc_call *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        srv_post_reset(c, stream_id, H2_INTERNAL_ERROR);
        return;
    }
    g->c = c;
    g->id = stream_id;
    g->t0 = c->srv->verbose ? ex_now_ns() : 0;
    size_t pl = path_len < sizeof(g->path) - 1 ? path_len : sizeof(g->path) - 1;
    for (size_t i = 0; i < pl; i++)
        g->path[i] = path[i] < 0x21 || path[i] > 0x7e ? '?' : path[i];
    g->next = c->grpc_calls;
    if (c->grpc_calls != NULL)
        c->grpc_calls->prev = g;
    c->grpc_calls = g;
    srv_conn_ref(c);

    g->method = method_of(path, path_len);
    const h2_header *enc = field(fields, n, "grpc-encoding");
    g->encoding = enc != NULL && !(enc->value_len == 8 && memcmp(enc->value, "identity", 8) == 0);
    uint64_t timeout;
    if (g->method == 0) {
        finish(g, GS_UNIMPLEMENTED, "unknown method");
    } else if (parse_timeout(field(fields, n, "grpc-timeout"), &timeout)) {
        g->deadline_ms = now_ms() + timeout;
        if (timeout == 0)
            finish(g, GS_DEADLINE_EXCEEDED, "deadline exceeded");
        else
            arm(c, g->deadline_ms);
    }
    if (end_stream)
        request_end(g);
    call_maybe_free(g);
}

bool srv_grpc_data(srv_conn *c, h2_svc_event *ev)
{
    srv_grpc_call *g = call_find(c, ev->stream_id);
    if (g == NULL)
        return false;
    if (g->done || g->dead) {
        h2_svc_event_release(ev);
        return true;
    }
    feed(g, ev->data, ev->len);
    if (ev->end_stream)
        request_end(g);
    if (g->done || g->dead || g->out_bytes < GRPC_OUT_LIMIT) {
        h2_svc_event_release(ev);
    } else {
        /* Responses pile up: keep the bytes unacknowledged until they drain. */
        if (g->n_held == g->cap_held) {
            size_t cap = g->cap_held > 0 ? g->cap_held * 2 : 8;
            h2_svc_event **v = realloc(g->held, cap * sizeof(*v));
            if (v == NULL) {
                h2_svc_event_release(ev);
                call_maybe_free(g);
                return true;
            }
            g->held = v;
            g->cap_held = cap;
        }
        g->held[g->n_held++] = ev;
    }
    call_maybe_free(g);
    return true;
}

bool srv_grpc_end(srv_conn *c, uint32_t stream_id)
{
    srv_grpc_call *g = call_find(c, stream_id);
    if (g == NULL)
        return false;
    request_end(g);
    call_maybe_free(g);
    return true;
}

void srv_grpc_dead(srv_conn *c, uint32_t stream_id)
{
    srv_grpc_call *g = call_find(c, stream_id);
    if (g == NULL)
        return;
    g->dead = true;
    release_held(g);
    call_maybe_free(g);
}

void srv_grpc_closed(srv_conn *c)
{
    srv_grpc_call *g = c->grpc_calls;
    while (g != NULL) {
        srv_grpc_call *next = g->next;
        g->dead = true;
        release_held(g);
        call_maybe_free(g);
        g = next;
    }
}

void srv_grpc_tick(srv_conn *c)
{
    if (c->grpc_armed_ms == 0)
        return;
    uint64_t now = now_ms();
    if (now < c->grpc_armed_ms)
        return;
    c->grpc_armed_ms = 0;
    uint64_t next = 0;
    srv_grpc_call *g = c->grpc_calls;
    while (g != NULL) {
        srv_grpc_call *after = g->next;
        if (g->deadline_ms != 0 && !g->done && !g->dead) {
            if (g->deadline_ms <= now) {
                finish(g, GS_DEADLINE_EXCEEDED, "deadline exceeded");
                call_maybe_free(g);
            } else if (next == 0 || g->deadline_ms < next) {
                next = g->deadline_ms;
            }
        }
        g = after;
    }
    if (next != 0)
        arm(c, next);
}
