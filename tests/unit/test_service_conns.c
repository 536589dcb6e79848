/*
 * h2_svc_conns(): the ids of the connections that accept commands,
 * from any thread, so that a thread can reach every connection (a
 * broadcast PING, say) without keeping its own list.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "test_service_util.h"

static void no_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user, (void)conn, (void)data, (void)len;
}

static h2_svc_conn_id attach(h2_svc *svc, h2_svc_queue *q, int worker)
{
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.queue = q;
    cc.on_output = no_output;
    cc.worker = worker;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, &id), 0);
    return id;
}

static bool has(const h2_svc_conn_id *ids, size_t n, h2_svc_conn_id id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

Test(service_conns, lists_live_connections_and_drops_ended_ones)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 2, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    size_t n = 99;
    cr_assert_eq(h2_svc_conns(svc, NULL, 0, &n), 0);
    cr_assert_eq(n, 0u);

    h2_svc_conn_id ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = attach(svc, q, i % 2);
    h2_svc_conn_id got[8];
    cr_assert_eq(h2_svc_conns(svc, got, 8, &n), 0);
    cr_assert_eq(n, 5u);
    for (int i = 0; i < 5; i++)
        cr_assert(has(got, n, ids[i]), "connection %d is missing", i);

    /* A short array: the first |cap| ids, and the full count. */
    h2_svc_conn_id two[2] = {0, 0};
    cr_assert_eq(h2_svc_conns(svc, two, 2, &n), 0);
    cr_assert_eq(n, 5u);
    cr_assert(has(ids, 5, two[0]) && has(ids, 5, two[1]) && two[0] != two[1]);

    /* Every listed id takes a command: a broadcast reaches each one. */
    cr_assert_eq(h2_svc_conns(svc, got, 8, &n), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h2_svc_query_stats(svc, got[i], i), 0);
    size_t answers = 0;
    while (answers < n) {
        h2_svc_event *ev = next_event(q, 10000);
        cr_assert_not_null(ev, "a broadcast query went unanswered");
        if (ev->type == H2_SVC_EV_STATS)
            answers++;
        h2_svc_event_release(ev);
    }

    /* An ended connection leaves the list by the time its CLOSED arrives. */
    cr_assert_eq(h2_svc_abort(svc, ids[2], 0), 0);
    h2_svc_event *closed = wait_event(q, H2_SVC_EV_CLOSED, 10000);
    cr_assert_not_null(closed);
    cr_assert_eq(closed->conn, ids[2]);
    h2_svc_event_release(closed);
    cr_assert_eq(h2_svc_conns(svc, got, 8, &n), 0);
    cr_assert_eq(n, 4u);
    cr_assert_not(has(got, n, ids[2]));

    cr_assert_eq(h2_svc_conns(NULL, got, 8, &n), H2_EINVAL);
    cr_assert_eq(h2_svc_conns(svc, NULL, 8, &n), H2_EINVAL);
    cr_assert_eq(h2_svc_conns(svc, got, 8, NULL), H2_EINVAL);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* Listing while other threads attach and abort connections (run under TSan). */
typedef struct churn {
    h2_svc *svc;
    h2_svc_queue *q;
    atomic_bool stop;
    atomic_int listed;
} churn;

static void *list_loop(void *arg)
{
    churn *c = arg;
    h2_svc_conn_id ids[64];
    while (!atomic_load(&c->stop)) {
        size_t n = 0;
        cr_assert_eq(h2_svc_conns(c->svc, ids, 64, &n), 0);
        for (size_t i = 0; i < n && i < 64; i++)
            cr_assert_neq(ids[i], 0u);
        atomic_fetch_add(&c->listed, 1);
    }
    return NULL;
}

Test(service_conns, listing_races_attach_and_close, .timeout = 60)
{
    lockmem lm;
    lockmem_init(&lm);
    churn c = {.svc = new_service(&lm, 2, 0), .q = new_queue(&lm, 1024)};
    atomic_init(&c.stop, false);
    atomic_init(&c.listed, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, list_loop, &c), 0);
    for (int round = 0; round < 200; round++) {
        h2_svc_conn_id id = attach(c.svc, c.q, round % 2);
        cr_assert_eq(h2_svc_abort(c.svc, id, 0), 0);
        h2_svc_event *ev = wait_event(c.q, H2_SVC_EV_CLOSED, 10000);
        cr_assert_not_null(ev);
        h2_svc_event_release(ev);
    }
    /* The lister ran at least once before it is stopped. */
    while (atomic_load(&c.listed) == 0)
        sched_yield();
    atomic_store(&c.stop, true);
    pthread_join(t, NULL);
    size_t n = 1;
    cr_assert_eq(h2_svc_conns(c.svc, NULL, 0, &n), 0);
    cr_assert_eq(n, 0u);
    h2_svc_free(c.svc);
    h2_svc_queue_free(c.q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
