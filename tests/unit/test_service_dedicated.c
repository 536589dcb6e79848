/*
 * Dedicated mode: connections with a worker thread of their own. Their
 * callbacks run on distinct threads, not on the shared workers; the slot
 * limit; commands after the connection ended are answered; slots are
 * reused; shutdown with dedicated connections open.
 */
#include <stdatomic.h>
#include "support/test_sync.h"
#include "test_service_util.h"

typedef struct conn_seen {
    pthread_t thread; /* set once, before |have_thread| */
    atomic_int have_thread;
    atomic_int events;
    atomic_int closed;
    atomic_int reason;
    atomic_int requests;
    h2_svc *svc;
    tsync closes;  /* raised with |closed| */
    tsync exits;   /* the thread that ran the callbacks ended */
} conn_seen;

/* Each callback thread remembers its connection, told of the thread's end. */
static pthread_key_t seen_key;
static pthread_once_t seen_once = PTHREAD_ONCE_INIT;

static void thread_ended(void *value)
{
    tsync_add(&((conn_seen *)value)->exits, 1);
}

static void make_key(void)
{
    cr_assert_eq(pthread_key_create(&seen_key, thread_ended), 0);
}

static void on_event(void *user, h2_svc_event *ev)
{
    conn_seen *s = user;
    if (atomic_load(&s->have_thread) == 0) {
        s->thread = pthread_self();
        atomic_store(&s->have_thread, 1);
        pthread_once(&seen_once, make_key);
        cr_assert_eq(pthread_setspecific(seen_key, s), 0);
    } else {
        cr_assert(pthread_equal(s->thread, pthread_self()));
    }
    atomic_fetch_add(&s->events, 1);
    if (ev->type == H2_EV_REQUEST_RECEIVED) {
        atomic_fetch_add(&s->requests, 1);
        cr_assert_eq(h2_svc_submit_headers(s->svc, ev->conn, ev->stream_id, ok_fields, 1,
                                               H2_SEND_END_STREAM, 0),
                     0);
    }
    if (ev->type == H2_SVC_EV_CLOSED) {
        atomic_store(&s->reason, ev->reason);
        atomic_fetch_add(&s->closed, 1);
        tsync_add(&s->closes, 1);
    }
    h2_svc_event_release(ev);
}

static h2_svc *service(lockmem *lm, unsigned max_dedicated, h2_svc_queue *q)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_eq(cfg.max_dedicated, 64u);
    cfg.workers = 1;
    cfg.mem = &lm->mem;
    cfg.max_dedicated = max_dedicated;
    cfg.queue = q;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    return svc;
}

static int attach(h2_svc *svc, conn_seen *s, bool dedicated, h2_svc_conn_id *id, peer *p)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(s, 0, sizeof(*s));
    tsync_init(&s->closes);
    tsync_init(&s->exits);
    s->svc = svc;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_event = on_event;
    sc.user = s;
    sc.dedicated = dedicated;
    int rv = h2_svc_attach_fd(svc, sv[1], &sc, id);
    if (rv != 0) {
        close(sv[0]);
        close(sv[1]);
        return rv;
    }
    peer_init(p, sv[0], H2_ROLE_CLIENT);
    return 0;
}

typedef struct got {
    bool response;
} got;

static void on_peer(void *arg, const h2_event *ev)
{
    if (ev->type == H2_EV_RESPONSE_RECEIVED)
        ((got *)arg)->response = true;
}

/* One request and its response through the peer. */
static void request(peer *p)
{
    cr_assert_eq(h2_conn_initiate(p->conn), 0);
    cr_assert_eq(h2_conn_send_headers(p->conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(p);
    got g = {false};
    int64_t end = now_ms() + 5000;
    while (!g.response) {
        cr_assert_lt(now_ms(), end);
        peer_pump(p, 10, on_peer, &g);
    }
}

static void wait_closed(conn_seen *s)
{
    cr_assert(tsync_wait_geq(&s->closes, 1, 5000), "not closed");
}

/* A dedicated connection's thread ended (it had queued itself to be joined). */
static void wait_exited(conn_seen *s)
{
    cr_assert(tsync_wait_geq(&s->exits, 1, 5000), "the dedicated thread did not end");
}

/*
 * One turn of shared worker 0, proved: a shared connection attached with
 * its events in |dq| is reported ATTACHED (worker 0 handled the attach),
 * then aborted and reported CLOSED.
 */
static void worker0_turn(h2_svc *svc, h2_svc_queue *dq)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = dq;
    h2_svc_conn_id id;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
    h2_svc_event *ev = wait_event(dq, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_abort(svc, id, 0), 0);
    ev = wait_event(dq, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    close(sv[0]);
}

/*
 * Attaches a dedicated connection once a slot is free again. A slot frees
 * when shared worker 0 joins the thread that ended; each H2_EAGAIN waits
 * for a turn of worker 0.
 */
static int attach_when_free(h2_svc *svc, h2_svc_queue *dq, conn_seen *s, h2_svc_conn_id *id,
                            peer *p)
{
    int rv;
    for (int tries = 0; (rv = attach(svc, s, true, id, p)) == H2_EAGAIN; tries++) {
        cr_assert_lt(tries, 50, "no slot came free");
        worker0_turn(svc, dq);
    }
    return rv;
}

Test(service_dedicated, own_threads_and_slot_reuse)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_queue *dq = new_queue(&lm, 64);
    h2_svc *svc = service(&lm, 4, dq);
    conn_seen shared, a, b;
    peer ps, pa, pb;
    h2_svc_conn_id ids, ida, idb;
    cr_assert_eq(attach(svc, &shared, false, &ids, &ps), 0);
    cr_assert_eq(attach(svc, &a, true, &ida, &pa), 0);
    cr_assert_eq(attach(svc, &b, true, &idb, &pb), 0);
    request(&ps);
    request(&pa);
    request(&pb);
    cr_assert_eq(atomic_load(&a.requests), 1);
    cr_assert_eq(atomic_load(&b.requests), 1);
    /* Three threads: the shared worker and one per dedicated connection. */
    cr_assert(atomic_load(&a.have_thread) && atomic_load(&b.have_thread) &&
              atomic_load(&shared.have_thread));
    cr_assert(!pthread_equal(a.thread, b.thread));
    cr_assert(!pthread_equal(a.thread, shared.thread));
    cr_assert(!pthread_equal(b.thread, shared.thread));

    /* The peer of |a| goes away: its worker finishes it and leaves. */
    peer_free(&pa);
    wait_closed(&a);
    wait_exited(&a);
    cr_assert_eq(atomic_load(&a.reason), H2_SVC_CLOSE_PEER_EOF);
    /* A command for it fails at the call. */
    uint8_t opaque[8] = {0};
    cr_assert_eq(h2_svc_ping(svc, ida, opaque, 55), H2_ENOCONN);

    /* More dedicated connections than ever at once reuse the slots. */
    for (int i = 0; i < 6; i++) {
        conn_seen c;
        peer pc;
        h2_svc_conn_id idc;
        int rv = attach_when_free(svc, dq, &c, &idc, &pc);
        cr_assert_eq(rv, 0);
        request(&pc);
        cr_assert_eq(h2_svc_abort(svc, idc, 0), 0);
        wait_closed(&c);
        wait_exited(&c); /* before |c| is reused */
        cr_assert_eq(atomic_load(&c.reason), H2_SVC_CLOSE_ABORTED);
        peer_free(&pc);
    }

    /* Shutdown with a dedicated connection open. */
    h2_svc_free(svc);
    cr_assert_eq(atomic_load(&b.closed), 1);
    cr_assert_eq(atomic_load(&b.reason), H2_SVC_CLOSE_SHUTDOWN);
    cr_assert_eq(atomic_load(&shared.closed), 1);
    h2_svc_queue_free(dq);
    peer_free(&ps);
    peer_free(&pb);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_dedicated, slot_limit)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_queue *dq = new_queue(&lm, 64);
    h2_svc *svc = service(&lm, 1, dq);
    conn_seen a, b;
    peer pa, pb;
    h2_svc_conn_id ida, idb;
    cr_assert_eq(attach(svc, &a, true, &ida, &pa), 0);
    cr_assert_eq(attach(svc, &b, true, &idb, &pb), H2_EAGAIN);
    cr_assert_eq(idb, 0u);
    request(&pa);
    cr_assert_eq(h2_svc_close(svc, ida, H2_NO_ERROR, 0), 0);
    wait_closed(&a);
    wait_exited(&a);
    int rv = attach_when_free(svc, dq, &b, &idb, &pb);
    cr_assert_eq(rv, 0);
    request(&pb);
    h2_svc_free(svc);
    h2_svc_queue_free(dq);
    peer_free(&pa);
    peer_free(&pb);

    /* No slots at all: dedicated attaches are refused. */
    svc = service(&lm, 0, NULL);
    cr_assert_eq(attach(svc, &a, true, &ida, &pa), H2_EAGAIN);
    h2_svc_free(svc);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
