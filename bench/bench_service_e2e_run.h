/*
 * End-to-end part: the parameters, the state of one sample, the client's
 * per-stream bookkeeping shared by both libraries, and the loopback sockets
 * (included by bench/bench_service_e2e.h only; every function is static).
 */
#ifndef BENCH_SERVICE_E2E_RUN_H
#define BENCH_SERVICE_E2E_RUN_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "bench_service_common.h"

#define E2E_MAX_CONNS 64
#define E2E_MAX_BODY 16384
#define E2E_TIMEOUT_S 60
#define E2E_READ_BUF 65536
#define E2E_OUT_HIGH 65536

typedef struct e2e_params {
    unsigned conns;    /* K */
    unsigned streams;  /* M, per connection */
    size_t body;       /* B */
    uint64_t requests; /* N per sample */
} e2e_params;

static uint8_t e2e_body[E2E_MAX_BODY];

/* Client side of one stream, indexed by (stream id - 1) / 2. */
typedef struct e2e_stream {
    uint32_t got; /* body bytes received */
    uint8_t status_ok;
    uint8_t done;
} e2e_stream;

struct e2e_run;

/* nghttp2: one end of one connection. */
typedef struct ng_end {
    struct e2e_run *run;
    struct e2e_client *cli; /* client end: its request state; server end: NULL */
    int fd;
    nghttp2_session *s;
    uint8_t *out;
    size_t out_cap, out_len, out_off;
    bool epollout; /* EPOLLOUT registered */
    bool ping_acked;
} ng_end;

/* Client state of one connection; touched by the client's thread only. */
typedef struct e2e_client {
    struct e2e_run *run;
    uint32_t quota; /* requests this connection issues in the sample */
    uint32_t issued;
    uint32_t completed;
    e2e_stream *st;    /* quota entries */
    h2_svc_conn_id id; /* libh2 */
    ng_end *ng;        /* nghttp2 */
} e2e_client;

typedef struct e2e_run {
    e2e_params p;
    e2e_client cli[E2E_MAX_CONNS];
    int srv_fd[E2E_MAX_CONNS];
    int cli_fd[E2E_MAX_CONNS];
    uint64_t completed; /* client thread only */
    struct timespec start, end;
    sem_t done; /* posted when the last response completed or on failure */
    bench_error err;
    atomic_int stopping; /* teardown: connection ends are expected */
    atomic_uint attached;
    atomic_uint ready;
    /* libh2 */
    h2_svc *ssrv, *scli;
    /* nghttp2 */
    ng_end srv_end[E2E_MAX_CONNS];
    ng_end cli_end[E2E_MAX_CONNS];
    int srv_wake; /* eventfd: stops the server thread */
    pthread_barrier_t go;
} e2e_run;

/* ------------------------------------------------------------------------ */
/* Shared client bookkeeping                                                 */
/* ------------------------------------------------------------------------ */

static e2e_stream *e2e_stream_of(e2e_client *c, uint32_t id)
{
    if (id == 0 || id % 2 == 0 || (id - 1) / 2 >= c->quota)
        return NULL;
    return &c->st[(id - 1) / 2];
}

static void e2e_abort(e2e_run *r)
{
    sem_post(&r->done);
}

/* Body bytes of stream |id|: checked against the body sent, then counted. */
static int e2e_body_chunk(e2e_client *c, e2e_stream *st, uint32_t id, const uint8_t *data,
                          size_t len)
{
    e2e_run *r = c->run;
    if (st->got + len > r->p.body || (len > 0 && memcmp(data, e2e_body + st->got, len) != 0)) {
        bench_fail(&r->err, "client: stream %u: wrong body bytes at %u", id, st->got);
        e2e_abort(r);
        return -1;
    }
    st->got += (uint32_t)len;
    return 0;
}

/*
 * A response ended on stream |id|: checks it and counts it. Returns true
 * when the connection should issue another request.
 */
static bool e2e_complete(e2e_client *c, uint32_t id)
{
    e2e_run *r = c->run;
    e2e_stream *st = e2e_stream_of(c, id);
    if (st == NULL || st->done) {
        bench_fail(&r->err, "client: unexpected end of stream %u", id);
        e2e_abort(r);
        return false;
    }
    if (!st->status_ok || st->got != r->p.body) {
        bench_fail(&r->err, "client: stream %u ended with status %s and %u of %zu body bytes", id,
                   st->status_ok ? "200" : "other", st->got, r->p.body);
        e2e_abort(r);
        return false;
    }
    st->done = 1;
    c->completed++;
    r->completed++;
    if (r->completed == r->p.requests) {
        clock_gettime(CLOCK_MONOTONIC, &r->end);
        sem_post(&r->done);
        return false;
    }
    return c->issued < c->quota;
}

/* ------------------------------------------------------------------------ */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------ */

static int e2e_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* K connected TCP pairs over 127.0.0.1, blocking, TCP_NODELAY. */
static int e2e_sockets(e2e_run *r)
{
    unsigned k = r->p.conns;
    for (unsigned i = 0; i < k; i++)
        r->srv_fd[i] = r->cli_fd[i] = -1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, (int)k + 8) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        if (lfd >= 0)
            close(lfd);
        return bench_fail(&r->err, "listening socket: %s", strerror(errno));
    }
    for (unsigned i = 0; i < k; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) != 0) {
            if (c >= 0)
                close(c);
            close(lfd);
            return bench_fail(&r->err, "connect: %s", strerror(errno));
        }
        r->cli_fd[i] = c;
        int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (s < 0) {
            close(lfd);
            return bench_fail(&r->err, "accept: %s", strerror(errno));
        }
        r->srv_fd[i] = s;
        if (e2e_nodelay(c) != 0 || e2e_nodelay(s) != 0) {
            close(lfd);
            return bench_fail(&r->err, "TCP_NODELAY: %s", strerror(errno));
        }
    }
    close(lfd);
    return 0;
}

static void e2e_close_sockets(e2e_run *r)
{
    for (unsigned i = 0; i < r->p.conns; i++) {
        if (r->srv_fd[i] >= 0)
            close(r->srv_fd[i]);
        if (r->cli_fd[i] >= 0)
            close(r->cli_fd[i]);
        r->srv_fd[i] = r->cli_fd[i] = -1;
    }
}

static e2e_run *e2e_run_new(const e2e_params *p)
{
    e2e_run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->p = *p;
    sem_init(&r->done, 0, 0);
    r->srv_wake = -1;
    for (unsigned i = 0; i < p->conns; i++) {
        e2e_client *c = &r->cli[i];
        c->run = r;
        c->quota = (uint32_t)(p->requests / p->conns + (i < p->requests % p->conns ? 1 : 0));
        c->st = calloc(c->quota + 1, sizeof *c->st);
        if (c->st == NULL) {
            for (unsigned j = 0; j < i; j++)
                free(r->cli[j].st);
            sem_destroy(&r->done);
            free(r);
            return NULL;
        }
    }
    return r;
}

static void e2e_run_free(e2e_run *r)
{
    for (unsigned i = 0; i < r->p.conns; i++)
        free(r->cli[i].st);
    sem_destroy(&r->done);
    free(r);
}

/* Waits for |r->done| at most E2E_TIMEOUT_S seconds. */
static int e2e_wait_done(e2e_run *r)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += E2E_TIMEOUT_S;
    while (sem_timedwait(&r->done, &dl) != 0) {
        if (errno == ETIMEDOUT)
            return bench_fail(&r->err, "no completion after %d s (%llu of %llu responses)",
                              E2E_TIMEOUT_S, (unsigned long long)r->completed,
                              (unsigned long long)r->p.requests);
    }
    return bench_failed(&r->err) ? -1 : 0;
}

/* Waits until |*counter| reaches |want| (at most 10 s). */
static int e2e_wait_count(e2e_run *r, atomic_uint *counter, unsigned want, const char *what)
{
    for (int i = 0; i < 10000; i++) {
        if (atomic_load(counter) >= want)
            return 0;
        if (bench_failed(&r->err))
            return -1;
        sleep_ms(1);
    }
    return bench_fail(&r->err, "%s: %u of %u after 10 s", what, atomic_load(counter), want);
}

#endif /* BENCH_SERVICE_E2E_RUN_H */
