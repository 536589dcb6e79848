/*
 * Allocation failures through the service path: testmem's fail-Nth
 * allocator (behind a lock: the service allocates from several threads)
 * is the service's allocator while a server connection is attached,
 * answers a request from a peer driven by the test and closes. Whatever
 * allocation fails, the run ends in clean results (an error code from a
 * call, a COMMAND_FAILED, or a CLOSED event), the connection reports
 * CLOSED exactly once, and nothing leaks.
 */
#include "test_service_util.h"

static size_t g_fail_at;

typedef struct locked {
    testmem *tm;
    pthread_mutex_t mu;
    h2_mem mem;
} locked;

static void *l_malloc(size_t size, void *ud)
{
    locked *l = ud;
    pthread_mutex_lock(&l->mu);
    void *p = l->tm->mem.malloc(size, l->tm->mem.user_data);
    pthread_mutex_unlock(&l->mu);
    return p;
}

static void *l_realloc(void *ptr, size_t size, void *ud)
{
    locked *l = ud;
    pthread_mutex_lock(&l->mu);
    void *p = l->tm->mem.realloc(ptr, size, l->tm->mem.user_data);
    pthread_mutex_unlock(&l->mu);
    return p;
}

static void l_free(void *ptr, void *ud)
{
    locked *l = ud;
    pthread_mutex_lock(&l->mu);
    l->tm->mem.free(ptr, l->tm->mem.user_data);
    pthread_mutex_unlock(&l->mu);
}

typedef struct outcome {
    peer *p;
    bool response; /* the whole response arrived (at the peer, or at the service's client) */
    int closed;    /* CLOSED events */
    int failed;    /* COMMAND_FAILED events */
    bool gave_up;  /* a posting call failed: stop driving */
} outcome;

static void on_peer(void *arg, const h2_event *ev)
{
    outcome *o = arg;
    if (ev->type == H2_EV_DATA_RECEIVED && ev->u.data.stream_ended >= 0)
        o->response = true;
    /* A peer server answers at once. */
    if (ev->type == H2_EV_REQUEST_RECEIVED)
        cr_assert_eq(
            h2_conn_send_headers(o->p->conn, ev->stream_id, ok_fields, 1, H2_SEND_END_STREAM, NULL),
            0);
}

static void server_event(h2_svc *svc, outcome *o, h2_svc_event *ev)
{
    if (ev->type == H2_EV_REQUEST_RECEIVED) {
        int rv = h2_svc_submit_headers(svc, ev->conn, ev->stream_id, ok_fields, 1, 0, 0);
        if (rv == 0)
            rv = h2_svc_send_data(svc, ev->conn, ev->stream_id, (const uint8_t *)"hello", 5,
                                      H2_SEND_END_STREAM, 0);
        cr_assert(rv == 0 || rv == H2_ENOMEM || rv == H2_ENOCONN, "post: %d", rv);
        if (rv != 0)
            o->gave_up = true;
    } else if (ev->type == H2_EV_RESPONSE_RECEIVED) {
        cr_assert(ev->end_stream);
        o->response = true;
    } else if (ev->type == H2_SVC_EV_CLOSED) {
        o->closed++;
    } else if (ev->type == H2_SVC_EV_COMMAND_FAILED) {
        /* ENOMEM, or a consequence of an earlier refusal (DATA without its HEADERS). */
        cr_assert_lt(ev->error, 0, "command %d (allocation %zu)", ev->command, g_fail_at);
        o->failed++;
        o->gave_up = true;
    }
    h2_svc_event_release(ev);
}

static void drain(h2_svc *svc, h2_svc_queue *q, outcome *o)
{
    h2_svc_event *ev = NULL;
    while (h2_svc_queue_poll(q, &ev, 1) == 1)
        server_event(svc, o, ev);
}

/* |arg|: the role of the service's connection (the peer has the other one). */
static int scenario(testmem *tm, void *arg)
{
    h2_role role = *(const h2_role *)arg;
    g_fail_at = tm->fail_at;
    locked l = {.tm = tm};
    pthread_mutex_init(&l.mu, NULL);
    l.mem = (h2_mem){&l, l_malloc, l_realloc, l_free};
    int bad = 0;

    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.mem = &l.mem;
    h2_svc *svc = NULL;
    int rv = h2_svc_new(&svc, &cfg);
    if (rv != 0)
        return rv == H2_ENOMEM ? 0 : 1;
    h2_svc_queue *q = NULL;
    rv = h2_svc_queue_new(&q, 64, &l.mem);
    if (rv != 0) {
        h2_svc_free(svc);
        return rv == H2_ENOMEM ? 0 : 1;
    }
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, role);
    sc.queue = q;
    h2_svc_conn_id id = 0;
    rv = h2_svc_attach_fd(svc, sv[1], &sc, &id);
    if (rv != 0) {
        close(sv[0]);
        close(sv[1]);
        h2_svc_free(svc);
        h2_svc_queue_free(q);
        return rv == H2_ENOMEM ? 0 : 1;
    }

    peer p;
    peer_init(&p, sv[0], role == H2_ROLE_SERVER ? H2_ROLE_CLIENT : H2_ROLE_SERVER);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    outcome o = {.p = &p};
    if (role == H2_ROLE_SERVER) {
        cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    } else {
        /* The service's client opens the stream. */
        rv = h2_svc_submit_headers(svc, id, 0, get_fields, 4, H2_SEND_END_STREAM, 1);
        cr_assert(rv == 0 || rv == H2_ENOMEM || rv == H2_ENOCONN);
        o.gave_up = rv != 0;
    }
    peer_flush(&p);

    int64_t end = now_ms() + 3000;
    /* Until the response arrived, or the connection ended, or a post failed. */
    while (!o.response && o.closed == 0 && !o.gave_up) {
        if (now_ms() > end) {
            bad = 1;
            break;
        }
        drain(svc, q, &o);
        peer_pump(&p, 2, on_peer, &o);
    }
    if (o.response && o.closed == 0 && !o.gave_up) {
        rv = h2_svc_close(svc, id, H2_NO_ERROR, 0);
        cr_assert(rv == 0 || rv == H2_ENOMEM || rv == H2_ENOCONN);
        /* GOAWAY: the peer answers nothing more; wait for the end either way. */
        while (rv == 0 && o.closed == 0 && !o.gave_up) {
            if (now_ms() > end) {
                bad = 1;
                break;
            }
            drain(svc, q, &o);
            peer_pump(&p, 2, on_peer, &o);
            if (p.eof && o.closed == 0)
                h2_svc_queue_wait(q, 10);
        }
    }
    h2_svc_free(svc);
    drain(svc, q, &o);
    if (o.closed != 1)
        bad = 1;
    h2_svc_queue_free(q);
    peer_free(&p);
    pthread_mutex_destroy(&l.mu);
    return bad;
}

Test(service_memory, server_every_allocation_failure_ends_cleanly)
{
    h2_role role = H2_ROLE_SERVER;
    size_t calls = testmem_sweep(scenario, &role);
    cr_log_info("%zu allocation calls swept", calls);
    cr_assert_gt(calls, 10u);
}

Test(service_memory, client_every_allocation_failure_ends_cleanly)
{
    h2_role role = H2_ROLE_CLIENT;
    size_t calls = testmem_sweep(scenario, &role);
    cr_log_info("%zu allocation calls swept", calls);
    cr_assert_gt(calls, 10u);
}
