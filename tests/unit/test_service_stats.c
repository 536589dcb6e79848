/*
 * Statistics: per-connection counters through h2_svc_query_stats()
 * (H2_SVC_EV_STATS) and in the CLOSED event, checked against what a peer
 * driven by the test wrote and read; per-worker snapshots; the high-water
 * mark of events held for a full queue.
 */
#include "test_service_util.h"

typedef struct resp_seen {
    bool ended;
    bool settings;
    bool acked; /* the server acknowledged our SETTINGS */
} resp_seen;

static void on_peer(void *arg, const h2_event *ev)
{
    resp_seen *s = arg;
    if (ev->type == H2_SVC_EV_REMOTE_SETTINGS_CHANGED)
        s->settings = true;
    if (ev->type == H2_SVC_EV_SETTINGS_ACKNOWLEDGED)
        s->acked = true;
    if (ev->type == H2_SVC_EV_DATA_RECEIVED && ev->u.data.stream_ended >= 0)
        s->ended = true;
}

Test(service_stats, connection_and_worker_counters)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    /* SETTINGS_ACKNOWLEDGED tells when the service read the peer's last byte. */
    sc.trace = true;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);

    peer p;
    peer_init(&p, sv[0], H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&p);

    uint64_t events = 0;
    h2_svc_event *ev;
    do {
        ev = next_event(q, 5000);
        cr_assert_not_null(ev);
        events++;
        if (ev->type == H2_SVC_EV_REQUEST_RECEIVED) {
            cr_assert_eq(h2_svc_submit_headers(svc, id, 1, ok_fields, 1, 0, 0), 0);
            uint8_t body[1000];
            memset(body, 'b', sizeof body);
            cr_assert_eq(h2_svc_send_data(svc, id, 1, body, sizeof body, H2_SEND_END_STREAM, 0),
                         0);
        }
        int type = ev->type;
        h2_svc_event_release(ev);
        if (type == H2_EV_REQUEST_RECEIVED)
            break;
    } while (true);
    resp_seen rs = {0};
    int64_t end = now_ms() + 5000;
    while (!rs.ended || !rs.settings) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&p, 10, on_peer, &rs);
    }
    /* The peer's SETTINGS ACK is the last byte it sends: wait until the
     * service read it, counting every event on the way. */
    peer_flush(&p);
    do {
        ev = next_event(q, 5000);
        cr_assert_not_null(ev, "the service did not read the SETTINGS ACK");
        events++;
        int type = ev->type;
        h2_svc_event_release(ev);
        if (type == H2_EV_SETTINGS_ACKNOWLEDGED)
            break;
    } while (true);

    cr_assert_eq(h2_svc_query_stats(svc, id, 42), 0);
    ev = wait_event(q, H2_SVC_EV_STATS, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->user, 42u);
    cr_assert_eq(ev->conn, id);
    const h2_svc_conn_stats *st = &ev->stats;
    cr_assert_eq(st->bytes_in, p.sent);
    cr_assert_eq(st->bytes_out, p.received);
    cr_assert_eq(st->streams_opened, 1u);
    /* In: SETTINGS, HEADERS, SETTINGS ACK. Out: SETTINGS, SETTINGS ACK, HEADERS, DATA. */
    cr_assert_eq(st->frames_in, 3u, "frames in %llu", (unsigned long long)st->frames_in);
    cr_assert_eq(st->frames_out, 4u, "frames out %llu", (unsigned long long)st->frames_out);
    cr_assert_eq(st->commands, 3u); /* headers, data, stats */
    cr_assert_eq(st->events, events);
    cr_assert_eq(st->pending_high_water, 0u);
    /* The core's own counters come along. */
    cr_assert_not_null(ev->core_stats);
    cr_assert_eq(ev->core_stats->frames_received, 3u);
    cr_assert_eq(ev->core_stats->streams_opened_remote, 1u);
    cr_assert_eq(ev->core_stats->glitches, 0u);
    cr_assert_eq(ev->core_stats->active_requests, 0u); /* the request completed */
    for (int i = 0; i < H2_LIMIT_COUNT; i++)
        cr_assert_eq(ev->core_stats->limit_exceeded[i], 0u);
    uint64_t bytes_in = st->bytes_in, bytes_out = st->bytes_out;
    h2_svc_event_release(ev);

    cr_assert_eq(h2_svc_abort(svc, id, 0), 0);
    ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stats.commands, 4u);
    cr_assert_eq(ev->stats.bytes_in, bytes_in);
    cr_assert_eq(ev->stats.bytes_out, bytes_out);
    cr_assert_eq(ev->stats.events, events + 1); /* the STATS event itself */
    uint64_t frames_in = ev->stats.frames_in, frames_out = ev->stats.frames_out;
    cr_assert_eq(frames_in, 3u);
    cr_assert_not_null(ev->core_stats);
    cr_assert_eq(ev->core_stats->frames_received, frames_in);
    cr_assert_eq(ev->core_stats->frames_sent, frames_out);
    h2_svc_event_release(ev);

    h2_svc_worker_stats ws = {.size = sizeof(ws)};
    end = now_ms() + 5000;
    do {
        cr_assert_lt(now_ms(), end);
        cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws), 0);
    } while (ws.connections != 0);
    cr_assert_eq(ws.connections_total, 1u);
    cr_assert_eq(ws.bytes_in, bytes_in);
    cr_assert_eq(ws.bytes_out, bytes_out);
    cr_assert_eq(ws.commands, 4u);
    cr_assert_eq(ws.events, events + 2);
    cr_assert_gt(ws.loops, 0u);
    cr_assert_geq(ws.mailbox_high_water, 1u);
    cr_assert_eq(ws.timeouts, 0u);
    cr_assert_eq(ws.frames_in, frames_in);
    cr_assert_eq(ws.frames_out, frames_out);
    cr_assert_eq(ws.streams_opened, 1u);
    cr_assert_eq(h2_svc_worker_get_stats(svc, 1, &ws), H2_EINVAL);
    /* The event queue: every event was taken, none waits. */
    h2_svc_queue_stats qs = {.size = sizeof(qs)};
    cr_assert_eq(h2_svc_queue_get_stats(q, &qs), 0);
    cr_assert_eq(qs.events, events + 2);
    cr_assert_eq(qs.waiting, 0u);
    cr_assert_geq(qs.high_water, 1u);
    cr_assert_eq(qs.capacity, 63u);
    cr_assert_eq(h2_svc_queue_get_stats(NULL, &qs), H2_EINVAL);
    cr_assert_eq(h2_svc_worker_get_stats(NULL, 0, &ws), H2_EINVAL);
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, NULL), H2_EINVAL);
    cr_assert_eq(h2_svc_query_stats(svc, 0, 0), H2_EINVAL);

    h2_svc_free(svc);
    h2_svc_queue_free(q);
    peer_free(&p);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_stats, pending_high_water_and_timeouts)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 4); /* room for 3 events */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.header_timeout_ms = 300;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);

    /* A request and ten DATA frames in one write, while nobody reads events. */
    peer p;
    peer_init(&p, sv[0], H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    static const h2_header post[] = {HDR(":method", "POST"), HDR(":scheme", "http"),
                                     HDR(":path", "/"), HDR(":authority", "example.org")};
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, post, 4, 0, NULL), 0);
    uint8_t chunk[100];
    memset(chunk, 'c', sizeof chunk);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(
            h2_conn_send_data(p.conn, 1, chunk, sizeof chunk, i == 9 ? H2_SEND_END_STREAM : 0, -1),
            0);
    peer_flush(&p);
    uint64_t wrote = p.sent;
    /* The worker took every byte and turned them into events (kept for the
     * full queue) before it sent the ACK of our SETTINGS, all read at once. */
    resp_seen rs = {0};
    int64_t until = now_ms() + 5000;
    while (!rs.acked) {
        cr_assert_lt(now_ms(), until);
        peer_pump(&p, 10, on_peer, &rs);
    }
    h2_svc_worker_stats ws0 = {.size = sizeof(ws0)};
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws0), 0);
    cr_assert_geq(ws0.bytes_in, wrote);

    size_t data = 0;
    h2_svc_event *ev;
    while (data < 1000) {
        ev = next_event(q, 5000);
        cr_assert_not_null(ev);
        if (ev->type == H2_SVC_EV_DATA_RECEIVED)
            data += ev->len;
        h2_svc_event_release(ev);
    }
    cr_assert_eq(h2_svc_query_stats(svc, id, 1), 0);
    ev = wait_event(q, H2_SVC_EV_STATS, 5000);
    cr_assert_not_null(ev);
    /* ATTACHED, REQUEST and ten DATA events: three fit, the rest waited. */
    cr_assert_geq(ev->stats.pending_high_water, 9u);
    cr_assert_leq(ev->stats.pending_high_water, 12u);
    h2_svc_event_release(ev);
    h2_svc_free(svc);
    h2_svc_queue_free(q);

    /* A timer counts in the worker's snapshot. */
    fake_clock clock;
    svc = new_service_clock(&lm, 1, &clock, 0);
    q = new_queue(&lm, 8);
    int sv2[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
    sc.queue = q;
    sc.preface_timeout_ms = 50;
    cr_assert_eq(h2_svc_attach_fd(svc, sv2[1], &sc, &id), 0);
    ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    fake_clock_set(&clock, svc, 50);
    ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_TIMEOUT);
    h2_svc_event_release(ev);
    h2_svc_worker_stats ws = {.size = sizeof(ws)};
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws), 0);
    cr_assert_eq(ws.timeouts, 1u);
    for (int t = 0; t < H2_SVC_TIMER_COUNT; t++)
        cr_assert_eq(ws.timer_expired[t], t == H2_SVC_TIMER_PREFACE ? 1u : 0u, "timer %d", t);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    close(sv2[0]);
    peer_free(&p);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
