/*
 * Connection service under concurrent use: several client application
 * threads, each with its own event queue and connections, against an echo
 * server run by another thread; many streams per connection with bodies
 * larger than a frame and a window, some streams reset half-way, some
 * connections aborted at a random point, every echoed byte compared in
 * order (nothing lost, duplicated or reordered) and checksummed. Sized to finish in seconds under
 * ThreadSanitizer on two cores.
 */
#include <pthread.h>
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

#define CLIENT_THREADS 3
#define CONNS_PER_THREAD 4
#define STREAMS 20
#define MAX_BODY 70000
#define DEADLINE_MS 60000

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static const h2_header request_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/echo"),
    HDR(":authority", "example.org"),
};
static const h2_header response_fields[] = {HDR(":status", "200")};

/* ---- echo server ---- */

typedef struct server {
    h2_svc *svc;
    h2_svc_queue *q;
    int expect_closed;
    int closed;
    int failed;
    size_t echoed;
} server;

static void *server_main(void *arg)
{
    server *s = arg;
    h2_svc_event *evs[32];
    int64_t end = now_ms() + DEADLINE_MS;
    while (s->closed < s->expect_closed && now_ms() < end) {
        h2_svc_queue_wait(s->q, 10);
        size_t n = h2_svc_queue_poll(s->q, evs, 32);
        for (size_t i = 0; i < n; i++) {
            h2_svc_event *ev = evs[i];
            int rv = 0;
            switch (ev->type) {
            case H2_EV_REQUEST_RECEIVED:
                rv = h2_svc_submit_headers(s->svc, ev->conn, ev->stream_id, response_fields, 1,
                                               0, 0);
                if (rv == 0 && ev->end_stream)
                    rv = h2_svc_end_stream(s->svc, ev->conn, ev->stream_id, 0);
                break;
            case H2_EV_DATA_RECEIVED:
                rv = h2_svc_send_data(s->svc, ev->conn, ev->stream_id, ev->data, ev->len,
                                          ev->end_stream ? H2_SEND_END_STREAM : 0, 0);
                s->echoed += ev->len;
                break;
            case H2_SVC_EV_COMMAND_FAILED:
                s->failed++;
                break;
            case H2_SVC_EV_CLOSED:
                s->closed++;
                break;
            default:
                break;
            }
            /* The command ring is large enough for this test; a connection
             * that ended meanwhile refuses at the call. */
            cr_assert(rv == 0 || rv == H2_ENOCONN, "rv %d", rv);
            h2_svc_event_release(ev);
        }
    }
    return NULL;
}

/* ---- clients ---- */

typedef struct stream_state {
    uint8_t *body;
    size_t len;
    uint64_t sum;
    bool reset;
    uint32_t id;
    bool headers;
    size_t got;
    uint64_t got_sum;
    bool ended;
} stream_state;

typedef struct client_conn {
    h2_svc_conn_id id;
    int fd;
    stream_state st[STREAMS];
    int done;
    int abort_after; /* abort once this many streams completed; -1: close gracefully */
    bool closing;
    bool closed;
    int close_reason;
} client_conn;

typedef struct client {
    h2_svc *svc;
    h2_svc_queue *q;
    uint32_t seed;
    client_conn conns[CONNS_PER_THREAD];
    int unexpected_failures;
    bool timed_out;
} client;

static int expected_done(const client_conn *c)
{
    int n = 0;
    for (int i = 0; i < STREAMS; i++)
        n += c->st[i].reset ? 0 : 1;
    return n;
}

static void client_event(client *cl, h2_svc_event *ev)
{
    client_conn *c = ev->conn_user;
    cr_assert_not_null(c);
    cr_assert_eq(ev->conn, c->id);
    stream_state *s = NULL;
    if (ev->stream_id != 0 && ev->type != H2_SVC_EV_STREAM_OPENED) {
        uint32_t idx = (ev->stream_id - 1) / 2;
        cr_assert_lt(idx, STREAMS);
        s = &c->st[idx];
        cr_assert_eq(s->id, ev->stream_id);
    }
    switch (ev->type) {
    case H2_SVC_EV_STREAM_OPENED: {
        cr_assert_lt(ev->user, STREAMS);
        s = &c->st[ev->user];
        s->id = ev->stream_id;
        cr_assert_eq(s->id, 2 * ev->user + 1, "streams open in posting order");
        if (s->reset) {
            cr_assert_eq(
                h2_svc_send_data(cl->svc, c->id, s->id, s->body, s->len / 2, 0, ev->user), 0);
            cr_assert_eq(h2_svc_reset_stream(cl->svc, c->id, s->id, H2_CANCEL, ev->user), 0);
        } else {
            cr_assert_eq(h2_svc_send_data(cl->svc, c->id, s->id, s->body, s->len,
                                              H2_SEND_END_STREAM, ev->user),
                         0);
        }
        break;
    }
    case H2_EV_RESPONSE_RECEIVED:
        s->headers = true;
        break;
    case H2_EV_DATA_RECEIVED:
        cr_assert(s->headers);
        /* Every byte in order: an aborted connection may cut a body short,
         * never change or repeat it. */
        cr_assert_leq(s->got + ev->len, s->len, "stream %u: more bytes than sent", s->id);
        cr_assert_eq(memcmp(ev->data, s->body + s->got, ev->len), 0, "stream %u at %zu", s->id,
                     s->got);
        s->got += ev->len;
        s->got_sum = fnv(s->got_sum, ev->data, ev->len);
        if (ev->end_stream && !s->reset) {
            s->ended = true;
            cr_assert_eq(s->got, s->len);
            cr_assert_eq(s->got_sum, s->sum);
            c->done++;
        }
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        /* Only data held for a stream we reset, or work on a connection
         * we aborted, may fail. */
        if ((s == NULL || !s->reset) && c->abort_after < 0)
            cl->unexpected_failures++;
        break;
    case H2_SVC_EV_CLOSED:
        c->closed = true;
        c->close_reason = ev->reason;
        break;
    default:
        break;
    }
    h2_svc_event_release(ev);
}

static void *client_main(void *arg)
{
    client *cl = arg;
    uint32_t x = cl->seed;
    for (int k = 0; k < CONNS_PER_THREAD; k++) {
        client_conn *c = &cl->conns[k];
        for (int i = 0; i < STREAMS; i++) {
            stream_state *s = &c->st[i];
            s->len = 1 + next_rand(&x) % MAX_BODY;
            s->body = malloc(s->len);
            for (size_t j = 0; j < s->len; j++)
                s->body[j] = (uint8_t)next_rand(&x);
            s->sum = fnv(FNV0, s->body, s->len);
            s->got_sum = FNV0;
            s->reset = next_rand(&x) % 5 == 0;
        }
        c->abort_after = -1;
        if (k == 1 || next_rand(&x) % 4 == 0)
            c->abort_after = 1 + (int)(next_rand(&x) % (STREAMS / 2));
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
        cc.queue = cl->q;
        cc.user = c;
        cr_assert_eq(h2_svc_attach_fd(cl->svc, c->fd, &cc, &c->id), 0);
        for (int i = 0; i < STREAMS; i++)
            cr_assert_eq(
                h2_svc_submit_headers(cl->svc, c->id, 0, request_fields, 4, 0, (uint64_t)i), 0);
    }
    h2_svc_event *evs[32];
    int64_t end = now_ms() + DEADLINE_MS;
    for (;;) {
        bool all_closed = true;
        for (int k = 0; k < CONNS_PER_THREAD; k++) {
            client_conn *c = &cl->conns[k];
            if (!c->closing && c->abort_after >= 0 && c->done >= c->abort_after) {
                c->closing = true;
                cr_assert_eq(h2_svc_abort(cl->svc, c->id, 0), 0);
            } else if (!c->closing && c->done == expected_done(c)) {
                c->closing = true;
                cr_assert_eq(h2_svc_close(cl->svc, c->id, H2_NO_ERROR, 0), 0);
            }
            all_closed = all_closed && c->closed;
        }
        if (all_closed)
            break;
        if (now_ms() > end) {
            cl->timed_out = true;
            break;
        }
        h2_svc_queue_wait(cl->q, 10);
        size_t n = h2_svc_queue_poll(cl->q, evs, 32);
        for (size_t i = 0; i < n; i++)
            client_event(cl, evs[i]);
    }
    return NULL;
}

Test(service_stress, echo_many_threads_connections_streams_with_resets_and_aborts, .timeout = 120)
{
    lockmem lm;
    lockmem_init(&lm);

    server srv = {.expect_closed = CLIENT_THREADS * CONNS_PER_THREAD};
    srv.svc = new_service(&lm, 2, 0);
    srv.q = new_queue(&lm, 1024);
    h2_svc *csvc = new_service(&lm, 2, 0);

    static client clients[CLIENT_THREADS];
    memset(clients, 0, sizeof clients);
    for (int t = 0; t < CLIENT_THREADS; t++) {
        client *cl = &clients[t];
        cl->svc = csvc;
        cl->seed = 0x9e3779b9u * (uint32_t)(t + 1);
        cl->q = new_queue(&lm, 256);
        for (int k = 0; k < CONNS_PER_THREAD; k++) {
            int sv[2];
            cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
            cl->conns[k].fd = sv[0];
            h2_svc_conn_config sc;
            h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
            sc.queue = srv.q;
            h2_svc_conn_id sid;
            cr_assert_eq(h2_svc_attach_fd(srv.svc, sv[1], &sc, &sid), 0);
        }
    }
    pthread_t st, ct[CLIENT_THREADS];
    cr_assert_eq(pthread_create(&st, NULL, server_main, &srv), 0);
    for (int t = 0; t < CLIENT_THREADS; t++)
        cr_assert_eq(pthread_create(&ct[t], NULL, client_main, &clients[t]), 0);
    for (int t = 0; t < CLIENT_THREADS; t++)
        pthread_join(ct[t], NULL);
    pthread_join(st, NULL);

    size_t expected_bytes = 0;
    int resets = 0, aborted = 0;
    for (int t = 0; t < CLIENT_THREADS; t++) {
        client *cl = &clients[t];
        cr_assert(!cl->timed_out, "client %d timed out", t);
        cr_assert_eq(cl->unexpected_failures, 0);
        for (int k = 0; k < CONNS_PER_THREAD; k++) {
            client_conn *c = &cl->conns[k];
            cr_assert(c->closed);
            if (c->abort_after >= 0) {
                /* Aborted mid-flight, or finished before the abort came. */
                cr_assert(
                    c->close_reason == H2_SVC_CLOSE_ABORTED ||
                        (c->close_reason == H2_SVC_CLOSE_GRACEFUL && c->done == expected_done(c)),
                    "reason %d", c->close_reason);
                cr_assert_geq(c->done, c->abort_after);
                aborted += c->close_reason == H2_SVC_CLOSE_ABORTED;
                for (int i = 0; i < STREAMS; i++)
                    free(c->st[i].body);
                continue;
            }
            cr_assert_eq(c->close_reason, H2_SVC_CLOSE_GRACEFUL);
            cr_assert_eq(c->done, expected_done(c));
            for (int i = 0; i < STREAMS; i++) {
                stream_state *s = &c->st[i];
                if (s->reset) {
                    resets++;
                } else {
                    cr_assert(s->ended);
                    expected_bytes += s->len;
                }
                free(s->body);
            }
        }
    }
    cr_assert_eq(srv.closed, CLIENT_THREADS * CONNS_PER_THREAD);
    cr_assert_gt(resets, 0);
    cr_assert_gt(aborted, 0);
    cr_assert_geq(srv.echoed, expected_bytes);
    cr_assert_gt(expected_bytes, 1000000u);
    cr_log_info("echoed %zu bytes, %d streams reset, %d connections aborted", srv.echoed, resets,
                aborted);

    h2_svc_free(csvc);
    h2_svc_free(srv.svc);
    for (int t = 0; t < CLIENT_THREADS; t++)
        h2_svc_queue_free(clients[t].q);
    h2_svc_queue_free(srv.q);
    cr_assert_eq(lockmem_live(&lm), 0u, "leaked %zu blocks", lockmem_live(&lm));
}
