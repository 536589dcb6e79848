/*
 * A minimal blocking HTTP/2 server over the libh2 connection core, run in a
 * thread of the test process. It doubles as a reference for how to drive
 * the sans-IO core from a plain socket:
 *
 *     read() -> h2_conn_receive() -> handle the events -> queue responses
 *     within the flow-control windows -> write all queued output -> repeat
 *
 * Resources (over cleartext HTTP/2 with prior knowledge):
 *   GET /bytes/N   N bytes of interop_pattern() (flow control is exercised
 *                  for large N: DATA goes out only as the windows allow)
 *   GET /hello     "hello, world\n"
 *   GET /big-header  an empty body and an "x-filler" response field of
 *                  SRV_BIG_FIELD bytes (the header block needs CONTINUATION)
 *   POST /echo     the request body, sent back once the request has ended;
 *                  "expect: 100-continue" gets a 100 response first
 *   anything else  404 with a short body
 *
 * One connection at a time; every wait is bounded (poll with a short tick,
 * a stop flag, and an overall deadline), so stopping never hangs.
 */
#ifndef H2_TESTS_INTEROP_SERVER_LOOP_H
#define H2_TESTS_INTEROP_SERVER_LOOP_H

#include <pthread.h>
#include <stdatomic.h>

#include "h2/h2.h"
#include "interop_util.h"

#define SRV_MAX_STREAMS 128             /* above the default MAX_CONCURRENT_STREAMS */
#define SRV_MAX_ECHO (8u * 1024 * 1024) /* largest request body /echo accepts */
#define SRV_SEND_BUDGET (256u * 1024)   /* DATA queued per round before flushing */
#define SRV_TICK_MS 50                  /* poll tick: how often the stop flag is seen */
#define SRV_BIG_FIELD 40000             /* value length of /big-header's x-filler field */
#define SRV_LIFETIME_MS 120000          /* the thread ends after this, whatever happens */

/* What the server saw; read by the test after srv_stop(). */
typedef struct srv_stats {
    unsigned connections;    /* accepted */
    unsigned requests;       /* request header blocks received */
    unsigned responses;      /* responses fully queued (END_STREAM sent) */
    unsigned resets;         /* streams reset by either side */
    unsigned goaways;        /* GOAWAY frames received */
    unsigned trailers;       /* trailer blocks received */
    unsigned continues;      /* 100 (Continue) responses sent */
    size_t longest_value;    /* longest header value received */
    unsigned errors;         /* protocol errors, failed calls, I/O errors */
    uint64_t body_bytes_in;  /* request body bytes received */
    uint64_t padding_in;     /* DATA padding received (flow controlled, not body) */
    uint64_t body_bytes_out; /* response body bytes queued */
    char last_error[160];    /* description of the first error */
} srv_stats;

/* One request/response exchange. */
typedef struct srv_stream {
    bool in_use;
    bool request_done; /* END_STREAM received: the response may start */
    bool headers_sent;
    uint32_t id;
    int status;
    bool echo;       /* body collects the request body */
    bool big_header; /* the response carries the x-filler field */
    uint8_t *body;   /* response body (owned) */
    size_t len, cap; /* body bytes, allocated bytes */
    size_t off;      /* body bytes already queued */
} srv_stream;

typedef struct srv {
    int listen_fd;
    uint16_t port;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    int64_t deadline;
    srv_stream streams[SRV_MAX_STREAMS];
    srv_stats stats;
} srv;

/* Records an error: |rc| is an H2_E... code (< 0), an errno value (> 0) or 0. */
static inline void srv_error(srv *s, const char *what, int rc)
{
    s->stats.errors++;
    if (s->stats.last_error[0] == '\0')
        snprintf(s->stats.last_error, sizeof(s->stats.last_error), "%s: %s", what,
                 rc < 0   ? h2_errname(rc)
                 : rc > 0 ? strerror(rc)
                          : "failed");
}

/* ---- streams --------------------------------------------------------------------- */

static inline srv_stream *srv_find(srv *s, uint32_t id)
{
    for (size_t i = 0; i < SRV_MAX_STREAMS; i++)
        if (s->streams[i].in_use && s->streams[i].id == id)
            return &s->streams[i];
    return NULL;
}

static inline srv_stream *srv_free_slot(srv *s)
{
    for (size_t i = 0; i < SRV_MAX_STREAMS; i++)
        if (!s->streams[i].in_use)
            return &s->streams[i];
    return NULL;
}

static inline void srv_drop(srv_stream *st)
{
    free(st->body);
    memset(st, 0, sizeof(*st));
}

static inline void srv_drop_all(srv *s)
{
    for (size_t i = 0; i < SRV_MAX_STREAMS; i++)
        if (s->streams[i].in_use)
            srv_drop(&s->streams[i]);
}

static inline bool srv_field_is(const h2_header *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && memcmp(h->name, name, n) == 0;
}

static inline bool srv_value_is(const h2_header *h, const char *value)
{
    size_t n = strlen(value);
    return h->value_len == n && memcmp(h->value, value, n) == 0;
}

/*
 * Picks the response for a new request. The event's fields are views valid
 * only until the next h2_conn_receive(), so everything needed later is
 * copied into the stream here.
 */
static inline void srv_on_request(srv *s, h2_conn *conn, const h2_event *ev)
{
    const h2_header *method = NULL, *path = NULL;
    bool expect_continue = false;
    for (size_t i = 0; i < ev->u.headers.n; i++) {
        const h2_header *h = &ev->u.headers.fields[i];
        if (srv_field_is(h, ":method"))
            method = h;
        else if (srv_field_is(h, ":path"))
            path = h;
        else if (srv_field_is(h, "expect") && srv_value_is(h, "100-continue"))
            expect_continue = true;
        if (h->value_len > s->stats.longest_value)
            s->stats.longest_value = h->value_len;
    }
    srv_stream *st = srv_free_slot(s);
    if (st == NULL) { /* the table is full: refuse */
        h2_conn_reset_stream(conn, ev->stream_id, H2_REFUSED_STREAM);
        return;
    }
    s->stats.requests++;
    memset(st, 0, sizeof(*st));
    st->in_use = true;
    st->id = ev->stream_id;
    st->status = 404;

    static const char prefix[] = "/bytes/";
    size_t plen = sizeof(prefix) - 1;
    if (method != NULL && path != NULL && srv_value_is(method, "GET")) {
        if (path->value_len > plen && path->value_len < plen + 12 &&
            memcmp(path->value, prefix, plen) == 0) {
            char num[16];
            memcpy(num, path->value + plen, path->value_len - plen);
            num[path->value_len - plen] = 0;
            char *end = NULL;
            unsigned long n = strtoul(num, &end, 10);
            if (*end == 0 && n <= 64ul * 1024 * 1024) {
                st->status = 200;
                st->len = st->cap = n;
                st->body = interop_pattern_new(n);
            }
        } else if (srv_value_is(path, "/big-header")) {
            st->status = 200;
            st->big_header = true;
        } else if (srv_value_is(path, "/hello")) {
            st->status = 200;
            st->len = st->cap = 13;
            st->body = malloc(13);
            if (st->body != NULL)
                memcpy(st->body, "hello, world\n", 13);
        }
    } else if (method != NULL && path != NULL && srv_value_is(method, "POST") &&
               srv_value_is(path, "/echo")) {
        st->status = 200;
        st->echo = true;
        if (expect_continue && ev->u.headers.stream_ended < 0) {
            /* An interim response: the client may send the body now. */
            const h2_header interim = {(const uint8_t *)":status", 7, (const uint8_t *)"100", 3, 0};
            int rc = h2_conn_send_headers(conn, st->id, &interim, 1, 0, NULL);
            if (rc == 0)
                s->stats.continues++;
            else
                srv_error(s, "sending 100 (Continue)", rc);
        }
    }
    if (st->status == 404) {
        st->len = st->cap = 10;
        st->body = malloc(10);
        if (st->body != NULL)
            memcpy(st->body, "not found\n", 10);
    }
    if (st->len > 0 && st->body == NULL) {
        srv_error(s, "out of memory for a body", 0);
        h2_conn_reset_stream(conn, st->id, H2_INTERNAL_ERROR);
        srv_drop(st);
    }
}

/* Request body bytes: echoed bodies are kept; every byte is acknowledged. */
static inline void srv_on_data(srv *s, h2_conn *conn, const h2_event *ev)
{
    s->stats.body_bytes_in += ev->u.data.len;
    s->stats.padding_in += ev->u.data.flow_controlled_length - ev->u.data.len;
    srv_stream *st = srv_find(s, ev->stream_id);
    if (st != NULL && st->echo && ev->u.data.len > 0) {
        size_t need = st->len + ev->u.data.len;
        if (need > SRV_MAX_ECHO) {
            h2_conn_reset_stream(conn, st->id, H2_CANCEL);
            srv_drop(st);
            st = NULL;
        } else if (need > st->cap) {
            size_t cap = st->cap ? st->cap : 65536;
            while (cap < need)
                cap *= 2;
            uint8_t *nb = realloc(st->body, cap);
            if (nb == NULL) {
                srv_error(s, "out of memory for an echo body", 0);
                h2_conn_reset_stream(conn, st->id, H2_INTERNAL_ERROR);
                srv_drop(st);
                st = NULL;
            } else {
                st->body = nb;
                st->cap = cap;
            }
        }
        if (st != NULL) {
            memcpy(st->body + st->len, ev->u.data.data, ev->u.data.len);
            st->len += ev->u.data.len;
        }
    }
    /* The data is consumed: let the core reopen the receive windows. */
    int rc = h2_conn_ack_data(conn, ev->stream_id, ev->u.data.flow_controlled_length);
    if (rc != 0)
        srv_error(s, "h2_conn_ack_data", rc);
}

static inline void srv_handle_events(srv *s, h2_conn *conn, const h2_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        srv_stream *st;
        switch (ev[i].type) {
        case H2_EV_REQUEST_RECEIVED:
            srv_on_request(s, conn, &ev[i]);
            break;
        case H2_EV_DATA_RECEIVED:
            srv_on_data(s, conn, &ev[i]);
            break;
        case H2_EV_STREAM_ENDED:
            if ((st = srv_find(s, ev[i].stream_id)) != NULL)
                st->request_done = true;
            break;
        case H2_EV_TRAILERS_RECEIVED:
            s->stats.trailers++;
            break;
        case H2_EV_STREAM_RESET:
            s->stats.resets++;
            if ((st = srv_find(s, ev[i].stream_id)) != NULL)
                srv_drop(st);
            break;
        case H2_EV_CONNECTION_TERMINATED:
            s->stats.goaways++;
            break;
        default: /* settings, pings, window updates: the core handles them */
            break;
        }
    }
}

/* ---- responses ------------------------------------------------------------------- */

static inline int srv_send_response_headers(h2_conn *conn, srv_stream *st)
{
    char status[8], length[24];
    snprintf(status, sizeof(status), "%d", st->status);
    snprintf(length, sizeof(length), "%zu", st->len);
    const char *ctype = st->status == 200 ? "application/octet-stream" : "text/plain";
    char *filler = NULL;
    if (st->big_header) {
        if ((filler = malloc(SRV_BIG_FIELD)) == NULL)
            return H2_ENOMEM;
        for (size_t i = 0; i < SRV_BIG_FIELD; i++)
            filler[i] = (char)('a' + i % 26);
    }
    const h2_header fields[] = {
        {(const uint8_t *)":status", 7, (const uint8_t *)status, strlen(status), 0},
        {(const uint8_t *)"content-length", 14, (const uint8_t *)length, strlen(length), 0},
        {(const uint8_t *)"content-type", 12, (const uint8_t *)ctype, strlen(ctype), 0},
        {(const uint8_t *)"server", 6, (const uint8_t *)"libh2-interop", 13, 0},
        {(const uint8_t *)"x-filler", 8, (const uint8_t *)filler, SRV_BIG_FIELD, 0},
    };
    uint32_t flags = st->len == 0 ? H2_SEND_END_STREAM : 0;
    int rc = h2_conn_send_headers(conn, st->id, fields, filler != NULL ? 5 : 4, flags, NULL);
    free(filler); /* the core does not keep references to the fields */
    return rc;
}

/*
 * Queues what the windows allow for every finished request: headers first,
 * then DATA frames no larger than the peer's MAX_FRAME_SIZE and the smaller
 * of the stream and connection send windows. Stops at |SRV_SEND_BUDGET| bytes
 * so the output is flushed regularly. Returns true when a stream could send
 * more right now (windows open, budget used up).
 */
static inline bool srv_pump(srv *s, h2_conn *conn)
{
    size_t budget = SRV_SEND_BUDGET;
    bool more = false;
    for (size_t i = 0; i < SRV_MAX_STREAMS; i++) {
        srv_stream *st = &s->streams[i];
        if (!st->in_use || !st->request_done)
            continue;
        int rc = 0;
        if (!st->headers_sent) {
            if ((rc = srv_send_response_headers(conn, st)) == H2_ENOBUFS)
                return true;
            st->headers_sent = rc == 0;
        }
        while (rc == 0 && st->off < st->len) {
            int32_t window = 0;
            if ((rc = h2_conn_send_window(conn, st->id, &window)) != 0 || window <= 0)
                break;
            size_t chunk = st->len - st->off;
            if (chunk > (size_t)window)
                chunk = (size_t)window;
            if (chunk > h2_conn_max_outbound_frame_size(conn))
                chunk = h2_conn_max_outbound_frame_size(conn);
            if (chunk > budget)
                chunk = budget;
            if (chunk == 0) {
                more = true;
                break;
            }
            uint32_t flags = st->off + chunk == st->len ? H2_SEND_END_STREAM : 0;
            if ((rc = h2_conn_send_data(conn, st->id, st->body + st->off, chunk, flags, -1)) != 0)
                break;
            st->off += chunk;
            budget -= chunk;
            s->stats.body_bytes_out += chunk;
        }
        if (rc == H2_ENOBUFS)
            return true;
        if (rc != 0) {
            srv_error(s, "sending the response", rc);
            h2_conn_reset_stream(conn, st->id, H2_INTERNAL_ERROR);
            srv_drop(st);
        } else if (st->headers_sent && st->off == st->len) {
            s->stats.responses++; /* END_STREAM is queued: nothing left to do */
            srv_drop(st);
        }
    }
    return more;
}

/* Writes every queued byte with the zero-copy view. Returns 0 or -1. */
static inline int srv_flush(h2_conn *conn, int fd)
{
    for (;;) {
        const uint8_t *data;
        size_t len;
        h2_conn_output_view(conn, &data, &len);
        if (len == 0)
            return 0;
        if (interop_send_all(fd, data, len) != 0)
            return -1;
        h2_conn_output_consume(conn, len);
    }
}

/* ---- the connection loop --------------------------------------------------------- */

static inline void srv_serve(srv *s, int fd)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    h2_conn *conn = NULL;
    int rc = h2_conn_new(&conn, &cfg);
    if (rc == 0)
        rc = h2_conn_initiate(conn); /* our SETTINGS */
    if (rc != 0) {
        srv_error(s, "creating the connection", rc);
        h2_conn_free(conn);
        return;
    }
    uint8_t buf[16384];
    for (;;) {
        bool more = srv_pump(s, conn);
        if (srv_flush(conn, fd) != 0) {
            srv_error(s, "write", errno);
            break;
        }
        if (!h2_conn_want_read(conn))
            break; /* GOAWAY exchanged and every stream done, or a protocol error */
        if (atomic_load(&s->stop) || interop_now_ms() > s->deadline) {
            h2_conn_close(conn, H2_NO_ERROR, NULL, 0, -1);
            srv_flush(conn, fd);
            break;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, more ? 0 : SRV_TICK_MS);
        if (pr < 0 && errno != EINTR) {
            srv_error(s, "poll", errno);
            break;
        }
        if (pr <= 0)
            continue;
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got == 0)
            break; /* the client closed the connection */
        if (got < 0) {
            if (errno == EINTR)
                continue;
            srv_error(s, "read", errno);
            break;
        }
        const h2_event *events = NULL;
        size_t n_events = 0;
        rc = h2_conn_receive(conn, buf, (size_t)got, &events, &n_events);
        srv_handle_events(s, conn, events, n_events); /* also valid on H2_EPROTO */
        if (rc != 0) {
            srv_error(s, h2_conn_last_error(conn).message, rc);
            srv_flush(conn, fd); /* send the GOAWAY, then close */
            break;
        }
    }
    srv_drop_all(s);
    h2_conn_free(conn);
}

static inline void *srv_main(void *arg)
{
    srv *s = arg;
    while (!atomic_load(&s->stop) && interop_now_ms() < s->deadline) {
        struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, SRV_TICK_MS) <= 0)
            continue;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        s->stats.connections++;
        if (interop_set_timeouts(fd) == 0)
            srv_serve(s, fd);
        close(fd);
    }
    return NULL;
}

/* Listens on 127.0.0.1 (a port the kernel picks) and starts the thread. Returns 0 or -1. */
static inline int srv_start(srv *s)
{
    memset(s, 0, sizeof(*s));
    atomic_init(&s->stop, false);
    s->deadline = interop_now_ms() + SRV_LIFETIME_MS;
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(s->listen_fd, 16) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl) != 0 ||
        pthread_create(&s->thread, NULL, srv_main, s) != 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
        return -1;
    }
    s->port = ntohs(sa.sin_port);
    s->started = true;
    return 0;
}

/* Stops the thread (within a tick or two) and closes the listener. Safe to call twice. */
static inline void srv_stop(srv *s)
{
    if (!s->started)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    s->listen_fd = -1;
    s->started = false;
}

#endif
