/*
 * Service transports: a transport hook that wraps the socket, counts its
 * calls, holds bytes (pending) and injects H2_EAGAIN with
 * H2_SVC_WANT_WRITE on writes and on reads; bytes given at attach (initial_data) split anywhere
 * in the client preface; the server side of an h2c upgrade answering
 * stream 1 to a client driven by the test.
 */
#include <stdatomic.h>
#include <sys/uio.h>
#include "support/test_sync.h"
#include "test_service_util.h"

/* ---- a counting transport ---- */

#define TR_HOLD 4096
#define TR_GIVE 64

typedef struct counting_tr {
    int fd;
    atomic_int reads, writes, injected, injected_reads, closes, pending_calls;
    unsigned wants;
    uint8_t buf[TR_HOLD];
    size_t len, off;
} counting_tr;

static ptrdiff_t ct_read(void *ctx, int fd, uint8_t *buf, size_t len)
{
    counting_tr *t = ctx;
    cr_assert_eq(fd, t->fd);
    int n_reads = atomic_fetch_add(&t->reads, 1) + 1;
    if (t->off < t->len && n_reads % 5 == 0) {
        /* A TLS layer that must write before it can read on: wait for writability. */
        atomic_fetch_add(&t->injected_reads, 1);
        t->wants = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    }
    if (t->off == t->len) {
        ssize_t r = recv(fd, t->buf, sizeof t->buf, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            t->wants = H2_SVC_WANT_READ;
            return H2_EAGAIN;
        }
        if (r < 0)
            return H2_EINTERNAL;
        if (r == 0)
            return 0;
        t->len = (size_t)r;
        t->off = 0;
    }
    /* Hand out little at a time: the rest waits inside the transport. */
    size_t n = t->len - t->off;
    if (n > TR_GIVE)
        n = TR_GIVE;
    if (n > len)
        n = len;
    memcpy(buf, t->buf + t->off, n);
    t->off += n;
    return (ptrdiff_t)n;
}

static ptrdiff_t ct_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    counting_tr *t = ctx;
    int n = atomic_fetch_add(&t->writes, 1) + 1;
    if (n % 3 == 0) {
        /* A TLS layer in the middle of something: wait until writable. */
        atomic_fetch_add(&t->injected, 1);
        t->wants = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    }
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        t->wants = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    }
    return r < 0 ? H2_EINTERNAL : (ptrdiff_t)r;
}

static unsigned ct_wants(void *ctx)
{
    return ((counting_tr *)ctx)->wants;
}

static bool ct_pending(void *ctx)
{
    counting_tr *t = ctx;
    atomic_fetch_add(&t->pending_calls, 1);
    return t->off < t->len;
}

static void ct_close(void *ctx, int fd)
{
    counting_tr *t = ctx;
    cr_assert_eq(fd, t->fd);
    atomic_fetch_add(&t->closes, 1);
}

static void counting_init(counting_tr *t, int fd, h2_svc_transport *tr)
{
    memset(t, 0, sizeof(*t));
    t->fd = fd;
    *tr = (h2_svc_transport){ct_read, ct_writev, ct_wants, ct_pending, ct_close, t};
}

/* ---- the peer's view of one request ---- */

typedef struct client_state {
    uint32_t stream;
    bool headers;
    bool ended;
    size_t got;
    uint64_t sum;
    peer *p;
} client_state;

static void client_on(void *arg, const h2_event *ev)
{
    client_state *s = arg;
    if (ev->type == H2_SVC_EV_RESPONSE_RECEIVED && ev->stream_id == s->stream) {
        cr_assert_eq(ev->u.headers.n, 1u);
        cr_assert(memcmp(ev->u.headers.fields[0].value, "200", 3) == 0);
        s->headers = true;
        if (ev->u.headers.stream_ended >= 0)
            s->ended = true;
    } else if (ev->type == H2_SVC_EV_DATA_RECEIVED && ev->stream_id == s->stream) {
        s->got += ev->u.data.len;
        s->sum = fnv(s->sum, ev->u.data.data, ev->u.data.len);
        if (ev->u.data.stream_ended >= 0)
            s->ended = true;
        cr_assert_eq(h2_conn_ack_data(s->p->conn, ev->stream_id, ev->u.data.flow_controlled_length),
                     0);
    }
}

Test(service_transport, hook_counts_calls_drains_pending_and_retries_eagain)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 256);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    counting_tr t;
    h2_svc_transport tr;
    counting_init(&t, sv[1], &tr);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.transport = &tr;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);

    /* The peer sends its preface and a request with a 3000-byte body in one
     * write: the transport takes it all off the socket at once and gives it
     * out 64 bytes per read, so only draining |pending| gets it through. */
    peer p;
    peer_init(&p, sv[0], H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    static const h2_header post[] = {HDR(":method", "POST"), HDR(":scheme", "http"),
                                     HDR(":path", "/t"), HDR(":authority", "example.org")};
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, post, 4, 0, NULL), 0);
    uint8_t *req = make_body(3000, 5);
    cr_assert_eq(h2_conn_send_data(p.conn, 1, req, 3000, H2_SEND_END_STREAM, -1), 0);
    uint8_t out[8192];
    size_t n = h2_conn_data_to_send(p.conn, out, sizeof out);
    cr_assert_lt(n, (size_t)TR_HOLD);
    write_all(p.fd, out, n);

    size_t resp_len = 300000;
    uint8_t *resp = make_body(resp_len, 6);
    client_state cs = {.stream = 1, .sum = FNV0, .p = &p};
    size_t got_req = 0;
    uint64_t req_sum = FNV0;
    bool answered = false;
    int64_t end = now_ms() + 20000;
    while (!cs.ended) {
        cr_assert_lt(now_ms(), end, "got %zu of the request, %zu of the response", got_req, cs.got);
        h2_svc_event *ev = NULL;
        while (h2_svc_queue_poll(q, &ev, 1) == 1) {
            if (ev->type == H2_SVC_EV_DATA_RECEIVED) {
                got_req += ev->len;
                req_sum = fnv(req_sum, ev->data, ev->len);
                if (ev->end_stream && !answered) {
                    answered = true;
                    cr_assert_eq(h2_svc_submit_headers(svc, id, 1, ok_fields, 1, 0, 0), 0);
                    cr_assert_eq(
                        h2_svc_send_data(svc, id, 1, resp, resp_len, H2_SEND_END_STREAM, 0), 0);
                }
            }
            cr_assert_neq(ev->type, H2_SVC_EV_CLOSED);
            cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
            h2_svc_event_release(ev);
        }
        peer_pump(&p, 5, client_on, &cs);
    }
    cr_assert_eq(got_req, 3000u);
    cr_assert_eq(req_sum, fnv(FNV0, req, 3000));
    cr_assert(cs.headers);
    cr_assert_eq(cs.got, resp_len);
    cr_assert_eq(cs.sum, fnv(FNV0, resp, resp_len));
    cr_assert_gt(atomic_load(&t.reads), 3000 / TR_GIVE);
    cr_assert_gt(atomic_load(&t.pending_calls), 0);
    cr_assert_gt(atomic_load(&t.injected), 0);
    cr_assert_gt(atomic_load(&t.injected_reads), 0);
    cr_assert_gt(atomic_load(&t.writes), atomic_load(&t.injected));
    cr_assert_eq(atomic_load(&t.closes), 0);

    cr_assert_eq(h2_svc_abort(svc, id, 0), 0);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 10000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_ABORTED);
    h2_svc_event_release(ev);
    cr_assert_eq(atomic_load(&t.closes), 1);
    h2_svc_free(svc);
    cr_assert_eq(atomic_load(&t.closes), 1);
    h2_svc_queue_free(q);
    p.fd = sv[0];
    peer_free(&p);
    free(req);
    free(resp);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_transport, close_called_once_when_shutdown_races_the_attach)
{
    lockmem lm;
    lockmem_init(&lm);
    for (int round = 0; round < 8; round++) {
        h2_svc *svc = new_service(&lm, 2, 0);
        h2_svc_queue *q = new_queue(&lm, 64);
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        counting_tr t;
        h2_svc_transport tr;
        counting_init(&t, sv[1], &tr);
        h2_svc_conn_config sc;
        h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
        sc.queue = q;
        sc.transport = &tr;
        h2_svc_conn_id id = 0;
        cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
        /* Odd rounds: the worker took the connection over before the free;
         * even rounds: the free races the attach. */
        if (round % 2 == 1) {
            h2_svc_event *att = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
            cr_assert_not_null(att);
            h2_svc_event_release(att);
        }
        h2_svc_free(svc);
        cr_assert_eq(atomic_load(&t.closes), 1);
        /* The service closed its end. */
        char c;
        cr_assert_eq(recv(sv[0], &c, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN, true);
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 1000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->reason, H2_SVC_CLOSE_SHUTDOWN);
        h2_svc_event_release(ev);
        h2_svc_queue_free(q);
        close(sv[0]);
    }
    cr_assert_eq(lockmem_live(&lm), 0u);
}

static void release_event(void *user, h2_svc_event *ev)
{
    (void)user;
    h2_svc_event_release(ev);
}

Test(service_transport, refused_attach_leaves_the_transport_alone)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    counting_tr t;
    h2_svc_transport tr;
    counting_init(&t, 5, &tr);
    tr.writev = NULL;
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_event = release_event;
    sc.transport = &tr;
    h2_svc_conn_id id = 7;
    cr_assert_eq(h2_svc_attach_fd(svc, 5, &sc, &id), H2_EINVAL);
    cr_assert_eq(id, 0u);
    h2_svc_free(svc);
    cr_assert_eq(atomic_load(&t.closes), 0);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- initial_data ---- */

Test(service_transport, initial_data_split_anywhere_in_the_preface)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 64);

    /* The client's first bytes: preface, SETTINGS, WINDOW_UPDATE? and a request. */
    peer p;
    peer_init(&p, -1, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    uint8_t first[1024];
    size_t first_len = h2_conn_data_to_send(p.conn, first, sizeof first);
    cr_assert_gt(first_len, 24u + 9u);
    peer_free(&p);

    size_t splits[] = {0, 1, 3, 23, 24, 25, 33, first_len - 1, first_len};
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        size_t k = splits[i];
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        h2_svc_conn_config sc;
        h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
        sc.queue = q;
        sc.initial_data = first;
        sc.initial_len = k;
        h2_svc_conn_id id = 0;
        cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
        if (k < first_len)
            write_all(sv[0], first + k, first_len - k);
        h2_svc_event *ev = next_event(q, 10000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->type, H2_SVC_EV_ATTACHED, "split %zu", k);
        h2_svc_event_release(ev);
        ev = next_event(q, 10000);
        cr_assert_not_null(ev, "split %zu", k);
        cr_assert_eq(ev->type, H2_EV_REQUEST_RECEIVED, "split %zu: type %d", k, ev->type);
        cr_assert_eq(ev->stream_id, 1u);
        cr_assert_eq(ev->n_fields, 4u);
        cr_assert(ev->end_stream);
        cr_assert(memcmp(ev->fields[2].value, "/", 1) == 0);
        h2_svc_event_release(ev);
        cr_assert_eq(h2_svc_abort(svc, id, 0), 0);
        ev = wait_event(q, H2_SVC_EV_CLOSED, 10000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->reason, H2_SVC_CLOSE_ABORTED);
        h2_svc_event_release(ev);
        close(sv[0]);
    }
    /* Bytes that are not a preface end the connection as a protocol error. */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.initial_data = (const uint8_t *)"GET / HTTP/1.1\r\n\r\n";
    sc.initial_len = 18;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 10000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_PROTOCOL);
    h2_svc_event_release(ev);
    close(sv[0]);

    h2_svc_free(svc);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- h2c upgrade, server side ---- */

static void upgrade_on_event(void *user, h2_svc_event *ev)
{
    h2_svc **svcp = user;
    if (ev->type == H2_SVC_EV_ATTACHED) {
        /* The upgraded request is stream 1: answer it. */
        cr_assert_eq(h2_svc_submit_headers(*svcp, ev->conn, 1, ok_fields, 1, 0, 0), 0);
        cr_assert_eq(h2_svc_send_data(*svcp, ev->conn, 1, (const uint8_t *)"upgraded", 8,
                                          H2_SEND_END_STREAM, 0),
                     0);
    }
    cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
    h2_svc_event_release(ev);
}

typedef struct upgrade_client {
    bool headers, ended;
    char body[32];
    size_t got;
} upgrade_client;

static void upgrade_client_on(void *arg, const h2_event *ev)
{
    upgrade_client *u = arg;
    if (ev->type == H2_SVC_EV_RESPONSE_RECEIVED) {
        cr_assert_eq(ev->stream_id, 1u);
        u->headers = true;
    } else if (ev->type == H2_SVC_EV_DATA_RECEIVED) {
        cr_assert_eq(ev->stream_id, 1u);
        cr_assert_leq(u->got + ev->u.data.len, sizeof u->body);
        memcpy(u->body + u->got, ev->u.data.data, ev->u.data.len);
        u->got += ev->u.data.len;
        u->ended = ev->u.data.stream_ended >= 0;
    }
}

Test(service_transport, upgrade_answers_stream_one)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    peer p;
    peer_init(&p, sv[0], H2_ROLE_CLIENT);
    char settings[64];
    size_t settings_len = 0;
    cr_assert_eq(h2_conn_initiate_upgrade_client(p.conn, settings, sizeof settings, &settings_len),
                 0);

    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.on_event = upgrade_on_event;
    sc.user = &svc;
    sc.upgrade = true;
    sc.upgrade_settings = settings;
    sc.upgrade_settings_len = settings_len;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
    peer_flush(&p);

    upgrade_client u = {0};
    int64_t end = now_ms() + 10000;
    while (!u.ended && !p.eof) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&p, 10, upgrade_client_on, &u);
    }
    cr_assert(u.headers);
    cr_assert(u.ended);
    cr_assert_eq(u.got, 8u);
    cr_assert(memcmp(u.body, "upgraded", 8) == 0);
    /* The next stream of the client is 3, and it works as usual. */
    cr_assert_eq(h2_conn_next_stream_id(p.conn), 3);

    /* Refusal: a bad settings value. (The client side of an upgrade is
     * test_service_frames.c's.) */
    h2_svc_conn_id bad = 0;
    sc.upgrade_settings = "!!!";
    sc.upgrade_settings_len = 3;
    cr_assert_eq(h2_svc_attach_fd(svc, 100, &sc, &bad), H2_EINVAL);

    h2_svc_free(svc);
    peer_free(&p);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- transport failures ---- */

typedef struct failing_tr {
    int mode; /* 0: H2_EINTERNAL with EIO; 1: a count above the buffer */
    atomic_int closes;
} failing_tr;

static ptrdiff_t ft_read(void *ctx, int fd, uint8_t *buf, size_t len)
{
    failing_tr *t = ctx;
    (void)buf;
    char c;
    if (recv(fd, &c, 1, MSG_DONTWAIT) < 0)
        return H2_EAGAIN;
    if (t->mode == 0) {
        errno = EIO;
        return H2_EINTERNAL;
    }
    return (ptrdiff_t)len + 1;
}

static ptrdiff_t ft_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    (void)ctx;
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    return r < 0 ? H2_EAGAIN : (ptrdiff_t)r;
}

static void ft_close(void *ctx, int fd)
{
    (void)fd;
    atomic_fetch_add(&((failing_tr *)ctx)->closes, 1);
}

Test(service_transport, failing_transport_closes_with_io_reason)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    for (int mode = 0; mode < 2; mode++) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        failing_tr t = {.mode = mode};
        atomic_init(&t.closes, 0);
        h2_svc_transport tr = {ft_read, ft_writev, NULL, NULL, ft_close, &t};
        h2_svc_conn_config sc;
        h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
        sc.queue = q;
        sc.transport = &tr;
        h2_svc_conn_id id = 0;
        cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);
        write_all(sv[0], (const uint8_t *)"P", 1);
        h2_svc_event *ev = wait_event(q, H2_SVC_EV_CLOSED, 5000);
        cr_assert_not_null(ev);
        cr_assert_eq(ev->reason, H2_SVC_CLOSE_IO);
        cr_assert_eq(ev->error, H2_EINTERNAL);
        cr_assert_eq(ev->sys_errno, mode == 0 ? EIO : 0);
        h2_svc_event_release(ev);
        cr_assert_eq(atomic_load(&t.closes), 1);
        close(sv[0]);
    }
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- a write that needs a read while reading waits for the queue ---- */

typedef struct needs_read_tr {
    atomic_bool block_writes;
    atomic_int writes;
    tsync read; /* bytes read from the socket */
} needs_read_tr;

static ptrdiff_t nr_read(void *ctx, int fd, uint8_t *buf, size_t len)
{
    needs_read_tr *t = ctx;
    ssize_t r = recv(fd, buf, len, MSG_DONTWAIT);
    if (r < 0)
        return errno == EAGAIN ? H2_EAGAIN : H2_EINTERNAL;
    tsync_add(&t->read, r);
    return (ptrdiff_t)r;
}

static void drop_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

static ptrdiff_t nr_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    needs_read_tr *t = ctx;
    atomic_fetch_add(&t->writes, 1);
    if (atomic_load(&t->block_writes))
        return H2_EAGAIN; /* wants() says: readability */
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    return r < 0 ? H2_EAGAIN : (ptrdiff_t)r;
}

static unsigned nr_wants(void *ctx)
{
    needs_read_tr *t = ctx;
    return atomic_load(&t->block_writes) ? H2_SVC_WANT_READ : H2_SVC_WANT_WRITE;
}

Test(service_transport, write_waiting_for_a_read_does_not_spin_while_events_wait)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 2); /* one event at once */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    needs_read_tr t;
    atomic_init(&t.block_writes, true);
    atomic_init(&t.writes, 0);
    tsync_init(&t.read);
    h2_svc_transport tr = {nr_read, nr_writev, nr_wants, NULL, NULL, &t};
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = q;
    sc.transport = &tr;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(svc, sv[1], &sc, &id), 0);

    /* ATTACHED fills the queue; two requests wait behind it. */
    peer p;
    peer_init(&p, sv[0], H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p.conn), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.conn, 3, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&p);
    /* The worker read them, and turned them into events at once. */
    cr_assert(tsync_wait_geq(&t.read, (int64_t)p.sent, 5000), "requests not read");
    /* More bytes the worker may not read yet: the socket stays readable. */
    cr_assert_eq(h2_conn_ping(p.conn, (const uint8_t *)"12345678"), 0);
    peer_flush(&p);
    /* A second connection on the same worker, with a queue of its own,
     * measures the worker's turns: each STATS answer costs a turn or two,
     * a worker spinning on the readable socket would turn many times more. */
    h2_svc_queue *q2 = new_queue(&lm, 64);
    h2_svc_conn_config sc2;
    h2_svc_conn_config_init(&sc2, H2_ROLE_CLIENT);
    sc2.queue = q2;
    sc2.on_output = drop_output;
    sc2.worker = 0;
    h2_svc_conn_id id2 = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &sc2, &id2), 0);
    h2_svc_event *att = wait_event(q2, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(att);
    h2_svc_event_release(att);
    h2_svc_worker_stats a = {.size = sizeof(a)}, b = {.size = sizeof(b)};
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &a), 0);
    for (uint64_t i = 0; i < 3; i++) {
        cr_assert_eq(h2_svc_query_stats(svc, id2, i), 0);
        h2_svc_event *st = wait_event(q2, H2_SVC_EV_STATS, 5000);
        cr_assert_not_null(st);
        h2_svc_event_release(st);
    }
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &b), 0);
    cr_assert_lt(b.loops - a.loops, 10u, "%llu turns", (unsigned long long)(b.loops - a.loops));
    int writes = atomic_load(&t.writes);
    cr_assert_gt(writes, 0);

    /* Writes go through again and the events flow. */
    atomic_store(&t.block_writes, false);
    int requests = 0;
    int64_t end = now_ms() + 5000;
    while (requests < 2) {
        cr_assert_lt(now_ms(), end);
        h2_svc_event *ev = next_event(q, 1000);
        cr_assert_not_null(ev);
        if (ev->type == H2_SVC_EV_REQUEST_RECEIVED)
            requests++;
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED);
        h2_svc_event_release(ev);
    }
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    h2_svc_queue_free(q2);
    tsync_destroy(&t.read);
    peer_free(&p);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
