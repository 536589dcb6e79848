/*
 * Isolation: what one connection's peer or consumer does cannot use up the
 * budget of another connection of the same worker. Copied DATA held for a
 * peer that keeps its windows shut is bounded per connection
 * (send_hold_conn_limit), so sends on a second connection of the worker go
 * on; fed input held while a connection's consumer does not read its
 * events is bounded per connection too (feed_hold_conn_limit). And the
 * flow-control stall timer measures useful progress: a peer that opens its
 * window one byte at a time is cut by it all the same.
 */
#include "test_service_util.h"

/* ---- a client peer on its own socket pair, its windows shut at first ---- */

typedef struct client {
    peer p;
    size_t data;    /* DATA bytes received on stream 1 */
    uint64_t sum;   /* their checksum */
    bool ended;     /* stream 1's END_STREAM arrived */
    bool goaway;    /* a GOAWAY arrived ... */
    char debug[64]; /* ... with this debug data */
    size_t unacked; /* DATA bytes not given back as window yet */
} client;

static void on_client(void *arg, const h2_event *ev)
{
    client *c = arg;
    if (ev->type == H2_EV_DATA_RECEIVED && ev->stream_id == 1) {
        c->data += ev->u.data.len;
        c->unacked += ev->u.data.len;
        c->sum = fnv(c->sum, ev->u.data.data, ev->u.data.len);
        if (ev->u.data.stream_ended >= 0)
            c->ended = true;
    } else if (ev->type == H2_EV_CONNECTION_TERMINATED) {
        c->goaway = true;
        size_t n = ev->u.terminated.debug_len;
        if (n >= sizeof c->debug)
            n = sizeof c->debug - 1;
        if (n > 0)
            memcpy(c->debug, ev->u.terminated.debug, n);
        c->debug[n] = 0;
    }
}

/* Attaches a server connection on a new socket pair of |r|'s service, with
 * a client on the other end whose stream windows start at 0 (the
 * connection window is wide) and that asked for "/" on stream 1. */
static h2_svc_conn_id attach_client(svc_rig *r, client *c, h2_svc_conn_config *sc)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sc->queue = r->q;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(r->svc, sv[1], sc, &id), 0);
    memset(c, 0, sizeof *c);
    c->sum = FNV0;
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 0;
    pc.connection_window_size = 0x7fffffff;
    peer_init_cfg(&c->p, sv[0], &pc);
    cr_assert_eq(h2_conn_initiate(c->p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(c->p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&c->p);
    return id;
}

/* Waits for the request of connection |id| (other events of the rig are dropped). */
static void wait_request(svc_rig *r, h2_svc_conn_id id)
{
    int64_t end = now_ms() + 5000;
    for (;;) {
        int64_t left = end - now_ms();
        cr_assert_gt(left, 0, "no request on connection %llu", (unsigned long long)id);
        h2_svc_event *ev = next_event(r->q, (int)left);
        cr_assert_not_null(ev);
        bool done = ev->type == H2_EV_REQUEST_RECEIVED && ev->conn == id;
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED, "closed: reason %d", ev->reason);
        h2_svc_event_release(ev);
        if (done)
            return;
    }
}

/* The service's second socket pair is made by attach_client(); the rig's own is unused. */
static void rig_start(svc_rig *r, const h2_svc_config *cfg)
{
    svc_rig_start_cfg(r, 256, cfg);
    close(r->peer_fd);
    close(r->svc_fd);
    r->peer_fd = r->svc_fd = -1;
}

Test(service_isolation, defaults_and_bad_limits)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_eq(cfg.send_hold_limit, 64u << 20);
    cr_assert_eq(cfg.send_hold_conn_limit, 1u << 20);
    cr_assert_eq(cfg.feed_hold_limit, 1u << 20);
    cr_assert_eq(cfg.feed_hold_conn_limit, 16u << 10);
    /* Every connection's full share fits in the worker total many times. */
    cr_assert_geq(cfg.send_hold_limit / cfg.send_hold_conn_limit, 64u);
    cr_assert_geq(cfg.feed_hold_limit / cfg.feed_hold_conn_limit, 64u);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    cr_assert_eq(sc.flow_min_rate, 256u);

    lockmem lm;
    lockmem_init(&lm);
    cfg.mem = &lm.mem;
    cfg.workers = 1;
    h2_svc *svc = NULL;
    cfg.send_hold_conn_limit = 0;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cfg.send_hold_conn_limit = 1;
    cfg.feed_hold_conn_limit = 0;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_isolation, a_stalled_peer_does_not_use_up_the_send_budget_of_another)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    /* The worker's total: four connections' shares. */
    cfg.send_hold_limit = 4u << 20;
    svc_rig r;
    rig_start(&r, &cfg);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    client a, b;
    h2_svc_conn_id ida = attach_client(&r, &a, &sc);
    wait_request(&r, ida);
    h2_svc_conn_id idb = attach_client(&r, &b, &sc);
    wait_request(&r, idb);
    cr_assert_eq(h2_svc_submit_headers(r.svc, ida, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_submit_headers(r.svc, idb, 1, ok_fields, 1, 0, 0), 0);

    /* A's peer never opens its window: copies pile up until A's own limit. */
    enum { CHUNK = 64 * 1024, MAX_CHUNKS = 64 };
    uint8_t *body = make_body((size_t)CHUNK * MAX_CHUNKS, 3);
    size_t posted = 0;
    int rv = 0;
    while (posted < (size_t)CHUNK * MAX_CHUNKS) {
        rv = h2_svc_send_data(r.svc, ida, 1, body + posted, CHUNK, 0, 0);
        if (rv != 0)
            break;
        posted += CHUNK;
    }
    cr_assert_eq(rv, H2_EAGAIN, "A took %zu bytes without refusal", posted);
    cr_assert_eq(posted, (size_t)(1u << 20), "A took %zu bytes", posted);

    /* B is not touched by A's stall: its sends are taken and arrive. */
    size_t blen = 3u * CHUNK;
    for (size_t off = 0; off < blen; off += CHUNK)
        cr_assert_eq(h2_svc_send_data(r.svc, idb, 1, body + off, CHUNK,
                                          off + CHUNK == blen ? H2_SEND_END_STREAM : 0, 0),
                     0, "B refused at %zu while A stalls", off);
    cr_assert_eq(h2_conn_increment_window(b.p.conn, 1, 1u << 20), 0);
    peer_flush(&b.p);
    int64_t end = now_ms() + 10000;
    while (!b.ended && now_ms() < end && !b.p.eof)
        peer_pump(&b.p, 10, on_client, &b);
    cr_assert(b.ended, "B got %zu of %zu", b.data, blen);
    cr_assert_eq(b.data, blen);
    cr_assert_eq(b.sum, fnv(FNV0, body, blen));
    /* A still holds its share: refused again. */
    cr_assert_eq(h2_svc_send_data(r.svc, ida, 1, body, CHUNK, 0, 0), H2_EAGAIN);

    /* A's peer opens its window at last: everything A held arrives, in order. */
    cr_assert_eq(h2_conn_increment_window(a.p.conn, 1, 16u << 20), 0);
    peer_flush(&a.p);
    while (a.data < posted && now_ms() < end && !a.p.eof)
        peer_pump(&a.p, 10, on_client, &a);
    cr_assert_eq(a.data, posted);
    cr_assert_eq(a.sum, fnv(FNV0, body, posted));

    svc_rig_free(&r);
    peer_free(&a.p);
    peer_free(&b.p);
    free(body);
}

/* ---- feed mode: a consumer that does not read its events ---- */

static const h2_header post_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/up"),
    HDR(":authority", "example.org"),
};

/* Within the initial windows. */
enum { BODY = 60000 };

/* A client's bytes: preface, a POST on stream 1 and |len| body bytes in 1000-byte DATA frames. */
static uint8_t *client_bytes(size_t len, size_t *out_len)
{
    h2_conn *c = NULL;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, post_fields, 4, 0, NULL), 0);
    uint8_t *body = make_body(len, 11);
    size_t cap = len + len / 8 + 4096, n = 0;
    uint8_t *out = malloc(cap);
    for (size_t off = 0; off < len; off += 1000) {
        size_t k = len - off < 1000 ? len - off : 1000;
        cr_assert_eq(h2_conn_send_data(c, 1, body + off, k, 0, -1), 0);
        n += h2_conn_data_to_send(c, out + n, cap - n);
    }
    n += h2_conn_data_to_send(c, out + n, cap - n);
    h2_conn_free(c);
    free(body);
    *out_len = n;
    return out;
}

static void discard_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

/* Feeds |bytes| in 700-byte pieces until refused; returns the bytes taken. */
static size_t feed_until_refused(h2_svc *svc, h2_svc_conn_id id, const uint8_t *bytes, size_t n)
{
    size_t off = 0;
    while (off < n) {
        size_t k = n - off < 700 ? n - off : 700;
        int rv = h2_svc_feed(svc, id, bytes + off, k);
        if (rv == H2_EAGAIN)
            return off;
        cr_assert_eq(rv, 0);
        off += k;
    }
    return off;
}

Test(service_isolation, a_stuck_consumer_does_not_use_up_the_feed_budget_of_another)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.mem = &lm.mem;
    /* The worker's total: three connections' shares. */
    cfg.feed_hold_limit = 48u << 10;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    h2_svc_queue *qa = new_queue(&lm, 2); /* one event at once, never read */
    h2_svc_queue *qb = new_queue(&lm, 1024);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_output = discard_output;
    sc.queue = qa;
    h2_svc_conn_id ida = 0, idb = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &sc, &ida), 0);
    sc.queue = qb;
    cr_assert_eq(h2_svc_attach_feed(svc, &sc, &idb), 0);

    size_t n = 0;
    uint8_t *bytes = client_bytes(BODY, &n);
    /* A's consumer reads nothing: its input is held until A's own limit. */
    size_t took = feed_until_refused(svc, ida, bytes, n);
    cr_assert_lt(took, n, "A took everything");
    cr_assert_leq(took, (16u << 10) + 700u + 1100u, "A took %zu bytes", took);

    /* B's consumer reads: all of B's input is taken and processed. B may
     * be refused while the worker has not caught up with B's own input,
     * never for A's. */
    size_t off = 0, got = 0;
    int64_t end = now_ms() + 5000;
    while (got < BODY) {
        cr_assert_lt(now_ms(), end, "B: fed %zu of %zu, got %zu", off, n, got);
        if (off < n) {
            size_t k = n - off < 700 ? n - off : 700;
            int rv = h2_svc_feed(svc, idb, bytes + off, k);
            cr_assert(rv == 0 || rv == H2_EAGAIN, "feed: %d", rv);
            if (rv == 0)
                off += k;
            else
                h2_svc_queue_wait(qb, 10); /* B's events tell that its input moved */
        }
        h2_svc_event *ev = NULL;
        while (h2_svc_queue_poll(qb, &ev, 1) == 1) {
            cr_assert_neq(ev->type, H2_SVC_EV_CLOSED, "B closed: reason %d", ev->reason);
            if (ev->type == H2_EV_DATA_RECEIVED)
                got += ev->len;
            h2_svc_event_release(ev);
        }
        if (off == n && got < BODY)
            h2_svc_queue_wait(qb, 100);
    }
    cr_assert_eq(got, (size_t)BODY);
    /* A is still stuck: what the worker took from its ring before A's
     * events blocked it left a little room, and then A is refused again. */
    size_t more = feed_until_refused(svc, ida, bytes + took, n - took);
    cr_assert_lt(took + more, n);
    cr_assert_leq(took + more, (16u << 10) + 1400u + 1100u, "A took %zu bytes", took + more);

    h2_svc_free(svc);
    h2_svc_queue_free(qa);
    h2_svc_queue_free(qb);
    free(bytes);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* Attaches |n| feed connections whose events go to |q| and feeds each until
 * refused: each takes its own share, whatever the others hold. */
static void fill_shares(h2_svc *svc, h2_svc_queue *q, h2_svc_conn_id *ids, int n,
                        const uint8_t *bytes, size_t len)
{
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_output = discard_output;
    sc.queue = q;
    for (int i = 0; i < n; i++)
        cr_assert_eq(h2_svc_attach_feed(svc, &sc, &ids[i]), 0);
    for (int i = 0; i < n; i++) {
        size_t took = feed_until_refused(svc, ids[i], bytes, len);
        cr_assert_geq(took, 700u, "connection %d took nothing", i);
        cr_assert_leq(took, (16u << 10) + 700u, "connection %d took %zu bytes", i, took);
    }
}

Test(service_isolation, shares_follow_connections_through_growth_and_reuse)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 2); /* full from the first event on */
    size_t n = 0;
    uint8_t *bytes = client_bytes(BODY, &n);
    enum { CONNS = 40 };
    h2_svc_conn_id ids[CONNS];
    fill_shares(svc, q, ids, CONNS, bytes, n);
    /* End them all and see them closed: their shares come back. */
    for (int i = 0; i < CONNS; i++)
        cr_assert_eq(h2_svc_abort(svc, ids[i], 0), 0);
    int closed = 0;
    while (closed < CONNS) {
        h2_svc_event *ev = next_event(q, 5000);
        cr_assert_not_null(ev, "%d of %d closed", closed, CONNS);
        closed += ev->type == H2_SVC_EV_CLOSED;
        h2_svc_event_release(ev);
    }
    /* New connections reuse the freed entries and accounts, each with a whole share. */
    fill_shares(svc, q, ids, CONNS, bytes, n);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    free(bytes);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- the flow-control stall timer and a one-byte trickle ---- */

Test(service_isolation, a_one_byte_window_trickle_is_a_stall)
{
    svc_rig r;
    rig_start(&r, NULL);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.flow_timeout_ms = 200; /* the floor: flow_min_rate (256 B/s), 51 bytes per 200 ms */
    client c;
    h2_svc_conn_id id = attach_client(&r, &c, &sc);
    wait_request(&r, id);
    size_t len = 64u << 10;
    uint8_t *body = make_body(len, 5);
    cr_assert_eq(h2_svc_submit_headers(r.svc, id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(r.svc, id, 1, body, len, H2_SEND_END_STREAM, 0), 0);

    /* One byte of window every 20 ms (50 B/s), each time the last byte arrived. */
    int64_t start = now_ms(), next = start;
    h2_svc_event *closed = NULL;
    while (closed == NULL) {
        cr_assert_lt(now_ms() - start, 5000, "still open after %zu bytes trickled", c.data);
        if (now_ms() >= next && c.unacked == 0 && !c.p.eof && !c.goaway) {
            cr_assert_eq(h2_conn_increment_window(c.p.conn, 1, 1), 0);
            peer_flush(&c.p);
            c.unacked = 1;
            next = now_ms() + 20;
        }
        size_t before = c.data;
        peer_pump(&c.p, 5, on_client, &c);
        if (c.data > before)
            c.unacked = 0;
        h2_svc_event *ev = NULL;
        while (closed == NULL && h2_svc_queue_poll(r.q, &ev, 1) == 1) {
            if (ev->type == H2_SVC_EV_CLOSED)
                closed = ev;
            else
                h2_svc_event_release(ev);
        }
    }
    int64_t took = now_ms() - start;
    cr_assert_eq(closed->reason, H2_SVC_CLOSE_TIMEOUT, "reason %d", closed->reason);
    cr_assert_eq(closed->timer, H2_SVC_TIMER_FLOW, "timer %d", closed->timer);
    cr_assert_eq(closed->error_code, H2_NO_ERROR);
    h2_svc_event_release(closed);
    cr_assert_geq(took, 200);
    /* The trickle did move bytes: the timer looked at how many, not at whether. */
    cr_assert_geq(c.data, 2u, "only %zu bytes trickled", c.data);
    while (!c.p.eof && now_ms() - start < 5000)
        peer_pump(&c.p, 100, on_client, &c);
    cr_assert(c.goaway);
    cr_assert_str_eq(c.debug, "flow control stall");

    svc_rig_free(&r);
    peer_free(&c.p);
    free(body);
}
