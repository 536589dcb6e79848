/*
 * Batches of posts (h2_svc_batch_begin(), h2_svc_batch_end()): the posts
 * of a batch wake a sleeping worker once, at the batch's end, and every
 * one is carried out; nesting counts; a batch is one service's; a batch
 * that fills a ring still gets its worker to run (no deadlock, nothing
 * lost). The worker's |wakeups| counter tells how often it was woken.
 */
#include "test_service_util.h"

static uint64_t wakeups(h2_svc *svc)
{
    h2_svc_worker_stats st = {.size = sizeof st};
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &st), 0);
    return st.wakeups;
}

/* A server connection on |r| whose client peer sent its preface. */
static h2_svc_conn_id start(svc_rig *r, peer *p, uint32_t mailbox)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    if (mailbox != 0)
        cfg.mailbox_capacity = mailbox;
    svc_rig_start_cfg(r, 1024, &cfg);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(r, &sc);
    peer_init(p, r->peer_fd, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p->conn), 0);
    peer_flush(p);
    cr_assert_null(svc_barrier(r->svc, r->q, id));
    return id;
}

/* Waits for the STATS answers tagged |first| .. |first| + n - 1, in order. */
static void await_stats(svc_rig *r, uint64_t first, int n)
{
    for (int i = 0; i < n;) {
        h2_svc_event *ev = next_event(r->q, 5000);
        cr_assert_not_null(ev, "%d of %d answers came", i, n);
        if (ev->type == H2_SVC_EV_STATS) {
            cr_assert_eq(ev->user, first + (uint64_t)i);
            i++;
        }
        h2_svc_event_release(ev);
    }
}

Test(service_batch, arguments_nesting_and_one_service_at_a_time)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *a = new_service(&lm, 1, 0);
    h2_svc *b = new_service(&lm, 1, 0);
    cr_assert_eq(h2_svc_batch_begin(NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_batch_end(NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_batch_end(a), H2_ESTATE);
    cr_assert_eq(h2_svc_batch_begin(a), 0);
    cr_assert_eq(h2_svc_batch_begin(a), 0);
    cr_assert_eq(h2_svc_batch_begin(b), H2_ESTATE);
    cr_assert_eq(h2_svc_batch_end(b), H2_ESTATE);
    cr_assert_eq(h2_svc_batch_end(a), 0);
    cr_assert_eq(h2_svc_batch_end(a), 0);
    cr_assert_eq(h2_svc_batch_end(a), H2_ESTATE);
    /* Closed: another service may batch now. */
    cr_assert_eq(h2_svc_batch_begin(b), 0);
    cr_assert_eq(h2_svc_batch_end(b), 0);
    h2_svc_free(a);
    h2_svc_free(b);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_batch, a_batch_wakes_a_sleeping_worker_at_most_once)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p, 0);
    enum { POSTS = 16 };
    for (int round = 0; round < 3; round++) {
        uint64_t before = wakeups(r.svc);
        cr_assert_eq(h2_svc_batch_begin(r.svc), 0);
        for (int i = 0; i < POSTS; i++)
            cr_assert_eq(h2_svc_query_stats(r.svc, id, 100u * (uint64_t)round + (uint64_t)i), 0);
        cr_assert_eq(h2_svc_batch_end(r.svc), 0);
        await_stats(&r, 100u * (uint64_t)round, POSTS);
        /* Without a batch each post may wake it: up to 16. */
        cr_assert_leq(wakeups(r.svc) - before, 1u);
    }
    peer_free(&p);
    svc_rig_free(&r);
}

Test(service_batch, nested_batches_wake_at_the_outermost_end)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p, 0);
    uint64_t before = wakeups(r.svc);
    cr_assert_eq(h2_svc_batch_begin(r.svc), 0);
    cr_assert_eq(h2_svc_query_stats(r.svc, id, 1), 0);
    cr_assert_eq(h2_svc_batch_begin(r.svc), 0);
    cr_assert_eq(h2_svc_query_stats(r.svc, id, 2), 0);
    cr_assert_eq(h2_svc_batch_end(r.svc), 0);
    cr_assert_eq(h2_svc_query_stats(r.svc, id, 3), 0);
    cr_assert_eq(h2_svc_batch_end(r.svc), 0);
    await_stats(&r, 1, 3);
    cr_assert_leq(wakeups(r.svc) - before, 1u);
    peer_free(&p);
    svc_rig_free(&r);
}

Test(service_batch, a_batch_that_fills_the_ring_is_carried_out_whole)
{
    svc_rig r;
    peer p;
    /* A ring of 4 slots holds 3 commands; the batch posts 64, each one
     * retried while the ring is full. A full ring wakes its worker, so
     * the batch makes progress before its end. */
    h2_svc_conn_id id = start(&r, &p, 4);
    enum { POSTS = 64 };
    int answered = 0;
    cr_assert_eq(h2_svc_batch_begin(r.svc), 0);
    int64_t end = now_ms() + 10000;
    for (int i = 0; i < POSTS;) {
        int rv = h2_svc_query_stats(r.svc, id, 500u + (uint64_t)i);
        if (rv == 0) {
            i++;
            continue;
        }
        cr_assert_eq(rv, H2_EAGAIN);
        cr_assert_lt(now_ms(), end, "the worker never made room (%d posted)", i);
        /* Room comes as the worker answers: take its answers meanwhile. */
        h2_svc_event *ev = NULL;
        if (h2_svc_queue_poll(r.q, &ev, 1) == 1) {
            cr_assert_eq(ev->type, H2_SVC_EV_STATS);
            cr_assert_eq(ev->user, 500u + (uint64_t)answered);
            answered++;
            h2_svc_event_release(ev);
        }
    }
    cr_assert_eq(h2_svc_batch_end(r.svc), 0);
    await_stats(&r, 500u + (uint64_t)answered, POSTS - answered);
    peer_free(&p);
    svc_rig_free(&r);
}
