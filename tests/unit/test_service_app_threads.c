/*
 * The recipe of docs/SERVICE.md, "Several application threads": one event
 * queue per application thread, chosen per connection in the accept
 * callback. Four threads answer the requests of eight client connections;
 * every event of a connection must arrive on the one queue chosen for it,
 * and every request is answered by that queue's thread.
 */
#include <stdatomic.h>
#include <stdio.h>
#include "support/test_sync.h"
#include "test_service_util.h"

#define APP_THREADS 4
#define CONNS 8
#define REQUESTS 4

typedef struct owner_slot {
    _Atomic uint64_t conn;
    atomic_int thread;
} owner_slot;

typedef struct app {
    h2_svc *svc;
    h2_svc_queue *queues[APP_THREADS];
    atomic_uint next_queue;
    owner_slot owners[CONNS * 2];
    atomic_int answered;
    tsync closed;
    atomic_bool stop;
} app;

typedef struct app_thread {
    app *a;
    int index;
} app_thread;

/* Records |conn| as |thread|'s, or checks it is; returns false on a mismatch. */
static bool own(app *a, uint64_t conn, int thread)
{
    for (size_t i = 0; i < CONNS * 2; i++) {
        uint64_t cur = atomic_load(&a->owners[i].conn);
        if (cur == conn)
            return atomic_load(&a->owners[i].thread) == thread;
        if (cur == 0) {
            uint64_t zero = 0;
            atomic_store(&a->owners[i].thread, thread);
            if (atomic_compare_exchange_strong(&a->owners[i].conn, &zero, conn))
                return true;
            if (zero == conn)
                return atomic_load(&a->owners[i].thread) == thread;
        }
    }
    cr_assert_fail("owner table full");
    return false;
}

static int on_accept(void *user, int fd, h2_svc_conn_config *cfg)
{
    (void)fd;
    app *a = user;
    cfg->queue = a->queues[atomic_fetch_add(&a->next_queue, 1) % APP_THREADS];
    return 0;
}

static void answer(app *a, int thread, const h2_svc_event *ev)
{
    char body[32];
    int n = snprintf(body, sizeof body, "t%d s%u", thread, ev->stream_id);
    cr_assert_eq(h2_svc_submit_headers(a->svc, ev->conn, ev->stream_id, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(a->svc, ev->conn, ev->stream_id, (const uint8_t *)body,
                                      (size_t)n, H2_SEND_END_STREAM, 0),
                 0);
    atomic_fetch_add(&a->answered, 1);
}

static void *app_main(void *arg)
{
    app_thread *t = arg;
    app *a = t->a;
    h2_svc_queue *q = a->queues[t->index];
    /* The wait's timeout only lets the thread see |stop| at the end. */
    while (!atomic_load(&a->stop)) {
        h2_svc_event *ev = next_event(q, 50);
        if (ev == NULL)
            continue;
        cr_assert(own(a, ev->conn, t->index), "an event of a connection reached a second queue");
        if (ev->type == H2_SVC_EV_REQUEST_RECEIVED)
            answer(a, t->index, ev);
        else if (ev->type == H2_SVC_EV_CLOSED)
            tsync_add(&a->closed, 1);
        cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
        h2_svc_event_release(ev);
    }
    return NULL;
}

/* Client side: one service worker, the test thread reads the queue. */
static void run_clients(h2_svc *csvc, h2_svc_queue *cq, uint16_t port)
{
    h2_svc_conn_id ids[CONNS];
    for (int c = 0; c < CONNS; c++) {
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
        cc.queue = cq;
        cr_assert_eq(h2_svc_attach_fd(csvc, connect_loopback(port), &cc, &ids[c]), 0);
        for (int r = 0; r < REQUESTS; r++)
            cr_assert_eq(h2_svc_submit_headers(csvc, ids[c], 0, get_fields, 4,
                                                   H2_SEND_END_STREAM, (uint64_t)r),
                         0);
    }
    int threads_of_conn[CONNS];
    for (int c = 0; c < CONNS; c++)
        threads_of_conn[c] = -1;
    int complete = 0;
    while (complete < CONNS * REQUESTS) {
        h2_svc_event *ev = next_event(cq, 10000);
        cr_assert_not_null(ev, "responses missing: %d of %d", complete, CONNS * REQUESTS);
        if (ev->type == H2_SVC_EV_DATA_RECEIVED) {
            int c = 0;
            while (c < CONNS && ids[c] != ev->conn)
                c++;
            cr_assert_lt(c, CONNS);
            int thread = -1;
            unsigned stream = 0;
            /* The payload is not NUL-terminated: what follows it in the
             * event's block is not part of it. */
            char text[32] = {0};
            cr_assert_lt(ev->len, sizeof text);
            memcpy(text, ev->data, ev->len);
            cr_assert_eq(sscanf(text, "t%d s%u", &thread, &stream), 2);
            cr_assert_eq(stream, ev->stream_id);
            /* One connection, one application thread. */
            if (threads_of_conn[c] < 0)
                threads_of_conn[c] = thread;
            cr_assert_eq(thread, threads_of_conn[c]);
            cr_assert(ev->end_stream);
            complete++;
        }
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED);
        h2_svc_event_release(ev);
    }
    /* The accept callback spread the connections round robin: every thread served some. */
    unsigned seen = 0;
    for (int c = 0; c < CONNS; c++)
        seen |= 1u << threads_of_conn[c];
    cr_assert_eq(seen, (1u << APP_THREADS) - 1u, "threads that answered: %#x", seen);
    for (int c = 0; c < CONNS; c++) {
        cr_assert_eq(h2_svc_close(csvc, ids[c], H2_NO_ERROR, 0), 0);
        h2_svc_event *ev = wait_event(cq, H2_SVC_EV_CLOSED, 10000);
        cr_assert_not_null(ev);
        h2_svc_event_release(ev);
    }
}

Test(service_app_threads, one_queue_per_thread_chosen_at_accept, .timeout = 120)
{
    lockmem lm;
    lockmem_init(&lm);
    app a;
    memset(&a, 0, sizeof a);
    a.svc = new_service(&lm, 2, 0);
    tsync_init(&a.closed);
    for (int i = 0; i < APP_THREADS; i++)
        a.queues[i] = new_queue(&lm, 256);
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = a.queues[0]; /* the listener's default; the accept callback chooses */
    cr_assert_eq(h2_svc_listen(a.svc, lfd, &sc, on_accept, &a), 0);
    pthread_t th[APP_THREADS];
    app_thread at[APP_THREADS];
    for (int i = 0; i < APP_THREADS; i++) {
        at[i] = (app_thread){.a = &a, .index = i};
        cr_assert_eq(pthread_create(&th[i], NULL, app_main, &at[i]), 0);
    }

    h2_svc *csvc = new_service(&lm, 1, 0);
    h2_svc_queue *cq = new_queue(&lm, 256);
    run_clients(csvc, cq, port);
    h2_svc_free(csvc);
    h2_svc_queue_free(cq);

    /* The server's connections end after the clients' GOAWAY and close. */
    cr_assert(tsync_wait_geq(&a.closed, CONNS, 30000), "server connections did not close");
    atomic_store(&a.stop, true);
    for (int i = 0; i < APP_THREADS; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&a.answered), CONNS * REQUESTS);
    h2_svc_free(a.svc);
    for (int i = 0; i < APP_THREADS; i++)
        h2_svc_queue_free(a.queues[i]);
    tsync_destroy(&a.closed);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
