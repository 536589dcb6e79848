/*
 * What both servers of bench_service_threads share (included by
 * bench/bench_service_threads.c only; every function here is static): the
 * parameters of a server, the first-error record, the response, the
 * application's check of a request, and small socket helpers.
 */
#ifndef BENCH_THREADS_COMMON_H
#define BENCH_THREADS_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "h2/h2.h"
#include "h2/service.h"

#define TH_MAX_THREADS 8    /* workers / event loops / application threads per server */
#define TH_MAX_CONNS 256    /* connections per server */
#define TH_MAX_BODY 65536   /* response body bytes */
#define TH_BATCH 256        /* events or requests an application thread takes at once */
#define TH_READ_BUF 65536   /* bytes per read() of a socket */
#define TH_OUT_HIGH 65536   /* output gathered before a send() (nghttp2) */
#define TH_QUEUE_CAP 16384u /* event queue slots (libh2) */

/* One server's shape. */
typedef struct th_params {
    unsigned workers; /* libh2: service workers; nghttp2: event-loop threads */
    unsigned apps;    /* application threads */
    bool feed;        /* libh2: feed mode, one I/O thread per worker */
    size_t body;      /* response body bytes */
} th_params;

/* Diagnostic (--app-yield): libh2's application threads yield the CPU once
 * after each wait that found events, before taking them. */
static bool th_app_yield;

/* What a server counted over a sample, read once its threads stopped. */
typedef struct th_stats {
    uint64_t answered; /* requests the application threads answered */
    uint64_t batches;  /* hand-overs an application thread took (non-empty polls / takes) */
    uint64_t turns;    /* turns of the connection-owning threads' loops */
} th_stats;

/* ------------------------------------------------------------------------ */
/* Allocation counting (--count-allocs)                                      */
/* ------------------------------------------------------------------------ */

/* When set, both servers allocate through these counters (libh2: h2_mem in
 * the service and queue configurations; nghttp2: nghttp2_mem of the
 * sessions, and the server's own request records). */
static bool th_counting;
static atomic_ullong th_allocs;

static void th_count(void)
{
    atomic_fetch_add_explicit(&th_allocs, 1, memory_order_relaxed);
}

static void *th_cnt_malloc(size_t size, void *ud)
{
    (void)ud;
    th_count();
    return malloc(size);
}

static void *th_cnt_calloc(size_t n, size_t size, void *ud)
{
    (void)ud;
    th_count();
    return calloc(n, size);
}

static void *th_cnt_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    th_count();
    return realloc(ptr, size);
}

static void th_cnt_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static const h2_mem th_h2_mem = {NULL, th_cnt_malloc, th_cnt_realloc, th_cnt_free};
static nghttp2_mem th_ng_mem = {NULL, th_cnt_malloc, th_cnt_free, th_cnt_calloc,
                                th_cnt_realloc};

/* The server's own allocations (nghttp2's request records). */
static void *th_malloc(size_t size)
{
    if (th_counting)
        th_count();
    return malloc(size);
}

/* ------------------------------------------------------------------------ */
/* First error of a sample (any thread)                                      */
/* ------------------------------------------------------------------------ */

typedef struct th_error {
    atomic_int state; /* 0 none, 1 being written, 2 written */
    char msg[256];
} th_error;

/* Records the first failure only; returns -1. */
__attribute__((format(printf, 2, 3))) static int th_fail(th_error *e, const char *fmt, ...)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&e->state, &expected, 1)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        atomic_store(&e->state, 2);
    }
    return -1;
}

static bool th_failed(th_error *e)
{
    return atomic_load(&e->state) != 0;
}

static const char *th_message(th_error *e)
{
    while (atomic_load(&e->state) == 1) {
    }
    return e->msg;
}

/* ------------------------------------------------------------------------ */
/* The request path and the response                                         */
/* ------------------------------------------------------------------------ */

static const char th_path[] = "/api/v1/items/42";

/* The body the application answers with: it copies it into the response. */
static uint8_t th_body[TH_MAX_BODY];

#define S(x) (const uint8_t *)(x), sizeof(x) - 1
static const h2_header th_resp_fields[] = {
    {S(":status"), S("200"), 0},
    {S("content-type"), S("application/octet-stream"), 0},
    {S("server"), S("h2bench/1.0"), 0},
};
#undef S
#define TH_N_RESP (sizeof(th_resp_fields) / sizeof(th_resp_fields[0]))

/* The same fields for nghttp2, which is told not to copy them (static). */
static nghttp2_nv th_resp_nv[TH_N_RESP];

static void th_init_messages(size_t body)
{
    for (size_t i = 0; i < body; i++)
        th_body[i] = (uint8_t)('a' + i % 26);
    for (size_t i = 0; i < TH_N_RESP; i++) {
        th_resp_nv[i].name = (uint8_t *)(uintptr_t)th_resp_fields[i].name;
        th_resp_nv[i].namelen = th_resp_fields[i].name_len;
        th_resp_nv[i].value = (uint8_t *)(uintptr_t)th_resp_fields[i].value;
        th_resp_nv[i].valuelen = th_resp_fields[i].value_len;
        th_resp_nv[i].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    }
}

static bool th_bytes_are(const uint8_t *p, size_t len, const char *want)
{
    size_t n = strlen(want);
    return len == n && memcmp(p, want, n) == 0;
}

/*
 * The application's work on one request, the same for both servers: walk
 * the |n| fields, the method must be GET and the path th_path. (The
 * nghttp2 server keeps its copied fields in the same {pointer, length}
 * layout.)
 */
static bool th_request_ok(const h2_header *f, size_t n)
{
    bool method = false, path = false;
    for (size_t i = 0; i < n; i++) {
        if (th_bytes_are(f[i].name, f[i].name_len, ":method"))
            method = th_bytes_are(f[i].value, f[i].value_len, "GET");
        else if (th_bytes_are(f[i].name, f[i].name_len, ":path"))
            path = th_bytes_are(f[i].value, f[i].value_len, th_path);
    }
    return method && path;
}

/* ------------------------------------------------------------------------ */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------ */

/* Non-blocking and TCP_NODELAY, as a server sets its accepted sockets. */
static int th_prepare_socket(int fd)
{
    int one = 1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A listening socket on 127.0.0.1, port chosen by the kernel, in |*port|. */
static int th_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 512) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void th_wake(int efd)
{
    uint64_t one = 1;
    ssize_t w = write(efd, &one, sizeof one);
    (void)w; /* only fails when the counter is saturated: already readable */
}

static void th_drain_eventfd(int efd)
{
    uint64_t v;
    ssize_t r = read(efd, &v, sizeof v);
    (void)r; /* EAGAIN: another reader cleared it; nothing to do */
}

#endif /* BENCH_THREADS_COMMON_H */
