/*
 * Per-connection timers, with short periods and a peer driven by the test
 * over a socketpair: idle (not while a stream is open), SETTINGS ACK,
 * client preface deadline, close deadline after a graceful close and after
 * a GOAWAY received, and the defaults set by h2_svc_conn_config_init().
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

/* A server connection over a socketpair; the test holds the client end. */
typedef struct rig {
    lockmem lm;
    h2_service *svc;
    h2_svc_queue *q;
    h2_svc_conn_id id;
    peer p;
    peer_seen seen;
    int64_t start;
} rig;

static void rig_start(rig *r, h2_svc_conn_config *sc)
{
    lockmem_init(&r->lm);
    r->svc = new_service(&r->lm, 1, 0);
    r->q = new_queue(&r->lm, 64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sc->queue = r->q;
    r->start = now_ms(); /* before the worker can start any clock */
    cr_assert_eq(h2_service_attach_fd(r->svc, sv[1], sc, &r->id), 0);
    peer_init(&r->p, sv[0], H2_ROLE_CLIENT);
    memset(&r->seen, 0, sizeof r->seen);
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
}

/* Client preface and SETTINGS out, the server's SETTINGS in and acknowledged. */
static void rig_handshake(rig *r)
{
    cr_assert_eq(h2_conn_initiate(r->p.conn), 0);
    peer_flush(&r->p);
    int64_t end = now_ms() + 5000;
    while (!r->seen.settings) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r->p, 10, peer_on, &r->seen);
    }
}

/* Waits for CLOSED; checks reason and timer; returns the ms since the start. */
static int64_t rig_closed(rig *r, int reason, int timer, uint32_t code, int timeout_ms)
{
    h2_svc_event *ev = wait_event(r->q, H2_SVC_EV_CLOSED, timeout_ms);
    cr_assert_not_null(ev, "no CLOSED event");
    int64_t took = now_ms() - r->start;
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
    h2_service_free(r->svc);
    h2_svc_queue_free(r->q);
    peer_free(&r->p);
    cr_assert_eq(lockmem_live(&r->lm), 0u);
}

/* No event of type CLOSED during |ms|. */
static void expect_no_close(rig *r, int ms)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        int64_t left = end - now_ms();
        if (left <= 0)
            return;
        h2_svc_event *ev = next_event(r->q, (int)left);
        if (ev == NULL)
            return;
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED, "closed early (reason %d timer %d)", ev->reason,
                      ev->timer);
        h2_svc_event_release(ev);
        peer_pump(&r->p, 0, peer_on, &r->seen);
    }
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
    expect_no_close(&r, 400);
    /* The stream ends: idle from then on. */
    cr_assert_eq(h2_conn_reset_stream(r.p.conn, 1, H2_CANCEL), 0);
    peer_flush(&r.p);
    int64_t reset_at = now_ms();
    rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_IDLE, H2_NO_ERROR, 5000);
    cr_assert_geq(now_ms() - reset_at, 100);
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
    int64_t asked = now_ms();
    cr_assert_eq(h2_service_close(r.svc, r.id, H2_NO_ERROR, 0), 0);
    rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_CLOSE, 0, 5000);
    cr_assert_geq(now_ms() - asked, 150);
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
    int64_t sent = now_ms(); /* before the service can see the GOAWAY */
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_CONNECTION_TERMINATED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    rig_closed(&r, H2_SVC_CLOSE_TIMEOUT, H2_SVC_TIMER_CLOSE, 0, 5000);
    cr_assert_geq(now_ms() - sent, 150);
    rig_free(&r);
}

Test(service_timers, many_connections_expire_in_deadline_order)
{
    /* One heap, several deadlines: each connection closes on its own time. */
    lockmem lm;
    lockmem_init(&lm);
    h2_service *svc = new_service(&lm, 1, 0);
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
        cr_assert_eq(h2_service_attach_fd(svc, sv[1], &sc, &ids[i]), 0);
        peers[i] = sv[0];
    }
    for (int k = N - 1; k >= 0; k--) {
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->conn, ids[k]);
        cr_assert_eq(ev->timer, H2_SVC_TIMER_PREFACE);
        h2_svc_event_release(ev);
    }
    h2_service_free(svc);
    h2_svc_queue_free(q);
    for (int i = 0; i < N; i++)
        close(peers[i]);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
