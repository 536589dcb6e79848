/*
 * bench_service_threads, the nghttp2 server's event loops, start and stop
 * (included by bench/bench_service_threads.c only; every function here is
 * static). bench/bench_threads_ng.h describes the design.
 */
#ifndef BENCH_THREADS_NG_LOOP_H
#define BENCH_THREADS_NG_LOOP_H

#include "bench_threads_ng.h"

/* Takes the whole inbox at once: new sockets are opened, responses submitted. */
static void ng_take_inbox(ng_loop *l)
{
    ng_srv *s = l->srv;
    int fds[TH_MAX_CONNS];
    unsigned ks[TH_MAX_CONNS], n;
    th_drain_eventfd(l->wake);
    pthread_mutex_lock(&l->mu);
    ng_req *r = l->resp_head;
    l->resp_head = l->resp_tail = NULL;
    n = l->n_new;
    memcpy(fds, l->new_fd, n * sizeof fds[0]);
    memcpy(ks, l->new_k, n * sizeof ks[0]);
    l->n_new = 0;
    l->woken = false;
    pthread_mutex_unlock(&l->mu);
    for (unsigned i = 0; i < n; i++)
        ng_conn_open(l, fds[i], ks[i]);
    for (ng_req *next; r != NULL; r = next) {
        next = r->next;
        r->next = NULL;
        r->at_app = false;
        ng_conn *c = r->conn;
        if (r->closed) {
            ng_req_unlink(r);
            free(r);
            continue;
        }
        if (c->dead)
            continue; /* freed with the connection */
        nghttp2_data_provider prd;
        prd.source.ptr = r;
        prd.read_callback = ng_read_body;
        int rv = nghttp2_submit_response(c->s, r->stream_id, th_resp_nv, TH_N_RESP,
                                         r->body_len > 0 ? &prd : NULL);
        if (rv != 0)
            th_fail(s->err, "nghttp2_submit_response: %s", nghttp2_strerror(rv));
        ng_mark_dirty(c);
    }
}

/* Appends this turn's complete requests to each application thread's queue. */
static void ng_hand_over(ng_loop *l)
{
    ng_srv *s = l->srv;
    for (unsigned i = 0; i < s->p.apps; i++) {
        if (l->batch_head[i] == NULL)
            continue;
        ng_app *a = &s->app[i];
        pthread_mutex_lock(&a->mu);
        if (a->head == NULL)
            a->head = l->batch_head[i];
        else
            a->tail->next = l->batch_head[i];
        a->tail = l->batch_tail[i];
        if (a->waiting)
            pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        l->batch_head[i] = l->batch_tail[i] = NULL;
    }
}

static void *ng_loop_main(void *arg)
{
    ng_loop *l = arg;
    ng_srv *s = l->srv;
    uint8_t *buf = malloc(TH_READ_BUF);
    struct epoll_event evs[64];
    if (buf == NULL)
        th_fail(s->err, "nghttp2 server: out of memory");
    while (buf != NULL && !atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        int n = epoll_wait(l->epfd, evs, 64, -1);
        l->turns++;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &l->wake) {
                ng_take_inbox(l);
            } else if (p == &s->lfd) {
                ng_accept(l);
            } else {
                ng_conn *c = p;
                if (c->dead)
                    continue;
                if (evs[i].events & EPOLLOUT)
                    ng_mark_dirty(c);
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    ng_read(c, buf);
            }
        }
        ng_hand_over(l);
        while (l->dirty != NULL) {
            ng_conn *c = l->dirty;
            l->dirty = c->next_dirty;
            c->dirty = false;
            ng_flush(c);
        }
    }
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                            */
/* ------------------------------------------------------------------------ */

static void ng_stop(void *state, th_stats *st);

/* Starts the server on the listening socket |lfd| (taken over in every case). */
static void *ng_start(const th_params *p, int lfd, th_error *err)
{
    ng_srv *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(lfd);
        th_fail(err, "out of memory");
        return NULL;
    }
    s->p = *p;
    s->err = err;
    s->lfd = lfd;
    for (unsigned i = 0; i < TH_MAX_THREADS; i++)
        s->loop[i].epfd = s->loop[i].wake = -1;
    if (nghttp2_session_callbacks_new(&s->cbs) != 0 || th_prepare_socket(lfd) != 0) {
        th_fail(err, "nghttp2 server: set-up");
        ng_stop(s, NULL);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, ng_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(s->cbs, ng_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, ng_on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, ng_on_stream_close);
    for (unsigned i = 0; i < p->apps; i++) {
        ng_app *a = &s->app[i];
        a->srv = s;
        pthread_mutex_init(&a->mu, NULL);
        pthread_cond_init(&a->cv, NULL);
        if (pthread_create(&a->thread, NULL, ng_app_main, a) != 0) {
            th_fail(err, "pthread_create");
            ng_stop(s, NULL);
            return NULL;
        }
        s->apps_started++;
    }
    /* Every loop is set up before any runs: loop 0 hands sockets to the others. */
    for (unsigned i = 0; i < p->workers; i++) {
        ng_loop *l = &s->loop[i];
        l->srv = s;
        l->index = i;
        pthread_mutex_init(&l->mu, NULL);
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    s->loops_started = p->workers; /* from here on ng_stop cleans every loop up */
    for (unsigned i = 0; i < p->workers; i++) {
        ng_loop *l = &s->loop[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->wake};
        struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &s->lfd};
        if (l->epfd < 0 || l->wake < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake, &ev) != 0 ||
            (i == 0 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, lfd, &lev) != 0)) {
            th_fail(err, "nghttp2 server: event loop set-up: %s", strerror(errno));
            ng_stop(s, NULL);
            return NULL;
        }
    }
    for (unsigned i = 0; i < p->workers; i++) {
        if (pthread_create(&s->loop[i].thread, NULL, ng_loop_main, &s->loop[i]) != 0) {
            th_fail(err, "pthread_create");
            ng_stop(s, NULL);
            return NULL;
        }
    }
    return s;
}

/* Stops the threads, frees everything; fills |st| (may be NULL). */
static void ng_stop(void *state, th_stats *st)
{
    ng_srv *s = state;
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    for (unsigned i = 0; i < s->loops_started; i++)
        if (s->loop[i].wake >= 0)
            th_wake(s->loop[i].wake);
    for (unsigned i = 0; i < s->apps_started; i++) {
        pthread_mutex_lock(&s->app[i].mu);
        pthread_cond_broadcast(&s->app[i].cv);
        pthread_mutex_unlock(&s->app[i].mu);
    }
    for (unsigned i = 0; i < s->loops_started; i++)
        if (s->loop[i].thread)
            pthread_join(s->loop[i].thread, NULL);
    th_stats sum = {0};
    for (unsigned i = 0; i < s->loops_started; i++)
        sum.turns += s->loop[i].turns;
    for (unsigned i = 0; i < s->apps_started; i++) {
        pthread_join(s->app[i].thread, NULL);
        sum.answered += s->app[i].answered;
        sum.batches += s->app[i].batches;
        pthread_mutex_destroy(&s->app[i].mu);
        pthread_cond_destroy(&s->app[i].cv);
    }
    /* Every request is on its connection's live list, wherever it waited. */
    for (unsigned i = 0; i < s->loops_started; i++) {
        ng_loop *l = &s->loop[i];
        for (unsigned j = 0; j < l->n_conns; j++) {
            ng_conn *c = l->conns[j];
            nghttp2_session_del(c->s);
            for (ng_req *r = c->live, *next; r != NULL; r = next) {
                next = r->live_next;
                free(r);
            }
            if (c->fd >= 0)
                close(c->fd);
            free(c->out);
            free(c);
        }
        for (unsigned j = 0; j < l->n_new; j++)
            close(l->new_fd[j]);
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wake >= 0)
            close(l->wake);
        pthread_mutex_destroy(&l->mu);
    }
    nghttp2_session_callbacks_del(s->cbs);
    close(s->lfd);
    free(s);
    if (st != NULL)
        *st = sum;
}

#endif /* BENCH_THREADS_NG_LOOP_H */
