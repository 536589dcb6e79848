/*
 * h2server: lingering close of cleartext HTTP/2 connections (see linger.h).
 *
 * The workers pass the duplicated sockets to the lingering thread through a
 * pipe, one int per socket (a write of at most PIPE_BUF bytes is atomic, so
 * the workers need no lock). The thread watches them with epoll, discards
 * what they read, and closes each at the peer's end of stream, on an error,
 * or LINGER_MS after it arrived. srv_linger_stop() raises |stopping| and
 * closes the pipe's write end; the thread takes what the pipe still holds
 * and ends once those sockets are done. It never sleeps longer than
 * POLL_MS, so neither step depends on an epoll report.
 */
#include "server/linger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LINGER_MS 2000u  /* longest wait for the peer's end of stream */
#define LINGER_MAX 4096u /* sockets held at once; past that a close is immediate */
#define POLL_MS 100u     /* longest sleep of the lingering thread */

typedef struct held {
    int fd;
    uint64_t deadline_ms;
} held;

static struct {
    pthread_t thread;
    bool running;
    atomic_bool stopping; /* set by srv_linger_stop() */
    int pipe_rd, pipe_wr; /* -1 when not running */
    int ep;
    held *socks; /* the lingering thread's own */
    size_t n;
} L = {.pipe_rd = -1, .pipe_wr = -1, .ep = -1};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the transport (workers) -------------------------------------------------- */

static ptrdiff_t plain_read(void *ctx, int fd, uint8_t *buf, size_t len)
{
    (void)ctx;
    for (;;) {
        ssize_t r = read(fd, buf, len);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? H2_EAGAIN : H2_EINTERNAL;
    }
}

static ptrdiff_t plain_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    (void)ctx;
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)(iovcnt > 0 ? iovcnt : 0)};
    for (;;) {
        ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0)
            return r;
        if (r == 0)
            return H2_EAGAIN;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? H2_EAGAIN : H2_EINTERNAL;
    }
}

/* The service closes |fd| right after this returns; a duplicate keeps the socket open. */
static void plain_close(void *ctx, int fd)
{
    (void)ctx;
    if (L.pipe_wr < 0)
        return;
    char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return; /* the peer closed (nothing unread) or reset: a plain close is right */
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0)
        return;
    shutdown(dup, SHUT_WR);
    if (write(L.pipe_wr, &dup, sizeof(dup)) != (ssize_t)sizeof(dup))
        close(dup); /* the thread is far behind: close now */
}

void srv_linger_transport(h2_svc_transport *t)
{
    *t = (h2_svc_transport){.read = plain_read, .writev = plain_writev, .close = plain_close};
}

/* ---- the lingering thread --------------------------------------------------------- */

static void drop(size_t i)
{
    /* Out of the epoll set first: a registration outlives close() while
     * another descriptor (the service's, not closed yet) shares the socket. */
    epoll_ctl(L.ep, EPOLL_CTL_DEL, L.socks[i].fd, NULL);
    close(L.socks[i].fd);
    L.socks[i] = L.socks[--L.n];
}

static void take(int fd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
    if (L.n >= LINGER_MAX || epoll_ctl(L.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return;
    }
    L.socks[L.n++] = (held){.fd = fd, .deadline_ms = now_ms() + LINGER_MS};
}

/* Reads and discards; true when the socket is finished (end of stream or error). */
static bool discard(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r > 0)
            continue;
        return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
}

/* True when the pipe holds bytes right now. */
static bool pipe_has_data(void)
{
    int n = 0;
    return ioctl(L.pipe_rd, FIONREAD, &n) == 0 && n > 0;
}

/* Takes the sockets waiting in the pipe; false once its write end is closed. */
static bool take_new(void)
{
    int fds[64];
    ssize_t r = read(L.pipe_rd, fds, sizeof(fds));
    if (r == 0)
        return false;
    for (ssize_t i = 0; i + (ssize_t)sizeof(int) <= r; i += (ssize_t)sizeof(int))
        take(fds[(size_t)i / sizeof(int)]);
    return true;
}

static void *linger_main(void *arg)
{
    (void)arg;
    bool open_pipe = true;
    while (open_pipe || L.n > 0) {
        uint64_t now = now_ms();
        for (size_t i = 0; i < L.n;)
            if (L.socks[i].deadline_ms <= now)
                drop(i);
            else
                i++;
        /* Wakes at least every POLL_MS: the deadlines and the end of the pipe
         * are checked on every turn, whatever epoll reports. */
        uint64_t wait = POLL_MS;
        for (size_t i = 0; i < L.n; i++)
            if (L.socks[i].deadline_ms - now < wait)
                wait = L.socks[i].deadline_ms - now;
        int timeout = (int)wait;
        struct epoll_event evs[64];
        int n = epoll_wait(L.ep, evs, 64, timeout);
        if (open_pipe && atomic_load_explicit(&L.stopping, memory_order_acquire)) {
            /* Stopping: take what the pipe still holds, then only finish those. */
            while (take_new() && L.n < LINGER_MAX && pipe_has_data())
                ;
            open_pipe = false;
            epoll_ctl(L.ep, EPOLL_CTL_DEL, L.pipe_rd, NULL);
        }
        for (int k = 0; k < n; k++) {
            int fd = evs[k].data.fd;
            if (fd == L.pipe_rd) {
                if (open_pipe && !take_new()) {
                    open_pipe = false;
                    epoll_ctl(L.ep, EPOLL_CTL_DEL, L.pipe_rd, NULL);
                }
                continue;
            }
            if (!discard(fd))
                continue;
            for (size_t i = 0; i < L.n; i++)
                if (L.socks[i].fd == fd) {
                    drop(i);
                    break;
                }
        }
    }
    return NULL;
}

int srv_linger_start(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    L.pipe_rd = p[0];
    L.pipe_wr = p[1];
    L.ep = epoll_create1(EPOLL_CLOEXEC);
    L.socks = calloc(LINGER_MAX, sizeof(*L.socks));
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = L.pipe_rd};
    if (L.ep < 0 || L.socks == NULL || epoll_ctl(L.ep, EPOLL_CTL_ADD, L.pipe_rd, &ev) != 0 ||
        pthread_create(&L.thread, NULL, linger_main, NULL) != 0) {
        int e = errno != 0 ? errno : ENOMEM;
        srv_linger_stop();
        errno = e;
        return -1;
    }
    L.running = true;
    return 0;
}

void srv_linger_stop(void)
{
    atomic_store_explicit(&L.stopping, true, memory_order_release);
    if (L.pipe_wr >= 0)
        close(L.pipe_wr);
    L.pipe_wr = -1;
    if (L.running)
        pthread_join(L.thread, NULL);
    L.running = false;
    while (L.n > 0)
        drop(0);
    if (L.pipe_rd >= 0)
        close(L.pipe_rd);
    if (L.ep >= 0)
        close(L.ep);
    L.pipe_rd = L.ep = -1;
    free(L.socks);
    L.socks = NULL;
}
