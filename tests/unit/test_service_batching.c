/*
 * Events a worker gives a queue in one turn wake its parked consumer once,
 * after the turn's other work, not at the first event: the application
 * thread then takes them as one batch instead of racing the worker for
 * small ones. Checked from inside the turn: a callback-mode connection on
 * the same worker looks at the queue's fd right after the worker filled
 * the queue, within the same batch of commands.
 */
#include <poll.h>
#include <semaphore.h>
#include <stdatomic.h>
#include "test_service_util.h"

#define REQUESTS 20

static void no_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user, (void)conn, (void)data, (void)len;
}

typedef struct probe {
    sem_t entered, go;
    int queue_fd;
    atomic_int checks;
    atomic_int readable_in_turn; /* the queue's fd was readable inside the turn */
} probe;

/* On the worker: STATS 1 holds the worker until the test posted the rest;
 * STATS 2 comes after the feed in the same batch and looks at the fd. */
static void probe_event(void *user, h2_svc_event *ev)
{
    probe *p = user;
    if (ev->type == H2_SVC_EV_STATS && ev->user == 1) {
        sem_post(&p->entered);
        sem_wait(&p->go);
    } else if (ev->type == H2_SVC_EV_STATS && ev->user == 2) {
        struct pollfd pf = {.fd = p->queue_fd, .events = POLLIN, .revents = 0};
        if (poll(&pf, 1, 0) == 1)
            atomic_fetch_add(&p->readable_in_turn, 1);
        atomic_fetch_add(&p->checks, 1);
    }
    h2_svc_event_release(ev);
}

/* A client's preface, SETTINGS and |n| GET requests, as one byte string. */
static uint8_t *client_bytes(size_t n, size_t *len)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h2_conn_send_headers(c, (uint32_t)(2 * i + 1), get_fields, 4,
                                          H2_SEND_END_STREAM, NULL),
                     0);
    const uint8_t *data;
    h2_conn_output_view(c, &data, len);
    uint8_t *copy = malloc(*len);
    cr_assert_not_null(copy);
    memcpy(copy, data, *len);
    h2_conn_free(c);
    return copy;
}

Test(service_batching, a_turn_of_events_wakes_the_consumer_after_the_turn)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 256);
    probe p;
    sem_init(&p.entered, 0, 0);
    sem_init(&p.go, 0, 0);
    p.queue_fd = h2_svc_queue_fd(q);
    atomic_init(&p.checks, 0);
    atomic_init(&p.readable_in_turn, 0);

    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
    cc.queue = q;
    cc.on_output = no_output;
    cc.worker = 0;
    h2_svc_conn_id server = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, &server), 0);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 10000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);

    h2_svc_conn_config pc;
    h2_svc_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.on_event = probe_event;
    pc.user = &p;
    pc.on_output = no_output;
    pc.worker = 0;
    h2_svc_conn_id prober = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &pc, &prober), 0);

    cr_assert(h2_svc_queue_prepare_wait(q)); /* the consumer is parked */
    cr_assert_eq(h2_svc_query_stats(svc, prober, 1), 0);
    sem_wait(&p.entered); /* the worker is inside a turn, held */
    size_t len = 0;
    uint8_t *bytes = client_bytes(REQUESTS, &len);
    cr_assert_eq(h2_svc_feed(svc, server, bytes, len), 0);
    free(bytes);
    cr_assert_eq(h2_svc_query_stats(svc, prober, 2), 0);
    sem_post(&p.go);

    /* After the turn the consumer is woken, with every request in. */
    struct pollfd pf = {.fd = h2_svc_queue_fd(q), .events = POLLIN, .revents = 0};
    cr_assert_eq(poll(&pf, 1, 10000), 1, "the consumer was never woken");
    cr_assert_eq(atomic_load(&p.checks), 1);
    cr_assert_eq(atomic_load(&p.readable_in_turn), 0,
                 "the consumer was woken in the middle of the worker's turn");
    h2_svc_queue_stats st = {.size = sizeof(st)};
    cr_assert_eq(h2_svc_queue_get_stats(q, &st), 0);
    cr_assert_geq(st.waiting, REQUESTS);
    int got = 0;
    while (got < REQUESTS) {
        ev = next_event(q, 10000);
        cr_assert_not_null(ev);
        if (ev->type == H2_SVC_EV_REQUEST_RECEIVED)
            got++;
        h2_svc_event_release(ev);
    }
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    sem_destroy(&p.entered);
    sem_destroy(&p.go);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
