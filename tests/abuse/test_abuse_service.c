/*
 * Abusive peers against the connection service: a header block trickled
 * in one CONTINUATION every 20 ms must not keep the connection alive past
 * the header deadline; a peer that never reads while a large body is sent
 * costs bounded memory and is cut at the write timeout; a peer that asks
 * for a body with its windows shut (SETTINGS_INITIAL_WINDOW_SIZE 0) and
 * never opens them is cut at the flow-control stall timeout, while a peer
 * that opens them slowly but steadily gets the whole body.
 */
#include <stdatomic.h>
#include "unit/test_service_util.h"

static void frame_header(uint8_t *b, size_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
    b[0] = (uint8_t)(len >> 16);
    b[1] = (uint8_t)(len >> 8);
    b[2] = (uint8_t)len;
    b[3] = type;
    b[4] = flags;
    b[5] = (uint8_t)(stream >> 24);
    b[6] = (uint8_t)(stream >> 16);
    b[7] = (uint8_t)(stream >> 8);
    b[8] = (uint8_t)stream;
}

static void settle(peer *p)
{
    /* Preface and SETTINGS out; the server's SETTINGS read and acknowledged. */
    cr_assert_eq(h2_conn_initiate(p->conn), 0);
    peer_flush(p);
    peer_pump(p, 1000, NULL, NULL);
}

/* Fails the test on a request: the header block must never complete. */
static void no_request(void *arg, h2_svc_event *ev)
{
    (void)arg;
    cr_assert_neq(ev->type, H2_EV_REQUEST_RECEIVED);
    h2_svc_event_release(ev);
}

Test(abuse_service, slow_header_block_cut_at_the_deadline)
{
    lockmem lm;
    lockmem_init(&lm);
    fake_clock clock;
    h2_svc *svc = new_service_clock(&lm, 1, &clock, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.header_timeout_ms = 200;
    /* The core's own CONTINUATION count limit would end it too: the deadline is under test. */
    sc.conn.max_continuation_frames = 1000;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
    peer p;
    peer_init(&p, sv[0], H2_ROLE_CLIENT);
    settle(&p);

    /* HEADERS (END_STREAM, no END_HEADERS): :method GET, :scheme http,
     * :path /, then a literal field whose 120-byte value arrives one byte
     * per CONTINUATION, one every 20 ms of the service's clock. */
    uint8_t f[64];
    const uint8_t block[] = {0x82, 0x86, 0x84, 0x00, 0x03, 'x', '-', 'a', 120};
    frame_header(f, sizeof block, 0x1, 0x1, 1);
    memcpy(f + 9, block, sizeof block);
    int64_t start = fake_clock_read(&clock);
    write_all(p.fd, f, 9 + sizeof block);
    cr_assert_null(svc_barrier_each(svc, q, id, no_request, NULL)); /* read at |start| */

    h2_svc_event *closed = NULL;
    int sent = 0;
    while (closed == NULL) {
        int64_t t = fake_clock_read(&clock) - start;
        cr_assert_lt(t, 1000, "still open after %lld ms and %d CONTINUATIONs", (long long)t, sent);
        fake_clock_set(&clock, svc, start + t + 20);
        frame_header(f, 1, 0x9, 0, 1);
        f[9] = 'a';
        if (send(p.fd, f, 10, MSG_NOSIGNAL) == 10)
            sent++;
        closed = svc_barrier_each(svc, q, id, no_request, NULL);
    }
    int64_t took = fake_clock_read(&clock) - start;
    cr_assert_geq(took, 200);
    cr_assert_lt(took, 1000);
    cr_assert_gt(sent, 5); /* frames kept coming, and did not re-arm the deadline */
    cr_assert_eq(closed->reason, H2_SVC_CLOSE_TIMEOUT, "reason %d error %d code %u", closed->reason,
                 closed->error, closed->error_code);
    cr_assert_eq(closed->timer, H2_SVC_TIMER_HEADER);
    cr_assert_eq(closed->error_code, H2_PROTOCOL_ERROR);
    h2_svc_event_release(closed);

    h2_svc_free(svc);
    h2_svc_queue_free(q);
    peer_free(&p);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

typedef struct body_ref {
    atomic_int released;
} body_ref;

static void body_release(void *user, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    atomic_fetch_add(&((body_ref *)user)->released, 1);
}

Test(abuse_service, peer_that_never_reads_is_cut_at_the_write_timeout)
{
    lockmem lm;
    lockmem_init(&lm);
    fake_clock clock;
    h2_svc *svc = new_service_clock(&lm, 1, &clock, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.write_timeout_ms = 250;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);

    /* A client with windows wide open: only the socket holds the body back. */
    peer p;
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 0x7fffffff;
    pc.connection_window_size = 0x7fffffff;
    peer_init_cfg(&p, sv[0], &pc);
    settle(&p);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&p);
    h2_svc_event *ev = wait_event(q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);

    size_t body_len = 32u << 20;
    uint8_t *body = make_body(body_len, 3);
    body_ref ref;
    atomic_init(&ref.released, 0);
    size_t before = lockmem_peak(&lm);
    int64_t start = fake_clock_read(&clock);
    cr_assert_eq(h2_svc_submit_headers(svc, id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data_ref(svc, id, 1, body, body_len, H2_SEND_END_STREAM, 0,
                                          body_release, &ref),
                 0);
    /* The peer reads nothing from now on. The turn that took the commands
     * wrote until the socket was full: blocked since |start|. */
    cr_assert_null(svc_barrier(svc, q, id));
    fake_clock_set(&clock, svc, start + 249);
    cr_assert_null(svc_barrier(svc, q, id), "cut before the write timeout");
    fake_clock_set(&clock, svc, start + 250);
    h2_svc_event *closed = wait_event(q, H2_SVC_EV_CLOSED, 10000);
    cr_assert_not_null(closed);
    int64_t took = fake_clock_read(&clock) - start;
    cr_assert_eq(closed->reason, H2_SVC_CLOSE_TIMEOUT);
    cr_assert_eq(closed->timer, H2_SVC_TIMER_WRITE);
    h2_svc_event_release(closed);
    cr_assert_geq(took, 250);
    cr_assert_lt(took, 5000);
    /* The body was never copied: memory grew by the output queue and little else. */
    size_t grew = lockmem_peak(&lm) - before;
    cr_assert_lt(grew, 1u << 20, "peak grew by %zu bytes", grew);
    /* The by-reference body was handed back exactly once. */
    h2_svc_free(svc);
    cr_assert_eq(atomic_load(&ref.released), 1);
    h2_svc_queue_free(q);
    peer_free(&p);
    free(body);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- row 1: zero-window stall and slow but steady windows ---- */

typedef struct stall_client {
    peer p;
    size_t data;          /* DATA bytes received */
    bool ended;           /* the stream's END_STREAM arrived */
    bool goaway;          /* a GOAWAY arrived ... */
    uint32_t goaway_code; /* ... with this code */
    char debug[64];       /* ... and debug data */
} stall_client;

static void stall_on_event(void *arg, const h2_event *ev)
{
    stall_client *c = arg;
    if (ev->type == H2_EV_DATA_RECEIVED) {
        c->data += ev->u.data.len;
        if (ev->u.data.stream_ended >= 0)
            c->ended = true;
    } else if (ev->type == H2_EV_STREAM_ENDED) {
        c->ended = true;
    } else if (ev->type == H2_EV_CONNECTION_TERMINATED) {
        c->goaway = true;
        c->goaway_code = ev->u.terminated.error_code;
        size_t n = ev->u.terminated.debug_len;
        if (n >= sizeof c->debug)
            n = sizeof c->debug - 1;
        if (n > 0)
            memcpy(c->debug, ev->u.terminated.debug, n);
        c->debug[n] = 0;
    }
}

/* A client whose stream windows start at 0; the connection window is wide. */
static void stall_client_start(stall_client *c, int fd)
{
    memset(c, 0, sizeof *c);
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 0;
    pc.connection_window_size = 0x7fffffff;
    peer_init_cfg(&c->p, fd, &pc);
    settle(&c->p);
    cr_assert_eq(h2_conn_send_headers(c->p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&c->p);
}

/* A rig whose server connection has the flow-control stall timer at |flow_ms|,
 * a stall client on the other end that asked for "/", and the request taken. */
static h2_svc_conn_id stall_start(svc_rig *r, stall_client *c, uint32_t flow_ms,
                                  fake_clock *clock)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.clock = fake_clock_read;
    cfg.clock_user = clock;
    atomic_init(&clock->ms, 0);
    svc_rig_start_cfg(r, 64, &cfg);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.flow_timeout_ms = flow_ms;
    h2_svc_conn_id id = svc_rig_attach(r, &sc);
    stall_client_start(c, r->peer_fd);
    h2_svc_event *ev = wait_event(r->q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    return id;
}

Test(abuse_service, row1_zero_window_stall_cut_at_the_flow_timeout)
{
    svc_rig r;
    stall_client c;
    fake_clock clock;
    h2_svc_conn_id id = stall_start(&r, &c, 300, &clock);
    h2_svc *svc = r.svc;
    h2_svc_queue *q = r.q;
    h2_svc_event *ev = NULL;

    size_t body_len = 1u << 20;
    uint8_t *body = make_body(body_len, 7);
    int64_t start = fake_clock_read(&clock);
    int64_t end = now_ms() + 5000;
    cr_assert_eq(h2_svc_submit_headers(svc, id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(svc, id, 1, body, body_len, H2_SEND_END_STREAM, 0), 0);
    /* The client reads everything the server sends and never opens a
     * window; the turn that took the commands found the body held. */
    cr_assert_null(svc_barrier(svc, q, id));
    peer_pump(&c.p, 0, stall_on_event, &c);
    fake_clock_set(&clock, svc, start + 299);
    cr_assert_null(svc_barrier(svc, q, id), "cut before the flow-control stall timeout");
    fake_clock_set(&clock, svc, start + 300);
    h2_svc_event *closed = NULL;
    while (closed == NULL) {
        cr_assert_lt(now_ms(), end, "the stalled connection is still open");
        peer_pump(&c.p, 20, stall_on_event, &c);
        while (closed == NULL && h2_svc_queue_poll(q, &ev, 1) == 1) {
            if (ev->type == H2_SVC_EV_CLOSED)
                closed = ev;
            else
                h2_svc_event_release(ev);
        }
    }
    int64_t took = fake_clock_read(&clock) - start;
    cr_assert_eq(closed->reason, H2_SVC_CLOSE_TIMEOUT, "reason %d", closed->reason);
    cr_assert_eq(closed->timer, H2_SVC_TIMER_FLOW, "timer %d", closed->timer);
    cr_assert_eq(closed->error_code, H2_NO_ERROR);
    h2_svc_event_release(closed);
    cr_assert_geq(took, 300);
    cr_assert_lt(took, 3000);
    /* What the socket still holds: the GOAWAY, then end of stream. */
    while (!c.p.eof && now_ms() < end)
        peer_pump(&c.p, 100, stall_on_event, &c);
    cr_assert(c.goaway);
    cr_assert_eq(c.goaway_code, H2_NO_ERROR);
    cr_assert_str_eq(c.debug, "flow control stall");
    cr_assert_eq(c.data, 0u, "%zu DATA bytes through a shut window", c.data);

    svc_rig_free(&r);
    peer_free(&c.p);
    free(body);
}

Test(abuse_service, row1_slow_steady_windows_are_not_a_stall)
{
    svc_rig r;
    stall_client c;
    fake_clock clock;
    h2_svc_conn_id id = stall_start(&r, &c, 300, &clock);
    h2_svc *svc = r.svc;
    h2_svc_queue *q = r.q;

    /* 10 windows of 1000 bytes, one every 100 ms of the service's clock:
     * the transfer takes three times the stall timeout, but no gap between
     * windows reaches it. Each window is granted once the previous one's
     * bytes arrived. */
    size_t body_len = 10000;
    uint8_t *body = make_body(body_len, 9);
    int64_t start = fake_clock_read(&clock);
    int64_t end = now_ms() + 10000;
    cr_assert_eq(h2_svc_submit_headers(svc, id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(svc, id, 1, body, body_len, H2_SEND_END_STREAM, 0), 0);
    cr_assert_null(svc_barrier(svc, q, id));
    int64_t next = start;
    int granted = 0;
    while (!c.ended) {
        cr_assert_lt(now_ms(), end, "%zu of %zu bytes", c.data, body_len);
        cr_assert(!c.p.eof && !c.goaway, "cut after %zu bytes (%s)", c.data, c.debug);
        if (c.data == 1000u * (size_t)granted && granted < 10) {
            fake_clock_set(&clock, svc, next);
            cr_assert_eq(h2_conn_increment_window(c.p.conn, 1, 1000), 0);
            peer_flush(&c.p);
            granted++;
            next += 100;
        }
        peer_pump(&c.p, 10, stall_on_event, &c);
    }
    cr_assert_geq(fake_clock_read(&clock) - start, 900);
    cr_assert_eq(c.data, body_len);
    /* Still open, the stall timeout later: no CLOSED. */
    fake_clock_set(&clock, svc, fake_clock_read(&clock) + 300);
    h2_svc_event *ev = svc_barrier(svc, q, id);
    cr_assert_null(ev, "closed: reason %d timer %d", ev != NULL ? ev->reason : 0,
                   ev != NULL ? ev->timer : 0);

    svc_rig_free(&r);
    peer_free(&c.p);
    free(body);
}

/* ---- rows 9 and 18: request slots through the service ---- */

typedef struct refusals {
    int refused;   /* requests the server refused for want of a slot */
    uint32_t last; /* stream id of the last one */
} refusals;

/* The client's request on |id|, then (|reset|) the primitive that gets the stream reset. */
static size_t request_then(peer *p, uint32_t id, int primitive, uint8_t *out)
{
    cr_assert_eq(h2_conn_send_headers(p->conn, id, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    const uint8_t *data;
    size_t len, n = 0;
    for (h2_conn_output_view(p->conn, &data, &len); len > 0;
         h2_conn_output_view(p->conn, &data, &len)) {
        memcpy(out + n, data, len);
        n += len;
        h2_conn_output_consume(p->conn, len);
    }
    if (primitive == 1) { /* RST_STREAM(CANCEL): Rapid Reset */
        frame_header(out + n, 4, 0x3, 0, id);
        memset(out + n + 9, 0, 4);
        out[n + 12] = (uint8_t)H2_CANCEL;
        n += 13;
    } else if (primitive == 2) { /* WINDOW_UPDATE 0 on the stream: MadeYouReset */
        frame_header(out + n, 4, 0x8, 0, id);
        memset(out + n + 9, 0, 4);
        n += 13;
    }
    if (primitive != 0) {
        /* The client's own state: the stream is over (its RST is not sent). */
        cr_assert_eq(h2_conn_reset_stream(p->conn, id, H2_CANCEL), 0);
        h2_conn_clear_output(p->conn);
    }
    return n;
}

typedef struct taken {
    refusals *r;
    h2_svc_event **held;
    size_t *n_held;
    size_t cap;
    int requests;
} taken;

/* REQUEST_RECEIVED are counted and released, refusals counted, STREAM_RESET kept. */
static void take_one(void *arg, h2_svc_event *ev)
{
    taken *t = arg;
    if (ev->type == H2_EV_STREAM_RESET) {
        cr_assert_lt(*t->n_held, t->cap);
        t->held[(*t->n_held)++] = ev;
        return;
    }
    if (ev->type == H2_EV_REQUEST_RECEIVED)
        t->requests++;
    if (ev->type == H2_EV_LIMIT_EXCEEDED) {
        /* Each refusal is reported (RST_STREAM(REFUSED_STREAM) sent). */
        cr_assert_eq(ev->limit, H2_LIMIT_ACTIVE_REQUESTS, "limit %d", ev->limit);
        cr_assert(!ev->limit_connection);
        cr_assert_eq(ev->error_code, H2_REFUSED_STREAM);
        t->r->refused++;
        t->r->last = ev->stream_id;
    }
    h2_svc_event_release(ev);
}

/* Takes the events of everything the client wrote so far (the worker read
 * it all and finished a turn); see take_one(). Returns the requests. */
static int take_requests(h2_svc *svc, h2_svc_conn_id id, h2_svc_queue *q, peer *p,
                         refusals *r, h2_svc_event **held, size_t *n_held, size_t cap)
{
    taken t = {r, held, n_held, cap, 0};
    h2_svc_event *closed = svc_barrier_each(svc, q, id, take_one, &t);
    cr_assert_null(closed, "closed: reason %d", closed != NULL ? closed->reason : 0);
    /* The server's answers (RST_STREAMs) are read, as a client would. */
    while (peer_pump(p, 0, NULL, NULL) > 0) {
    }
    return t.requests;
}

static void slots_held_until_resets_are_released(int primitive)
{
    svc_rig rig;
    svc_rig_start(&rig, 4096);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(&rig, &sc);
    h2_svc *svc = rig.svc;
    h2_svc_queue *q = rig.q;
    peer p;
    peer_init(&p, rig.peer_fd, H2_ROLE_CLIENT);
    settle(&p);

    /* 600 requests, each followed at once by the primitive, in three writes,
     * each read by the service before the next is written, so by three
     * receive calls (the core alone would free the slots of the first burst
     * after the second call). The application keeps every STREAM_RESET:
     * its handlers are still busy. */
    enum { PAIRS = 600, BURSTS = 3, CAP = 1024 };
    static h2_svc_event *held[CAP];
    size_t n_held = 0;
    refusals r = {0, 0};
    int requests = 0;
    uint8_t *burst = malloc(PAIRS / BURSTS * 128);
    for (uint32_t b = 0; b < BURSTS; b++) {
        size_t len = 0;
        for (uint32_t i = b * PAIRS / BURSTS; i < (b + 1) * PAIRS / BURSTS; i++)
            len += request_then(&p, 1 + 2 * i, primitive, burst + len);
        write_all(p.fd, burst, len);
        requests += take_requests(svc, id, q, &p, &r, held, &n_held, CAP);
    }
    free(burst);
    size_t len;
    cr_assert_eq(requests, 100, "%d requests started at once", requests);
    cr_assert_eq(n_held, 100u, "%zu resets", n_held);
    cr_assert_eq(r.refused, PAIRS - 100, "%d refused", r.refused);

    /* A plain request is refused while the slots are held ... */
    uint8_t one[128];
    uint32_t next = 1 + 2 * PAIRS;
    len = request_then(&p, next, 0, one);
    write_all(p.fd, one, len);
    cr_assert_eq(take_requests(svc, id, q, &p, &r, held, &n_held, CAP), 0);
    cr_assert_eq(r.last, next);
    /* ... and admitted once the application released the resets (and the
     * worker took them back: a whole turn after the releases). */
    for (size_t i = 0; i < n_held; i++)
        h2_svc_event_release(held[i]);
    n_held = 0;
    cr_assert_eq(take_requests(svc, id, q, &p, &r, held, &n_held, CAP), 0);
    len = request_then(&p, next + 2, 0, one);
    write_all(p.fd, one, len);
    cr_assert_eq(take_requests(svc, id, q, &p, &r, held, &n_held, CAP), 1);
    /* The application reads the same counts from the connection's statistics. */
    cr_assert_eq(h2_svc_query_stats(svc, id, 0), 0);
    h2_svc_event *st = wait_event(q, H2_SVC_EV_STATS, 5000);
    cr_assert_not_null(st);
    cr_assert_eq(st->core_stats->limit_exceeded[H2_LIMIT_ACTIVE_REQUESTS], (uint64_t)r.refused);
    cr_assert_geq(st->core_stats->glitches, (uint64_t)r.refused);
    h2_svc_event_release(st);

    svc_rig_free(&rig);
    peer_free(&p);
}

Test(abuse_service, row9_rapid_reset_slots_held_until_resets_are_released)
{
    slots_held_until_resets_are_released(1);
}

Test(abuse_service, row18_made_you_reset_slots_held_until_resets_are_released)
{
    slots_held_until_resets_are_released(2);
}
