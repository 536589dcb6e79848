/*
 * h2_svc_respond(): HEADERS and a copied body in one command. The peer
 * sees the same frames as for h2_svc_submit_headers() + h2_svc_send_data():
 * the head, the body byte for byte, END_STREAM on the last frame (on the
 * HEADERS when there is no body); a body larger than the windows is held
 * and follows as the peer opens them; refusals come back as COMMAND_FAILED
 * naming RESPOND (nothing sent); bad arguments fail at the call; a post
 * to a connection that ended fails with H2_ENOCONN and gives back the
 * send-hold bytes it took.
 */
#include "test_service_util.h"

typedef struct seen {
    h2_conn *conn;
    bool head;       /* the response's HEADERS came */
    bool head_ended; /* ... with END_STREAM */
    bool ended;      /* the stream ended */
    uint64_t body;
    uint64_t hash;
} seen;

static void on_peer(void *arg, const h2_event *ev)
{
    seen *s = arg;
    if (ev->stream_id != 1)
        return;
    if (ev->type == H2_EV_RESPONSE_RECEIVED) {
        s->head = true;
        s->head_ended = ev->u.headers.stream_ended >= 0;
    } else if (ev->type == H2_EV_DATA_RECEIVED) {
        cr_assert(s->head, "DATA before the HEADERS");
        s->body += ev->u.data.len;
        s->hash = fnv(s->hash, ev->u.data.data, ev->u.data.len);
        cr_assert_eq(h2_conn_ack_data(s->conn, 1, ev->u.data.flow_controlled_length), 0);
    } else if (ev->type == H2_EV_STREAM_ENDED) {
        s->ended = true;
    }
}

/* A server connection whose client peer sent a GET on stream 1. */
static h2_svc_conn_id start(svc_rig *r, peer *p)
{
    return svc_rig_get_on_stream1(r, p, 0);
}

static seen read_response(peer *p)
{
    seen s = {.conn = p->conn, .hash = FNV0};
    int64_t end = now_ms() + 10000;
    while (!s.ended) {
        cr_assert_lt(now_ms(), end, "%llu body bytes", (unsigned long long)s.body);
        cr_assert(!p->eof, "the service closed the connection");
        peer_pump(p, 10, on_peer, &s);
    }
    return s;
}

static void respond_with(size_t len)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p);
    uint8_t *body = make_body(len, 5);
    cr_assert_eq(h2_svc_respond(r.svc, id, 1, ok_fields, 1, body, len, 7), 0);
    uint64_t want = fnv(FNV0, body, len);
    memset(body, 0, len); /* copied by the call */
    seen s = read_response(&p);
    cr_assert(s.head);
    cr_assert_eq(s.head_ended, len == 0);
    cr_assert_eq(s.body, (uint64_t)len);
    cr_assert_eq(s.hash, want);
    /* No COMMAND_FAILED came. */
    h2_svc_event *ev;
    while ((ev = next_event(r.q, 0)) != NULL) {
        cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
        h2_svc_event_release(ev);
    }
    peer_free(&p);
    svc_rig_free(&r);
    free(body);
}

Test(service_respond, head_and_body_in_one_command)
{
    respond_with(1024);
}

Test(service_respond, no_body_ends_the_stream_with_the_headers)
{
    respond_with(0);
}

Test(service_respond, body_larger_than_the_windows_follows_as_they_open)
{
    respond_with(300 * 1024);
}

Test(service_respond, refusal_is_reported_as_respond_with_nothing_sent)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p);
    static const uint8_t body[100];
    /* Stream 3 was never opened by the peer. */
    cr_assert_eq(h2_svc_respond(r.svc, id, 3, ok_fields, 1, body, sizeof body, 9), 0);
    h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_COMMAND_FAILED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, H2_SVC_CMD_RESPOND);
    cr_assert_eq(ev->stream_id, 3u);
    cr_assert_eq(ev->user, 9u);
    h2_svc_event_release(ev);
    /* Stream 1 is still answered. */
    cr_assert_eq(h2_svc_respond(r.svc, id, 1, ok_fields, 1, body, sizeof body, 10), 0);
    seen s = read_response(&p);
    cr_assert_eq(s.body, sizeof body);
    peer_free(&p);
    svc_rig_free(&r);
}

Test(service_respond, arguments)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p);
    static const uint8_t body[10];
    cr_assert_eq(h2_svc_respond(NULL, id, 1, ok_fields, 1, body, 10, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_respond(r.svc, id, 1, ok_fields, 1, NULL, 10, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_respond(r.svc, id, 0, ok_fields, 1, body, 10, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_respond(r.svc, id, 1, NULL, 1, body, 10, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_respond(r.svc, id + 1000, 1, ok_fields, 1, body, 10, 0), H2_EINVAL);
    peer_free(&p);
    svc_rig_free(&r);
}

/*
 * Posts to a connection that ended fail with H2_ENOCONN and give the bytes
 * they charged to the worker's send (or feed) hold back: with 64 KiB limits, a
 * second 40 KiB post would be refused with H2_EAGAIN if the first one had
 * kept its 40 KiB (or had given them back twice).
 */
Test(service_respond, post_to_an_ended_connection_gives_its_hold_back)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.send_hold_limit = 64u << 10;
    cfg.feed_hold_limit = 64u << 10;
    svc_rig r;
    svc_rig_start_cfg(&r, 64, &cfg);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(&r, &sc);
    cr_assert_eq(h2_svc_abort(r.svc, id, 0), 0);
    h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    enum { LEN = 40 << 10 };
    uint8_t *body = make_body(LEN, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(h2_svc_respond(r.svc, id, 1, ok_fields, 1, body, LEN, 0), H2_ENOCONN,
                     "respond %d", i);
        cr_assert_eq(h2_svc_send_data(r.svc, id, 1, body, LEN, 0, 0), H2_ENOCONN, "send %d", i);
        cr_assert_eq(h2_svc_feed(r.svc, id, body, LEN), H2_ENOCONN, "feed %d", i);
    }
    free(body);
    close(r.peer_fd);
    svc_rig_free(&r);
}
