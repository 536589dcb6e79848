/*
 * Per-connection timers, with a peer driven by the test over a socketpair
 * and a service clock that only the test moves: idle (not while a stream
 * is open), SETTINGS ACK, client preface deadline, close deadline after a
 * graceful close and after a GOAWAY received, and the defaults set by
 * h2_svc_conn_config_init(). Each timer is shown to hold one millisecond
 * before its deadline and to fire at it. The core's rate limits refill on
 * the same clock.
 */
#include "test_service_util.h"

typedef struct peer_seen {
    bool settings;
    bool goaway;
    uint32_t goaway_code;
    bool request_opened;
} peer_seen;

static void peer_on(void *arg, const h2_event *ev)
{
    peer_seen *s = arg;
    if (ev->type == H2_EV_REMOTE_SETTINGS_CHANGED)
        s->settings = true;
    if (ev->type == H2_EV_CONNECTION_TERMINATED) {
        s->goaway = true;
        s->goaway_code = ev->u.terminated.error_code;
    }
}

/* Where the service's clock starts: any value works, 0 included. */
#define T0 1000000

/* A server connection over a socketpair; the test holds the client end and the clock. */
typedef struct rig {
    lockmem lm;
    fake_clock clock;
    h2_svc *svc;
    h2_svc_queue *q;
    h2_svc_conn_id id;
    peer p;
    peer_seen seen;
    int64_t start; /* the service's clock at the attach */
} rig;

static void rig_start(rig *r, h2_svc_conn_config *sc)
{
    lockmem_init(&r->lm);
    r->svc = new_service_clock(&r->lm, 1, &r->clock, T0);
    r->q = new_queue(&r->lm, 64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sc->queue = r->q;
    r->start = T0; /* the clock stands still until the test moves it */
    cr_assert_eq(h2_svc_attach_fd(r->svc, sv[1], sc, &r->id), 0);
    peer_init(&r->p, sv[0], H2_ROLE_CLIENT);
    memset(&r->seen, 0, sizeof r->seen);
    /* The worker took the connection over: its clocks started at T0. */
    h2_svc_event *ev = wait_event(r->q, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
}

static int64_t rig_now(rig *r)
{
    return fake_clock_read(&r->clock);
}

/* Moves the service's clock to |ms| after the start and wakes the worker. */
static void rig_at(rig *r, int64_t ms)
{
    fake_clock_set(&r->clock, r->svc, r->start + ms);
}

static void server_config(h2_svc_conn_config *sc)
{
    h2_svc_conn_config_init(sc, H2_ROLE_SERVER);
    sc->idle_timeout_ms = 0;
    sc->settings_timeout_ms = 0;
    sc->header_timeout_ms = 0;
    sc->preface_timeout_ms = 0;
    sc->close_timeout_ms = 0;
    sc->write_timeout_ms = 0;
    sc->flow_timeout_ms = 0;
    /* SETTINGS_ACKNOWLEDGED tells the test when the service read the ACK. */
    sc->trace = true;
}

/* Client preface and SETTINGS out, the server's SETTINGS in and acknowledged,
 * and the acknowledgement read by the service. */
static void rig_handshake(rig *r)
{
    cr_assert_eq(h2_conn_initiate(r->p.conn), 0);
    peer_flush(&r->p);
    int64_t end = now_ms() + 5000;
    while (!r->seen.settings) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r->p, 10, peer_on, &r->seen);
    }
    h2_svc_event *ev = wait_event(r->q, H2_EV_SETTINGS_ACKNOWLEDGED, 5000);
    cr_assert_not_null(ev, "the service did not see the SETTINGS ACK");
    h2_svc_event_release(ev);
}

/* Waits for CLOSED; checks reason and timer; returns the clock's ms since the start. */
static int64_t rig_closed(rig *r, int reason, int timer, uint32_t code, int timeout_ms)
{
    h2_svc_event *ev = wait_event(r->q, H2_SVC_EV_CLOSED, timeout_ms);
    cr_assert_not_null(ev, "no CLOSED event");
    int64_t took = rig_now(r) - r->start;
    cr_assert_eq(ev->reason, reason, "reason %d", ev->reason);
    cr_assert_eq(ev->timer, timer, "timer %d", ev->timer);
    cr_assert_eq(ev->error_code, code);
    h2_svc_event_release(ev);
    return took;
}

/* Reads until EOF; true when a GOAWAY with |code| came before it. */
static void rig_expect_goaway_eof(rig *r, bool goaway, uint32_t code)
{
    int64_t end = now_ms() + 5000;
    while (!r->p.eof) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r->p, 10, peer_on, &r->seen);
    }
    cr_assert_eq(r->seen.goaway, goaway);
    if (goaway)
        cr_assert_eq(r->seen.goaway_code, code);
}

static void rig_free(rig *r)
{
    h2_svc_free(r->svc);
    h2_svc_queue_free(r->q);
    peer_free(&r->p);
    cr_assert_eq(lockmem_live(&r->lm), 0u);
}

/* The worker ran its timers at the clock's present time, and the connection is still open. */
static void expect_open(rig *r)
{
    h2_svc_event *ev = svc_barrier(r->svc, r->q, r->id);
    cr_assert_null(ev, "closed early at %lld ms (reason %d timer %d)",
                   (long long)(rig_now(r) - r->start), ev != NULL ? ev->reason : 0,
                   ev != NULL ? ev->timer : 0);
}

/* No CLOSED while the clock moves |ms| further. */
static void expect_no_close(rig *r, int ms)
{
    fake_clock_set(&r->clock, r->svc, rig_now(r) + ms);
    expect_open(r);
    peer_pump(&r->p, 0, peer_on, &r->seen);
}

Test(service_timers, defaults)
{
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    cr_assert_eq(sc.idle_timeout_ms, 180000u);
    cr_assert_eq(sc.settings_timeout_ms, 10000u);
    cr_assert_eq(sc.header_timeout_ms, 20000u);
    cr_assert_eq(sc.preface_timeout_ms, 10000u);
    cr_assert_eq(sc.flow_timeout_ms, 60000u);
    cr_assert_eq(sc.close_timeout_ms, 30000u);
    cr_assert_eq(sc.write_timeout_ms, 60000u);
    cr_assert_eq(sc.worker, -1);
    cr_assert(!sc.dedicated);
    cr_assert_null(sc.transport);
}

Test(service_timers, idle_sends_goaway_no_error_and_closes)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.idle_timeout_ms = 150;
    rig_start(&r, &sc);
    rig_handshake(&r);
    rig_at(&r, 149);
    expect_open(&r);
    rig_at(&r, 150);
    int64_t took = rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_IDLE, H2_NO_ERROR, 5000);
    cr_assert_geq(took, 150);
    cr_assert_lt(took, 3000);
    rig_expect_goaway_eof(&r, true, H2_NO_ERROR);
    rig_free(&r);
}

Test(service_timers, idle_waits_while_a_stream_is_open)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.idle_timeout_ms = 100;
    rig_start(&r, &sc);
    rig_handshake(&r);
    cr_assert_eq(h2_conn_send_headers(r.p.conn, 1, get_fields, 4, 0, NULL), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    expect_no_close(&r, 400);
    /* The stream ends: idle from then on. */
    cr_assert_eq(h2_conn_reset_stream(r.p.conn, 1, H2_CANCEL), 0);
    peer_flush(&r.p);
    ev = wait_event(r.q, H2_EV_STREAM_RESET, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    int64_t reset_at = rig_now(&r);
    expect_no_close(&r, 99);
    fake_clock_set(&r.clock, r.svc, reset_at + 100);
    rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_IDLE, H2_NO_ERROR, 5000);
    cr_assert_geq(rig_now(&r) - reset_at, 100);
    rig_free(&r);
}

Test(service_timers, unacknowledged_settings)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.settings_timeout_ms = 120;
    sc.idle_timeout_ms = 5000;
    rig_start(&r, &sc);
    /* The client's preface and SETTINGS go out, but it reads nothing: no ACK. */
    cr_assert_eq(h2_conn_initiate(r.p.conn), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REMOTE_SETTINGS_CHANGED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    rig_at(&r, 119);
    expect_open(&r);
    rig_at(&r, 120);
    int64_t took =
        rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_SETTINGS, H2_SETTINGS_TIMEOUT, 5000);
    cr_assert_geq(took, 120);
    cr_assert_lt(took, 3000);
    rig_expect_goaway_eof(&r, true, H2_SETTINGS_TIMEOUT);
    rig_free(&r);
}

Test(service_timers, acknowledged_settings_do_not_expire)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.settings_timeout_ms = 100;
    rig_start(&r, &sc);
    rig_handshake(&r);
    expect_no_close(&r, 350);
    rig_free(&r);
}

Test(service_timers, client_preface_deadline)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.preface_timeout_ms = 100;
    rig_start(&r, &sc);
    /* Half a preface, then silence. */
    write_all(r.p.fd, (const uint8_t *)"PRI * HTTP/2.0\r\n", 16);
    rig_at(&r, 99);
    expect_open(&r);
    rig_at(&r, 100);
    int64_t took =
        rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_PREFACE, H2_PROTOCOL_ERROR, 5000);
    cr_assert_geq(took, 100);
    cr_assert_lt(took, 3000);
    rig_free(&r);
}

Test(service_timers, close_deadline_after_graceful_close)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.close_timeout_ms = 150;
    rig_start(&r, &sc);
    rig_handshake(&r);
    cr_assert_eq(h2_conn_send_headers(r.p.conn, 1, get_fields, 4, 0, NULL), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    /* GOAWAY, but the stream stays open: cut after the deadline. */
    int64_t asked = rig_now(&r);
    cr_assert_eq(h2_svc_close(r.svc, r.id, H2_NO_ERROR, 0), 0);
    expect_open(&r); /* the close was carried out */
    expect_no_close(&r, 149);
    fake_clock_set(&r.clock, r.svc, asked + 150);
    rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_CLOSE, 0, 5000);
    cr_assert_geq(rig_now(&r) - asked, 150);
    rig_expect_goaway_eof(&r, true, H2_NO_ERROR);
    rig_free(&r);
}

Test(service_timers, close_deadline_after_goaway_received)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    sc.close_timeout_ms = 150;
    rig_start(&r, &sc);
    rig_handshake(&r);
    cr_assert_eq(h2_conn_send_headers(r.p.conn, 1, get_fields, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_close(r.p.conn, H2_NO_ERROR, NULL, 0, -1), 0);
    int64_t sent = rig_now(&r); /* before the service can see the GOAWAY */
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_CONNECTION_TERMINATED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    expect_no_close(&r, 149);
    fake_clock_set(&r.clock, r.svc, sent + 150);
    rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_CLOSE, 0, 5000);
    cr_assert_geq(rig_now(&r) - sent, 150);
    rig_free(&r);
}

Test(service_timers, many_connections_expire_in_deadline_order)
{
    /* One heap, several deadlines: each connection closes on its own time. */
    lockmem lm;
    lockmem_init(&lm);
    fake_clock clock;
    h2_svc *svc = new_service_clock(&lm, 1, &clock, T0);
    h2_svc_queue *q = new_queue(&lm, 64);
    enum { N = 6 };
    int peers[N];
    h2_svc_conn_id ids[N];
    for (int i = 0; i < N; i++) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        h2_svc_conn_config sc;
        server_config(&sc);
        sc.queue = q;
        /* Attached in one order, due in the reverse one. */
        sc.preface_timeout_ms = (uint32_t)(60 * (N - i));
        cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &ids[i]), 0);
        peers[i] = sv[0];
    }
    for (int i = 0; i < N; i++) {
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
        cr_assert_not_null(ev);
        h2_svc_event_release(ev);
    }
    /* Every deadline passed at once: they still close in deadline order. */
    fake_clock_set(&clock, svc, T0 + 60 * N);
    for (int k = N - 1; k >= 0; k--) {
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->conn, ids[k]);
        cr_assert_eq(ev->timer, H2_SVC_TIMER_PREFACE);
        h2_svc_event_release(ev);
    }
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    for (int i = 0; i < N; i++)
        close(peers[i]);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_timers, each_connection_closes_at_its_own_deadline)
{
    lockmem lm;
    lockmem_init(&lm);
    fake_clock clock;
    h2_svc *svc = new_service_clock(&lm, 1, &clock, T0);
    h2_svc_queue *q = new_queue(&lm, 64);
    enum { N = 3 };
    int peers[N];
    h2_svc_conn_id ids[N];
    for (int i = 0; i < N; i++) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        h2_svc_conn_config sc;
        server_config(&sc);
        sc.queue = q;
        sc.preface_timeout_ms = (uint32_t)(60 * (N - i));
        cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &ids[i]), 0);
        peers[i] = sv[0];
    }
    for (int i = 0; i < N; i++) {
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
        cr_assert_not_null(ev);
        h2_svc_event_release(ev);
    }
    for (int k = N - 1; k >= 0; k--) {
        /* One millisecond early: the connection due next is still open. */
        fake_clock_set(&clock, svc, T0 + 60 * (N - k) - 1);
        cr_assert_null(svc_barrier(svc, q, ids[k]));
        fake_clock_set(&clock, svc, T0 + 60 * (N - k));
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->conn, ids[k]);
        cr_assert_eq(ev->timer, H2_SVC_TIMER_PREFACE);
        h2_svc_event_release(ev);
    }
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    for (int i = 0; i < N; i++)
        close(peers[i]);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* A request on |id| and its reset by the client, in one write. */
static void request_and_reset(rig *r, uint32_t id)
{
    cr_assert_eq(h2_conn_send_headers(r->p.conn, id, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_reset_stream(r->p.conn, id, H2_CANCEL), 0);
    peer_flush(&r->p);
}

Test(service_timers, core_rate_limits_refill_on_the_service_clock)
{
    rig r;
    h2_svc_conn_config sc;
    server_config(&sc);
    /* Two resets at once, then one more per second of the service's clock. */
    sc.conn.reset_burst = 2;
    sc.conn.reset_rate = 1;
    rig_start(&r, &sc);
    rig_handshake(&r);
    for (uint32_t id = 1; id <= 3; id += 2) {
        request_and_reset(&r, id);
        h2_svc_event *ev = wait_event(r.q, H2_EV_STREAM_RESET, 5000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->stream_id, id);
        h2_svc_event_release(ev);
    }
    /* A second later by the service's clock (milliseconds in real time):
     * one token more, for one reset. */
    rig_at(&r, 1000);
    request_and_reset(&r, 5);
    h2_svc_event *ev = next_event(r.q, 5000);
    while (ev != NULL && ev->type != H2_EV_STREAM_RESET && ev->type != H2_EV_LIMIT_EXCEEDED) {
        h2_svc_event_release(ev);
        ev = next_event(r.q, 5000);
    }
    cr_assert_not_null(ev);
    cr_assert_eq(ev->type, H2_EV_STREAM_RESET, "the refill did not follow the service's clock");
    cr_assert_eq(ev->stream_id, 5u);
    h2_svc_event_release(ev);
    /* The clock stands still: the next reset finds the bucket empty. */
    request_and_reset(&r, 7);
    ev = wait_event(r.q, H2_EV_LIMIT_EXCEEDED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->limit, H2_LIMIT_RESET_RATE);
    cr_assert(ev->limit_connection);
    cr_assert_eq(ev->error_code, H2_ENHANCE_YOUR_CALM);
    h2_svc_event_release(ev);
    ev = wait_event(r.q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->error_code, H2_ENHANCE_YOUR_CALM);
    h2_svc_event_release(ev);
    rig_free(&r);
}
