/*
 * Record recycling: once a connection is warm, a request answered by an
 * application thread (event released there, response posted from there)
 * takes no allocation from the service's allocator, whichever of the
 * four record sizes it uses; the kept blocks are freed with the service.
 * The test thread is the application thread and drives a client peer.
 */
#include "test_service_util.h"

typedef struct ended {
    h2_conn *conn; /* the peer's, which hands the bytes back to flow control */
    int streams;
    uint64_t body;
} ended;

static void on_peer(void *arg, const h2_event *ev)
{
    ended *e = arg;
    if (ev->type == H2_EV_DATA_RECEIVED) {
        e->body += ev->u.data.len;
        cr_assert_eq(h2_conn_ack_data(e->conn, ev->stream_id, ev->u.data.flow_controlled_length),
                     0);
    }
    if (ev->type == H2_EV_STREAM_ENDED)
        e->streams++;
}

/* One round: |n| GETs from the peer, each answered with |len| bytes. */
static void round_trip(svc_rig *r, peer *p, h2_svc_conn_id id, uint32_t *next_id, int n,
                       const uint8_t *body, size_t len)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(
            h2_conn_send_headers(p->conn, *next_id, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
        *next_id += 2;
    }
    peer_flush(p);
    int answered = 0;
    while (answered < n) {
        h2_svc_event *ev = next_event(r->q, 5000);
        cr_assert_not_null(ev, "%d of %d requests came", answered, n);
        if (ev->type == H2_SVC_EV_REQUEST_RECEIVED) {
            uint32_t sid = ev->stream_id;
            h2_svc_event_release(ev);
            cr_assert_eq(h2_svc_submit_headers(r->svc, id, sid, ok_fields, 1, 0, 0), 0);
            cr_assert_eq(h2_svc_send_data(r->svc, id, sid, body, len, H2_SEND_END_STREAM, 0), 0);
            answered++;
        } else {
            h2_svc_event_release(ev);
        }
    }
    ended e = {p->conn, 0, 0};
    int64_t end = now_ms() + 5000;
    while (e.streams < n) {
        cr_assert_lt(now_ms(), end, "%d of %d responses came", e.streams, n);
        cr_assert(!p->eof);
        peer_pump(p, 10, on_peer, &e);
    }
    cr_assert_eq(e.body, (uint64_t)n * len);
}

static void steady_state(size_t body_len)
{
    svc_rig r;
    svc_rig_start(&r, 1024);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(&r, &sc);
    peer p;
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    peer_init_cfg(&p, r.peer_fd, &pc);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    uint8_t *body = make_body(body_len, 3);
    uint32_t next_id = 1;
    /* Warm-up: the connection's own structures and the pool's blocks. */
    for (int i = 0; i < 40; i++)
        round_trip(&r, &p, id, &next_id, 20, body, body_len);
    size_t before = lockmem_allocs(&r.lm);
    enum { ROUNDS = 50, PER_ROUND = 20 };
    for (int i = 0; i < ROUNDS; i++)
        round_trip(&r, &p, id, &next_id, PER_ROUND, body, body_len);
    size_t allocs = lockmem_allocs(&r.lm) - before;
    /* Every request crossed threads twice (event, then two commands):
     * with plain malloc that is three allocations a request. Recycled,
     * a handful at most: a worker that sleeps has not taken back the
     * blocks released meanwhile, and the application then takes new ones
     * (kept from then on). */
    cr_assert_leq(allocs, (size_t)(ROUNDS * PER_ROUND) / 20u,
                  "%zu allocations for %d requests of %zu-byte bodies", allocs, ROUNDS * PER_ROUND,
                  body_len);
    peer_free(&p);
    svc_rig_free(&r); /* every kept block freed with the service */
    free(body);
}

Test(service_pool, warm_requests_allocate_nothing_small_body)
{
    steady_state(16);
}

Test(service_pool, warm_requests_allocate_nothing_1k_body)
{
    steady_state(1024);
}
