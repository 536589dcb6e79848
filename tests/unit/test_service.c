/*
 * Connection service: a client service and a server service talking over
 * socketpairs (fd mode) and through each other's feed calls (feed mode),
 * with bodies larger than the flow-control windows and every byte
 * checksummed; a full command ring; a slow event consumer; shutdown with
 * work in flight; argument checks.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "h2/service.h"
#include "test_service_util.h"

static const h2_header request_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/upload"),
    HDR(":authority", "example.org"),
};
static const h2_header response_fields[] = {HDR(":status", "200")};

/* ---- one request/response exchange, driven by the test thread ---- */

typedef struct exchange {
    h2_svc *csvc, *ssvc;
    h2_svc_queue *cq, *sq;
    h2_svc_conn_id cid, sid;
    const uint8_t *req;
    size_t req_len;
    const uint8_t *resp;
    size_t resp_len;
    /* client side */
    uint32_t stream;
    bool response_headers;
    size_t got_resp;
    uint64_t resp_sum;
    bool resp_ended;
    /* server side */
    uint32_t sstream;
    size_t got_req;
    uint64_t req_sum;
    bool req_ended;
    bool answered;
    /* both */
    int client_reason, server_reason;
    bool ping_acked;
    int closed;
    int failed;
    size_t slow; /* events taken per client poll when > 0 */
} exchange;

static void client_event(exchange *x, h2_svc_event *ev)
{
    switch (ev->type) {
    case H2_SVC_EV_ATTACHED:
        cr_assert_eq(ev->conn, x->cid);
        break;
    case H2_SVC_EV_STREAM_OPENED:
        cr_assert_eq(ev->user, 7u);
        cr_assert_eq(ev->stream_id, 1u);
        x->stream = ev->stream_id;
        cr_assert_eq(
            h2_svc_send_data(x->csvc, x->cid, x->stream, x->req, x->req_len, H2_SEND_END_STREAM, 8),
            0);
        break;
    case H2_SVC_EV_RESPONSE_RECEIVED:
        cr_assert_eq(ev->stream_id, x->stream);
        cr_assert_eq(ev->n_fields, 1u);
        cr_assert_eq(ev->fields[0].value_len, 3u);
        cr_assert(memcmp(ev->fields[0].value, "200", 3) == 0);
        x->response_headers = true;
        break;
    case H2_SVC_EV_DATA_RECEIVED:
        cr_assert_eq(ev->stream_id, x->stream);
        x->resp_sum = fnv(x->resp_sum, ev->data, ev->len);
        x->got_resp += ev->len;
        if (ev->end_stream)
            x->resp_ended = true;
        break;
    case H2_SVC_EV_PING_ACK_RECEIVED:
        cr_assert(memcmp(ev->ping, "pingpong", 8) == 0);
        x->ping_acked = true;
        break;
    case H2_SVC_EV_CLOSED:
        x->client_reason = ev->reason;
        x->closed++;
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        x->failed++;
        break;
    default:
        break;
    }
    h2_svc_event_release(ev);
}

static void server_event(exchange *x, h2_svc_event *ev)
{
    switch (ev->type) {
    case H2_SVC_EV_REQUEST_RECEIVED:
        x->sstream = ev->stream_id;
        cr_assert_eq(ev->n_fields, 4u);
        cr_assert_eq(
            h2_svc_submit_headers(x->ssvc, x->sid, ev->stream_id, response_fields, 1, 0, 0), 0);
        break;
    case H2_SVC_EV_DATA_RECEIVED:
        x->req_sum = fnv(x->req_sum, ev->data, ev->len);
        x->got_req += ev->len;
        if (ev->end_stream)
            x->req_ended = true;
        break;
    case H2_SVC_EV_CLOSED:
        x->server_reason = ev->reason;
        x->closed++;
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        x->failed++;
        break;
    default:
        break;
    }
    if (x->req_ended && !x->answered) {
        x->answered = true;
        cr_assert_eq(h2_svc_send_data(x->ssvc, x->sid, x->sstream, x->resp, x->resp_len,
                                      H2_SEND_END_STREAM, 0),
                     0);
    }
    h2_svc_event_release(ev);
}

/* Polls both queues until |done| or the deadline; fails on timeout. */
static void drive(exchange *x, bool (*done)(exchange *), int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    h2_svc_event *evs[32];
    while (!done(x)) {
        cr_assert_lt(now_ms(), end, "timed out: req %zu/%zu resp %zu/%zu closed %d failed %d",
                     x->got_req, x->req_len, x->got_resp, x->resp_len, x->closed, x->failed);
        size_t n = h2_svc_queue_poll(x->cq, evs, x->slow > 0 ? x->slow : 32);
        for (size_t i = 0; i < n; i++)
            client_event(x, evs[i]);
        size_t m = h2_svc_queue_poll(x->sq, evs, 32);
        for (size_t i = 0; i < m; i++)
            server_event(x, evs[i]);
        if (x->slow > 0)
            sched_yield(); /* a consumer slower than the client's worker: the queue fills */
        else if (n == 0 && m == 0)
            h2_svc_queue_wait(x->cq, 1);
    }
}

static bool exchange_done(exchange *x)
{
    return x->resp_ended && x->req_ended;
}

static bool both_closed(exchange *x)
{
    return x->closed == 2;
}

static void check_exchange(exchange *x)
{
    cr_assert(x->response_headers);
    cr_assert_eq(x->got_req, x->req_len);
    cr_assert_eq(x->req_sum, fnv(FNV0, x->req, x->req_len));
    cr_assert_eq(x->got_resp, x->resp_len);
    cr_assert_eq(x->resp_sum, fnv(FNV0, x->resp, x->resp_len));
    cr_assert_eq(x->failed, 0);
}

static void start_request(exchange *x)
{
    cr_assert_eq(h2_svc_submit_headers(x->csvc, x->cid, 0, request_fields, 4, 0, 7), 0);
}

static void exchange_init(exchange *x, lockmem *lm, size_t req_len, size_t resp_len)
{
    memset(x, 0, sizeof(*x));
    x->csvc = new_service(lm, 1, 0);
    x->ssvc = new_service(lm, 2, 0);
    x->cq = new_queue(lm, 64);
    x->sq = new_queue(lm, 64);
    x->req = make_body(req_len, 1);
    x->req_len = req_len;
    x->resp = make_body(resp_len, 2);
    x->resp_len = resp_len;
    x->resp_sum = FNV0;
    x->req_sum = FNV0;
}

static void exchange_free(exchange *x, lockmem *lm)
{
    h2_svc_free(x->csvc);
    h2_svc_free(x->ssvc);
    h2_svc_queue_free(x->cq);
    h2_svc_queue_free(x->sq);
    free((void *)x->req);
    free((void *)x->resp);
    cr_assert_eq(lockmem_live(lm), 0u, "leaked %zu blocks", lockmem_live(lm));
}

static void attach_fd_pair(exchange *x, uint32_t client_window)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.queue = x->cq;
    if (client_window != 0) {
        cc.conn.initial_window_size = client_window;
        cc.conn.connection_window_size = client_window;
    }
    cr_assert_eq(h2_svc_attach_fd(x->csvc, sv[0], &cc, &x->cid), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = x->sq;
    cr_assert_eq(h2_svc_attach_fd(x->ssvc, sv[1], &sc, &x->sid), 0);
    cr_assert_neq(x->cid, 0u);
    cr_assert_neq(x->sid, 0u);
}

Test(service, fd_mode_request_response_larger_than_windows)
{
    lockmem lm;
    lockmem_init(&lm);
    exchange x;
    exchange_init(&x, &lm, 300000, 500000);
    attach_fd_pair(&x, 0);
    start_request(&x);
    drive(&x, exchange_done, 20000);
    check_exchange(&x);
    cr_assert_eq(h2_svc_close(x.csvc, x.cid, H2_NO_ERROR, 0), 0);
    drive(&x, both_closed, 20000);
    cr_assert_eq(x.client_reason, H2_SVC_CLOSE_GRACEFUL);
    cr_assert_eq(x.server_reason, H2_SVC_CLOSE_GRACEFUL);
    exchange_free(&x, &lm);
}

static bool ping_acked(exchange *x)
{
    return x->ping_acked;
}

Test(service, ping_then_abort_reports_both_ends)
{
    lockmem lm;
    lockmem_init(&lm);
    exchange x;
    exchange_init(&x, &lm, 1, 1);
    attach_fd_pair(&x, 0);
    cr_assert_eq(h2_svc_ping(x.csvc, x.cid, (const uint8_t *)"pingpong", 0), 0);
    drive(&x, ping_acked, 20000);
    cr_assert_eq(h2_svc_abort(x.ssvc, x.sid, 0), 0);
    drive(&x, both_closed, 20000);
    cr_assert_eq(x.server_reason, H2_SVC_CLOSE_ABORTED);
    cr_assert_eq(x.client_reason, H2_SVC_CLOSE_PEER_EOF);
    /* Commands for the ended connection fail at the call. */
    cr_assert_eq(h2_svc_ping(x.ssvc, x.sid, (const uint8_t *)"pingpong", 0), H2_ENOCONN);
    cr_assert_eq(x.failed, 0);
    exchange_free(&x, &lm);
}

/* ---- feed mode: each side's output is fed to the other ---- */

typedef struct feed_link {
    h2_svc *peer_svc;
    _Atomic h2_svc_conn_id peer;
    atomic_size_t bytes;
} feed_link;

static void feed_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)conn;
    feed_link *l = user;
    h2_svc_conn_id to;
    while ((to = atomic_load(&l->peer)) == 0)
        sched_yield();
    /* Counted first: the peer may act on the bytes before the post returns. */
    atomic_fetch_add(&l->bytes, len);
    while (h2_svc_feed(l->peer_svc, to, data, len) == H2_EAGAIN)
        sched_yield();
}

Test(service, feed_mode_request_response_larger_than_windows)
{
    lockmem lm;
    lockmem_init(&lm);
    exchange x;
    exchange_init(&x, &lm, 200000, 400000);
    feed_link to_server = {.peer_svc = x.ssvc};
    feed_link to_client = {.peer_svc = x.csvc};
    atomic_init(&to_server.peer, 0);
    atomic_init(&to_client.peer, 0);
    atomic_init(&to_server.bytes, 0);
    atomic_init(&to_client.bytes, 0);

    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.queue = x.cq;
    cc.on_output = feed_output;
    cc.user = &to_server;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = x.sq;
    sc.on_output = feed_output;
    sc.user = &to_client;
    cr_assert_eq(h2_svc_attach_feed(x.ssvc, &sc, &x.sid), 0);
    atomic_store(&to_server.peer, x.sid);
    cr_assert_eq(h2_svc_attach_feed(x.csvc, &cc, &x.cid), 0);
    atomic_store(&to_client.peer, x.cid);

    start_request(&x);
    drive(&x, exchange_done, 20000);
    check_exchange(&x);
    cr_assert_gt(atomic_load(&to_server.bytes), 200000u);
    cr_assert_gt(atomic_load(&to_client.bytes), 400000u);

    /* The client's transport ends: both sides report it. */
    cr_assert_eq(h2_svc_feed(x.csvc, x.cid, NULL, 0), 0);
    cr_assert_eq(h2_svc_feed(x.ssvc, x.sid, NULL, 0), 0);
    drive(&x, both_closed, 20000);
    exchange_free(&x, &lm);
}

/* ---- slow consumer: a small queue, a wide window, bounded memory ---- */

Test(service, slow_consumer_bounded_memory_no_loss)
{
    lockmem lm;
    lockmem_init(&lm);
    exchange x;
    exchange_init(&x, &lm, 1000, 4000000);
    h2_svc_queue_free(x.cq);
    x.cq = new_queue(&lm, 8);
    /* A window wider than the whole body: only the queue holds the peer back. */
    attach_fd_pair(&x, 64u << 20);
    x.slow = 2;
    start_request(&x);
    drive(&x, exchange_done, 20000);
    check_exchange(&x);
    /* Both services share the allocator: the server's held send (4 MB,
     * copied) plus bounded buffers. Without backpressure the client would
     * hold another 4 MB. */
    size_t peak = lockmem_peak(&lm);
    cr_assert_lt(peak, 4000000u + 1500000u, "peak %zu", peak);
    x.slow = 0;
    cr_assert_eq(h2_svc_close(x.csvc, x.cid, H2_NO_ERROR, 0), 0);
    drive(&x, both_closed, 20000);
    exchange_free(&x, &lm);
}

/* ---- full command ring ---- */

typedef struct gate {
    sem_t entered;
    sem_t go;
    atomic_int events;
    atomic_int failed;
    atomic_int closed;
} gate;

static void gate_event(void *user, h2_svc_event *ev)
{
    gate *g = user;
    if (ev->type == H2_SVC_EV_ATTACHED) {
        sem_post(&g->entered);
        sem_wait(&g->go);
    }
    if (ev->type == H2_SVC_EV_COMMAND_FAILED) {
        /* Only the last ping may still be queued when the service stops. */
        cr_assert_eq(ev->reason, H2_SVC_CLOSE_SHUTDOWN);
        cr_assert_eq(ev->command, H2_SVC_CMD_PING);
        cr_assert_eq(ev->user, 4u);
        atomic_fetch_add(&g->failed, 1);
    }
    if (ev->type == H2_SVC_EV_CLOSED)
        atomic_fetch_add(&g->closed, 1);
    atomic_fetch_add(&g->events, 1);
    h2_svc_event_release(ev);
}

static void discard_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

Test(service, full_command_ring_returns_eagain)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 4);
    gate g;
    sem_init(&g.entered, 0, 0);
    sem_init(&g.go, 0, 0);
    atomic_init(&g.events, 0);
    atomic_init(&g.failed, 0);
    atomic_init(&g.closed, 0);
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.on_event = gate_event;
    cc.user = &g;
    cc.on_output = discard_output;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, &id), 0);
    sem_wait(&g.entered); /* the worker is held inside the ATTACHED callback */

    uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* A ring of 4 slots holds 3 commands. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h2_svc_ping(svc, id, opaque, (uint64_t)i), 0);
    cr_assert_eq(h2_svc_ping(svc, id, opaque, 3), H2_EAGAIN);
    static const uint8_t body[100];
    cr_assert_eq(h2_svc_send_data(svc, id, 1, body, sizeof body, 0, 0), H2_EAGAIN);
    cr_assert_eq(h2_svc_submit_headers(svc, id, 0, request_fields, 4, 0, 0), H2_EAGAIN);

    sem_post(&g.go);
    /* Room again once the worker drained the ring. */
    int64_t end = now_ms() + 10000;
    int rv;
    while ((rv = h2_svc_ping(svc, id, opaque, 4)) == H2_EAGAIN) {
        cr_assert_lt(now_ms(), end);
        sched_yield();
    }
    cr_assert_eq(rv, 0);
    h2_svc_free(svc);
    /* The pings were carried out; shutdown closed the connection. */
    int failed = atomic_load(&g.failed);
    cr_assert(failed == 0 || failed == 1);
    cr_assert_eq(atomic_load(&g.closed), 1);
    cr_assert_eq(atomic_load(&g.events), 2 + failed);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- shutdown with work in flight ---- */

Test(service, shutdown_answers_every_command_and_frees_everything)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 2, 0);
    h2_svc_queue *q = new_queue(&lm, 1024);
    /* The peer never reads: sends stall in the socket and in the windows. */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.queue = q;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[0], &cc, &id), 0);

    enum { STREAMS = 8 };
    for (int i = 0; i < STREAMS; i++)
        cr_assert_eq(h2_svc_submit_headers(svc, id, 0, request_fields, 4, 0, (uint64_t)i), 0);
    uint32_t streams[STREAMS];
    int opened = 0;
    int64_t end = now_ms() + 10000;
    h2_svc_event *evs[16];
    while (opened < STREAMS) {
        cr_assert_lt(now_ms(), end);
        h2_svc_queue_wait(q, 10);
        size_t n = h2_svc_queue_poll(q, evs, 16);
        for (size_t i = 0; i < n; i++) {
            if (evs[i]->type == H2_SVC_EV_STREAM_OPENED)
                streams[opened++] = evs[i]->stream_id;
            else
                cr_assert_eq(evs[i]->type, H2_SVC_EV_ATTACHED);
            h2_svc_event_release(evs[i]);
        }
    }
    static uint8_t big[200000];
    released rel;
    atomic_init(&rel.count, 0);
    atomic_init(&rel.bytes, 0);
    int posted = 0;
    for (int i = 0; i < STREAMS; i++) {
        cr_assert_eq(h2_svc_send_data_ref(svc, id, streams[i], big, sizeof big, H2_SEND_END_STREAM,
                                          100u + (uint64_t)i, on_release, &rel),
                     0);
        posted++;
    }
    uint8_t opaque[8] = {0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(h2_svc_ping(svc, id, opaque, 200u + (uint64_t)i), 0);

    h2_svc_free(svc);
    /* Every by-reference payload came back. */
    cr_assert_eq(atomic_load(&rel.count), posted);
    cr_assert_eq(atomic_load(&rel.bytes), (size_t)posted * sizeof big);

    /* Every held DATA command failed with the shutdown reason; one CLOSED. */
    int failed_data = 0, closed = 0;
    size_t n;
    while ((n = h2_svc_queue_poll(q, evs, 16)) > 0) {
        for (size_t i = 0; i < n; i++) {
            h2_svc_event *ev = evs[i];
            cr_assert_eq(ev->conn, id);
            if (ev->type == H2_SVC_EV_COMMAND_FAILED) {
                cr_assert_eq(ev->error, H2_ECLOSED);
                cr_assert_eq(ev->reason, H2_SVC_CLOSE_SHUTDOWN);
                if (ev->command == H2_SVC_CMD_DATA) {
                    cr_assert_geq(ev->user, 100u);
                    cr_assert_lt(ev->user, 100u + STREAMS);
                    failed_data++;
                }
            } else if (ev->type == H2_SVC_EV_CLOSED) {
                cr_assert_eq(ev->reason, H2_SVC_CLOSE_SHUTDOWN);
                closed++;
            }
            h2_svc_event_release(ev);
        }
    }
    cr_assert_eq(closed, 1);
    /* 8 x 200 KB cannot pass a 64 KB window: most sends were still held. */
    cr_assert_geq(failed_data, STREAMS - 1);
    h2_svc_queue_free(q);
    close(sv[1]);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- argument checks and queue basics ---- */

Test(service, arguments)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_eq(cfg.mailbox_capacity, 4096u);
    cr_assert_eq(cfg.read_buffer_size, 65536u);
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(NULL, &cfg), H2_EINVAL);
    cr_assert_eq(h2_svc_new(&svc, NULL), H2_EINVAL);
    cfg.mailbox_capacity = 1000;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cfg.mailbox_capacity = 64;
    cfg.workers = H2_SVC_MAX_WORKERS + 1;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cfg.workers = 0;
    cfg.mem = &lm.mem;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(h2_svc_workers(svc), (unsigned)(cpus < 1 ? 1 : cpus));

    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    h2_svc_conn_id id = 99;
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, &id), H2_EINVAL); /* no destination */
    cr_assert_eq(id, 0u);
    cc.on_event = gate_event;
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, &id), H2_EINVAL); /* no output */
    cr_assert_eq(h2_svc_attach_fd(svc, -1, &cc, &id), H2_EINVAL);
    cc.on_output = discard_output;
    cc.worker = (int)h2_svc_workers(svc);
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, &id), H2_EINVAL);

    uint8_t b[4] = {0};
    cr_assert_eq(h2_svc_send_data(svc, 0, 1, b, 4, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data(svc, 1u << 8, 0, b, 4, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data(svc, 1u << 8, 1, NULL, 4, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data(svc, 1u << 8, 1, b, 4, 0x80, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_send_data_ref(svc, 1u << 8, 1, b, 4, 0, 0, NULL, NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_submit_headers(svc, 1u << 8, 0, NULL, 2, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_reset_stream(svc, 1u << 8, 0, 0, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_ping(svc, 1u << 8, NULL, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_feed(NULL, 1u << 8, b, 4), H2_EINVAL);
    h2_svc_free(svc);

    h2_svc_queue *q = NULL;
    cr_assert_eq(h2_svc_queue_new(&q, 3, &lm.mem), H2_EINVAL);
    cr_assert_eq(h2_svc_queue_new(NULL, 4, &lm.mem), H2_EINVAL);
    cr_assert_eq(h2_svc_queue_new(&q, 4, &lm.mem), 0);
    h2_svc_event *ev[4];
    cr_assert_eq(h2_svc_queue_poll(q, ev, 4), 0u);
    int64_t t0 = now_ms();
    cr_assert_eq(h2_svc_queue_wait(q, 30), 0);
    cr_assert_geq(now_ms() - t0, 29);
    cr_assert_geq(h2_svc_queue_fd(q), 0);
    cr_assert(h2_svc_queue_prepare_wait(q));
    h2_svc_queue_free(q);
    h2_svc_event_release(NULL);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* Commands for a connection that does not exist come back to the service's queue. */
Test(service, unknown_connection_fails_at_the_call)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_queue *q = new_queue(&lm, 16);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.mem = &lm.mem;
    cfg.queue = q;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    released rel;
    atomic_init(&rel.count, 0);
    atomic_init(&rel.bytes, 0);
    static const uint8_t b[10];
    h2_svc_conn_id ghost = (5u << 16) | 0u; /* worker 0, never attached */
    cr_assert_eq(h2_svc_send_data_ref(svc, ghost, 3, b, 10, 0, 42, on_release, &rel), H2_ENOCONN);
    cr_assert_eq(h2_svc_query_stats(svc, (uint64_t)1 << 40 | 7u << 16, 1), H2_ENOCONN);
    /* Nothing was queued, nothing answered, the payload stays the caller's. */
    cr_assert_eq(atomic_load(&rel.count), 0);
    h2_svc_free(svc);
    h2_svc_event *ev = NULL;
    cr_assert_eq(h2_svc_queue_poll(q, &ev, 1), 0u);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
