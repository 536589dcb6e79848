/*
 * Backpressure: a worker whose events wait for room in a full queue sleeps
 * until the consumer takes events (no timed polling), then delivers
 * everything in order; feed-mode input held for a full queue is bounded by
 * feed_hold_limit (H2_EAGAIN past it) and none of it is lost; copied DATA
 * held for a peer that keeps its windows shut is bounded by send_hold_limit
 * (H2_EAGAIN past it), and all of it arrives once the windows open.
 */
#include "test_service_util.h"

static const h2_header post_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/up"),
    HDR(":authority", "example.org"),
};

/* The client's bytes for a POST of |len| bytes sent in DATA frames of |chunk| bytes. */
static uint8_t *client_bytes(const uint8_t *body, size_t len, size_t chunk, size_t *out_len)
{
    h2_conn *c = NULL;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, post_fields, 4, 0, NULL), 0);
    size_t cap = len + len / 8 + 4096, n = 0;
    uint8_t *out = malloc(cap);
    for (size_t off = 0; off < len; off += chunk) {
        size_t k = len - off < chunk ? len - off : chunk;
        cr_assert_eq(
            h2_conn_send_data(c, 1, body + off, k, off + k == len ? H2_SEND_END_STREAM : 0, -1), 0);
        n += h2_conn_data_to_send(c, out + n, cap - n);
    }
    n += h2_conn_data_to_send(c, out + n, cap - n);
    h2_conn_free(c);
    *out_len = n;
    return out;
}

typedef struct body_check {
    size_t got;
    uint64_t sum;
    bool ended;
    int data_events;
} body_check;

static void take(body_check *b, h2_svc_event *ev)
{
    cr_assert_neq(ev->type, H2_SVC_EV_CLOSED, "closed: reason %d", ev->reason);
    cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED, "failed: %d", ev->error);
    if (ev->type == H2_SVC_EV_DATA_RECEIVED) {
        b->got += ev->len;
        b->sum = fnv(b->sum, ev->data, ev->len);
        b->ended = b->ended || ev->end_stream;
        b->data_events++;
    }
    h2_svc_event_release(ev);
}

static void discard_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

/* Reads the server's frames from |fd| until its SETTINGS ACK. */
static void wait_settings_ack(int fd)
{
    uint8_t buf[4096];
    size_t have = 0;
    int64_t end = now_ms() + 5000;
    for (;;) {
        while (have >= 9) {
            size_t len = (size_t)buf[0] << 16 | (size_t)buf[1] << 8 | buf[2];
            if (buf[3] == 0x4 && (buf[4] & 0x1) != 0)
                return;
            cr_assert_leq(9 + len, sizeof buf);
            if (have < 9 + len)
                break;
            memmove(buf, buf + 9 + len, have - 9 - len);
            have -= 9 + len;
        }
        int64_t left = end - now_ms();
        cr_assert_gt(left, 0, "no SETTINGS ACK");
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        cr_assert_eq(poll(&pf, 1, (int)left), 1, "no SETTINGS ACK");
        ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
        cr_assert_gt(r, 0);
        have += (size_t)r;
    }
}

Test(service_backpressure, full_queue_sleeps_until_the_consumer_makes_room)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 4); /* three events at once */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);

    size_t len = 30 * 500;
    uint8_t *body = make_body(len, 8);
    size_t n = 0;
    uint8_t *bytes = client_bytes(body, len, 500, &n);
    write_all(sv[0], bytes, n);

    /* The worker read the bytes at once, turned them into events (three in
     * the queue, the rest held) and then sent its ACK of our SETTINGS. */
    wait_settings_ack(sv[0]);
    h2_svc_worker_stats ws = {.size = sizeof(ws)};
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws), 0);
    cr_assert_eq(ws.events, 3u);
    h2_svc_queue_stats qs = {.size = sizeof(qs)};
    cr_assert_eq(h2_svc_queue_get_stats(q, &qs), 0);
    cr_assert_eq(qs.waiting, 3u);

    /* A feed connection on the same worker, with a queue of its own: its
     * STATS round trips count the worker's turns. */
    h2_svc_queue *q2 = new_queue(&lm, 64);
    h2_svc_conn_config fc;
    h2_svc_conn_config_init(&fc, H2_ROLE_CLIENT);
    fc.queue = q2;
    fc.on_output = discard_output;
    h2_svc_conn_id fid = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &fc, &fid), 0);
    h2_svc_event *att = wait_event(q2, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(att);
    h2_svc_event_release(att);
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws), 0);
    uint64_t loops = ws.loops;
    /* Blocked: the worker sleeps instead of polling the queue. Each STATS
     * answer costs it a turn or two; polling would cost many more. */
    for (uint64_t i = 0; i < 4; i++) {
        cr_assert_eq(h2_svc_query_stats(svc, fid, i), 0);
        h2_svc_event *st = wait_event(q2, H2_SVC_EV_STATS, 5000);
        cr_assert_not_null(st);
        h2_svc_event_release(st);
    }
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws), 0);
    cr_assert_lt(ws.loops - loops, 10u, "%llu turns while blocked",
                 (unsigned long long)(ws.loops - loops));

    /* Each poll wakes the worker: everything arrives, in order. */
    body_check b = {.sum = FNV0};
    int64_t start = now_ms();
    while (!b.ended) {
        cr_assert_lt(now_ms() - start, 5000, "got %zu of %zu", b.got, len);
        h2_svc_event *ev = next_event(q, 1000);
        cr_assert_not_null(ev, "no wake-up after the queue was drained (got %zu)", b.got);
        take(&b, ev);
    }
    cr_assert_eq(b.got, len);
    cr_assert_eq(b.sum, fnv(FNV0, body, len));
    cr_assert_eq(b.data_events, 30);

    h2_svc_free(svc);
    h2_svc_queue_free(q);
    h2_svc_queue_free(q2);
    close(sv[0]);
    free(body);
    free(bytes);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_backpressure, feed_input_held_is_bounded)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_eq(cfg.feed_hold_limit, 1u << 20);
    cfg.workers = 1;
    cfg.mem = &lm.mem;
    cfg.feed_hold_limit = 4096;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    h2_svc_queue *q = new_queue(&lm, 2); /* one event at once */
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.on_output = discard_output;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &sc, &id), 0);

    size_t len = 40000;
    uint8_t *body = make_body(len, 9);
    size_t n = 0;
    uint8_t *bytes = client_bytes(body, len, 1000, &n);

    /* Feed 700-byte pieces without reading events: refused once over the limit. */
    size_t off = 0;
    int rv = 0;
    while (off < n &&
           (rv = h2_svc_feed(svc, id, bytes + off, n - off < 700 ? n - off : 700)) == 0)
        off += n - off < 700 ? n - off : 700;
    cr_assert_eq(rv, H2_EAGAIN);
    cr_assert_leq(off, 4096u + 700u + 1100u, "accepted %zu bytes", off);
    cr_assert_gt(off, 0u);

    /* Reading events lets the held input through; feeding goes on; nothing is lost. */
    body_check b = {.sum = FNV0};
    int64_t start = now_ms();
    while (!b.ended) {
        cr_assert_lt(now_ms() - start, 10000, "got %zu of %zu, fed %zu of %zu", b.got, len, off, n);
        h2_svc_event *ev = NULL;
        while (h2_svc_queue_poll(q, &ev, 1) == 1)
            take(&b, ev);
        if (off < n) {
            size_t k = n - off < 700 ? n - off : 700;
            rv = h2_svc_feed(svc, id, bytes + off, k);
            cr_assert(rv == 0 || rv == H2_EAGAIN);
            if (rv == 0)
                off += k;
        } else {
            h2_svc_queue_wait(q, 10);
        }
    }
    cr_assert_eq(b.got, len);
    cr_assert_eq(b.sum, fnv(FNV0, body, len));
    /* An end-of-stream feed is always taken. */
    cr_assert_eq(h2_svc_feed(svc, id, NULL, 0), 0);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_PEER_EOF);
    h2_svc_event_release(ev);

    h2_svc_free(svc);
    h2_svc_queue_free(q);
    free(body);
    free(bytes);
    cfg.feed_hold_limit = 0;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

typedef struct recv_check {
    const uint8_t *expect; /* what the server sent, in order */
    size_t got;
    bool mismatch;
    bool ended;
} recv_check;

static void on_client_event(void *arg, const h2_event *ev)
{
    recv_check *r = arg;
    if (ev->type != H2_SVC_EV_DATA_RECEIVED)
        return;
    if (memcmp(ev->u.data.data, r->expect + r->got, ev->u.data.len) != 0)
        r->mismatch = true;
    r->got += ev->u.data.len;
    r->ended = r->ended || ev->u.data.stream_ended >= 0;
}

Test(service_backpressure, copied_sends_held_for_shut_windows_are_bounded)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.send_hold_limit = 1u << 20;
    svc_rig rig;
    svc_rig_start_cfg(&rig, 64, &cfg);
    h2_svc *svc = rig.svc;
    h2_svc_queue *q = rig.q;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(&rig, &sc);

    /* A client whose windows start shut. */
    peer p;
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.initial_window_size = 0;
    peer_init_cfg(&p, rig.peer_fd, &pc);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    peer_flush(&p);
    peer_pump(&p, 1000, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&p);
    h2_svc_event *ev = wait_event(q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_submit_headers(svc, id, 1, ok_fields, 1, 0, 0), 0);

    /* Copies of 100 KiB until the worker holds its limit. */
    enum { CHUNK = 100 * 1024, MAX_CHUNKS = 64 };
    uint8_t *body = make_body((size_t)CHUNK * MAX_CHUNKS, 5);
    size_t before = lockmem_peak(&rig.lm);
    size_t posted = 0;
    int rv = 0;
    while (posted < (size_t)CHUNK * MAX_CHUNKS) {
        rv = h2_svc_send_data(svc, id, 1, body + posted, CHUNK, 0, 0);
        if (rv != 0)
            break;
        posted += CHUNK;
    }
    cr_assert_eq(rv, H2_EAGAIN, "posted %zu bytes without refusal", posted);
    cr_assert_eq(posted, 10u * CHUNK, "%zu bytes taken", posted);
    size_t grew = lockmem_peak(&rig.lm) - before;
    cr_assert_lt(grew, (1u << 20) + (256u << 10), "peak grew by %zu", grew);

    /* The client opens its windows and reads: every byte held arrives, in order. */
    recv_check r = {.expect = body};
    /* 16 MiB each: more than the whole body, and no overflow whether or not
     * the server's ACK of our INITIAL_WINDOW_SIZE 0 was read yet. */
    cr_assert_eq(h2_conn_increment_window(p.conn, 1, 16u << 20), 0);
    cr_assert_eq(h2_conn_increment_window(p.conn, 0, 16u << 20), 0);
    peer_flush(&p);
    int64_t end = now_ms() + 10000;
    while (r.got < posted && now_ms() < end)
        peer_pump(&p, 100, on_client_event, &r);
    cr_assert_eq(r.got, posted);
    cr_assert(!r.mismatch);
    /* Sent: the worker takes copies again, and the rest of the body follows. */
    while (posted < (size_t)CHUNK * MAX_CHUNKS && now_ms() < end) {
        size_t n = (size_t)CHUNK * MAX_CHUNKS - posted;
        if (n > CHUNK)
            n = CHUNK;
        rv = h2_svc_send_data(svc, id, 1, body + posted, n,
                                  posted + n == (size_t)CHUNK * MAX_CHUNKS ? H2_SEND_END_STREAM : 0,
                                  0);
        if (rv == H2_EAGAIN) {
            peer_pump(&p, 10, on_client_event, &r);
            continue;
        }
        cr_assert_eq(rv, 0);
        posted += n;
    }
    while (!r.ended && now_ms() < end)
        peer_pump(&p, 100, on_client_event, &r);
    cr_assert(r.ended);
    cr_assert_eq(r.got, (size_t)CHUNK * MAX_CHUNKS);
    cr_assert(!r.mismatch);

    svc_rig_free(&rig);
    peer_free(&p);
    free(body);
}
