/*
 * Service shutdown against late posts: while h2_svc_free() stops the
 * workers, an event callback on one worker still posts to another worker
 * that has already left its loop (a command, and a new connection). The
 * command for the ended connection fails at the call (H2_ENOCONN); the
 * late connection is answered by its CLOSED with reason SHUTDOWN, its
 * socket closed, and no memory kept.
 */
#include <stdatomic.h>
#include "support/test_sync.h"
#include "unit/test_service_util.h"

typedef struct late {
    h2_svc *svc;
    h2_svc_conn_id b; /* the connection on worker 1 */
    atomic_bool b_closed;
    tsync closed_b; /* raised with |b_closed| */
    tsync attached; /* ATTACHED events of both connections */
    int late_fd;          /* a socket attached from the callback, to worker 1 */
    h2_svc_queue *late_q; /* its events */
    int data_rv, attach_rv;
    bool posted;
} late;

static void on_b(void *user, h2_svc_event *ev)
{
    late *l = user;
    if (ev->type == H2_SVC_EV_ATTACHED)
        tsync_add(&l->attached, 1);
    if (ev->type == H2_SVC_EV_CLOSED) {
        atomic_store(&l->b_closed, true);
        tsync_add(&l->closed_b, 1);
    }
    h2_svc_event_release(ev);
}

static void on_a(void *user, h2_svc_event *ev)
{
    late *l = user;
    if (ev->type == H2_SVC_EV_ATTACHED)
        tsync_add(&l->attached, 1);
    if (ev->type == H2_SVC_EV_CLOSED && ev->reason == H2_SVC_CLOSE_SHUTDOWN) {
        /* Worker 1 closes its connections after its last look at its ring. */
        cr_assert(tsync_wait_geq(&l->closed_b, 1, 5000), "worker 1 did not close its connection");
        static const uint8_t body[1000];
        l->data_rv = h2_svc_send_data(l->svc, l->b, 1, body, sizeof body, 0, 77);
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
        cc.queue = l->late_q;
        cc.worker = 1;
        h2_svc_conn_id id;
        l->attach_rv = h2_svc_attach_fd(l->svc, l->late_fd, &cc, &id);
        l->posted = true;
    }
    h2_svc_event_release(ev);
}

Test(service_shutdown, posts_after_a_worker_left_are_answered)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_queue *qs = new_queue(&lm, 64); /* failures for unknown connections */
    h2_svc_queue *q3 = new_queue(&lm, 64);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 2;
    cfg.mem = &lm.mem;
    cfg.queue = qs;
    late l = {.late_q = q3};
    atomic_init(&l.b_closed, false);
    tsync_init(&l.closed_b);
    tsync_init(&l.attached);
    cr_assert_eq(h2_svc_new(&l.svc, &cfg), 0);

    int a[2], b[2], c[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    l.late_fd = c[1];
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
    cc.on_event = on_a;
    cc.user = &l;
    cc.worker = 0;
    h2_svc_conn_id ida;
    cr_assert_eq(h2_svc_attach_fd(l.svc, a[1], &cc, &ida), 0);
    cc.on_event = on_b;
    cc.worker = 1;
    cr_assert_eq(h2_svc_attach_fd(l.svc, b[1], &cc, &l.b), 0);
    cr_assert(tsync_wait_geq(&l.attached, 2, 5000), "not attached");

    h2_svc_free(l.svc);
    cr_assert(l.posted);
    cr_assert(atomic_load(&l.b_closed));
    /* The command for the ended connection failed at the call ... */
    cr_assert_eq(l.data_rv, H2_ENOCONN);
    cr_assert_eq(l.attach_rv, 0);
    h2_svc_event *ev = next_event(qs, 0);
    cr_assert_null(ev, "an event for no connection");
    /* ... and the late connection ended at once, its socket closed. */
    ev = next_event(q3, 0);
    cr_assert_not_null(ev, "the late attach was not answered");
    cr_assert_eq(ev->type, H2_SVC_EV_CLOSED);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_SHUTDOWN);
    h2_svc_event_release(ev);
    uint8_t buf[64];
    cr_assert_eq(read(c[0], buf, sizeof buf), 0, "the late socket is still open");

    h2_svc_queue_free(qs);
    h2_svc_queue_free(q3);
    tsync_destroy(&l.closed_b);
    tsync_destroy(&l.attached);
    close(a[0]);
    close(b[0]);
    close(c[0]);
    cr_assert_eq(lockmem_live(&lm), 0u, "%zu bytes kept", lockmem_live(&lm));
}
