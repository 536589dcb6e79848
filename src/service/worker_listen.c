/*
 * Service worker: listening sockets. The worker that owns a listener
 * accepts until EAGAIN, lets the application's accept callback adjust a
 * copy of the listener's configuration, and hands each connection to the
 * next worker in turn (through that worker's command ring; when the ring
 * is full the connection is attached here instead, so none is dropped).
 * When accept() fails for lack of descriptors or memory, the listener
 * leaves the epoll set for a short pause instead of spinning.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_config.h"
#include "service/svc_attach.h"
#include "service/svc_conn.h"
#include "service/svc_dedicated.h"
#include "service/svc_listen.h"
#include "service/svc_live.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_worker.h"

/* Most connections accepted in one readiness report before the loop goes on. */
#define ACCEPT_BATCH 256
/* Pause after EMFILE, ENFILE, ENOBUFS or ENOMEM. */
#define ACCEPT_PAUSE_MS 100

void svc_socket_nodelay(const h2_svc *svc, int fd)
{
    if (!svc->tcp_nodelay)
        return;
    int saved = errno;
    int one = 1;
    /* Unix sockets and socket pairs fail with EOPNOTSUPP; a failure only
     * costs latency, so none is reported. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    errno = saved;
}

void svc_listener_free(const h2_mem *mem, svc_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    h2_mem_free(mem, l);
}

static void unlink_listener(svc_worker *w, svc_listener *l)
{
    for (svc_listener **p = &w->listeners; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            w->n_listeners--;
            return;
        }
    }
}

void svc_listener_start(svc_worker *w, svc_listener *l)
{
    l->timer.index = SVC_TIMER_NONE;
    l->timer.kind = SVC_POLL_LISTENER;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    if (svc_timers_reserve_for(w, (uint32_t)w->conns.count, w->n_listeners + 1u) != 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
        svc_listener_free(&w->svc->mem, l);
        return;
    }
    l->next = w->listeners;
    w->listeners = l;
    w->n_listeners++;
}

static void pause_listener(svc_worker *w, svc_listener *l)
{
    if (l->paused)
        return;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->fd, NULL);
    l->paused = true;
    svc_timer_set(w, &l->timer, w->now + ACCEPT_PAUSE_MS);
}

void svc_listener_resume(svc_worker *w, svc_listener *l)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
        svc_timer_set(w, &l->timer, w->now + ACCEPT_PAUSE_MS);
        return;
    }
    l->paused = false;
    svc_listener_ready(w, l);
}

static void accept_one(svc_worker *w, svc_listener *l, int fd)
{
    h2_svc *svc = w->svc;
    h2_svc_conn_config cfg;
    svc_socket_nodelay(svc, fd);
    if (svc_listener_config(l, fd, &cfg) < 0) {
        close(fd);
        return;
    }
    h2_svc_conn_id id = 0;
    if (cfg.dedicated && svc_attach_dedicated(svc, fd, &cfg, &id) == 0)
        return;
    unsigned wi = svc_pick_worker(svc, &cfg);
    svc_conn *c = NULL;
    if (cfg.dedicated || svc_conn_prepare(svc, fd, &cfg, wi, &c) != 0) {
        /* The transport's context came from the accept callback: end it too. */
        if (cfg.transport != NULL && cfg.transport->close != NULL)
            cfg.transport->close(cfg.transport->ctx, fd);
        close(fd);
        return;
    }
    if (wi != w->index) {
        if (svc_conn_post_attach(svc, c) == 0)
            return;
        /* The other worker's ring is full: this worker takes the connection. */
        svc_conn_rehome(c, w->index);
    }
    svc_worker_attach(w, c);
}

void svc_listener_ready(svc_worker *w, svc_listener *l)
{
    for (int i = 0; i < ACCEPT_BATCH && !l->paused; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(w, l, fd);
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
            continue; /* this connection failed; the next may not */
        default:
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected: the
             * socket stays readable, so waiting in epoll would spin. */
            pause_listener(w, l);
            return;
        }
    }
}

void svc_listeners_close(svc_worker *w)
{
    while (w->listeners != NULL) {
        svc_listener *l = w->listeners;
        unlink_listener(w, l);
        if (!l->paused)
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->fd, NULL);
        svc_timer_set(w, &l->timer, -1);
        svc_listener_free(&w->svc->mem, l);
    }
}
