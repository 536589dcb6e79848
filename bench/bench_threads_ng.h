/*
 * bench_service_threads, the nghttp2 server (included by
 * bench/bench_service_threads.c only; every function here is static): how a
 * multithreaded C server runs nghttp2 when requests are answered on
 * application threads.
 *
 * W event-loop threads own the connections and their sessions; loop 0
 * accepts and hands connection k to loop k % W (through that loop's inbox
 * and eventfd), which serves it with application thread k % A. A loop
 * turn:
 *   1. epoll_wait over its sockets, its eventfd (and the listening socket);
 *   2. a readable socket: one read() of up to 64 KiB given to
 *      nghttp2_session_mem_recv(); the callbacks copy the request's header
 *      fields into a request record (one malloc per request, holding the
 *      fields and, later, the response body); a request complete (HEADERS
 *      with END_STREAM) goes on a per-application-thread list;
 *   3. its eventfd: the whole inbox of responses (and new connections) is
 *      taken under the inbox mutex at once; each response is submitted with
 *      nghttp2_submit_response() and a data provider that copies the body;
 *   4. each application thread's list is appended to that thread's queue
 *      (mutex + condition variable, signalled only when the thread waits):
 *      one lock per thread and turn;
 *   5. every session that received bytes or responses is flushed:
 *      nghttp2_session_mem_send() chunks gathered into the connection's
 *      buffer (up to 64 KiB) and written with send(); EPOLLOUT while the
 *      socket is full.
 * An application thread takes its whole queue at once, checks each request
 * (the same check as libh2's application), copies the body into the
 * record, and hands the responses back per loop: one inbox lock per loop
 * and batch, and an eventfd write only when the loop has not been woken
 * since it last emptied its inbox.
 */
#ifndef BENCH_THREADS_NG_H
#define BENCH_THREADS_NG_H

#include "bench_threads_common.h"

#define NG_MAX_FIELDS 24
#define NG_HDR_BYTES 1024

struct ng_conn;

/* One request, from its HEADERS to its stream's close. */
typedef struct ng_req {
    struct ng_req *next;              /* queue links (application queue, inbox) */
    struct ng_req *live_prev, *live_next; /* the connection's live requests (loop only) */
    struct ng_conn *conn;
    int32_t stream_id;
    bool at_app;   /* loop only: handed to the application, not back yet */
    bool closed;   /* loop only: the stream closed while at the application */
    size_t n_fields, used;
    h2_header fields[NG_MAX_FIELDS];
    uint8_t hdr[NG_HDR_BYTES];
    size_t body_len, body_sent;
    uint8_t body[]; /* the response body, filled by the application */
} ng_req;

typedef struct ng_conn {
    struct ng_loop *loop;
    unsigned app;
    int fd;
    nghttp2_session *s;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    bool epollout, dirty, dead;
    struct ng_conn *next_dirty;
    ng_req *live;
} ng_conn;

/* An application thread's request queue. */
typedef struct ng_app {
    struct ng_srv *srv;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ng_req *head, *tail;
    bool waiting;
    uint64_t answered;
    uint64_t batches;
} ng_app;

typedef struct ng_loop {
    struct ng_srv *srv;
    unsigned index;
    pthread_t thread;
    int epfd, wake;
    /* The inbox: responses from the application threads, new sockets from
     * loop 0. */
    pthread_mutex_t mu;
    ng_req *resp_head, *resp_tail;
    bool woken; /* an eventfd write is outstanding */
    int new_fd[TH_MAX_CONNS];
    unsigned new_k[TH_MAX_CONNS], n_new;
    /* Loop only. */
    ng_conn *conns[TH_MAX_CONNS];
    unsigned n_conns;
    uint64_t turns;
    ng_conn *dirty;
    ng_req *batch_head[TH_MAX_THREADS], *batch_tail[TH_MAX_THREADS];
} ng_loop;

typedef struct ng_srv {
    th_params p;
    th_error *err;
    int lfd;
    unsigned accepted;
    nghttp2_session_callbacks *cbs;
    ng_app app[TH_MAX_THREADS];
    unsigned apps_started;
    ng_loop loop[TH_MAX_THREADS];
    unsigned loops_started;
    atomic_int stop;
} ng_srv;

/* ------------------------------------------------------------------------ */
/* Application threads                                                       */
/* ------------------------------------------------------------------------ */

static void *ng_app_main(void *arg)
{
    ng_app *a = arg;
    ng_srv *s = a->srv;
    ng_req *back_head[TH_MAX_THREADS], *back_tail[TH_MAX_THREADS];
    for (;;) {
        pthread_mutex_lock(&a->mu);
        while (a->head == NULL && !atomic_load_explicit(&s->stop, memory_order_relaxed)) {
            a->waiting = true;
            pthread_cond_wait(&a->cv, &a->mu);
            a->waiting = false;
        }
        ng_req *r = a->head;
        a->head = a->tail = NULL;
        pthread_mutex_unlock(&a->mu);
        if (r == NULL)
            return NULL; /* stopping */
        a->batches++;
        memset(back_head, 0, sizeof back_head);
        for (ng_req *next; r != NULL; r = next) {
            next = r->next;
            r->next = NULL;
            if (!th_request_ok(r->fields, r->n_fields))
                th_fail(s->err, "nghttp2 application: bad request on stream %d", r->stream_id);
            memcpy(r->body, th_body, s->p.body);
            r->body_len = s->p.body;
            a->answered++;
            unsigned l = r->conn->loop->index;
            if (back_head[l] == NULL)
                back_head[l] = r;
            else
                back_tail[l]->next = r;
            back_tail[l] = r;
        }
        for (unsigned l = 0; l < s->p.workers; l++) {
            if (back_head[l] == NULL)
                continue;
            ng_loop *lp = &s->loop[l];
            pthread_mutex_lock(&lp->mu);
            if (lp->resp_head == NULL)
                lp->resp_head = back_head[l];
            else
                lp->resp_tail->next = back_head[l];
            lp->resp_tail = back_tail[l];
            bool wake = !lp->woken;
            lp->woken = true;
            pthread_mutex_unlock(&lp->mu);
            if (wake)
                th_wake(lp->wake);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Session callbacks (loop thread); |user_data| is the ng_conn               */
/* ------------------------------------------------------------------------ */

static void ng_req_unlink(ng_req *r)
{
    if (r->live_prev != NULL)
        r->live_prev->live_next = r->live_next;
    else
        r->conn->live = r->live_next;
    if (r->live_next != NULL)
        r->live_next->live_prev = r->live_prev;
}

static int ng_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                               void *user_data)
{
    ng_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    ng_req *r = th_malloc(sizeof *r + c->loop->srv->p.body);
    if (r == NULL)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    r->next = NULL;
    r->conn = c;
    r->stream_id = frame->hd.stream_id;
    r->at_app = r->closed = false;
    r->n_fields = r->used = 0;
    r->body_len = r->body_sent = 0;
    r->live_prev = NULL;
    r->live_next = c->live;
    if (c->live != NULL)
        c->live->live_prev = r;
    c->live = r;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, r);
    return 0;
}

static int ng_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data)
{
    (void)flags;
    ng_conn *c = user_data;
    ng_req *r = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (r == NULL)
        return 0;
    if (r->n_fields == NG_MAX_FIELDS || r->used + namelen + valuelen > NG_HDR_BYTES) {
        th_fail(c->loop->srv->err, "nghttp2 server: request header block too large");
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    h2_header *f = &r->fields[r->n_fields++];
    memcpy(r->hdr + r->used, name, namelen);
    f->name = r->hdr + r->used;
    f->name_len = namelen;
    r->used += namelen;
    memcpy(r->hdr + r->used, value, valuelen);
    f->value = r->hdr + r->used;
    f->value_len = valuelen;
    r->used += valuelen;
    f->flags = 0;
    return 0;
}

static int ng_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    ng_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    ng_req *r = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (r == NULL)
        return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        th_fail(c->loop->srv->err, "nghttp2 server: request with a body");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    ng_loop *l = c->loop;
    r->at_app = true;
    if (l->batch_head[c->app] == NULL)
        l->batch_head[c->app] = r;
    else
        l->batch_tail[c->app]->next = r;
    l->batch_tail[c->app] = r;
    return 0;
}

static int ng_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                              void *user_data)
{
    (void)error_code;
    (void)user_data;
    ng_req *r = nghttp2_session_get_stream_user_data(session, stream_id);
    if (r == NULL)
        return 0;
    if (r->at_app) {
        r->closed = true; /* freed when the application hands it back */
        return 0;
    }
    ng_req_unlink(r);
    free(r);
    return 0;
}

static ssize_t ng_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    ng_req *r = source->ptr;
    size_t n = r->body_len - r->body_sent;
    if (n > length)
        n = length;
    memcpy(buf, r->body + r->body_sent, n);
    r->body_sent += n;
    if (r->body_sent == r->body_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

static void ng_mark_dirty(ng_conn *c)
{
    if (!c->dirty && !c->dead) {
        c->dirty = true;
        c->next_dirty = c->loop->dirty;
        c->loop->dirty = c;
    }
}

static void ng_conn_kill(ng_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    epoll_ctl(c->loop->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void ng_set_epollout(ng_conn *c, bool on)
{
    if (c->epollout == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    c->epollout = on;
    epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what the session has, as far as the socket takes it. */
static void ng_flush(ng_conn *c)
{
    while (!c->dead) {
        if (c->out_off == c->out_len) {
            c->out_off = c->out_len = 0;
            while (c->out_len < TH_OUT_HIGH) {
                const uint8_t *d = NULL;
                ssize_t n = nghttp2_session_mem_send(c->s, &d);
                if (n < 0) {
                    th_fail(c->loop->srv->err, "nghttp2_session_mem_send: %s",
                            nghttp2_strerror((int)n));
                    ng_conn_kill(c);
                    return;
                }
                if (n == 0)
                    break;
                if (c->out_len + (size_t)n > c->out_cap) {
                    size_t cap = c->out_cap * 2;
                    while (cap < c->out_len + (size_t)n)
                        cap *= 2;
                    uint8_t *p = realloc(c->out, cap);
                    if (p == NULL) {
                        th_fail(c->loop->srv->err, "nghttp2 server: out of memory");
                        ng_conn_kill(c);
                        return;
                    }
                    c->out = p;
                    c->out_cap = cap;
                }
                memcpy(c->out + c->out_len, d, (size_t)n);
                c->out_len += (size_t)n;
            }
            if (c->out_len == 0)
                break;
        }
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ng_set_epollout(c, true);
            return;
        }
        if (w < 0) {
            ng_conn_kill(c); /* the peer is gone */
            return;
        }
        c->out_off += (size_t)w;
    }
    if (!c->dead)
        ng_set_epollout(c, false);
}

static void ng_read(ng_conn *c, uint8_t *buf)
{
    ssize_t n = read(c->fd, buf, TH_READ_BUF);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        ng_conn_kill(c);
        return;
    }
    ssize_t rv = nghttp2_session_mem_recv(c->s, buf, (size_t)n);
    if (rv < 0) {
        th_fail(c->loop->srv->err, "nghttp2_session_mem_recv: %s", nghttp2_strerror((int)rv));
        ng_conn_kill(c);
        return;
    }
    ng_mark_dirty(c);
}

/* Serves socket |fd|, the server's connection number |k|, on loop |l|. */
static void ng_conn_open(ng_loop *l, int fd, unsigned k)
{
    ng_srv *s = l->srv;
    ng_conn *c = calloc(1, sizeof *c);
    if (c == NULL || l->n_conns == TH_MAX_CONNS) {
        free(c);
        close(fd);
        th_fail(s->err, "nghttp2 server: too many connections");
        return;
    }
    l->conns[l->n_conns++] = c;
    c->loop = l;
    c->app = k % s->p.apps;
    c->fd = fd;
    c->out_cap = TH_OUT_HIGH * 2;
    c->out = malloc(c->out_cap);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (c->out == NULL || nghttp2_session_server_new3(&c->s, s->cbs, c, NULL, th_counting ? &th_ng_mem : NULL) != 0 ||
        nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 1) != 0 ||
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        th_fail(s->err, "nghttp2 server: connection set-up");
        c->dead = true;
        close(fd);
        c->fd = -1;
        return;
    }
    ng_mark_dirty(c);
}

static void ng_accept(ng_loop *l0)
{
    ng_srv *s = l0->srv;
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (th_prepare_socket(fd) != 0) {
            close(fd);
            continue;
        }
        unsigned k = s->accepted++;
        ng_loop *to = &s->loop[k % s->p.workers];
        if (to == l0) {
            ng_conn_open(l0, fd, k);
            continue;
        }
        pthread_mutex_lock(&to->mu);
        bool fits = to->n_new < TH_MAX_CONNS;
        if (fits) {
            to->new_fd[to->n_new] = fd;
            to->new_k[to->n_new++] = k;
        }
        bool wake = fits && !to->woken;
        to->woken |= fits;
        pthread_mutex_unlock(&to->mu);
        if (!fits)
            close(fd);
        if (wake)
            th_wake(to->wake);
    }
}

#endif /* BENCH_THREADS_NG_H */
