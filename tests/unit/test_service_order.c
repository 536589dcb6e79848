/*
 * Service event order and answers: a connection's CLOSED is its last
 * event, every post that returned 0 is answered before it, a post to a
 * connection that ended fails at the call (H2_ENOCONN), and events that
 * shutdown hands over beyond a queue's capacity keep their order.
 */
#include <stdatomic.h>
#include "unit/test_service_util.h"

/* Takes every event of |q| until CLOSED; counts COMMAND_FAILED(PING). */
static int pings_failed_until_closed(h2_svc_queue *q, h2_svc_conn_id id)
{
    int failed = 0;
    for (;;) {
        h2_svc_event *ev = next_event(q, 10000);
        cr_assert_not_null(ev, "no CLOSED");
        cr_assert_eq(ev->conn, id);
        int type = ev->type;
        if (type == H2_SVC_EV_COMMAND_FAILED) {
            cr_assert_eq(ev->command, H2_SVC_CMD_PING);
            failed++;
        }
        h2_svc_event_release(ev);
        if (type == H2_SVC_EV_CLOSED)
            return failed;
    }
}

/* Abort, then a ping at once: its answer (if the post was taken) comes
 * before CLOSED, and the queue can be freed right at CLOSED. */
Test(service_order, ping_after_abort_is_answered_before_closed)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    for (int trial = 0; trial < 20; trial++) {
        h2_svc_queue *q = new_queue(&lm, 4);
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        h2_svc_conn_config sc;
        h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
        sc.queue = q;
        h2_svc_conn_id id = 0;
        cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
        cr_assert_not_null(ev);
        h2_svc_event_release(ev);
        cr_assert_eq(h2_svc_abort(svc, id, 0), 0);
        int rv = h2_svc_ping(svc, id, (const uint8_t *)"pingpong", 9);
        cr_assert(rv == 0 || rv == H2_ENOCONN, "ping: %d", rv);
        int failed = pings_failed_until_closed(q, id);
        cr_assert_eq(failed, rv == 0 ? 1 : 0, "trial %d: ping answered %d times before CLOSED",
                     trial, failed);
        /* Free the queue as soon as CLOSED came: the service must not touch it. */
        h2_svc_queue_free(q);
        close(sv[0]);
    }
    h2_svc_free(svc);
    cr_assert_eq(lockmem_live(&lm), 0u, "%zu blocks kept", lockmem_live(&lm));
}

/* No service-level destination: a post to a connection that ended fails
 * at the call instead of vanishing. */
Test(service_order, post_to_ended_connection_fails_at_the_call)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(&r, &sc);
    cr_assert_eq(h2_svc_abort(r.svc, id, 0), 0);
    h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_ping(r.svc, id, (const uint8_t *)"pingpong", 1), H2_ENOCONN);
    cr_assert_eq(h2_svc_query_stats(r.svc, id, 2), H2_ENOCONN);
    cr_assert_eq(h2_svc_close(r.svc, id, 0, 3), H2_ENOCONN);
    cr_assert_str_eq(h2_errname(H2_ENOCONN), "H2_ENOCONN");
    h2_svc_free(r.svc);
    r.svc = NULL;
    cr_assert_null(next_event(r.q, 0), "an event after CLOSED");
    close(r.peer_fd);
    svc_rig_free(&r);
}

/* ---- shutdown with a full queue: order kept while the consumer polls ---- */

#define PINGS 2000

typedef struct order_reader {
    h2_svc_queue *q;
    atomic_bool go;
    int next_ping;   /* the PING expected next */
    bool closed;     /* CLOSED seen */
    bool misordered; /* a PING out of order */
} order_reader;

static void *read_in_order(void *arg)
{
    order_reader *o = arg;
    while (!atomic_load(&o->go))
        sched_yield();
    int64_t end = now_ms() + 20000;
    while (!o->closed && now_ms() < end) {
        /* Polled without waiting: room appears while the worker delivers. */
        h2_svc_event *ev = NULL;
        if (h2_svc_queue_poll(o->q, &ev, 1) == 0) {
            sched_yield();
            continue;
        }
        if (ev->type == H2_SVC_EV_PING_RECEIVED) {
            int idx = ev->ping[0] | ev->ping[1] << 8;
            if (idx != o->next_ping)
                o->misordered = true;
            o->next_ping++;
        }
        if (ev->type == H2_SVC_EV_CLOSED)
            o->closed = true;
        h2_svc_event_release(ev);
    }
    return NULL;
}

Test(service_order, shutdown_keeps_a_connections_order)
{
    for (int trial = 0; trial < 40; trial++) {
        svc_rig r;
        svc_rig_start(&r, 4);
        h2_svc_conn_config sc;
        h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
        sc.trace = true; /* PING_RECEIVED events: numbered, nothing to acknowledge */
        svc_rig_attach(&r, &sc);
        peer p;
        peer_init(&p, r.peer_fd, H2_ROLE_CLIENT);
        cr_assert_eq(h2_conn_initiate(p.conn), 0);
        for (int i = 0; i < PINGS; i++) {
            uint8_t opaque[8] = {(uint8_t)i, (uint8_t)(i >> 8)};
            cr_assert_eq(h2_conn_ping(p.conn, opaque), 0);
        }
        peer_flush(&p);
        /* The worker holds most events: the queue keeps 3. */
        int64_t end = now_ms() + 5000;
        h2_svc_queue_stats qs = {.size = sizeof(qs)};
        do {
            cr_assert_lt(now_ms(), end);
            sched_yield();
            h2_svc_queue_get_stats(r.q, &qs);
        } while (qs.waiting < 3);

        order_reader o = {.q = r.q};
        atomic_init(&o.go, false);
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, read_in_order, &o), 0);
        atomic_store(&o.go, true);
        h2_svc_free(r.svc); /* the reader takes events meanwhile */
        r.svc = NULL;
        pthread_join(t, NULL);
        cr_assert(o.closed, "trial %d: no CLOSED", trial);
        cr_assert(!o.misordered, "trial %d: PING events out of order", trial);
        h2_svc_event *ev = next_event(r.q, 0);
        cr_assert_null(ev, "trial %d: an event after CLOSED (type %d)", trial,
                       ev != NULL ? ev->type : 0);
        peer_free(&p);
        h2_svc_queue_free(r.q);
        cr_assert_eq(lockmem_live(&r.lm), 0u);
    }
}
