/*
 * bench_service_threads, libh2's server (included by
 * bench/bench_service_threads.c only; every function here is static).
 *
 * A service of W workers owns the connections. Each connection's events go
 * to the event queue of one application thread, chosen in turn as the
 * connections arrive (the recipe of docs/SERVICE.md, "Several application
 * threads"). An application thread waits on its queue
 * (h2_svc_queue_wait), takes up to TH_BATCH events at a time
 * (h2_svc_queue_poll), checks each request and posts the response with
 * h2_svc_respond() (head and body in one command; the body is copied by
 * the call), then releases the event. The worker sends it. The
 * posts of one poll's events form a batch (h2_svc_batch_begin/end): a
 * sleeping worker is woken once per batch, as the nghttp2 server's loop is
 * woken once per batch of responses.
 *
 * Transports:
 *   fd    the workers read and write the sockets themselves
 *         (h2_svc_listen on the listening socket);
 *   feed  one I/O thread per worker owns the sockets: I/O thread 0 accepts
 *         and hands connection k to I/O thread k % W, which attaches it
 *         with h2_svc_attach_feed() to worker k % W, reads its socket
 *         (epoll) and posts the bytes with h2_svc_feed(). The output
 *         callback, on the worker, writes to the socket at once and keeps
 *         what the socket did not take for the I/O thread, which sends it
 *         when the socket is writable.
 */
#ifndef BENCH_THREADS_OURS_H
#define BENCH_THREADS_OURS_H

#include <sched.h>

#include "bench_threads_common.h"

struct ours_srv;

/* Feed mode: one connection, owned by its I/O thread. */
typedef struct ours_feed_conn {
    struct ours_io *io;
    int fd;
    h2_svc_conn_id id;
    /* Guards what follows: the worker's output callback and the I/O
     * thread both touch it. */
    pthread_mutex_t mu;
    uint8_t *pend; /* output the socket did not take yet */
    size_t pend_len, pend_off, pend_cap;
    bool eof;    /* the peer closed; the socket is out of the epoll set */
    uint8_t *in; /* received bytes the service refused (H2_EAGAIN) */
    size_t in_len;
} ours_feed_conn;

/* Feed mode: an I/O thread. */
typedef struct ours_io {
    struct ours_srv *srv;
    unsigned index;
    pthread_t thread;
    int epfd, wake; /* |wake|: eventfd for new connections and the stop */
    pthread_mutex_t mu;
    int new_fd[TH_MAX_CONNS]; /* handed over by I/O thread 0, with their numbers */
    unsigned new_k[TH_MAX_CONNS];
    unsigned n_new;
    ours_feed_conn *conns[TH_MAX_CONNS];
    unsigned n_conns;
} ours_io;

typedef struct ours_app {
    struct ours_srv *srv;
    h2_svc_queue *q;
    pthread_t thread;
    uint64_t answered;
    uint64_t batches;
} ours_app;

typedef struct ours_srv {
    th_params p;
    th_error *err;
    h2_svc *svc;
    ours_app app[TH_MAX_THREADS];
    unsigned apps_started;
    ours_io io[TH_MAX_THREADS];
    unsigned io_started;
    int lfd;                /* feed mode: owned by I/O thread 0 */
    atomic_uint next_queue; /* fd mode: connections accepted so far */
    unsigned accepted;      /* feed mode: I/O thread 0 only */
    atomic_int stop;
} ours_srv;

/* ------------------------------------------------------------------------ */
/* Application threads                                                       */
/* ------------------------------------------------------------------------ */

static void ours_answer(ours_app *a, h2_svc_event *ev)
{
    ours_srv *s = a->srv;
    if (!ev->end_stream || !th_request_ok(ev->fields, ev->n_fields)) {
        th_fail(s->err, "libh2 application: bad request on stream %u", ev->stream_id);
        return;
    }
    int rc = h2_svc_respond(s->svc, ev->conn, ev->stream_id, th_resp_fields, TH_N_RESP, th_body,
                            s->p.body, 0);
    if (rc != 0 && rc != H2_ENOCONN)
        th_fail(s->err, "libh2 application: posting the response: %s", h2_strerror(rc));
    a->answered++;
}

static void *ours_app_main(void *arg)
{
    ours_app *a = arg;
    ours_srv *s = a->srv;
    h2_svc_event *evs[TH_BATCH];
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        size_t n = h2_svc_queue_poll(a->q, evs, TH_BATCH);
        if (n == 0) {
            if (h2_svc_queue_wait(a->q, 50) == 1 && th_app_yield)
                sched_yield(); /* diagnostic (--app-yield): let the worker finish its turn */
            continue;
        }
        a->batches++;
        h2_svc_batch_begin(s->svc);
        for (size_t i = 0; i < n; i++) {
            h2_svc_event *ev = evs[i];
            if (ev->type == H2_SVC_EV_REQUEST_RECEIVED)
                ours_answer(a, ev);
            else if (ev->type == H2_SVC_EV_COMMAND_FAILED && ev->reason == 0)
                th_fail(s->err, "libh2: command %d failed on stream %u: %s", ev->command,
                        ev->stream_id, h2_strerror(ev->error));
            h2_svc_event_release(ev);
        }
        h2_svc_batch_end(s->svc);
    }
    return NULL;
}

/* fd mode: the accept callback gives each connection the next queue. */
static int ours_on_accept(void *user, int fd, h2_svc_conn_config *cfg)
{
    (void)fd;
    ours_srv *s = user;
    unsigned k = atomic_fetch_add_explicit(&s->next_queue, 1, memory_order_relaxed);
    cfg->queue = s->app[k % s->p.apps].q;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Feed mode: the output callback and the I/O threads                        */
/* ------------------------------------------------------------------------ */

/* The epoll interest of |c| from its state; |c->mu| held. */
static void ours_feed_interest(ours_feed_conn *c)
{
    if (c->eof)
        return;
    struct epoll_event ev = {.events = (c->in_len == 0 ? EPOLLIN : 0u) |
                                       (c->pend_len > c->pend_off ? EPOLLOUT : 0u),
                             .data.ptr = c};
    epoll_ctl(c->io->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what |c| holds; |c->mu| held. */
static void ours_feed_send_pending(ours_feed_conn *c)
{
    while (c->pend_off < c->pend_len) {
        ssize_t w = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w <= 0) { /* the peer is gone: what is left will never be read */
            c->pend_off = c->pend_len;
            break;
        }
        c->pend_off += (size_t)w;
    }
    c->pend_off = c->pend_len = 0;
}

/* Output callback, on the worker: straight to the socket when nothing waits. */
static void ours_feed_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)conn;
    ours_feed_conn *c = user;
    pthread_mutex_lock(&c->mu);
    bool waited = c->pend_len > c->pend_off;
    while (!waited && len > 0 && !c->eof) {
        ssize_t w = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            len = 0; /* the peer is gone */
            break;
        }
        data += w;
        len -= (size_t)w;
    }
    if (len > 0 && !c->eof) {
        if (c->pend_len + len > c->pend_cap) {
            size_t cap = c->pend_cap ? c->pend_cap * 2 : 65536;
            while (cap < c->pend_len + len)
                cap *= 2;
            uint8_t *p = realloc(c->pend, cap);
            if (p == NULL) {
                th_fail(c->io->srv->err, "libh2 feed: out of memory");
                pthread_mutex_unlock(&c->mu);
                return;
            }
            c->pend = p;
            c->pend_cap = cap;
        }
        memcpy(c->pend + c->pend_len, data, len);
        c->pend_len += len;
        if (!waited)
            ours_feed_interest(c);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Posts |len| received bytes; keeps them when the service says H2_EAGAIN. */
static void ours_feed_post(ours_feed_conn *c, const uint8_t *data, size_t len)
{
    ours_srv *s = c->io->srv;
    int rc = h2_svc_feed(s->svc, c->id, data, len);
    if (rc == 0 || rc == H2_ENOCONN) {
        if (c->in_len > 0) {
            free(c->in);
            c->in = NULL;
            pthread_mutex_lock(&c->mu);
            c->in_len = 0;
            ours_feed_interest(c);
            pthread_mutex_unlock(&c->mu);
        }
        return;
    }
    if (rc != H2_EAGAIN) {
        th_fail(s->err, "libh2 feed: h2_svc_feed: %s", h2_strerror(rc));
        return;
    }
    if (c->in_len == 0) {
        c->in = malloc(len);
        if (c->in == NULL) {
            th_fail(s->err, "libh2 feed: out of memory");
            return;
        }
        memcpy(c->in, data, len);
        pthread_mutex_lock(&c->mu);
        c->in_len = len;
        ours_feed_interest(c); /* no reading until the service took these */
        pthread_mutex_unlock(&c->mu);
    }
}

static void ours_feed_read(ours_feed_conn *c, uint8_t *buf)
{
    ssize_t n = read(c->fd, buf, TH_READ_BUF);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        pthread_mutex_lock(&c->mu);
        c->eof = true;
        epoll_ctl(c->io->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        pthread_mutex_unlock(&c->mu);
        h2_svc_feed(c->io->srv->svc, c->id, NULL, 0); /* the peer closed */
        return;
    }
    ours_feed_post(c, buf, (size_t)n);
}

/* Attaches the accepted socket |fd|, the server's connection number |k|, to this I/O thread. */
static void ours_feed_attach(ours_io *io, int fd, unsigned k)
{
    ours_srv *s = io->srv;
    ours_feed_conn *c = calloc(1, sizeof *c);
    if (c == NULL || io->n_conns == TH_MAX_CONNS) {
        free(c);
        close(fd);
        th_fail(s->err, "libh2 feed: too many connections");
        return;
    }
    c->io = io;
    c->fd = fd;
    pthread_mutex_init(&c->mu, NULL);
    io->conns[io->n_conns++] = c;
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
    cc.queue = s->app[k % s->p.apps].q;
    cc.on_output = ours_feed_output;
    cc.user = c;
    cc.worker = (int)io->index;
    /* In the epoll set before the worker may write (the output callback
     * changes the interest); nothing is read before the attach returned,
     * since this thread reads. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        c->eof = true;
        th_fail(s->err, "libh2 feed: epoll_ctl: %s", strerror(errno));
        return;
    }
    int rc = h2_svc_attach_feed(s->svc, &cc, &c->id);
    if (rc != 0) {
        pthread_mutex_lock(&c->mu);
        c->eof = true;
        epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL);
        pthread_mutex_unlock(&c->mu);
        th_fail(s->err, "libh2 feed: attach: %s", h2_strerror(rc));
    }
}

/* I/O thread 0: accepts every waiting connection and deals them out. */
static void ours_feed_accept(ours_io *io0)
{
    ours_srv *s = io0->srv;
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (th_prepare_socket(fd) != 0) {
            close(fd);
            continue;
        }
        unsigned k = s->accepted++;
        ours_io *to = &s->io[k % s->p.workers];
        if (to == io0) {
            ours_feed_attach(io0, fd, k);
            continue;
        }
        pthread_mutex_lock(&to->mu);
        bool fits = to->n_new < TH_MAX_CONNS;
        if (fits) {
            to->new_fd[to->n_new] = fd;
            to->new_k[to->n_new++] = k;
        }
        pthread_mutex_unlock(&to->mu);
        if (!fits) {
            close(fd);
            continue;
        }
        th_wake(to->wake);
    }
}

static void ours_feed_take_new(ours_io *io)
{
    int fds[TH_MAX_CONNS];
    unsigned ks[TH_MAX_CONNS], n;
    pthread_mutex_lock(&io->mu);
    n = io->n_new;
    memcpy(fds, io->new_fd, n * sizeof fds[0]);
    memcpy(ks, io->new_k, n * sizeof ks[0]);
    io->n_new = 0;
    pthread_mutex_unlock(&io->mu);
    for (unsigned i = 0; i < n; i++)
        ours_feed_attach(io, fds[i], ks[i]);
}

static void *ours_io_main(void *arg)
{
    ours_io *io = arg;
    ours_srv *s = io->srv;
    uint8_t *buf = malloc(TH_READ_BUF);
    struct epoll_event evs[64];
    while (buf != NULL && !atomic_load(&s->stop)) {
        bool held = false; /* some connection keeps refused input */
        for (unsigned i = 0; i < io->n_conns; i++) {
            ours_feed_conn *c = io->conns[i];
            if (c->in_len > 0)
                ours_feed_post(c, c->in, c->in_len);
            held |= c->in_len > 0;
        }
        int n = epoll_wait(io->epfd, evs, 64, held ? 1 : -1);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &io->wake) {
                th_drain_eventfd(io->wake);
                ours_feed_take_new(io);
            } else if (p == &s->lfd) {
                ours_feed_accept(io);
            } else {
                ours_feed_conn *c = p;
                if (evs[i].events & EPOLLOUT) {
                    pthread_mutex_lock(&c->mu);
                    ours_feed_send_pending(c);
                    ours_feed_interest(c);
                    pthread_mutex_unlock(&c->mu);
                }
                if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->in_len == 0 && !c->eof)
                    ours_feed_read(c, buf);
            }
        }
    }
    if (buf == NULL)
        th_fail(s->err, "libh2 feed: out of memory");
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                            */
/* ------------------------------------------------------------------------ */

static void ours_stop(void *state, th_stats *st);

/* Feed mode: the I/O threads, on the listening socket |s->lfd|. Returns 0 or -1. */
static int ours_start_feed(ours_srv *s)
{
    unsigned w = s->p.workers;
    /* Every I/O thread is set up before any runs: thread 0 hands sockets to the others. */
    for (unsigned i = 0; i < w; i++) {
        ours_io *io = &s->io[i];
        io->srv = s;
        io->index = i;
        pthread_mutex_init(&io->mu, NULL);
        io->epfd = epoll_create1(EPOLL_CLOEXEC);
        io->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    s->io_started = w; /* from here on ours_stop cleans every one up */
    for (unsigned i = 0; i < w; i++) {
        ours_io *io = &s->io[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &io->wake};
        struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &s->lfd};
        if (io->epfd < 0 || io->wake < 0 || epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->wake, &ev) ||
            (i == 0 && (th_prepare_socket(s->lfd) != 0 ||
                        epoll_ctl(io->epfd, EPOLL_CTL_ADD, s->lfd, &lev) != 0)))
            return th_fail(s->err, "libh2 feed: I/O thread set-up: %s", strerror(errno));
    }
    for (unsigned i = 0; i < w; i++)
        if (pthread_create(&s->io[i].thread, NULL, ours_io_main, &s->io[i]) != 0)
            return th_fail(s->err, "pthread_create");
    return 0;
}

/* Starts the server on the listening socket |lfd| (taken over in every case). */
static void *ours_start(const th_params *p, int lfd, th_error *err)
{
    ours_srv *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(lfd);
        th_fail(err, "out of memory");
        return NULL;
    }
    s->p = *p;
    s->err = err;
    s->lfd = -1;
    h2_svc_config sc;
    h2_svc_config_init(&sc);
    sc.workers = p->workers;
    sc.post_wait_ms = 1000;
    sc.mem = th_counting ? &th_h2_mem : NULL;
    int rc = h2_svc_new(&s->svc, &sc);
    for (unsigned i = 0; rc == 0 && i < p->apps; i++) {
        s->app[i].srv = s;
        rc = h2_svc_queue_new(&s->app[i].q, TH_QUEUE_CAP, th_counting ? &th_h2_mem : NULL);
    }
    if (rc != 0) {
        close(lfd);
        th_fail(err, "libh2: service or queue: %s", h2_strerror(rc));
        ours_stop(s, NULL);
        return NULL;
    }
    for (unsigned i = 0; i < p->apps; i++) {
        if (pthread_create(&s->app[i].thread, NULL, ours_app_main, &s->app[i]) != 0) {
            close(lfd);
            th_fail(err, "pthread_create");
            ours_stop(s, NULL);
            return NULL;
        }
        s->apps_started++;
    }
    if (!p->feed) {
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
        cc.queue = s->app[0].q;
        rc = h2_svc_listen(s->svc, lfd, &cc, ours_on_accept, s);
        if (rc != 0) {
            close(lfd);
            th_fail(err, "h2_svc_listen: %s", h2_strerror(rc));
            ours_stop(s, NULL);
            return NULL;
        }
        return s;
    }
    s->lfd = lfd;
    if (ours_start_feed(s) != 0) {
        ours_stop(s, NULL);
        return NULL;
    }
    return s;
}

/*
 * Stops the threads (the service last: no call on it may run during its
 * free), frees everything; fills |st| (may be NULL).
 */
static void ours_stop(void *state, th_stats *st)
{
    ours_srv *s = state;
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    for (unsigned i = 0; i < s->io_started; i++) {
        if (s->io[i].wake >= 0)
            th_wake(s->io[i].wake);
    }
    for (unsigned i = 0; i < s->io_started; i++)
        if (s->io[i].thread)
            pthread_join(s->io[i].thread, NULL);
    th_stats sum = {0};
    for (unsigned i = 0; i < s->apps_started; i++) {
        pthread_join(s->app[i].thread, NULL);
        sum.answered += s->app[i].answered;
        sum.batches += s->app[i].batches;
    }
    for (unsigned i = 0; s->svc != NULL && i < s->p.workers; i++) {
        h2_svc_worker_stats ws;
        if (h2_svc_worker_get_stats(s->svc, i, &ws) == 0)
            sum.turns += ws.loops;
    }
    if (st != NULL)
        *st = sum;
    h2_svc_free(s->svc); /* output callbacks may still run until it returns */
    for (unsigned i = 0; i < TH_MAX_THREADS; i++)
        h2_svc_queue_free(s->app[i].q);
    for (unsigned i = 0; i < s->io_started; i++) {
        ours_io *io = &s->io[i];
        for (unsigned j = 0; j < io->n_conns; j++) {
            ours_feed_conn *c = io->conns[j];
            close(c->fd);
            pthread_mutex_destroy(&c->mu);
            free(c->pend);
            free(c->in);
            free(c);
        }
        for (unsigned j = 0; j < io->n_new; j++)
            close(io->new_fd[j]);
        if (io->epfd >= 0)
            close(io->epfd);
        if (io->wake >= 0)
            close(io->wake);
        pthread_mutex_destroy(&io->mu);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    free(s);
}

#endif /* BENCH_THREADS_OURS_H */
