/*
 * End-to-end requests per second over loopback TCP (included by
 * bench/bench_service.c only; every function here is static).
 *
 * K TCP connections over 127.0.0.1 (TCP_NODELAY on both ends), a client and
 * a server in the same process. The client keeps M requests open on every
 * connection: a GET without a body; the server answers each with a 200
 * response and a B-byte body. A request counts when the client holds the
 * whole response (its end of stream), after checking :status 200 and the
 * body length; it then opens the next request on that connection until the
 * sample's N requests are issued. The server checks :method and :path of
 * every request. A sample is timed from the first request posted to the
 * last response completed; the connections are set up, and their SETTINGS
 * and a PING exchanged, before the clock starts.
 *
 * libh2: two services of 1 worker each, a server service and a client
 * service, sockets attached in fd mode (h2_service_attach_fd), events
 * handled by callbacks on the worker threads (no application threads): the
 * server's callback answers a request with h2_service_submit_headers() and
 * h2_service_send_data_ref() (the body is static); the client's callback
 * opens the next request with h2_service_submit_headers(stream 0).
 *
 * nghttp2: a server thread and a client thread, each running a
 * non-blocking epoll loop over its K sockets, the way nghttpd runs its
 * sessions: a read of up to 64 KiB per readable socket fed to
 * nghttp2_session_mem_recv(), then nghttp2_session_mem_send() chunks
 * gathered into a per-connection output buffer written with one send()
 * (EPOLLOUT while the socket is full). The server answers from its
 * on_frame_recv callback with nghttp2_submit_response() and a data provider
 * that copies the body; the client opens the next request from its
 * on_stream_close callback with nghttp2_submit_request(). (The installed
 * nghttp2 1.52 predates the *2 variants of these calls.)
 *
 * Both libraries therefore run on exactly 2 threads doing protocol work,
 * with the main thread asleep.
 */
#ifndef BENCH_SERVICE_E2E_H
#define BENCH_SERVICE_E2E_H

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
    unsigned conns;   /* K */
    unsigned streams; /* M, per connection */
    size_t body;      /* B */
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
    bool epollout;  /* EPOLLOUT registered */
    bool ping_acked;
} ng_end;

/* Client state of one connection; touched by the client's thread only. */
typedef struct e2e_client {
    struct e2e_run *run;
    uint32_t quota;  /* requests this connection issues in the sample */
    uint32_t issued;
    uint32_t completed;
    e2e_stream *st; /* quota entries */
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
    h2_service *ssrv, *scli;
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

/* ------------------------------------------------------------------------ */
/* libh2: two services                                                       */
/* ------------------------------------------------------------------------ */

static void ours_noop_release(void *release_user, const uint8_t *data, size_t len)
{
    (void)release_user;
    (void)data;
    (void)len;
}

/* Server service callback (server worker thread); |user| is the run. */
static void ours_srv_event(void *user, h2_svc_event *ev)
{
    e2e_run *r = user;
    bool stopping = atomic_load_explicit(&r->stopping, memory_order_relaxed);
    switch (ev->type) {
    case H2_EV_REQUEST_RECEIVED: {
        bool method = false, path = false;
        for (size_t i = 0; i < ev->n_fields; i++) {
            const h2_header *f = &ev->fields[i];
            if (bytes_are(f->name, f->name_len, ":method"))
                method = bytes_are(f->value, f->value_len, "GET");
            else if (bytes_are(f->name, f->name_len, ":path"))
                path = bytes_are(f->value, f->value_len, e2e_path);
        }
        if (!method || !path || !ev->end_stream) {
            bench_fail(&r->err, "server: bad request on stream %u", ev->stream_id);
            e2e_abort(r);
            break;
        }
        /* An empty body ends the stream with the headers, as nghttp2 does. */
        int rc = h2_service_submit_headers(r->ssrv, ev->conn, ev->stream_id, e2e_resp_fields,
                                           E2E_N_RESP, r->p.body == 0 ? H2_SEND_END_STREAM : 0,
                                           0);
        if (rc == 0 && r->p.body > 0)
            rc = h2_service_send_data_ref(r->ssrv, ev->conn, ev->stream_id, e2e_body, r->p.body,
                                          H2_SEND_END_STREAM, 0, ours_noop_release, NULL);
        if (rc != 0) {
            bench_fail(&r->err, "server: posting the response: %s", h2_strerror(rc));
            e2e_abort(r);
        }
        break;
    }
    case H2_SVC_EV_ATTACHED:
        break;
    default:
        if (!stopping) {
            bench_fail(&r->err, "server: unexpected event %d (stream %u, error %d, reason %d)",
                       ev->type, ev->stream_id, ev->error, ev->reason);
            e2e_abort(r);
        }
        break;
    }
    h2_svc_event_release(ev);
}

static int ours_issue(e2e_client *c)
{
    e2e_run *r = c->run;
    int rc = h2_service_submit_headers(r->scli, c->id, 0, e2e_req_fields, E2E_N_REQ,
                                       H2_SEND_END_STREAM, c->issued);
    if (rc != 0) {
        bench_fail(&r->err, "client: h2_service_submit_headers: %s", h2_strerror(rc));
        e2e_abort(r);
        return -1;
    }
    return 0;
}

/* Client service callback (client worker thread); |user| is the connection. */
static void ours_cli_event(void *user, h2_svc_event *ev)
{
    e2e_client *c = user;
    e2e_run *r = c->run;
    bool stopping = atomic_load_explicit(&r->stopping, memory_order_relaxed);
    switch (ev->type) {
    case H2_SVC_EV_ATTACHED:
        atomic_fetch_add(&r->attached, 1);
        break;
    case H2_EV_PING_ACK_RECEIVED:
        atomic_fetch_add(&r->ready, 1);
        break;
    case H2_SVC_EV_STREAM_OPENED:
        break;
    case H2_EV_RESPONSE_RECEIVED: {
        e2e_stream *st = e2e_stream_of(c, ev->stream_id);
        if (st == NULL) {
            bench_fail(&r->err, "client: response on unknown stream %u", ev->stream_id);
            e2e_abort(r);
            break;
        }
        for (size_t i = 0; i < ev->n_fields; i++) {
            const h2_header *f = &ev->fields[i];
            if (bytes_are(f->name, f->name_len, ":status"))
                st->status_ok = bytes_are(f->value, f->value_len, "200");
        }
        if (ev->end_stream && e2e_complete(c, ev->stream_id)) {
            c->issued++;
            ours_issue(c);
        }
        break;
    }
    case H2_EV_DATA_RECEIVED: {
        e2e_stream *st = e2e_stream_of(c, ev->stream_id);
        if (st == NULL) {
            bench_fail(&r->err, "client: DATA on unknown stream %u", ev->stream_id);
            e2e_abort(r);
            break;
        }
        st->got += (uint32_t)ev->len;
        if (ev->end_stream && e2e_complete(c, ev->stream_id)) {
            c->issued++;
            ours_issue(c);
        }
        break;
    }
    default:
        if (!stopping) {
            bench_fail(&r->err, "client: unexpected event %d (stream %u, error %d, reason %d)",
                       ev->type, ev->stream_id, ev->error, ev->reason);
            e2e_abort(r);
        }
        break;
    }
    /* Releasing a DATA event acknowledges it for flow control. */
    h2_svc_event_release(ev);
}

static int ours_services(e2e_run *r)
{
    h2_service_config sc;
    h2_service_config_init(&sc);
    sc.workers = 1;
    int rc = h2_service_new(&r->ssrv, &sc);
    if (rc == 0)
        rc = h2_service_new(&r->scli, &sc);
    if (rc != 0)
        return bench_fail(&r->err, "h2_service_new: %s", h2_strerror(rc));
    for (unsigned i = 0; i < r->p.conns; i++) {
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
        cc.on_event = ours_srv_event;
        cc.user = r;
        h2_svc_conn_id id;
        rc = h2_service_attach_fd(r->ssrv, r->srv_fd[i], &cc, &id);
        if (rc != 0)
            return bench_fail(&r->err, "attach (server): %s", h2_strerror(rc));
        r->srv_fd[i] = -1; /* the service owns it */

        h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
        cc.on_event = ours_cli_event;
        cc.user = &r->cli[i];
        rc = h2_service_attach_fd(r->scli, r->cli_fd[i], &cc, &r->cli[i].id);
        if (rc != 0)
            return bench_fail(&r->err, "attach (client): %s", h2_strerror(rc));
        r->cli_fd[i] = -1;
    }
    return 0;
}

/* One libh2 sample: requests per second, or -1. */
static double ours_e2e_sample(e2e_run *r, double *cpu_us)
{
    double rate = -1;
    if (e2e_sockets(r) != 0 || ours_services(r) != 0)
        goto out;
    if (e2e_wait_count(r, &r->attached, r->p.conns, "client connections attached") != 0)
        goto out;
    static const uint8_t opaque[8] = {'h', '2', 'b', 'e', 'n', 'c', 'h', 0};
    for (unsigned i = 0; i < r->p.conns; i++) {
        int rc = h2_service_ping(r->scli, r->cli[i].id, opaque, 0);
        if (rc != 0) {
            bench_fail(&r->err, "h2_service_ping: %s", h2_strerror(rc));
            goto out;
        }
    }
    if (e2e_wait_count(r, &r->ready, r->p.conns, "PING answered") != 0)
        goto out;

    struct timespec cpu0, cpu1;
    /* Every connection's first M requests are counted as issued before the
     * first is posted: the client worker updates the counts from then on. */
    for (unsigned i = 0; i < r->p.conns; i++) {
        e2e_client *c = &r->cli[i];
        c->issued = c->quota < r->p.streams ? c->quota : r->p.streams;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    for (unsigned i = 0; i < r->p.conns; i++) {
        e2e_client *c = &r->cli[i];
        uint32_t n = c->quota < r->p.streams ? c->quota : r->p.streams;
        for (uint32_t k = 0; k < n; k++) {
            int rc = h2_service_submit_headers(r->scli, c->id, 0, e2e_req_fields, E2E_N_REQ,
                                               H2_SEND_END_STREAM, k);
            if (rc != 0) {
                bench_fail(&r->err, "client: h2_service_submit_headers: %s", h2_strerror(rc));
                goto out;
            }
        }
    }
    if (e2e_wait_done(r) != 0)
        goto out;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    rate = (double)r->p.requests / elapsed_s(&r->start, &r->end);
    *cpu_us = elapsed_s(&cpu0, &cpu1) * 1e6 / (double)r->p.requests;
out:
    atomic_store(&r->stopping, 1);
    h2_service_free(r->scli);
    h2_service_free(r->ssrv);
    r->scli = r->ssrv = NULL;
    e2e_close_sockets(r);
    return rate;
}

/* ------------------------------------------------------------------------ */
/* nghttp2: one thread per side, epoll, mem_recv / mem_send                  */
/* ------------------------------------------------------------------------ */

static int ng_fail(ng_end *e, const char *what, int rv)
{
    bench_fail(&e->run->err, "nghttp2 %s: %s: %s", e->cli != NULL ? "client" : "server", what,
               nghttp2_strerror(rv));
    e2e_abort(e->run);
    return -1;
}

static int ng_update_epoll(int epfd, ng_end *e, bool want_out)
{
    if (e->epollout == want_out)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = e};
    e->epollout = want_out;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ev);
}

/* Writes what the session has to send; EPOLLOUT while the socket is full. */
static int ng_flush(int epfd, ng_end *e)
{
    for (;;) {
        if (e->out_off == e->out_len) {
            e->out_off = e->out_len = 0;
            while (e->out_len < E2E_OUT_HIGH) {
                const uint8_t *d = NULL;
                ssize_t n = nghttp2_session_mem_send(e->s, &d);
                if (n < 0)
                    return ng_fail(e, "nghttp2_session_mem_send", (int)n);
                if (n == 0)
                    break;
                if (e->out_len + (size_t)n > e->out_cap) {
                    size_t cap = e->out_cap * 2;
                    while (cap < e->out_len + (size_t)n)
                        cap *= 2;
                    uint8_t *p = realloc(e->out, cap);
                    if (p == NULL)
                        return ng_fail(e, "output buffer", NGHTTP2_ERR_NOMEM);
                    e->out = p;
                    e->out_cap = cap;
                }
                memcpy(e->out + e->out_len, d, (size_t)n);
                e->out_len += (size_t)n;
            }
            if (e->out_len == 0)
                break;
        }
        ssize_t w = send(e->fd, e->out + e->out_off, e->out_len - e->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return ng_update_epoll(epfd, e, true);
            bench_fail(&e->run->err, "nghttp2: send: %s", strerror(errno));
            e2e_abort(e->run);
            return -1;
        }
        e->out_off += (size_t)w;
    }
    return ng_update_epoll(epfd, e, false);
}

/* Reads once from a readable socket and feeds the session. */
static int ng_read(int epfd, ng_end *e, uint8_t *buf)
{
    ssize_t n = read(e->fd, buf, E2E_READ_BUF);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        bench_fail(&e->run->err, "nghttp2: read: %s", strerror(errno));
        e2e_abort(e->run);
        return -1;
    }
    if (n == 0) {
        if (atomic_load(&e->run->stopping))
            return 0;
        bench_fail(&e->run->err, "nghttp2: the peer closed a connection");
        e2e_abort(e->run);
        return -1;
    }
    ssize_t rv = nghttp2_session_mem_recv(e->s, buf, (size_t)n);
    if (rv < 0)
        return ng_fail(e, "nghttp2_session_mem_recv", (int)rv);
    return ng_flush(epfd, e);
}

/* Server callbacks; |user_data| is the ng_end. */

static ssize_t ng_srv_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                                size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                                void *user_data)
{
    (void)source;
    ng_end *e = user_data;
    size_t sent = (size_t)(uintptr_t)nghttp2_session_get_stream_user_data(session, stream_id);
    size_t n = e->run->p.body - sent;
    if (n > length)
        n = length;
    memcpy(buf, e2e_body + sent, n);
    sent += n;
    if (sent == e->run->p.body)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    else
        nghttp2_session_set_stream_user_data(session, stream_id, (void *)(uintptr_t)sent);
    return (ssize_t)n;
}

static int ng_srv_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                            const uint8_t *name, size_t namelen, const uint8_t *value,
                            size_t valuelen, uint8_t flags, void *user_data)
{
    (void)session;
    (void)flags;
    ng_end *e = user_data;
    bool bad = false;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        bad = true;
    else if (bytes_are(name, namelen, ":method"))
        bad = !bytes_are(value, valuelen, "GET");
    else if (bytes_are(name, namelen, ":path"))
        bad = !bytes_are(value, valuelen, e2e_path);
    if (bad) {
        bench_fail(&e->run->err, "nghttp2 server: bad request on stream %d", frame->hd.stream_id);
        e2e_abort(e->run);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int ng_srv_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
                                void *user_data)
{
    ng_end *e = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        bench_fail(&e->run->err, "nghttp2 server: request with a body");
        e2e_abort(e->run);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    nghttp2_data_provider prd;
    prd.source.ptr = NULL;
    prd.read_callback = ng_srv_read_body;
    int rv = nghttp2_submit_response(session, frame->hd.stream_id, e2e_resp_nv, E2E_N_RESP,
                                     e->run->p.body > 0 ? &prd : NULL);
    if (rv != 0) {
        ng_fail(e, "nghttp2_submit_response", rv);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

/* Client callbacks; |user_data| is the ng_end. */

static int ng_cli_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                            const uint8_t *name, size_t namelen, const uint8_t *value,
                            size_t valuelen, uint8_t flags, void *user_data)
{
    (void)session;
    (void)flags;
    ng_end *e = user_data;
    e2e_stream *st = e2e_stream_of(e->cli, (uint32_t)frame->hd.stream_id);
    if (st == NULL || frame->hd.type != NGHTTP2_HEADERS) {
        bench_fail(&e->run->err, "nghttp2 client: headers on unknown stream %d",
                   frame->hd.stream_id);
        e2e_abort(e->run);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (bytes_are(name, namelen, ":status"))
        st->status_ok = bytes_are(value, valuelen, "200");
    return 0;
}

static int ng_cli_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                          const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    (void)data;
    ng_end *e = user_data;
    e2e_stream *st = e2e_stream_of(e->cli, (uint32_t)stream_id);
    if (st == NULL) {
        bench_fail(&e->run->err, "nghttp2 client: DATA on unknown stream %d", stream_id);
        e2e_abort(e->run);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    st->got += (uint32_t)len;
    return 0;
}

static int ng_issue(ng_end *e)
{
    int32_t id = nghttp2_submit_request(e->s, NULL, e2e_req_nv, E2E_N_REQ, NULL, NULL);
    if (id < 0)
        return ng_fail(e, "nghttp2_submit_request", id);
    e->cli->issued++;
    return 0;
}

static int ng_cli_on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)session;
    ng_end *e = user_data;
    if (error_code != NGHTTP2_NO_ERROR) {
        bench_fail(&e->run->err, "nghttp2 client: stream %d closed with error %u", stream_id,
                   error_code);
        e2e_abort(e->run);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (e2e_complete(e->cli, (uint32_t)stream_id) && ng_issue(e) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return bench_failed(&e->run->err) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int ng_cli_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
                                void *user_data)
{
    (void)session;
    ng_end *e = user_data;
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
        e->ping_acked = true;
    return 0;
}

static nghttp2_session_callbacks *ng_e2e_srv_cbs, *ng_e2e_cli_cbs;

static int ng_e2e_callbacks(void)
{
    if (ng_e2e_srv_cbs != NULL)
        return 0;
    if (nghttp2_session_callbacks_new(&ng_e2e_srv_cbs) != 0 ||
        nghttp2_session_callbacks_new(&ng_e2e_cli_cbs) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_header_callback(ng_e2e_srv_cbs, ng_srv_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(ng_e2e_srv_cbs, ng_srv_on_frame_recv);
    nghttp2_session_callbacks_set_on_header_callback(ng_e2e_cli_cbs, ng_cli_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(ng_e2e_cli_cbs, ng_cli_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(ng_e2e_cli_cbs, ng_cli_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(ng_e2e_cli_cbs, ng_cli_on_frame_recv);
    return 0;
}

static void ng_e2e_callbacks_free(void)
{
    nghttp2_session_callbacks_del(ng_e2e_srv_cbs);
    nghttp2_session_callbacks_del(ng_e2e_cli_cbs);
    ng_e2e_srv_cbs = ng_e2e_cli_cbs = NULL;
}

/* Creates the session of |e| on socket |fd| (made non-blocking) and queues its SETTINGS. */
static int ng_end_open(e2e_run *r, ng_end *e, int fd, e2e_client *cli)
{
    e->run = r;
    e->cli = cli;
    e->fd = fd;
    e->out_cap = E2E_OUT_HIGH * 2;
    e->out = malloc(e->out_cap);
    int fl = fcntl(fd, F_GETFL);
    if (e->out == NULL || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return bench_fail(&r->err, "nghttp2: connection set-up");
    int rv;
    if (cli != NULL) {
        rv = nghttp2_session_client_new(&e->s, ng_e2e_cli_cbs, e);
        if (rv == 0)
            rv = nghttp2_submit_settings(e->s, NGHTTP2_FLAG_NONE, NULL, 0);
        cli->ng = e;
    } else {
        nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
        rv = nghttp2_session_server_new(&e->s, ng_e2e_srv_cbs, e);
        if (rv == 0)
            rv = nghttp2_submit_settings(e->s, NGHTTP2_FLAG_NONE, iv, 1);
    }
    if (rv != 0)
        return bench_fail(&r->err, "nghttp2: session set-up: %s", nghttp2_strerror(rv));
    return 0;
}

static void ng_end_close(ng_end *e)
{
    nghttp2_session_del(e->s);
    free(e->out);
    memset(e, 0, sizeof *e);
}

/*
 * One side's loop: |ends| (K of them) on one epoll set. The server runs
 * until |r->srv_wake| is readable; the client exchanges SETTINGS and a PING
 * on every connection, waits at the barrier, then issues the requests and
 * runs until the last response or a failure.
 */
static void ng_side(e2e_run *r, ng_end *ends, bool client)
{
    uint8_t *buf = malloc(E2E_READ_BUF);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    bool went = false;
    if (buf == NULL || epfd < 0) {
        bench_fail(&r->err, "nghttp2: epoll or buffer");
        goto out;
    }
    for (unsigned i = 0; i < r->p.conns; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ends[i]};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, ends[i].fd, &ev) != 0) {
            bench_fail(&r->err, "nghttp2: epoll_ctl: %s", strerror(errno));
            goto out;
        }
        static const uint8_t opaque[8] = {'h', '2', 'b', 'e', 'n', 'c', 'h', 0};
        if (client) {
            int rv = nghttp2_submit_ping(ends[i].s, NGHTTP2_FLAG_NONE, opaque);
            if (rv != 0) {
                ng_fail(&ends[i], "nghttp2_submit_ping", rv);
                goto out;
            }
        }
        if (ng_flush(epfd, &ends[i]) != 0)
            goto out;
    }
    if (!client) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, r->srv_wake, &ev) != 0) {
            bench_fail(&r->err, "nghttp2: epoll_ctl: %s", strerror(errno));
            goto out;
        }
    }
    struct epoll_event evs[E2E_MAX_CONNS + 1];
    for (;;) {
        if (bench_failed(&r->err))
            break;
        if (client && !went) {
            unsigned acked = 0;
            for (unsigned i = 0; i < r->p.conns; i++)
                acked += ends[i].ping_acked;
            if (acked == r->p.conns) {
                went = true;
                pthread_barrier_wait(&r->go);
                clock_gettime(CLOCK_MONOTONIC, &r->start);
                for (unsigned i = 0; i < r->p.conns; i++) {
                    e2e_client *c = ends[i].cli;
                    uint32_t n = c->quota < r->p.streams ? c->quota : r->p.streams;
                    for (uint32_t k = 0; k < n; k++)
                        if (ng_issue(&ends[i]) != 0)
                            goto out;
                    if (ng_flush(epfd, &ends[i]) != 0)
                        goto out;
                }
            }
        }
        if (client && r->completed == r->p.requests)
            break;
        int n = epoll_wait(epfd, evs, E2E_MAX_CONNS + 1, 100);
        if (n < 0 && errno != EINTR) {
            bench_fail(&r->err, "nghttp2: epoll_wait: %s", strerror(errno));
            break;
        }
        bool stop = false;
        for (int i = 0; i < n; i++) {
            ng_end *e = evs[i].data.ptr;
            if (e == NULL) {
                stop = true;
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && ng_flush(epfd, e) != 0)
                goto out;
            if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && ng_read(epfd, e, buf) != 0)
                goto out;
        }
        if (stop)
            break;
    }
out:
    if (client && !went) {
        /* Release the main thread from the barrier; the failure is recorded. */
        bench_fail(&r->err, "nghttp2 client: stopped before the requests");
        pthread_barrier_wait(&r->go);
    }
    e2e_abort(r);
    if (epfd >= 0)
        close(epfd);
    free(buf);
}

static void *ng_srv_main(void *arg)
{
    e2e_run *r = arg;
    ng_side(r, r->srv_end, false);
    return NULL;
}

static void *ng_cli_main(void *arg)
{
    e2e_run *r = arg;
    ng_side(r, r->cli_end, true);
    return NULL;
}

/* One nghttp2 sample: requests per second, or -1. */
static double ng_e2e_sample(e2e_run *r, double *cpu_us)
{
    double rate = -1;
    bool srv_started = false, cli_started = false, barrier = false;
    pthread_t ts, tc;
    if (ng_e2e_callbacks() != 0) {
        bench_fail(&r->err, "nghttp2: callbacks");
        return -1;
    }
    if (e2e_sockets(r) != 0)
        goto out;
    for (unsigned i = 0; i < r->p.conns; i++) {
        if (ng_end_open(r, &r->srv_end[i], r->srv_fd[i], NULL) != 0 ||
            ng_end_open(r, &r->cli_end[i], r->cli_fd[i], &r->cli[i]) != 0)
            goto out;
    }
    r->srv_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->srv_wake < 0 || pthread_barrier_init(&r->go, NULL, 2) != 0) {
        bench_fail(&r->err, "eventfd or barrier");
        goto out;
    }
    barrier = true;
    if (pthread_create(&ts, NULL, ng_srv_main, r) != 0) {
        bench_fail(&r->err, "pthread_create");
        goto out;
    }
    srv_started = true;
    if (pthread_create(&tc, NULL, ng_cli_main, r) != 0) {
        bench_fail(&r->err, "pthread_create");
        goto out;
    }
    cli_started = true;

    struct timespec cpu0, cpu1;
    pthread_barrier_wait(&r->go);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    if (e2e_wait_done(r) != 0)
        goto out;
    pthread_join(tc, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    cli_started = false;
    rate = (double)r->p.requests / elapsed_s(&r->start, &r->end);
    *cpu_us = elapsed_s(&cpu0, &cpu1) * 1e6 / (double)r->p.requests;
out:
    atomic_store(&r->stopping, 1);
    if (cli_started)
        pthread_join(tc, NULL);
    if (srv_started) {
        uint64_t one = 1;
        if (write(r->srv_wake, &one, sizeof one) != (ssize_t)sizeof one)
            bench_fail(&r->err, "eventfd write");
        pthread_join(ts, NULL);
    }
    if (barrier)
        pthread_barrier_destroy(&r->go);
    if (r->srv_wake >= 0)
        close(r->srv_wake);
    r->srv_wake = -1;
    for (unsigned i = 0; i < r->p.conns; i++) {
        ng_end_close(&r->srv_end[i]);
        ng_end_close(&r->cli_end[i]);
    }
    e2e_close_sockets(r);
    return rate;
}

/* ------------------------------------------------------------------------ */
/* Rounds                                                                    */
/* ------------------------------------------------------------------------ */

enum { E2E_OURS = 0, E2E_NGHTTP2 = 1 };

/* One sample of |impl| in a fresh run; returns requests/s or -1 (message printed). */
static double e2e_sample(int impl, const e2e_params *p, double *cpu_us)
{
    e2e_run *r = e2e_run_new(p);
    if (r == NULL) {
        fprintf(stderr, "bench_service: out of memory\n");
        return -1;
    }
    double rate = impl == E2E_OURS ? ours_e2e_sample(r, cpu_us) : ng_e2e_sample(r, cpu_us);
    if (rate < 0 || bench_failed(&r->err)) {
        fprintf(stderr, "bench_service: e2e %s: %s\n", impl == E2E_OURS ? "libh2" : "nghttp2",
                bench_message(&r->err));
        rate = -1;
    }
    e2e_run_free(r);
    return rate;
}

/*
 * Runs |rounds| rounds (plus one unmeasured warm-up of each), alternating
 * which library goes first, prints every round and the medians, and the
 * RESULT line when both ran. |only|: -1 both, E2E_OURS or E2E_NGHTTP2.
 * Returns 0 or -1.
 */
static int e2e_part(const e2e_params *p, int rounds, int only)
{
    enum { MAXR = 99 };
    double v[2][MAXR], cpu[2][MAXR], cpu_unused;
    if (rounds < 1 || rounds > MAXR || p->conns < 1 || p->conns > E2E_MAX_CONNS ||
        p->streams < 1 || p->body > E2E_MAX_BODY || p->requests < p->conns) {
        fprintf(stderr, "bench_service: bad e2e parameters\n");
        return -1;
    }
    for (size_t i = 0; i < p->body; i++)
        e2e_body[i] = (uint8_t)('a' + i % 26);
    e2e_build_nv(e2e_req_nv, e2e_req_fields, E2E_N_REQ);
    e2e_build_nv(e2e_resp_nv, e2e_resp_fields, E2E_N_RESP);

    printf("\nend-to-end over loopback TCP: %u connections x %u streams, %zu-byte bodies, "
           "%llu requests per sample, %d rounds\n",
           p->conns, p->streams, p->body, (unsigned long long)p->requests, rounds);
    printf("(libh2: server service + client service, 1 worker each, callbacks on the workers;\n"
           " nghttp2: server thread + client thread, epoll, mem_recv/mem_send)\n");
    for (int impl = 0; impl < 2; impl++)
        if ((only < 0 || only == impl) && e2e_sample(impl, p, &cpu_unused) < 0)
            return -1;
    printf("round    libh2 req/s  nghttp2 req/s   libh2 CPU us/req  nghttp2 CPU us/req\n");
    for (int round = 0; round < rounds; round++) {
        for (int j = 0; j < 2; j++) {
            int impl = (round + j) % 2;
            v[impl][round] = cpu[impl][round] = 0;
            if (only >= 0 && only != impl)
                continue;
            v[impl][round] = e2e_sample(impl, p, &cpu[impl][round]);
            if (v[impl][round] < 0)
                return -1;
        }
        printf("%-5d %14.0f %14.0f %18.2f %19.2f\n", round + 1, v[E2E_OURS][round],
               v[E2E_NGHTTP2][round], cpu[E2E_OURS][round], cpu[E2E_NGHTTP2][round]);
        fflush(stdout);
    }
    double med[2], cmed[2];
    for (int impl = 0; impl < 2; impl++) {
        med[impl] = median(v[impl], rounds);
        cmed[impl] = median(cpu[impl], rounds);
    }
    printf("median %13.0f %14.0f %18.2f %19.2f\n", med[E2E_OURS], med[E2E_NGHTTP2],
           cmed[E2E_OURS], cmed[E2E_NGHTTP2]);
    ng_e2e_callbacks_free();
    if (only < 0)
        printf("RESULT service-e2e ours=%.0f nghttp2=%.0f better=%.2f\n", med[E2E_OURS],
               med[E2E_NGHTTP2], med[E2E_OURS] / med[E2E_NGHTTP2]);
    return 0;
}

#endif /* BENCH_SERVICE_E2E_H */
