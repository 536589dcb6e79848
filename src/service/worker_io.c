/*
 * Service worker: the transport of a connection. fd mode reads and writes
 * the socket (or the application's transport hook over it) with epoll
 * readiness; feed mode takes input from FEED commands and hands output to
 * a callback. Received bytes go to the core (svc_conn_receive(),
 * conn_events.c).
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

/* Output segments handed to one sendmsg() or transport writev. */
#define IOV_MAX_SEGMENTS 64

static uint32_t epoll_bits(unsigned want)
{
    uint32_t bits = 0;
    if ((want & H2_SVC_WANT_READ) != 0)
        bits |= EPOLLIN;
    if ((want & H2_SVC_WANT_WRITE) != 0)
        bits |= EPOLLOUT;
    return bits;
}

/* What the transport waits for after H2_EAGAIN; |dflt| without a wants hook. */
static unsigned tr_wants(svc_conn *c, unsigned dflt)
{
    if (!c->has_tr || c->tr.wants == NULL)
        return dflt;
    unsigned w = c->tr.wants(c->tr.ctx) & (H2_SVC_WANT_READ | H2_SVC_WANT_WRITE);
    return w != 0 ? w : dflt;
}

static bool can_read(const svc_conn *c)
{
    return c->fd >= 0 && c->reason == 0 && c->pending.head == NULL && c->conn != NULL &&
           h2_conn_want_read(c->conn);
}

void svc_conn_update_epoll(svc_conn *c)
{
    if (c->fd < 0)
        return;
    uint32_t want = 0;
    if (can_read(c))
        want |= epoll_bits(c->read_wait);
    /* A hung-up socket stays readable: leave it out of the set until the
     * pending events are delivered, then read what is left and the EOF. */
    if (c->write_blocked && c->reason == 0 && !(c->hangup && c->pending.head != NULL)) {
        uint32_t wbits = epoll_bits(c->write_wait);
        /* A transport that must read before it can write waits, like reading,
         * for the pending events: readability alone would wake us in a loop. */
        if (c->pending.head != NULL)
            wbits &= ~(uint32_t)EPOLLIN;
        want |= wbits;
    }
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

void svc_conn_close_transport(svc_conn *c)
{
    if (c->fd < 0)
        return;
    if (c->registered && c->worker != NULL)
        epoll_ctl(c->worker->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->registered = false;
    if (c->has_tr && c->tr.close != NULL)
        c->tr.close(c->tr.ctx, c->fd);
    c->has_tr = false;
    close(c->fd);
    c->fd = -1;
}

/* A read or write failed: the peer went away (reset, broken pipe) or the socket broke. */
static void io_failed(svc_conn *c, int err)
{
    if (err == ECONNRESET || err == EPIPE)
        svc_conn_finish(c, H2_SVC_CLOSE_PEER_EOF, 0, err);
    else
        svc_conn_finish(c, H2_SVC_CLOSE_IO, H2_EINTERNAL, err);
}

/* One write: bytes taken, H2_EAGAIN, or H2_EINTERNAL with the errno in |*err|. */
static ptrdiff_t write_some(svc_conn *c, const struct iovec *iov, int n, int *err)
{
    if (c->has_tr) {
        errno = 0;
        ptrdiff_t r = c->tr.writev(c->tr.ctx, c->fd, iov, n);
        *err = errno;
        size_t offered = 0;
        for (int i = 0; i < n; i++)
            offered += iov[i].iov_len;
        if (r == H2_EAGAIN || (r > 0 && (size_t)r <= offered))
            return r;
        if (r > 0)
            *err = 0; /* more than offered: a broken transport */
        return H2_EINTERNAL;
    }
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)(n > 0 ? n : 0)};
    for (;;) {
        ssize_t r = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r >= 0)
            return r > 0 ? (ptrdiff_t)r : H2_EAGAIN;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return H2_EAGAIN;
        *err = errno;
        return H2_EINTERNAL;
    }
}

bool svc_conn_flush(svc_conn *c)
{
    while (c->conn != NULL && h2_conn_want_write(c->conn)) {
        if (c->fd < 0) {
            const uint8_t *data;
            size_t len;
            h2_conn_output_view(c->conn, &data, &len);
            c->on_output(c->user, c->id, data, len);
            h2_conn_output_consume(c->conn, len);
            svc_conn_settle_output(c);
            c->st.bytes_out += len;
            svc_count(&c->worker->count.bytes_out, len);
            continue;
        }
        struct iovec iov[IOV_MAX_SEGMENTS];
        int n = h2_conn_output_iov(c->conn, iov, IOV_MAX_SEGMENTS);
        int err = 0;
        ptrdiff_t r = write_some(c, iov, n, &err);
        if (r == H2_EAGAIN) {
            c->write_wait = tr_wants(c, H2_SVC_WANT_WRITE);
            c->write_blocked = true;
            svc_conn_update_epoll(c);
            return true;
        }
        if (r < 0) {
            if (c->reason == 0)
                io_failed(c, err);
            return false;
        }
        c->write_since = -1; /* progress */
        h2_conn_output_consume(c->conn, (size_t)r);
        svc_conn_settle_output(c);
        c->st.bytes_out += (uint64_t)r;
        svc_count(&c->worker->count.bytes_out, (uint64_t)r);
    }
    if (c->write_blocked) {
        c->write_blocked = false;
        svc_conn_update_epoll(c);
    }
    return true;
}

/* One read: bytes (> 0), 0 at EOF, H2_EAGAIN, or H2_EINTERNAL with the errno in |*err|. */
static ptrdiff_t read_some(svc_conn *c, uint8_t *buf, size_t len, int *err)
{
    if (c->has_tr) {
        errno = 0;
        ptrdiff_t r = c->tr.read(c->tr.ctx, c->fd, buf, len);
        *err = errno;
        if ((r >= 0 && (size_t)r <= len) || r == H2_EAGAIN)
            return r;
        if (r > 0)
            *err = 0; /* more than the buffer holds: a broken transport */
        return H2_EINTERNAL;
    }
    for (;;) {
        ssize_t r = read(c->fd, buf, len);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return H2_EAGAIN;
        *err = errno;
        return H2_EINTERNAL;
    }
}

bool svc_conn_tr_pending(svc_conn *c)
{
    return c->has_tr && c->tr.pending != NULL && can_read(c) && c->tr.pending(c->tr.ctx);
}

void svc_conn_readable(svc_conn *c)
{
    svc_worker *w = c->worker;
    do {
        int err = 0;
        ptrdiff_t r = read_some(c, w->rbuf, w->rbuf_size, &err);
        if (r == H2_EAGAIN) {
            unsigned old = c->read_wait;
            c->read_wait = tr_wants(c, H2_SVC_WANT_READ);
            if (old != c->read_wait)
                svc_conn_update_epoll(c);
            return;
        }
        if (r < 0) {
            io_failed(c, err);
            return;
        }
        if (r == 0) {
            svc_conn_finish(c, H2_SVC_CLOSE_PEER_EOF, 0, 0);
            return;
        }
        c->read_wait = H2_SVC_WANT_READ;
        svc_conn_receive(c, w->rbuf, (size_t)r);
        /* Bytes the transport holds never make the socket readable: take them now. */
    } while (svc_conn_tr_pending(c));
}

void svc_conn_io(svc_conn *c, uint32_t events)
{
    if (c->reason != 0)
        return;
    uint32_t failed = events & (EPOLLHUP | EPOLLERR);
    if (c->write_blocked && (events & (epoll_bits(c->write_wait) | failed)) != 0) {
        c->write_blocked = false;
        svc_conn_touch(c);
    }
    if ((events & (epoll_bits(c->read_wait) | failed)) != 0) {
        if (c->pending.head == NULL) {
            if (can_read(c) || failed != 0)
                svc_conn_readable(c);
        } else if (failed != 0) {
            c->hangup = true;
            svc_conn_update_epoll(c);
        }
    }
    if (c->reason == 0)
        svc_conn_update_epoll(c);
}

/* ------------------------------------------------------------------------ */
/* Feed mode                                                                 */
/* ------------------------------------------------------------------------ */

static void feed(svc_conn *c, svc_cmd *cmd)
{
    if (cmd->len == 0) {
        svc_cmd_done(cmd);
        svc_conn_finish(c, H2_SVC_CLOSE_PEER_EOF, 0, 0);
        return;
    }
    svc_conn_receive(c, cmd->data, cmd->len);
    svc_cmd_done(cmd);
}

void svc_conn_feed_held(svc_conn *c)
{
    while (c->feed.head != NULL && c->pending.head == NULL && c->reason == 0) {
        feed(c, svc_cmds_pop(&c->feed));
    }
}

void svc_conn_feed_cmd(svc_conn *c, svc_cmd *cmd)
{
    if (c->pending.head != NULL || c->feed.head != NULL) {
        svc_cmds_push(&c->feed, cmd);
        return;
    }
    feed(c, cmd);
}
