/*
 * Whole-service graceful shutdown (h2_svc_shutdown()): GOAWAY on every
 * connection, streams in flight finish until the deadline, then what is
 * left is cut; every connection ends with its CLOSED.
 */
#include <stdatomic.h>
#include <sys/un.h>
#include "unit/test_service_util.h"

typedef struct shut {
    h2_svc *svc;
    int timeout_ms;
    int rv;
} shut;

static void *run_shutdown(void *arg)
{
    shut *s = arg;
    s->rv = h2_svc_shutdown(s->svc, s->timeout_ms);
    return NULL;
}

typedef struct seen {
    bool goaway;
    uint32_t last_stream_id;
    bool response_done;
    size_t body;
} seen;

static void on_client(void *arg, const h2_event *ev)
{
    seen *s = arg;
    if (ev->type == H2_EV_CONNECTION_TERMINATED) {
        s->goaway = true;
        s->last_stream_id = ev->u.terminated.last_stream_id;
    } else if (ev->type == H2_EV_DATA_RECEIVED) {
        s->body += ev->u.data.len;
        if (ev->u.data.stream_ended >= 0)
            s->response_done = true;
    }
}

static const uint8_t reply[5000] = {7};

/* A request in flight when the shutdown starts gets its whole response. */
Test(service_graceful, stream_in_flight_finishes_after_goaway)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(&r, &sc);
    peer p;
    peer_init(&p, r.peer_fd, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    uint32_t sid = ev->stream_id;
    h2_svc_event_release(ev);

    shut s = {.svc = r.svc, .timeout_ms = 10000, .rv = -1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_shutdown, &s), 0);
    /* The client learns of the shutdown, with its stream still accepted. */
    seen g = {0};
    int64_t end = now_ms() + 5000;
    while (!g.goaway && !p.eof) {
        cr_assert_lt(now_ms(), end, "no GOAWAY");
        peer_pump(&p, 100, on_client, &g);
    }
    cr_assert(g.goaway);
    cr_assert_eq(g.last_stream_id, 1u);
    /* New connections are refused meanwhile. */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc2;
    h2_svc_conn_config_init(&sc2, H2_ROLE_SERVER);
    sc2.queue = r.q;
    h2_svc_conn_id id2;
    cr_assert_eq(h2_svc_attach_fd(r.svc, sv[1], &sc2, &id2), H2_ECLOSED);
    close(sv[0]);
    close(sv[1]);
    /* The response still goes out in full. */
    cr_assert_eq(h2_svc_submit_headers(r.svc, id, sid, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(r.svc, id, sid, reply, sizeof reply, H2_SEND_END_STREAM, 0),
                 0);
    while (!g.response_done && !p.eof) {
        cr_assert_lt(now_ms(), end, "no response");
        peer_pump(&p, 100, on_client, &g);
    }
    cr_assert(g.response_done);
    cr_assert_eq(g.body, sizeof reply);
    ev = wait_event(r.q, H2_SVC_EV_CLOSED, 10000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_GRACEFUL);
    h2_svc_event_release(ev);
    pthread_join(t, NULL);
    cr_assert_eq(s.rv, 0, "shutdown: %d", s.rv);
    /* Free after shutdown: nothing left to do. */
    peer_free(&p);
    svc_rig_free(&r);
}

/* A stream never answered is cut at the deadline: CLOSED(SHUTDOWN), and a
 * command posted before the cut is answered before it. */
Test(service_graceful, deadline_cuts_what_is_left)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    svc_rig_attach(&r, &sc);
    peer p;
    peer_init(&p, r.peer_fd, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    shut s = {.svc = r.svc, .timeout_ms = 200, .rv = -1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_shutdown, &s), 0);
    ev = wait_event(r.q, H2_SVC_EV_CLOSED, 10000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_SHUTDOWN);
    h2_svc_event_release(ev);
    pthread_join(t, NULL);
    cr_assert_eq(s.rv, 1, "one connection cut, got %d", s.rv);
    seen g = {0};
    int64_t end = now_ms() + 5000;
    while (!p.eof) {
        cr_assert_lt(now_ms(), end, "socket still open");
        peer_pump(&p, 100, on_client, &g);
    }
    cr_assert(g.goaway, "closed without a GOAWAY");
    cr_assert_eq(h2_svc_shutdown(r.svc, 0), 0); /* again: nothing left */
    peer_free(&p);
    svc_rig_free(&r);
}

/* Idle connections, one on a shared worker and one dedicated, end
 * gracefully at once; a listener stops accepting. */
Test(service_graceful, idle_shared_and_dedicated_connections_end_gracefully)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(lfd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa_family_t)), 0); /* autobind */
    cr_assert_eq(listen(lfd, 4), 0);
    h2_svc_conn_config lc;
    h2_svc_conn_config_init(&lc, H2_ROLE_SERVER);
    lc.queue = r.q;
    cr_assert_eq(h2_svc_listen(r.svc, lfd, &lc, NULL, NULL), 0);

    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id shared = svc_rig_attach(&r, &sc);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config dc;
    h2_svc_conn_config_init(&dc, H2_ROLE_SERVER);
    dc.queue = r.q;
    dc.dedicated = true;
    h2_svc_conn_id ded = 0;
    cr_assert_eq(h2_svc_attach_fd(r.svc, sv[1], &dc, &ded), 0);
    int attached = 0;
    while (attached < 2) {
        h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_ATTACHED, 5000);
        cr_assert_not_null(ev);
        attached++;
        h2_svc_event_release(ev);
    }
    cr_assert_eq(h2_svc_shutdown(r.svc, 10000), 0);
    int closed = 0;
    h2_svc_event *ev;
    while ((ev = next_event(r.q, 0)) != NULL) {
        if (ev->type == H2_SVC_EV_CLOSED) {
            cr_assert(ev->conn == shared || ev->conn == ded);
            cr_assert_eq(ev->reason, H2_SVC_CLOSE_GRACEFUL);
            closed++;
        }
        h2_svc_event_release(ev);
    }
    cr_assert_eq(closed, 2);
    /* Both peers got a GOAWAY and then the end of the stream. */
    int fds[2] = {r.peer_fd, sv[0]};
    for (int i = 0; i < 2; i++) {
        peer p;
        peer_init(&p, fds[i], H2_ROLE_CLIENT);
        cr_assert_eq(h2_conn_initiate(p.conn), 0); /* its preface is not sent */
        seen g = {0};
        int64_t end = now_ms() + 5000;
        while (!p.eof) {
            cr_assert_lt(now_ms(), end);
            peer_pump(&p, 100, on_client, &g);
        }
        cr_assert(g.goaway, "peer %d: no GOAWAY", i);
        peer_free(&p);
    }
    /* The listening socket was closed: nobody accepts any more. */
    socklen_t len = sizeof sa;
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), -1);
    h2_svc_free(r.svc);
    r.svc = NULL;
    svc_rig_free(&r);
}
