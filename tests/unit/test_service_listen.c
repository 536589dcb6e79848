/*
 * Listening sockets: a server service accepts on a loopback TCP socket and
 * spreads the connections over its workers; 20 clients from 2 threads
 * each make one request through a client service. Also: the accept
 * callback refusing connections, and the listening socket closed at
 * shutdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include "support/test_sync.h"
#include "test_service_util.h"

#define CLIENT_THREADS 2
#define CLIENTS_PER_THREAD 10

typedef struct server {
    h2_svc *svc;
    atomic_int accepted;
    atomic_int refused;
    atomic_int requests;
    atomic_int closed;
    bool refuse;
    _Atomic uint64_t workers_seen; /* bit per worker index seen in accepted ids */
    tsync closes;                  /* raised with |closed| */
    tsync accepts;                 /* raised with |accepted| */
} server;

static void server_event(void *user, h2_svc_event *ev)
{
    server *s = user;
    if (ev->type == H2_SVC_EV_ATTACHED)
        atomic_fetch_or(&s->workers_seen, 1ull << (ev->conn & 0x3f));
    if (ev->type == H2_SVC_EV_REQUEST_RECEIVED) {
        atomic_fetch_add(&s->requests, 1);
        /* The body names the stream, so each client checks its own answer. */
        char body[32];
        int n = snprintf(body, sizeof body, "hello %u", ev->stream_id);
        cr_assert_eq(h2_svc_submit_headers(s->svc, ev->conn, ev->stream_id, ok_fields, 1, 0, 0),
                     0);
        cr_assert_eq(h2_svc_send_data(s->svc, ev->conn, ev->stream_id, (const uint8_t *)body,
                                          (size_t)n, H2_SEND_END_STREAM, 0),
                     0);
    }
    if (ev->type == H2_SVC_EV_CLOSED) {
        atomic_fetch_add(&s->closed, 1);
        tsync_add(&s->closes, 1);
    }
    cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
    h2_svc_event_release(ev);
}

static int on_accept(void *user, int fd, h2_svc_conn_config *cfg)
{
    server *s = user;
    cr_assert_geq(fd, 0);
    cr_assert_eq(cfg->on_event, server_event);
    if (s->refuse) {
        atomic_fetch_add(&s->refused, 1);
        return -1;
    }
    atomic_fetch_add(&s->accepted, 1);
    tsync_add(&s->accepts, 1);
    return 0;
}

typedef struct client_thread {
    h2_svc *svc;
    h2_svc_queue *q;
    uint16_t port;
    int done;
} client_thread;

static void *client_main(void *arg)
{
    client_thread *t = arg;
    for (int i = 0; i < CLIENTS_PER_THREAD; i++) {
        int fd = connect_loopback(t->port);
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
        cc.queue = t->q;
        h2_svc_conn_id id = 0;
        cr_assert_eq(h2_svc_attach_fd(t->svc, fd, &cc, &id), 0);
        cr_assert_eq(h2_svc_submit_headers(t->svc, id, 0, get_fields, 4, H2_SEND_END_STREAM, 9),
                     0);
        bool headers = false, ended = false;
        char body[32] = {0};
        size_t got = 0;
        uint32_t stream = 0;
        while (!ended) {
            h2_svc_event *ev = next_event(t->q, 10000);
            cr_assert_not_null(ev, "client %d timed out", i);
            cr_assert_eq(ev->conn, id);
            if (ev->type == H2_SVC_EV_STREAM_OPENED) {
                cr_assert_eq(ev->user, 9u);
                stream = ev->stream_id;
            } else if (ev->type == H2_SVC_EV_RESPONSE_RECEIVED) {
                headers = true;
            } else if (ev->type == H2_SVC_EV_DATA_RECEIVED) {
                cr_assert_lt(got + ev->len, sizeof body);
                memcpy(body + got, ev->data, ev->len);
                got += ev->len;
                ended = ev->end_stream;
            }
            cr_assert_neq(ev->type, H2_SVC_EV_CLOSED);
            h2_svc_event_release(ev);
        }
        cr_assert(headers);
        cr_assert_eq(stream, 1u);
        cr_assert_str_eq(body, "hello 1");
        cr_assert_eq(h2_svc_close(t->svc, id, H2_NO_ERROR, 0), 0);
        h2_svc_event *ev = wait_event(t->q, H2_SVC_EV_CLOSED, 10000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->reason, H2_SVC_CLOSE_GRACEFUL);
        h2_svc_event_release(ev);
        t->done++;
    }
    return NULL;
}

static void server_init(server *s, lockmem *lm, unsigned workers)
{
    memset(s, 0, sizeof(*s));
    tsync_init(&s->closes);
    tsync_init(&s->accepts);
    s->svc = new_service(lm, workers, 0);
}

static void discard(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

Test(service_listen, twenty_clients_from_two_threads)
{
    lockmem lm;
    lockmem_init(&lm);
    server s;
    server_init(&s, &lm, 3);
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_event = server_event;
    sc.user = &s;
    cr_assert_eq(h2_svc_listen(s.svc, lfd, &sc, on_accept, &s), 0);

    h2_svc *csvc = new_service(&lm, 2, 0);
    client_thread t[CLIENT_THREADS];
    pthread_t th[CLIENT_THREADS];
    for (int i = 0; i < CLIENT_THREADS; i++) {
        t[i] = (client_thread){.svc = csvc, .q = new_queue(&lm, 64), .port = port};
        cr_assert_eq(pthread_create(&th[i], NULL, client_main, &t[i]), 0);
    }
    for (int i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(t[i].done, CLIENTS_PER_THREAD);
    }
    int total = CLIENT_THREADS * CLIENTS_PER_THREAD;
    cr_assert_eq(atomic_load(&s.accepted), total);
    cr_assert_eq(atomic_load(&s.requests), total);
    cr_assert(tsync_wait_geq(&s.closes, total, 10000), "%d closed", atomic_load(&s.closed));
    /* Round robin: every server worker got connections. */
    cr_assert_eq(atomic_load(&s.workers_seen), 7u);

    h2_svc_free(csvc);
    h2_svc_free(s.svc);
    /* The listening socket was closed by the service. */
    cr_assert_eq(close(lfd), -1);
    cr_assert_eq(errno, EBADF);
    for (int i = 0; i < CLIENT_THREADS; i++)
        h2_svc_queue_free(t[i].q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_listen, accept_callback_refuses_and_the_peer_sees_eof)
{
    lockmem lm;
    lockmem_init(&lm);
    server s;
    server_init(&s, &lm, 1);
    s.refuse = true;
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_event = server_event;
    sc.user = &s;
    cr_assert_eq(h2_svc_listen(s.svc, lfd, &sc, on_accept, &s), 0);
    for (int i = 0; i < 3; i++) {
        int fd = connect_loopback(port);
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        cr_assert_eq(poll(&pf, 1, 10000), 1);
        char c;
        cr_assert_leq(recv(fd, &c, 1, 0), 0); /* closed without a byte */
        close(fd);
    }
    cr_assert_eq(atomic_load(&s.refused), 3);
    cr_assert_eq(atomic_load(&s.accepted), 0);
    h2_svc_free(s.svc);
    cr_assert_eq(atomic_load(&s.closed), 0);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_listen, arguments)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    cr_assert_eq(h2_svc_listen(svc, 3, &sc, NULL, NULL), H2_EINVAL); /* no destination */
    sc.on_event = server_event;
    cr_assert_eq(h2_svc_listen(NULL, 3, &sc, NULL, NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_listen(svc, -1, &sc, NULL, NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_listen(svc, 3, NULL, NULL, NULL), H2_EINVAL);
    h2_svc_free(svc);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_listen, emfile_pauses_instead_of_spinning)
{
    lockmem lm;
    lockmem_init(&lm);
    server s;
    server_init(&s, &lm, 1);
    /* The pause runs on the service's clock, which moves only when told. */
    h2_svc_free(s.svc);
    fake_clock clock;
    s.svc = new_service_clock(&lm, 1, &clock, 0);
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_event = server_event;
    sc.user = &s;
    /* A feed connection on the same worker, to count its turns. */
    h2_svc_queue *q = new_queue(&lm, 64);
    h2_svc_conn_config fc;
    h2_svc_conn_config_init(&fc, H2_ROLE_CLIENT);
    fc.queue = q;
    fc.on_output = discard;

    /* Clients wait in the backlog; then no descriptor is left for accept4(). */
    int cfd[3];
    for (int i = 0; i < 3; i++)
        cfd[i] = connect_loopback(port);
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    int probe = dup(0);
    cr_assert_geq(probe, 0);
    close(probe);
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)probe;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);

    cr_assert_eq(h2_svc_listen(s.svc, lfd, &sc, on_accept, &s), 0);
    /* Taken after the listener (same ring): the listener met EMFILE by then. */
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_feed(s.svc, &fc, &id), 0);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    h2_svc_worker_stats a = {.size = sizeof(a)}, b = {.size = sizeof(b)};
    cr_assert_eq(h2_svc_worker_get_stats(s.svc, 0, &a), 0);
    /* Each STATS answer costs a turn or two; a listener spinning on EMFILE
     * would turn the worker many times more meanwhile. */
    for (uint64_t i = 0; i < 5; i++) {
        cr_assert_eq(h2_svc_query_stats(s.svc, id, i), 0);
        ev = wait_event(q, H2_SVC_EV_STATS, 5000);
        cr_assert_not_null(ev);
        h2_svc_event_release(ev);
    }
    cr_assert_eq(h2_svc_worker_get_stats(s.svc, 0, &b), 0);
    /* A paused listener: a few turns, not a busy loop. */
    cr_assert_lt(b.loops - a.loops, 20u, "%llu turns", (unsigned long long)(b.loops - a.loops));
    cr_assert_eq(atomic_load(&s.accepted), 0);

    /* Descriptors again, and the 100 ms pause over: the waiting clients are accepted. */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    fake_clock_set(&clock, s.svc, 100);
    cr_assert(tsync_wait_geq(&s.accepts, 3, 5000), "%d accepted", atomic_load(&s.accepted));
    h2_svc_free(s.svc);
    h2_svc_queue_free(q);
    for (int i = 0; i < 3; i++)
        close(cfd[i]);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
