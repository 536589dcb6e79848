/*
 * uv_h2service: an HTTP/2 server (cleartext, prior knowledge) on the libh2
 * connection service, embedded in a libuv loop. The service's worker
 * threads own the sockets and run the connections; the loop's thread
 * accepts, and it reads the service's event queue, answers the requests
 * and posts the responses:
 *
 *   listening socket --uv_poll_t--> accept4() --> h2_svc_attach_fd()
 *   h2_svc_queue_fd() --uv_poll_t--> h2_svc_queue_poll() --> respond
 *   (h2_svc_submit_headers(), h2_svc_send_data[_ref]())
 *
 * The queue's fd is an eventfd: readable while events may wait. The loop
 * polls the queue until it is empty, then calls
 * h2_svc_queue_prepare_wait(), which clears the fd and announces the wait;
 * when that returns false, events arrived in between and the loop polls
 * again before going back to libuv.
 *
 * Usage
 *   uv_h2service [--host ADDR] [--port N] [--workers N] [--big BYTES] [-v]
 *
 *   --port N      port to listen on (default 8080; 0 picks a free port);
 *                 "listening http ADDR:PORT" is printed on stdout
 *   --workers N   service worker threads (default 1)
 *   --big BYTES   size of the /big body (default 4 MiB), made once at start
 *                 and sent by reference to every request for it
 *   -v            one line per request on stderr
 *
 * Resources: see routes.h (no /stats: the service keeps its own counters).
 * SIGINT or SIGTERM: the service is freed (every connection closed), the
 * handles closed, and uv_h2service exits with 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "h2/service.h"
#include "libuv/routes.h"

#include <uv.h>

/* Events taken from the queue per loop callback before libuv runs the other handles. */
#define BATCH_MAX 256

/* A POST /echo whose body is still arriving. */
typedef struct pending {
    struct pending *next;
    h2_svc_conn_id conn;
    uint32_t stream_id;
    route rt;
    bool too_big;
    uint8_t *body;
    size_t len, cap;
} pending;

typedef struct app {
    uv_loop_t *loop;
    h2_svc *svc;
    h2_svc_queue *queue;
    int listen_fd;
    uv_poll_t listen_poll, queue_poll;
    uv_signal_t sigterm, sigint;
    pending *pending;
    uint8_t *big; /* the /big body, read-only once made */
    size_t big_size;
    bool verbose;
} app;

/* ---- responses -------------------------------------------------------------- */

/* The service is done with the /big buffer for one response; it stays for the next ones. */
static void big_released(void *user, const uint8_t *data, size_t len)
{
    (void)user, (void)data, (void)len;
}

/* Runs on a worker thread: the echo body was copied into a connection's output. */
static void body_released(void *user, const uint8_t *data, size_t len)
{
    (void)user, (void)len;
    free((void *)data);
}

/*
 * Posts the response of |rt| on |stream_id|. |body| (malloc'd, |len|
 * bytes) is the echo body, handed over. A post that fails (the worker's
 * ring full even after post_wait_ms) resets the stream instead.
 */
static void respond(app *a, h2_svc_conn_id conn, uint32_t stream_id, const route *rt, int status,
                    uint8_t *body, size_t len)
{
    const char *type = "text/plain";
    const uint8_t *data = NULL;
    if (rt->kind == ROUTE_INDEX) {
        type = "text/html";
        data = (const uint8_t *)ROUTE_PAGE;
        len = strlen(ROUTE_PAGE);
    } else if (rt->kind == ROUTE_BIG) {
        type = "application/octet-stream";
        data = a->big;
        len = a->big_size;
    } else if (rt->kind == ROUTE_ECHO && status == 200) {
        type = "application/octet-stream";
        data = body;
    } else {
        len = 0;
    }
    route_head head;
    route_head_make(&head, status, type, (long long)len);
    bool empty = rt->head || len == 0;
    int rc = h2_svc_submit_headers(a->svc, conn, stream_id, head.fields, head.n,
                                       empty ? H2_SEND_END_STREAM : 0, 0);
    if (rc == 0 && !empty) {
        if (data == body) {
            rc = h2_svc_send_data_ref(a->svc, conn, stream_id, data, len, H2_SEND_END_STREAM, 0,
                                          body_released, NULL);
            if (rc == 0)
                body = NULL; /* the service frees it */
        } else if (data == a->big) {
            rc = h2_svc_send_data_ref(a->svc, conn, stream_id, data, len, H2_SEND_END_STREAM, 0,
                                          big_released, NULL);
        } else {
            rc = h2_svc_send_data(a->svc, conn, stream_id, data, len, H2_SEND_END_STREAM, 0);
        }
    }
    free(body);
    if (rc != 0)
        h2_svc_reset_stream(a->svc, conn, stream_id, H2_INTERNAL_ERROR, 0);
    if (a->verbose)
        fprintf(stderr, "%s %s %d %zu%s\n", rt->method, rt->path, status, rt->head ? 0 : len,
                rc != 0 ? " (post failed)" : "");
}

static int status_of(const route *rt)
{
    switch (rt->kind) {
    case ROUTE_NOT_FOUND:
    case ROUTE_STATS:
        return 404;
    case ROUTE_BAD_METHOD:
        return 405;
    default:
        return 200;
    }
}

/* ---- events -------------------------------------------------------------------- */

static pending **pending_find(app *a, h2_svc_conn_id conn, uint32_t stream_id)
{
    pending **p = &a->pending;
    while (*p != NULL && !((*p)->conn == conn && (*p)->stream_id == stream_id))
        p = &(*p)->next;
    return p;
}

static void pending_unlink(pending **p)
{
    pending *e = *p;
    *p = e->next;
    free(e->body);
    free(e);
}

static void on_request(app *a, const h2_svc_event *ev)
{
    route rt;
    route_parse(&rt, ev->fields, ev->n_fields);
    if (ev->end_stream) {
        respond(a, ev->conn, ev->stream_id, &rt, status_of(&rt), NULL, 0);
        return;
    }
    /* A body follows: keep the request until it ended (the body is kept for /echo only). */
    pending *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        h2_svc_reset_stream(a->svc, ev->conn, ev->stream_id, H2_INTERNAL_ERROR, 0);
        return;
    }
    e->conn = ev->conn;
    e->stream_id = ev->stream_id;
    e->rt = rt;
    e->next = a->pending;
    a->pending = e;
}

static void on_data(app *a, const h2_svc_event *ev)
{
    pending **p = pending_find(a, ev->conn, ev->stream_id);
    pending *e = *p;
    if (e == NULL)
        return;
    if (e->rt.kind == ROUTE_ECHO && !e->too_big && ev->len > 0) {
        if (e->len + ev->len > ROUTE_ECHO_MAX) {
            e->too_big = true;
        } else if (e->len + ev->len > e->cap) {
            size_t cap = e->cap ? e->cap : 16384;
            while (cap < e->len + ev->len)
                cap *= 2;
            uint8_t *body = realloc(e->body, cap);
            if (body == NULL)
                e->too_big = true;
            else
                e->body = body, e->cap = cap;
        }
        if (!e->too_big) {
            memcpy(e->body + e->len, ev->data, ev->len);
            e->len += ev->len;
        }
    }
    if (ev->end_stream) {
        int status = e->too_big ? 413 : status_of(&e->rt);
        respond(a, e->conn, e->stream_id, &e->rt, status, e->body, e->len);
        e->body = NULL; /* handed to respond() */
        pending_unlink(p);
    }
}

/* Trailers end a request too: handled as an empty DATA event with END_STREAM. */
static void on_trailers(app *a, const h2_svc_event *ev)
{
    h2_svc_event end = *ev;
    end.data = NULL;
    end.len = 0;
    on_data(a, &end);
}

static void on_closed(app *a, h2_svc_conn_id conn)
{
    for (pending **p = &a->pending; *p != NULL;) {
        if ((*p)->conn == conn)
            pending_unlink(p);
        else
            p = &(*p)->next;
    }
}

static void handle(app *a, const h2_svc_event *ev)
{
    switch (ev->type) {
    case H2_EV_REQUEST_RECEIVED:
        on_request(a, ev);
        break;
    case H2_EV_DATA_RECEIVED:
        on_data(a, ev);
        break;
    case H2_EV_TRAILERS_RECEIVED:
        on_trailers(a, ev);
        break;
    case H2_EV_STREAM_RESET: {
        pending **p = pending_find(a, ev->conn, ev->stream_id);
        if (*p != NULL)
            pending_unlink(p);
        break;
    }
    case H2_SVC_EV_CLOSED:
        on_closed(a, ev->conn);
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        if (a->verbose)
            fprintf(stderr, "command %d on stream %u failed: %s\n", ev->command, ev->stream_id,
                    h2_strerror(ev->error));
        break;
    default:
        break;
    }
}

/*
 * Takes events until the queue is empty and h2_svc_queue_prepare_wait()
 * armed its fd (returns true), or until |max| events were taken (returns
 * false: not armed).
 */
static bool drain(app *a, size_t max)
{
    size_t done = 0;
    for (;;) {
        h2_svc_event *ev[64];
        size_t n = h2_svc_queue_poll(a->queue, ev, 64);
        for (size_t i = 0; i < n; i++) {
            handle(a, ev[i]);
            h2_svc_event_release(ev[i]); /* for DATA: the window opens again */
        }
        done += n;
        if (n == 0 && h2_svc_queue_prepare_wait(a->queue))
            return true; /* empty and armed: the next event makes the fd readable */
        if (done >= max)
            return false;
    }
}

/*
 * The queue's fd is readable: at most BATCH_MAX events per call. Stopping
 * there without arming is safe only here: the fd was readable, and only
 * prepare_wait() clears it, so libuv calls back on its next turn.
 */
static void on_queue(uv_poll_t *h, int status, int events)
{
    (void)status, (void)events;
    drain(h->data, BATCH_MAX);
}

/* ---- accepting ---------------------------------------------------------------- */

static void on_listen(uv_poll_t *h, int status, int events)
{
    (void)status, (void)events;
    app *a = h->data;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a failure the next readiness retries */
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
        cc.queue = a->queue;
        h2_svc_conn_id id;
        int rc = h2_svc_attach_fd(a->svc, fd, &cc, &id); /* the service owns fd on success */
        if (rc != 0) {
            fprintf(stderr, "uv_h2service: attach: %s\n", h2_strerror(rc));
            close(fd);
        }
    }
}

static int listen_on(app *a, const char *host, int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "uv_h2service: bad IPv4 address %s\n", host);
        return -1;
    }
    a->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t len = sizeof(addr);
    if (a->listen_fd < 0 ||
        setsockopt(a->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(a->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(a->listen_fd, 128) != 0 ||
        getsockname(a->listen_fd, (struct sockaddr *)&addr, &len) != 0) {
        fprintf(stderr, "uv_h2service: listen on %s:%d: %s\n", host, port, strerror(errno));
        return -1;
    }
    printf("listening http %s:%u\n", host, ntohs(addr.sin_port));
    fflush(stdout);
    return 0;
}

/* ---- start and stop ---------------------------------------------------------------- */

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    app *a = sig->data;
    /* Closing a poll handle stops the watch; the fds are closed below, after the handles. */
    uv_close((uv_handle_t *)&a->listen_poll, NULL);
    uv_close((uv_handle_t *)&a->queue_poll, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

static int parse_args(app *a, int argc, char **argv, const char **host, int *port,
                      unsigned *workers)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            a->verbose = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *opt = argv[i], *v = argv[++i];
        char *end = NULL;
        unsigned long long n = strtoull(v, &end, 10);
        bool num = end != v && *end == '\0';
        if (strcmp(opt, "--host") == 0)
            *host = v;
        else if (strcmp(opt, "--port") == 0 && num && n < 65536)
            *port = (int)n;
        else if (strcmp(opt, "--workers") == 0 && num && n > 0 && n <= 64)
            *workers = (unsigned)n;
        else if (strcmp(opt, "--big") == 0 && num && n > 0)
            a->big_size = (size_t)n;
        else
            return -1;
    }
    return 0;
}

static int start(app *a, unsigned workers)
{
    uint32_t gen = ROUTE_PATTERN_SEED;
    if ((a->big = malloc(a->big_size)) == NULL)
        return -1;
    route_pattern_fill(&gen, a->big, a->big_size);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = workers;
    cfg.post_wait_ms = 1000; /* a full command ring makes the loop wait this long at most */
    int rc = h2_svc_new(&a->svc, &cfg);
    if (rc == 0)
        rc = h2_svc_queue_new(&a->queue, 1024, NULL);
    if (rc != 0) {
        fprintf(stderr, "uv_h2service: %s\n", h2_strerror(rc));
        return -1;
    }
    uv_poll_init(a->loop, &a->listen_poll, a->listen_fd);
    uv_poll_init(a->loop, &a->queue_poll, h2_svc_queue_fd(a->queue));
    uv_signal_init(a->loop, &a->sigterm);
    uv_signal_init(a->loop, &a->sigint);
    a->listen_poll.data = a->queue_poll.data = a->sigterm.data = a->sigint.data = a;
    /* Arm the queue before the first wait: its fd is written only for an announced wait. */
    drain(a, SIZE_MAX);
    uv_poll_start(&a->queue_poll, UV_READABLE, on_queue);
    uv_poll_start(&a->listen_poll, UV_READABLE, on_listen);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    return 0;
}

int main(int argc, char **argv)
{
    app a = {.listen_fd = -1, .big_size = ROUTE_BIG_SIZE};
    const char *host = "127.0.0.1";
    int port = 8080;
    unsigned workers = 1;
    if (parse_args(&a, argc, argv, &host, &port, &workers) != 0) {
        fprintf(stderr,
                "usage: uv_h2service [--host ADDR] [--port N] [--workers N] [--big BYTES] [-v]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    a.loop = uv_default_loop();
    int rc = 1;
    if (listen_on(&a, host, port) == 0 && start(&a, workers) == 0) {
        uv_run(a.loop, UV_RUN_DEFAULT);
        rc = uv_loop_close(a.loop) == 0 ? 0 : 1;
    }
    /* Every connection gets its CLOSED event in the queue; freeing the queue releases them. */
    h2_svc_free(a.svc);
    h2_svc_queue_free(a.queue);
    while (a.pending != NULL)
        pending_unlink(&a.pending);
    if (a.listen_fd >= 0)
        close(a.listen_fd);
    free(a.big);
    return rc;
}
