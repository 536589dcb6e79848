/*
 * End-to-end part, nghttp2's side: a server thread and a client thread, each
 * an epoll loop over its sockets driving nghttp2 sessions with
 * nghttp2_session_mem_recv() and nghttp2_session_mem_send() (included by
 * bench/bench_service_e2e.h only; every function is static).
 */
#ifndef BENCH_SERVICE_E2E_NG_H
#define BENCH_SERVICE_E2E_NG_H

#include "bench_service_e2e_run.h"

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
    ng_end *e = user_data;
    e2e_stream *st = e2e_stream_of(e->cli, (uint32_t)stream_id);
    if (st == NULL) {
        bench_fail(&e->run->err, "nghttp2 client: DATA on unknown stream %d", stream_id);
        e2e_abort(e->run);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (e2e_body_chunk(e->cli, st, (uint32_t)stream_id, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
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

#endif /* BENCH_SERVICE_E2E_NG_H */
