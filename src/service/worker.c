/*
 * Service worker: the event loop that owns a set of connections.
 *
 * One turn: drain a batch of commands, take back released DATA events
 * (acknowledging them), retry connections whose events wait for queue
 * room, pump and flush every connection touched, then one epoll_wait()
 * over the sockets and the mailbox eventfd, and handle what it reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

#define BATCH 64
#define MAX_IO_EVENTS 64
/* Output segments handed to one sendmsg(). */
#define IOV_MAX_SEGMENTS 16
/* While events wait for queue room, the worker retries this often. */
#define BLOCKED_RETRY_MS 2

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */
/* ------------------------------------------------------------------------ */

static bool deliver(svc_conn *c, svc_event_rec *rec, bool force)
{
    if (c->queue != NULL)
        return svc_queue_offer(c->queue, rec, force);
    rec->next = NULL;
    c->on_event(c->user, &rec->pub);
    return true;
}

static void update_epoll(svc_conn *c);

static void mark_blocked(svc_conn *c)
{
    if (c->in_blocked)
        return;
    svc_worker *w = c->worker;
    c->in_blocked = true;
    c->blocked_next = w->blocked;
    w->blocked = c;
    update_epoll(c);
}

void svc_conn_emit(svc_conn *c, svc_event_rec *rec)
{
    rec->pub.conn = c->id;
    rec->pub.conn_user = c->user;
    rec->next = NULL;
    if (c->worker->stopping) {
        /* Shutdown: everything goes out, in order, whatever the fill. */
        while (c->pending.head != NULL) {
            svc_event_rec *p = c->pending.head;
            c->pending.head = p->next;
            p->ack_worker = NULL;
            deliver(c, p, true);
        }
        c->pending.tail = NULL;
        rec->ack_worker = NULL;
        deliver(c, rec, true);
        return;
    }
    if (c->pending.head == NULL && deliver(c, rec, false))
        return;
    if (c->pending.tail != NULL)
        c->pending.tail->next = rec;
    else
        c->pending.head = rec;
    c->pending.tail = rec;
    mark_blocked(c);
}

void svc_conn_touch(svc_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->worker->dirty;
    c->worker->dirty = c;
}

/* ------------------------------------------------------------------------ */
/* Transport                                                                 */
/* ------------------------------------------------------------------------ */

static void update_epoll(svc_conn *c)
{
    if (c->fd < 0)
        return;
    uint32_t want = 0;
    if (c->pending.head == NULL && c->reason == 0 && h2_conn_want_read(c->conn))
        want |= EPOLLIN;
    /* A hung-up socket stays readable: leave it out of the set until the
     * pending events are delivered, then read what is left and the EOF. */
    if (c->write_blocked && c->reason == 0 && !(c->hangup && c->pending.head != NULL))
        want |= EPOLLOUT;
    if (want == c->epoll_mask && (want != 0) == c->registered)
        return;
    svc_worker *w = c->worker;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (want == 0) {
        if (c->registered)
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, &ev);
        c->registered = false;
    } else if (!c->registered) {
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            svc_conn_finish(c, H2_SVC_CLOSE_IO, H2_EINTERNAL, errno);
            return;
        }
        c->registered = true;
    } else {
        epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
    c->epoll_mask = want;
}

/* A read or write failed: the peer went away (reset, broken pipe) or the socket broke. */
static void io_failed(svc_conn *c, int err)
{
    if (err == ECONNRESET || err == EPIPE)
        svc_conn_finish(c, H2_SVC_CLOSE_PEER_EOF, 0, err);
    else
        svc_conn_finish(c, H2_SVC_CLOSE_IO, H2_EINTERNAL, err);
}

/* Writes queued output; returns false when the connection failed. */
static bool flush(svc_conn *c)
{
    while (c->conn != NULL && h2_conn_want_write(c->conn)) {
        const uint8_t *data;
        size_t len;
        if (c->fd < 0) {
            h2_conn_output_view(c->conn, &data, &len);
            c->on_output(c->user, c->id, data, len);
            h2_conn_output_consume(c->conn, len);
            continue;
        }
        struct iovec iov[IOV_MAX_SEGMENTS];
        int n = h2_conn_output_iov(c->conn, iov, IOV_MAX_SEGMENTS);
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)(n > 0 ? n : 0)};
        ssize_t r = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->write_blocked = true;
                update_epoll(c);
                return true;
            }
            if (c->reason == 0)
                io_failed(c, errno);
            return false;
        }
        h2_conn_output_consume(c->conn, (size_t)r);
    }
    if (c->write_blocked) {
        c->write_blocked = false;
        update_epoll(c);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Received bytes and core events                                            */
/* ------------------------------------------------------------------------ */

static svc_event_rec *headers_event(svc_conn *c, const h2_event *ev)
{
    size_t n = ev->u.headers.n;
    size_t extra = n * sizeof(h2_header);
    for (size_t i = 0; i < n; i++)
        extra += ev->u.headers.fields[i].name_len + ev->u.headers.fields[i].value_len;
    uint8_t *tail = NULL;
    svc_event_rec *rec = svc_event_alloc(&c->worker->svc->mem, extra, &tail);
    if (rec == NULL)
        return NULL;
    h2_header *fields = (h2_header *)(void *)tail;
    uint8_t *bytes = tail + n * sizeof(h2_header);
    for (size_t i = 0; i < n; i++) {
        const h2_header *f = &ev->u.headers.fields[i];
        fields[i] = *f;
        if (f->name_len > 0)
            memcpy(bytes, f->name, f->name_len);
        fields[i].name = bytes;
        bytes += f->name_len;
        if (f->value_len > 0)
            memcpy(bytes, f->value, f->value_len);
        fields[i].value = bytes;
        bytes += f->value_len;
    }
    rec->pub.fields = n > 0 ? fields : NULL;
    rec->pub.n_fields = n;
    rec->pub.end_stream = ev->u.headers.stream_ended >= 0;
    return rec;
}

static svc_event_rec *bytes_event(svc_conn *c, const uint8_t *data, size_t len)
{
    uint8_t *tail = NULL;
    svc_event_rec *rec = svc_event_alloc(&c->worker->svc->mem, len, &tail);
    if (rec == NULL)
        return NULL;
    if (len > 0)
        memcpy(tail, data, len);
    rec->pub.data = len > 0 ? tail : NULL;
    rec->pub.len = len;
    return rec;
}

/* Turns the core's events into records; false when memory ran out. */
static bool emit_core_events(svc_conn *c, const h2_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const h2_event *ev = &evs[i];
        svc_event_rec *rec = NULL;
        switch (ev->type) {
        case H2_EV_REQUEST_RECEIVED:
        case H2_EV_RESPONSE_RECEIVED:
        case H2_EV_TRAILERS_RECEIVED:
        case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
            rec = headers_event(c, ev);
            break;
        case H2_EV_DATA_RECEIVED:
            rec = bytes_event(c, ev->u.data.data, ev->u.data.len);
            if (rec != NULL) {
                rec->pub.flow_controlled_length = ev->u.data.flow_controlled_length;
                rec->pub.end_stream = ev->u.data.stream_ended >= 0;
                if (rec->pub.flow_controlled_length > 0)
                    rec->ack_worker = c->worker;
            }
            break;
        case H2_EV_STREAM_RESET:
            rec = svc_event_alloc(&c->worker->svc->mem, 0, NULL);
            if (rec != NULL) {
                rec->pub.error_code = ev->u.reset.error_code;
                rec->pub.remote = ev->u.reset.remote_reset;
            }
            break;
        case H2_EV_PING_ACK_RECEIVED:
            rec = svc_event_alloc(&c->worker->svc->mem, 0, NULL);
            if (rec != NULL)
                memcpy(rec->pub.ping, ev->u.ping, 8);
            break;
        case H2_EV_CONNECTION_TERMINATED:
            rec = bytes_event(c, ev->u.terminated.debug, ev->u.terminated.debug_len);
            if (rec != NULL) {
                rec->pub.error_code = ev->u.terminated.error_code;
                rec->pub.last_stream_id = ev->u.terminated.last_stream_id;
            }
            break;
        default:
            continue;
        }
        if (rec == NULL)
            return false;
        rec->pub.type = ev->type;
        rec->pub.stream_id = ev->stream_id;
        svc_conn_emit(c, rec);
    }
    return true;
}

/* Feeds received bytes to the core and passes its events on. */
static void receive(svc_conn *c, const uint8_t *data, size_t len)
{
    const h2_event *evs = NULL;
    size_t n = 0;
    int rv = h2_conn_receive(c->conn, data, len, &evs, &n);
    bool ok = emit_core_events(c, evs, n);
    /* Copied: give the core's event memory back at once. */
    h2_conn_release_events(c->conn);
    if (!ok) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    if (rv == H2_ENOMEM)
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
    else if (rv < 0)
        svc_conn_finish(c, H2_SVC_CLOSE_PROTOCOL, rv, 0);
    else
        svc_conn_touch(c);
}

static void readable(svc_conn *c)
{
    svc_worker *w = c->worker;
    ssize_t r = read(c->fd, w->rbuf, w->rbuf_size);
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            io_failed(c, errno);
        return;
    }
    if (r == 0) {
        svc_conn_finish(c, H2_SVC_CLOSE_PEER_EOF, 0, 0);
        return;
    }
    receive(c, w->rbuf, (size_t)r);
}

/* Feed mode: handles one FEED command (held while events wait for room). */
static void feed(svc_conn *c, svc_cmd *cmd)
{
    const h2_mem *mem = &c->worker->svc->mem;
    if (cmd->len == 0) {
        svc_cmd_done(mem, cmd);
        svc_conn_finish(c, H2_SVC_CLOSE_PEER_EOF, 0, 0);
        return;
    }
    receive(c, cmd->data, cmd->len);
    svc_cmd_done(mem, cmd);
}

static void feed_held(svc_conn *c)
{
    while (c->feed.head != NULL && c->pending.head == NULL && c->reason == 0) {
        svc_cmd *cmd = c->feed.head;
        c->feed.head = cmd->next;
        if (c->feed.head == NULL)
            c->feed.tail = NULL;
        feed(c, cmd);
    }
}

/* ------------------------------------------------------------------------ */
/* Connection life                                                           */
/* ------------------------------------------------------------------------ */

void svc_conn_destroy(svc_conn *c)
{
    const h2_mem *mem = c->streams.mem;
    if (c->fd >= 0)
        close(c->fd);
    h2_conn_free(c->conn);
    if (c->closed_ev != NULL)
        svc_event_free(c->closed_ev);
    svc_map_free(&c->streams);
    h2_mem_free(mem, c);
}

void svc_conn_finish(svc_conn *c, int reason, int error, int sys_errno)
{
    if (c->reason != 0)
        return;
    if (reason == H2_SVC_CLOSE_PROTOCOL || reason == H2_SVC_CLOSE_GRACEFUL) {
        flush(c); /* the GOAWAY, as far as the socket takes it */
        if (c->reason != 0)
            return; /* the socket failed meanwhile: finished with that reason */
    }
    c->reason = reason;
    svc_conn_drop_held(c, reason);
    if (c->fd >= 0) {
        if (c->registered)
            epoll_ctl(c->worker->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->registered = false;
        close(c->fd);
        c->fd = -1;
    }
    h2_conn_error err = h2_conn_last_error(c->conn);
    h2_conn_free(c->conn);
    c->conn = NULL;
    /* Nothing left to acknowledge on a closed connection. */
    for (svc_event_rec *p = c->pending.head; p != NULL; p = p->next)
        p->ack_worker = NULL;
    svc_event_rec *rec = c->closed_ev;
    c->closed_ev = NULL;
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    rec->pub.sys_errno = sys_errno;
    rec->pub.error_code = err.occurred ? err.code : 0;
    svc_conn_emit(c, rec);
    svc_conn_touch(c); /* freed by the dirty pass once its events are out */
}

static void attach(svc_worker *w, svc_conn *c)
{
    c->worker = w;
    if (svc_map_put(&w->conns, c->id, c) != 0) {
        svc_event_rec *rec = c->closed_ev;
        c->closed_ev = NULL;
        rec->pub.type = H2_SVC_EV_CLOSED;
        rec->pub.reason = H2_SVC_CLOSE_NOMEM;
        rec->pub.error = H2_ENOMEM;
        rec->pub.conn = c->id;
        rec->pub.conn_user = c->user;
        deliver(c, rec, true);
        svc_conn_destroy(c);
        return;
    }
    if (c->fd >= 0) {
        int fl = fcntl(c->fd, F_GETFL);
        if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
            svc_conn_finish(c, H2_SVC_CLOSE_IO, H2_EINTERNAL, errno);
            return;
        }
    }
    if (h2_conn_initiate(c->conn) != 0) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    svc_event_rec *rec = svc_event_alloc(&w->svc->mem, 0, NULL);
    if (rec == NULL) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    rec->pub.type = H2_SVC_EV_ATTACHED;
    svc_conn_emit(c, rec);
    update_epoll(c);
    svc_conn_touch(c);
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */
/* ------------------------------------------------------------------------ */

static void handle(svc_worker *w, svc_cmd *cmd)
{
    if (cmd->kind == H2_SVC_CMD_ATTACH) {
        svc_conn *c = cmd->attach;
        h2_mem_free(&w->svc->mem, cmd);
        if (w->stopping) {
            c->worker = w;
            svc_event_rec *rec = c->closed_ev;
            c->closed_ev = NULL;
            rec->pub.type = H2_SVC_EV_CLOSED;
            rec->pub.reason = H2_SVC_CLOSE_SHUTDOWN;
            rec->pub.error = H2_ECLOSED;
            rec->pub.conn = c->id;
            rec->pub.conn_user = c->user;
            deliver(c, rec, true);
            svc_conn_destroy(c);
            return;
        }
        attach(w, c);
        return;
    }
    svc_conn *c = svc_map_get(&w->conns, cmd->conn);
    if (c == NULL || c->reason != 0 || w->stopping) {
        int reason = w->stopping ? H2_SVC_CLOSE_SHUTDOWN : c != NULL ? c->reason : 0;
        svc_cmd_fail(w, c, cmd, H2_ECLOSED, reason);
        return;
    }
    switch (cmd->kind) {
    case H2_SVC_CMD_FEED:
        if (c->fd >= 0) {
            svc_cmd_fail(w, c, cmd, H2_EINVAL, 0);
        } else if (c->pending.head != NULL || c->feed.head != NULL) {
            cmd->next = NULL;
            if (c->feed.tail != NULL)
                c->feed.tail->next = cmd;
            else
                c->feed.head = cmd;
            c->feed.tail = cmd;
        } else {
            feed(c, cmd);
        }
        return;
    case H2_SVC_CMD_ABORT:
        svc_cmd_done(&w->svc->mem, cmd);
        svc_conn_finish(c, H2_SVC_CLOSE_ABORTED, H2_ECLOSED, 0);
        return;
    case H2_SVC_CMD_ACK_DATA: {
        int rv = h2_conn_ack_data(c->conn, cmd->stream_id, cmd->len);
        if (rv != 0)
            svc_cmd_fail(w, c, cmd, rv, 0);
        else
            svc_cmd_done(&w->svc->mem, cmd);
        svc_conn_touch(c);
        return;
    }
    default:
        svc_conn_command(c, cmd);
        return;
    }
}

/* Acknowledges and frees the DATA events the application released. */
static void take_returned(svc_worker *w)
{
    if (atomic_load_explicit(&w->returned, memory_order_relaxed) == NULL)
        return;
    svc_event_rec *rec = atomic_exchange_explicit(&w->returned, NULL, memory_order_acquire);
    while (rec != NULL) {
        svc_event_rec *next = rec->next;
        svc_conn *c = svc_map_get(&w->conns, rec->pub.conn);
        if (c != NULL && c->reason == 0) {
            /* A stream that is gone credits the connection only; a
             * refusal here changes nothing worth reporting. */
            (void)h2_conn_ack_data(c->conn, rec->pub.stream_id, rec->pub.flow_controlled_length);
            svc_conn_touch(c);
        }
        svc_event_free(rec);
        rec = next;
    }
}

static void retry_blocked(svc_worker *w)
{
    svc_conn **link = &w->blocked;
    while (*link != NULL) {
        svc_conn *c = *link;
        while (c->pending.head != NULL) {
            svc_event_rec *rec = c->pending.head;
            svc_event_rec *next = rec->next;
            if (!deliver(c, rec, w->stopping))
                break;
            c->pending.head = next;
        }
        if (c->pending.head != NULL) {
            link = &c->blocked_next;
            continue;
        }
        c->pending.tail = NULL;
        *link = c->blocked_next;
        c->in_blocked = false;
        if (c->reason == 0) {
            feed_held(c);
            update_epoll(c);
        }
        svc_conn_touch(c);
    }
}

static void run_dirty(svc_worker *w)
{
    while (w->dirty != NULL) {
        svc_conn *c = w->dirty;
        w->dirty = c->dirty_next;
        c->dirty = false;
        if (c->reason == 0) {
            /* Pump and flush until nothing moves; output that stopped the
             * pump at the high-water mark and then drained lets it go on. */
            for (;;) {
                bool moved = svc_conn_pump(c);
                bool full = c->output_full;
                if (!flush(c) || c->reason != 0 || c->write_blocked || (!moved && !full))
                    break;
            }
        }
        if (c->reason == 0 && !h2_conn_want_read(c->conn) && !h2_conn_want_write(c->conn)) {
            h2_conn_error err = h2_conn_last_error(c->conn);
            svc_conn_finish(c, err.occurred ? H2_SVC_CLOSE_PROTOCOL : H2_SVC_CLOSE_GRACEFUL,
                            err.occurred ? H2_EPROTO : 0, 0);
        }
        if (c->reason != 0 && !c->in_blocked && !c->dirty) {
            svc_map_remove(&w->conns, c->id);
            svc_conn_destroy(c);
        } else if (c->reason == 0) {
            update_epoll(c);
        }
    }
}

static void io(svc_conn *c, uint32_t events)
{
    if (c->reason != 0)
        return;
    if ((events & EPOLLOUT) != 0) {
        c->write_blocked = false;
        svc_conn_touch(c);
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        if (c->pending.head == NULL)
            readable(c);
        else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
            c->hangup = true;
            update_epoll(c);
        }
    }
    if (c->reason == 0 && (events & EPOLLOUT) != 0)
        update_epoll(c);
}

static void shutdown_worker(svc_worker *w)
{
    w->stopping = true;
    void *batch[BATCH];
    size_t n;
    while ((n = h2_mailbox_drain(&w->mb, batch, BATCH)) > 0)
        for (size_t i = 0; i < n; i++)
            handle(w, batch[i]);
    take_returned(w);
    retry_blocked(w);
    /* Finish every connection; collect them first, the map changes. */
    for (size_t i = 0; i < w->conns.cap; i++) {
        svc_conn *c = w->conns.slots[i].value;
        if (w->conns.slots[i].key != 0 && c->reason == 0)
            svc_conn_finish(c, H2_SVC_CLOSE_SHUTDOWN, H2_ECLOSED, 0);
    }
    run_dirty(w);
    retry_blocked(w);
    run_dirty(w);
    take_returned(w);
}

void *svc_worker_main(void *arg)
{
    svc_worker *w = arg;
    void *batch[BATCH];
    struct epoll_event evs[MAX_IO_EVENTS];
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        size_t n = h2_mailbox_drain(&w->mb, batch, BATCH);
        for (size_t i = 0; i < n; i++)
            handle(w, batch[i]);
        take_returned(w);
        if (w->blocked != NULL)
            retry_blocked(w);
        run_dirty(w);

        int timeout = n == BATCH ? 0 : w->blocked != NULL ? BLOCKED_RETRY_MS : -1;
        if (timeout != 0) {
            if (!h2_mailbox_prepare_sleep(&w->mb)) {
                timeout = 0;
            } else if (atomic_load_explicit(&w->returned, memory_order_seq_cst) != NULL ||
                       atomic_load_explicit(&w->stop, memory_order_seq_cst)) {
                h2_mailbox_cancel_sleep(&w->mb);
                timeout = 0;
            }
        }
        int ne = epoll_wait(w->epfd, evs, MAX_IO_EVENTS, timeout);
        h2_mailbox_cancel_sleep(&w->mb);
        for (int i = 0; i < ne; i++) {
            svc_conn *c = evs[i].data.ptr;
            if (c == NULL)
                h2_mailbox_ack_wakeup(&w->mb);
            else
                io(c, evs[i].events);
        }
        run_dirty(w);
    }
    shutdown_worker(w);
    return NULL;
}
