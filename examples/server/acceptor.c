/*
 * h2server: the accepting thread.
 *
 * One epoll loop on the main thread watches the listening sockets, the
 * signalfd (SIGINT, SIGTERM) and the cleartext
 * connections whose protocol is not known yet. It never blocks on a
 * connection: everything it reads or writes is non-blocking.
 *
 * TLS port: each accepted socket goes to the service at once with a TLS
 * transport (common/tls.c); the handshake runs on the worker, inside the
 * transport's read and writev calls.
 *
 * Cleartext port: HTTP/2 connections go to the service with the plain
 * transport of linger.c, whose close lingers. The first bytes decide (they are peeked, not read, so
 * the service later reads them itself), by the rule in first_bytes.h:
 *   - the HTTP/2 connection preface: the socket goes to the service as is;
 *   - a bad preface (not the preface, and no HTTP/1.x request line, within
 *     the first line or SRV_FIRST_LINE_MAX bytes): a connection error of
 *     type PROTOCOL_ERROR (RFC 9113 section 3.4). The reply is an empty
 *     SETTINGS frame (the server's preface, which comes first) and a GOAWAY
 *     frame (last stream 0, PROTOCOL_ERROR, debug data "invalid connection
 *     preface"); then the connection is closed. The TLS port needs nothing
 *     here: ALPN h2 leaves no HTTP/1 to fall back to, and the connection
 *     core answers a bad preface alike (its SETTINGS, then GOAWAY);
 *   - an HTTP/1.1 request head with "Upgrade: h2c" and one HTTP2-Settings
 *     field: the head is read, and the body if it has one (Content-Length
 *     up to UPGRADE_BODY_MAX; RFC 9113 has it sent whole before any HTTP/2
 *     frame), "101 Switching Protocols" is written, and the socket goes to
 *     the service as an upgraded connection whose stream 1 is that request
 *     (a chunked or larger body gets 413);
 *   - any other HTTP/1.x request: answered here over HTTP/1.1 (GET and HEAD
 *     of a file; 505 for the rest; 400 for a head whose request line passes
 *     but whose fields do not; 431 for a head past SNIFF_MAX), then the
 *     connection is closed;
 *   - nothing useful within SNIFF_TIMEOUT_MS: the connection is dropped.
 *
 * SIGINT or SIGTERM: the listeners take every connection already in their
 * accept queues, then stop listening (shutdown() unhashes a listening
 * socket, so a --reuseport group loses it at once, and a single process
 * refuses new connections); the cleartext connections still being sniffed
 * get up to DRAIN_MS to show their preface or finish their answer, then the
 * loop returns and the caller sends GOAWAY on every HTTP/2 connection.
 */
#include "server/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/tls.h"
#include "common/util.h"
#include "server/first_bytes.h"
#include "server/linger.h"

#define SNIFF_MAX 8192              /* longest HTTP/1.1 request head we read */
#define SNIFF_TIMEOUT_MS 10000u     /* time to show the preface or a request head */
#define WRITE_TIMEOUT_MS 10000u     /* time to take an HTTP/1.1 answer */
#define LINGER_MS 2000u             /* after an answer: draining the peer's leftovers */
#define MAX_PENDING 1024u           /* cleartext connections in the acceptor at once */
#define ACCEPT_PAUSE_MS 100u        /* no accepting for this long after running out of fds */
#define UPGRADE_BODY_MAX (1u << 20) /* largest request body an h2c upgrade reads */
#define DRAIN_MS 1000u              /* after the signal: time for the sniffed connections */

/* The classifier decides within the bytes one peek returns. */
_Static_assert(SRV_FIRST_LINE_MAX <= SNIFF_MAX, "the first line must fit the sniffing buffer");

enum { TAG_HTTP = 1, TAG_HTTPS, TAG_SIGNAL, TAG_PENDING };

/* First member of everything registered with epoll. */
typedef struct tag {
    int kind;
} tag;

enum { P_SNIFF, P_BODY, P_WRITE, P_LINGER };

/* A cleartext connection the acceptor still holds. */
typedef struct pending {
    tag t;
    int fd;
    int state;
    uint64_t deadline_ms;
    struct pending *prev, *next;
    /* P_SNIFF: the first-bytes verdict so far, and how many bytes it has seen */
    srv_first_bytes first;
    size_t first_fed;
    /* P_WRITE: the answer (HTTP/1.1, or the frames that end a bad preface) */
    char head[512];
    size_t head_len, head_off;
    const char *body; /* static text */
    size_t body_len, body_off;
    int file_fd; /* or -1 */
    off_t file_off;
    uint64_t file_left;
    /* P_BODY: an h2c upgrade's request head (copied) and body */
    char *req_head;
    size_t req_head_len;
    uint8_t *req_body;
    size_t req_body_len, req_body_got;
    /* -v: the request line and status of the answer */
    uint64_t t0;
    int status;
    uint64_t bytes;
    char method[16];
    char path[200];
} pending;

typedef struct acceptor {
    srv_server *srv;
    int ep;
    uint64_t paused_until_ms; /* listeners out of the epoll set until then, or 0 */
    uint64_t drain_until_ms;  /* after the signal: when the loop ends at the latest, or 0 */
    bool pause_warned;        /* said so once; cleared by the next accepted connection */
    pending *list;
    size_t n_pending;
    char buf[SNIFF_MAX];
} acceptor;

static uint64_t now_ms(void)
{
    return ex_now_ns() / 1000000u;
}

/* -v: one line per HTTP/1.1 answer, as for HTTP/2 requests. */
static void log_answer(const acceptor *a, const pending *p, const char *note)
{
    if (!a->srv->verbose || p->status == 0)
        return;
    double ms = (double)(ex_now_ns() - p->t0) / 1e6;
    fprintf(stderr, "%s %s %d %llu %.3fms HTTP/1.1%s\n", p->method[0] != '\0' ? p->method : "-",
            p->path[0] != '\0' ? p->path : "-", p->status, (unsigned long long)p->bytes, ms, note);
}

static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    if (len > cap - 1)
        len = cap - 1;
    for (size_t i = 0; i < len; i++)
        dst[i] = (unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f ? '?' : src[i];
    dst[len] = '\0';
}

static void pending_free(acceptor *a, pending *p)
{
    if (p->state == P_WRITE)
        log_answer(a, p, " (not completed)");
    epoll_ctl(a->ep, EPOLL_CTL_DEL, p->fd, NULL);
    if (p->fd >= 0)
        close(p->fd);
    if (p->file_fd >= 0)
        close(p->file_fd);
    free(p->req_head);
    free(p->req_body);
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        a->list = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    a->n_pending--;
    free(p);
}

/* Takes |p|'s socket out of the acceptor (it goes to the service). */
static int pending_release_fd(acceptor *a, pending *p)
{
    int fd = p->fd;
    epoll_ctl(a->ep, EPOLL_CTL_DEL, fd, NULL);
    p->fd = -1;
    pending_free(a, p);
    return fd;
}

static bool watch(acceptor *a, int fd, uint32_t events, tag *t, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = t};
    return epoll_ctl(a->ep, op, fd, &ev) == 0;
}

/* ------------------------------------------------------------------------ */
/* HTTP/1.1 answers                                                          */
/* ------------------------------------------------------------------------ */

/* Lingering close: read and drop whatever the peer still sends. */
static void linger(acceptor *a, pending *p)
{
    for (;;) {
        ssize_t r = recv(p->fd, a->buf, sizeof(a->buf), 0);
        if (r > 0)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        pending_free(a, p);
        return;
    }
}

/* Writes what the socket takes; at the end, half-closes and lingers. */
static void write_answer(acceptor *a, pending *p)
{
    while (p->head_off < p->head_len || p->body_off < p->body_len || p->file_left > 0) {
        ssize_t w;
        if (p->head_off < p->head_len)
            w = send(p->fd, p->head + p->head_off, p->head_len - p->head_off, MSG_NOSIGNAL);
        else if (p->body_off < p->body_len)
            w = send(p->fd, p->body + p->body_off, p->body_len - p->body_off, MSG_NOSIGNAL);
        else
            w = sendfile(p->fd, p->file_fd, &p->file_off,
                         p->file_left < (1u << 20) ? (size_t)p->file_left : (1u << 20));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return; /* EPOLLOUT brings us back */
        if (w <= 0) {
            /* Failure, or the file shrank under us: the answer cannot be completed. */
            pending_free(a, p);
            return;
        }
        if (p->head_off < p->head_len)
            p->head_off += (size_t)w;
        else if (p->body_off < p->body_len)
            p->body_off += (size_t)w;
        else
            p->file_left -= (uint64_t)w;
    }
    log_answer(a, p, "");
    shutdown(p->fd, SHUT_WR);
    p->state = P_LINGER;
    p->deadline_ms = now_ms() + LINGER_MS;
    if (!watch(a, p->fd, EPOLLIN | EPOLLRDHUP | EPOLLET, &p->t, EPOLL_CTL_MOD)) {
        pending_free(a, p);
        return;
    }
    linger(a, p);
}

/* Starts writing what |p| holds (P_WRITE), now and on EPOLLOUT. */
static void begin_write(acceptor *a, pending *p)
{
    p->state = P_WRITE;
    p->deadline_ms = now_ms() + WRITE_TIMEOUT_MS;
    if (!watch(a, p->fd, EPOLLOUT | EPOLLET, &p->t, EPOLL_CTL_MOD)) {
        pending_free(a, p);
        return;
    }
    write_answer(a, p);
}

/* Starts an HTTP/1.1 answer with a static body. */
static void answer_text(acceptor *a, pending *p, int status, const char *type, const char *text,
                        bool head_only)
{
    size_t len = strlen(text);
    p->head_len = h1_response_head(p->head, sizeof(p->head), status, type, len);
    if (!head_only) {
        p->body = text;
        p->body_len = len;
    }
    p->status = status;
    p->bytes = head_only ? 0 : len;
    begin_write(a, p);
}

static bool is_method(const h1_request *r, const char *m)
{
    return r->method_len == strlen(m) && memcmp(r->method, m, r->method_len) == 0;
}

/* A plain HTTP/1.x request: files by GET and HEAD, 505 for anything else. */
static void answer_http1(acceptor *a, pending *p, const h1_request *r)
{
    static const char not_found[] = "not found\n";
    static const char use_h2[] = "This server speaks HTTP/2: use prior knowledge, an h2c "
                                 "upgrade, or TLS with ALPN h2.\n";
    bool head = is_method(r, "HEAD");
    if (!head && !is_method(r, "GET")) {
        answer_text(a, p, 505, "text/plain; charset=utf-8", use_h2, false);
        return;
    }
    const srv_server *srv = a->srv;
    if (srv->root_fd < 0) {
        bool root = r->target_len >= 1 && r->target[0] == '/' &&
                    (r->target_len == 1 || r->target[1] == '?');
        if (root)
            answer_text(a, p, 200, "text/html; charset=utf-8", srv_builtin_page, head);
        else
            answer_text(a, p, 404, "text/plain; charset=utf-8", not_found, head);
        return;
    }
    int fd = -1;
    uint64_t size = 0;
    const char *type = NULL;
    int status = srv_file_open(srv, r->target, r->target_len, &fd, &size, &type);
    if (status != 200) {
        answer_text(a, p, status, "text/plain; charset=utf-8",
                    status == 404 ? not_found : "bad request\n", head);
        return;
    }
    p->head_len = h1_response_head(p->head, sizeof(p->head), 200, type, size);
    if (head) {
        close(fd);
    } else {
        p->file_fd = fd;
        p->file_left = size;
        p->bytes = size;
    }
    p->status = 200;
    begin_write(a, p);
}

/* ------------------------------------------------------------------------ */
/* Sniffing the cleartext port                                               */
/* ------------------------------------------------------------------------ */

/* |r| may point into p->req_head, which this takes over with p->req_body. */
static void upgrade(acceptor *a, pending *p, const h1_request *r)
{
    static const char switching[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                    "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    size_t len = sizeof(switching) - 1;
    /* Refuse a settings value the connection would reject after the 101. */
    h2_setting entries[64];
    size_t n = 0;
    if (h2_settings_header_decode(r->settings, r->settings_len, entries, 64, &n) != 0) {
        answer_text(a, p, 400, "text/plain; charset=utf-8", "bad HTTP2-Settings\n", false);
        return;
    }
    /* A fresh socket's send buffer takes these few bytes whole. */
    ssize_t w = send(p->fd, switching, len, MSG_NOSIGNAL);
    if (w != (ssize_t)len) {
        pending_free(a, p);
        return;
    }
    srv_upgrade up = {
        .settings = r->settings,
        .settings_len = r->settings_len,
        .method = r->method,
        .method_len = r->method_len,
        .path = r->target,
        .path_len = r->target_len,
        .body = p->req_body,
        .body_len = p->req_body_len,
    };
    char *head = p->req_head; /* |up| points into it */
    p->req_head = NULL;
    p->req_body = NULL; /* srv_conn_attach() takes it */
    int fd = pending_release_fd(a, p);
    h2_svc_transport plain;
    srv_linger_transport(&plain);
    if (srv_conn_attach(a->srv, fd, &plain, &up) != 0)
        close(fd);
    free(head);
}

/* P_BODY: reads exactly the body (the HTTP/2 preface that follows stays in
 * the socket for the service), then upgrades. */
static void read_body(acceptor *a, pending *p)
{
    while (p->req_body_got < p->req_body_len) {
        ssize_t r =
            recv(p->fd, p->req_body + p->req_body_got, p->req_body_len - p->req_body_got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0) {
            pending_free(a, p);
            return;
        }
        p->req_body_got += (size_t)r;
    }
    h1_request req;
    if (h1_parse(p->req_head, p->req_head_len, &req) != 0) {
        pending_free(a, p);
        return;
    }
    upgrade(a, p, &req);
}

static void start_body(acceptor *a, pending *p, size_t head, size_t body)
{
    p->req_head = malloc(head);
    p->req_body = malloc(body);
    if (p->req_head == NULL || p->req_body == NULL) {
        answer_text(a, p, 503, "text/plain; charset=utf-8", "out of memory\n", false);
        return;
    }
    memcpy(p->req_head, a->buf, head);
    p->req_head_len = head;
    p->req_body_len = body;
    p->state = P_BODY;
    p->deadline_ms = now_ms() + SNIFF_TIMEOUT_MS;
    read_body(a, p);
}

/* Appends a frame header (RFC 9113 section 4.1) for a frame on stream 0. */
static size_t frame_header(char *out, size_t payload_len, uint8_t type)
{
    memset(out, 0, 9); /* flags 0, stream 0 */
    out[0] = (char)(uint8_t)(payload_len >> 16);
    out[1] = (char)(uint8_t)(payload_len >> 8);
    out[2] = (char)(uint8_t)payload_len;
    out[3] = (char)type;
    return 9;
}

/*
 * A bad preface on the cleartext port: an empty SETTINGS frame, GOAWAY
 * (last stream 0, PROTOCOL_ERROR, a short reason as debug data), then the
 * usual half-close and lingering close of an answer.
 */
static void answer_bad_preface(acceptor *a, pending *p)
{
    static const char reason[] = "invalid connection preface";
    static const uint8_t goaway_ids[8] = {0, 0, 0, 0, 0, 0, 0, (uint8_t)H2_PROTOCOL_ERROR};
    size_t n = frame_header(p->head, 0, 0x4);                                     /* SETTINGS */
    n += frame_header(p->head + n, sizeof(goaway_ids) + sizeof(reason) - 1, 0x7); /* GOAWAY */
    memcpy(p->head + n, goaway_ids, sizeof(goaway_ids));
    n += sizeof(goaway_ids);
    memcpy(p->head + n, reason, sizeof(reason) - 1);
    p->head_len = n + sizeof(reason) - 1;
    if (a->srv->verbose)
        fprintf(stderr, "h2server: invalid connection preface on the cleartext port: GOAWAY\n");
    begin_write(a, p);
}

static void sniff(acceptor *a, pending *p)
{
    ssize_t r = recv(p->fd, a->buf, sizeof(a->buf), MSG_PEEK);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        pending_free(a, p);
        return;
    }
    size_t n = (size_t)r;
    /* Each peek starts over at the first byte: feed only the new ones. */
    if (n > p->first_fed) {
        srv_first_feed(&p->first, a->buf + p->first_fed, n - p->first_fed);
        p->first_fed = n;
    }
    switch (p->first.verdict) {
    case SRV_FIRST_MORE:
        return; /* wait for more bytes */
    case SRV_FIRST_H2: {
        /* HTTP/2 with prior knowledge: the service reads the preface itself. */
        int fd = pending_release_fd(a, p);
        h2_svc_transport plain;
        srv_linger_transport(&plain);
        if (srv_conn_attach(a->srv, fd, &plain, NULL) != 0)
            close(fd);
        return;
    }
    case SRV_FIRST_BAD:
        answer_bad_preface(a, p);
        return;
    default:
        break; /* an HTTP/1.x request line */
    }
    size_t head = h1_head_length(a->buf, n);
    if (head == 0) {
        if (n == sizeof(a->buf))
            answer_text(a, p, 431, "text/plain; charset=utf-8", "request head too large\n", false);
        return; /* wait for the rest of the head */
    }
    /* Take the head out of the socket; a body or the HTTP/2 preface stays. */
    if (recv(p->fd, a->buf, head, 0) != (ssize_t)head) {
        pending_free(a, p);
        return;
    }
    h1_request req;
    if (h1_parse(a->buf, head, &req) != 0) {
        answer_text(a, p, 400, "text/plain; charset=utf-8", "bad request\n", false);
        return;
    }
    if (a->srv->verbose) {
        p->t0 = ex_now_ns();
        copy_text(p->method, sizeof(p->method), req.method, req.method_len);
        copy_text(p->path, sizeof(p->path), req.target, req.target_len);
    }
    bool h2c = req.minor >= 1 && req.upgrade_h2c && req.conn_upgrade && req.n_settings == 1;
    if (!h2c)
        answer_http1(a, p, &req);
    else if (req.bad_length)
        answer_text(a, p, 400, "text/plain; charset=utf-8", "bad Content-Length\n", false);
    else if (!req.has_body)
        upgrade(a, p, &req);
    else if (req.chunked || req.content_length > UPGRADE_BODY_MAX)
        answer_text(a, p, 413, "text/plain; charset=utf-8",
                    "an h2c upgrade takes a body of at most 1 MiB with a Content-Length; "
                    "send larger bodies over HTTP/2 directly\n",
                    false);
    else
        start_body(a, p, head, (size_t)req.content_length);
}

/* ------------------------------------------------------------------------ */
/* Accepting                                                                 */
/* ------------------------------------------------------------------------ */

static void accept_plain(acceptor *a, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (a->n_pending >= MAX_PENDING) {
        close(fd);
        return;
    }
    pending *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        close(fd);
        return;
    }
    p->t.kind = TAG_PENDING;
    p->fd = fd;
    p->file_fd = -1;
    p->state = P_SNIFF;
    srv_first_init(&p->first);
    p->deadline_ms = now_ms() + SNIFF_TIMEOUT_MS;
    if (a->srv->verbose)
        p->t0 = ex_now_ns();
    p->next = a->list;
    if (a->list != NULL)
        a->list->prev = p;
    a->list = p;
    a->n_pending++;
    /* Edge-triggered: peeking leaves the bytes in the socket, so only new
     * bytes must wake us. Registering reports bytes already there. */
    if (!watch(a, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, &p->t, EPOLL_CTL_ADD))
        pending_free(a, p);
}

static void accept_tls(acceptor *a, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SSL *ssl = SSL_new(a->srv->tls);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        close(fd);
        return;
    }
    SSL_set_accept_state(ssl);
    h2_svc_transport t;
    if (!ex_tls_transport(&t, ssl)) {
        SSL_free(ssl);
        close(fd);
        return;
    }
    if (srv_conn_attach(a->srv, fd, &t, NULL) != 0) {
        t.close(t.ctx, fd); /* frees the SSL object */
        close(fd);
    }
}

/* Out of descriptors or memory: stop watching the listeners for a while,
 * or their waiting connections would wake the loop without end. */
static void pause_listeners(acceptor *a, const srv_listeners *l)
{
    if (!a->pause_warned)
        perror("h2server: accept (pausing)");
    a->pause_warned = true;
    a->paused_until_ms = now_ms() + ACCEPT_PAUSE_MS;
    if (l->http_fd >= 0)
        epoll_ctl(a->ep, EPOLL_CTL_DEL, l->http_fd, NULL);
    if (l->https_fd >= 0)
        epoll_ctl(a->ep, EPOLL_CTL_DEL, l->https_fd, NULL);
}

static void accept_all(acceptor *a, const srv_listeners *l, bool tls)
{
    int lfd = tls ? l->https_fd : l->http_fd;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_listeners(a, l);
            else if (errno != EAGAIN)
                perror("h2server: accept");
            return;
        }
        a->pause_warned = false;
        if (tls)
            accept_tls(a, fd);
        else
            accept_plain(a, fd);
    }
}

/*
 * The signal: accepts what the listeners' queues hold, then stops listening.
 * Closing the descriptors is left to the caller; a shut-down listening
 * socket is out of its SO_REUSEPORT group and refuses nothing in its name.
 */
static void stop_listening(acceptor *a, const srv_listeners *l)
{
    a->paused_until_ms = 0;
    if (l->http_fd >= 0) {
        accept_all(a, l, false);
        epoll_ctl(a->ep, EPOLL_CTL_DEL, l->http_fd, NULL);
        shutdown(l->http_fd, SHUT_RDWR);
    }
    if (l->https_fd >= 0) {
        accept_all(a, l, true);
        epoll_ctl(a->ep, EPOLL_CTL_DEL, l->https_fd, NULL);
        shutdown(l->https_fd, SHUT_RDWR);
    }
    a->paused_until_ms = 0; /* accept_all() may have paused; nothing is watched again */
}

/* SIGINT or SIGTERM: the first starts the drain, a second one ends it. True: stop now. */
static bool on_signal(acceptor *a, const srv_listeners *l)
{
    struct signalfd_siginfo si;
    if (read(l->signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return false;
    if (a->drain_until_ms != 0)
        return true;
    stop_listening(a, l);
    a->drain_until_ms = now_ms() + DRAIN_MS;
    return false;
}

/* While draining: true once nothing is left or the time is up, else |*timeout| is capped. */
static bool drained(acceptor *a, int *timeout)
{
    if (a->drain_until_ms == 0)
        return false;
    uint64_t now = now_ms();
    if (a->list == NULL || now >= a->drain_until_ms)
        return true;
    if (*timeout < 0 || (uint64_t)*timeout > a->drain_until_ms - now)
        *timeout = (int)(a->drain_until_ms - now);
    return false;
}

/* Drops connections past their deadline; returns the ms until the next one or -1. */
static int expire(acceptor *a)
{
    uint64_t now = now_ms();
    uint64_t next = UINT64_MAX;
    pending *p = a->list;
    while (p != NULL) {
        pending *after = p->next;
        if (p->deadline_ms <= now)
            pending_free(a, p);
        else if (p->deadline_ms < next)
            next = p->deadline_ms;
        p = after;
    }
    if (next == UINT64_MAX)
        return -1;
    return (int)(next - now);
}

int srv_accept_loop(srv_server *srv, const srv_listeners *l)
{
    acceptor *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -1;
    a->srv = srv;
    a->ep = epoll_create1(EPOLL_CLOEXEC);
    static tag t_http = {TAG_HTTP}, t_https = {TAG_HTTPS}, t_signal = {TAG_SIGNAL};
    int rv = 0;
    if (a->ep < 0 || (l->http_fd >= 0 && !watch(a, l->http_fd, EPOLLIN, &t_http, EPOLL_CTL_ADD)) ||
        (l->https_fd >= 0 && !watch(a, l->https_fd, EPOLLIN, &t_https, EPOLL_CTL_ADD)) ||
        !watch(a, l->signal_fd, EPOLLIN, &t_signal, EPOLL_CTL_ADD)) {
        perror("h2server: epoll");
        rv = -1;
    }
    bool stop = rv != 0;
    while (!stop) {
        int timeout = expire(a);
        if (drained(a, &timeout))
            break;
        if (a->paused_until_ms != 0) {
            uint64_t now = now_ms();
            if (now >= a->paused_until_ms) {
                a->paused_until_ms = 0;
                if ((l->http_fd >= 0 && !watch(a, l->http_fd, EPOLLIN, &t_http, EPOLL_CTL_ADD)) ||
                    (l->https_fd >= 0 &&
                     !watch(a, l->https_fd, EPOLLIN, &t_https, EPOLL_CTL_ADD))) {
                    perror("h2server: epoll");
                    rv = -1;
                    break;
                }
            } else if (timeout < 0 || (uint64_t)timeout > a->paused_until_ms - now) {
                timeout = (int)(a->paused_until_ms - now);
            }
        }
        struct epoll_event evs[64];
        int n = epoll_wait(a->ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            perror("h2server: epoll_wait");
            rv = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            tag *t = evs[i].data.ptr;
            switch (t->kind) {
            case TAG_HTTP:
            case TAG_HTTPS:
                if (a->drain_until_ms == 0) /* not a listener any more after the signal */
                    accept_all(a, l, t->kind == TAG_HTTPS);
                break;
            case TAG_SIGNAL:
                stop = on_signal(a, l);
                break;
            default: {
                pending *p = (pending *)(void *)t;
                if (p->state == P_SNIFF)
                    sniff(a, p);
                else if (p->state == P_BODY)
                    read_body(a, p);
                else if (p->state == P_WRITE)
                    write_answer(a, p);
                else
                    linger(a, p);
                break;
            }
            }
        }
    }
    while (a->list != NULL)
        pending_free(a, a->list);
    if (a->ep >= 0)
        close(a->ep);
    free(a);
    return rv;
}
