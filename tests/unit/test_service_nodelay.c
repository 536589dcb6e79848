/*
 * TCP_NODELAY: on by default on the TCP sockets the service accepts
 * (h2_svc_listen) or is handed (h2_svc_attach_fd), off when the
 * service configuration says so; Unix sockets attach as before.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include "test_service_util.h"

static int nodelay_of(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0)
        return -1;
    return v != 0;
}

static h2_svc *service_with(lockmem *lm, bool nodelay)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert(cfg.tcp_nodelay, "TCP_NODELAY must be on by default");
    cfg.workers = 1;
    cfg.mem = &lm->mem;
    cfg.tcp_nodelay = nodelay;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    return svc;
}

/* ---- accepted sockets --------------------------------------------------- */

typedef struct accept_probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int seen; /* TCP_NODELAY of the accepted socket, -2 until accepted */
} accept_probe;

static int probe_accept(void *user, int fd, h2_svc_conn_config *cfg)
{
    (void)cfg;
    accept_probe *p = user;
    pthread_mutex_lock(&p->mu);
    p->seen = nodelay_of(fd);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return -1; /* refuse: the test only looks at the socket */
}

static void drop_event(void *user, h2_svc_event *ev)
{
    (void)user;
    h2_svc_event_release(ev);
}

static int accepted_nodelay(bool nodelay)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = service_with(&lm, nodelay);
    accept_probe p = {.seen = -2};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    uint16_t port;
    int lfd = listen_loopback(&port);
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
    cc.on_event = drop_event;
    cr_assert_eq(h2_svc_listen(svc, lfd, &cc, probe_accept, &p), 0);
    int cfd = connect_loopback(port);

    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&p.mu);
    while (p.seen == -2 && pthread_cond_timedwait(&p.cv, &p.mu, &dl) == 0)
        ;
    int seen = p.seen;
    pthread_mutex_unlock(&p.mu);
    close(cfd);
    h2_svc_free(svc);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    cr_assert_eq(lockmem_live(&lm), 0u);
    cr_assert_neq(seen, -2, "no connection was accepted");
    return seen;
}

Test(service_nodelay, accepted_tcp_sockets_have_it_by_default)
{
    cr_assert_eq(accepted_nodelay(true), 1);
}

Test(service_nodelay, accepted_tcp_sockets_without_it_when_turned_off)
{
    cr_assert_eq(accepted_nodelay(false), 0);
}

/* ---- attached sockets ---------------------------------------------------- */

static int attached_nodelay(bool nodelay)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = service_with(&lm, nodelay);
    h2_svc_queue *q = new_queue(&lm, 64);
    uint16_t port;
    int lfd = listen_loopback(&port);
    int cfd = connect_loopback(port);
    int sfd = accept(lfd, NULL, NULL);
    cr_assert_geq(sfd, 0);
    cr_assert_eq(nodelay_of(cfd), 0, "a fresh socket starts without TCP_NODELAY");
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.queue = q;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, cfd, &cc, &id), 0);
    /* The service owns |cfd| now, but cannot close it before it sees the
     * ATTACHED event through (the peer end stays open). */
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 10000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    int seen = nodelay_of(cfd);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    close(sfd);
    close(lfd);
    cr_assert_eq(lockmem_live(&lm), 0u);
    return seen;
}

Test(service_nodelay, attached_tcp_sockets_have_it_by_default)
{
    cr_assert_eq(attached_nodelay(true), 1);
}

Test(service_nodelay, attached_tcp_sockets_without_it_when_turned_off)
{
    cr_assert_eq(attached_nodelay(false), 0);
}

Test(service_nodelay, unix_sockets_attach_as_before)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    svc_rig_attach(&r, &cc);
    h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_ATTACHED, 10000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    svc_rig_free(&r);
    close(r.peer_fd);
}
