/*
 * Helpers shared by the service test files: clocks (the real one and one
 * the test moves), checksums, bodies, header fields, services and queues
 * on a lockmem allocator, a barrier through a worker's turn, and a peer
 * driven by the test thread: an h2_conn over one end of a socket.
 */
#ifndef H2_TESTS_TEST_SERVICE_UTIL_H
#define H2_TESTS_TEST_SERVICE_UTIL_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
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
#include "support/lockmem.h"

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define FNV0 0xcbf29ce484222325u
static inline uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static inline uint8_t *make_body(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n > 0 ? n : 1);
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
    return b;
}

#define HDR(n, v)                                                                                  \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0                \
    }

static const h2_header get_fields[] = {
    HDR(":method", "GET"),
    HDR(":scheme", "http"),
    HDR(":path", "/"),
    HDR(":authority", "example.org"),
};
static const h2_header ok_fields[] = {HDR(":status", "200")};

static inline h2_svc *new_service(lockmem *lm, unsigned workers, uint32_t mailbox)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = workers;
    cfg.mem = &lm->mem;
    if (mailbox != 0)
        cfg.mailbox_capacity = mailbox;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    return svc;
}

static inline h2_svc_queue *new_queue(lockmem *lm, uint32_t cap)
{
    h2_svc_queue *q = NULL;
    cr_assert_eq(h2_svc_queue_new(&q, cap, &lm->mem), 0);
    return q;
}

/* Waits up to |timeout_ms| for one event of |q| (NULL on timeout). */
static inline h2_svc_event *next_event(h2_svc_queue *q, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        h2_svc_event *ev = NULL;
        if (h2_svc_queue_poll(q, &ev, 1) == 1)
            return ev;
        int64_t left = end - now_ms();
        if (left <= 0)
            return NULL;
        h2_svc_queue_wait(q, (int)left);
    }
}

/* Takes events until one of |type| arrives (returned, owned) or the timeout passes. */
static inline h2_svc_event *wait_event(h2_svc_queue *q, int type, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - now_ms();
        h2_svc_event *ev = next_event(q, left > 0 ? (int)left : 0);
        if (ev == NULL)
            return NULL;
        if ((int)ev->type == type)
            return ev;
        h2_svc_event_release(ev);
    }
}

/* ---- a clock moved by the test (h2_svc_config.clock) ---- */

typedef struct fake_clock {
    _Atomic int64_t ms;
} fake_clock;

static inline int64_t fake_clock_read(void *user)
{
    return atomic_load(&((fake_clock *)user)->ms);
}

/* A service of |workers| workers whose timers run on |clock| (set to |start_ms|). */
static inline h2_svc *new_service_clock(lockmem *lm, unsigned workers, fake_clock *clock,
                                            int64_t start_ms)
{
    atomic_init(&clock->ms, start_ms);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_null(cfg.clock); /* the default: CLOCK_MONOTONIC */
    cfg.workers = workers;
    cfg.mem = &lm->mem;
    cfg.clock = fake_clock_read;
    cfg.clock_user = clock;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    return svc;
}

/* Moves the clock to |ms| and makes the workers of |svc| look at it. */
static inline void fake_clock_set(fake_clock *clock, h2_svc *svc, int64_t ms)
{
    atomic_store(&clock->ms, ms);
    cr_assert_eq(h2_svc_wake(svc), 0);
}

/*
 * Proves that the worker of |id| finished a whole turn of its loop after
 * this call began: two STATS round trips, the second posted once the first
 * was answered. In that turn the worker ran its timers at the clock of the
 * call, and read what the peer had written to the connection's socket
 * before the call (a worker reads a readable socket in the turn that
 * follows). Events of |q| met on the way go to |on| (which owns them), or
 * are released when |on| is NULL; a CLOSED is returned instead (owned: the
 * connection ended). NULL: both answers came and the connection is open.
 */
static inline h2_svc_event *svc_barrier_each(h2_svc *svc, h2_svc_queue *q, h2_svc_conn_id id,
                                             void (*on)(void *arg, h2_svc_event *ev), void *arg)
{
    for (uint64_t tag = 0xba770001u; tag <= 0xba770002u; tag++) {
        /* A connection that already ended refuses the post: its CLOSED is
         * on the way, and nothing else will be answered. */
        int rv = h2_svc_query_stats(svc, id, tag);
        cr_assert(rv == 0 || rv == H2_ENOCONN, "STATS post: %d", rv);
        for (;;) {
            h2_svc_event *ev = next_event(q, 5000);
            cr_assert_not_null(ev, "no answer to STATS");
            if (ev->type == H2_SVC_EV_CLOSED)
                return ev;
            if (rv == 0 && ev->type == H2_SVC_EV_STATS && ev->user == tag) {
                h2_svc_event_release(ev);
                break;
            }
            if (on != NULL)
                on(arg, ev);
            else
                h2_svc_event_release(ev);
        }
    }
    return NULL;
}

static inline h2_svc_event *svc_barrier(h2_svc *svc, h2_svc_queue *q, h2_svc_conn_id id)
{
    return svc_barrier_each(svc, q, id, NULL, NULL);
}

/* ---- loopback TCP sockets ---- */

/* A TCP socket listening on 127.0.0.1, on a port the kernel picks (|*port|). */
static inline int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 64), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A TCP socket connected to 127.0.0.1:|port|. */
static inline int connect_loopback(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* ---- a peer driven by the test: an h2_conn over a blocking socket ---- */

typedef struct peer {
    h2_conn *conn;
    int fd;
    bool eof;
    uint64_t sent;     /* bytes written to the socket */
    uint64_t received; /* bytes read from it */
} peer;

/* A peer on |fd| whose connection has configuration |cfg|. */
static inline void peer_init_cfg(peer *p, int fd, const h2_conn_config *cfg)
{
    p->fd = fd;
    p->eof = false;
    p->sent = p->received = 0;
    cr_assert_eq(h2_conn_new(&p->conn, cfg), 0);
}

static inline void peer_init(peer *p, int fd, h2_role role)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, role);
    peer_init_cfg(p, fd, &cfg);
}

static inline void peer_free(peer *p)
{
    h2_conn_free(p->conn);
    if (p->fd >= 0)
        close(p->fd);
}

static inline void write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t r = send(fd, data, len, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        cr_assert_gt(r, 0, "send: %s", strerror(errno));
        data += r;
        len -= (size_t)r;
    }
}

/* Writes the peer's output; a peer that went away only drops it. */
static inline void peer_flush(peer *p)
{
    const uint8_t *data;
    size_t len;
    for (;;) {
        h2_conn_output_view(p->conn, &data, &len);
        if (len == 0)
            return;
        ssize_t r = send(p->fd, data, len, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            h2_conn_clear_output(p->conn);
            return;
        }
        cr_assert_gt(r, 0, "send: %s", strerror(errno));
        h2_conn_output_consume(p->conn, (size_t)r);
        p->sent += (uint64_t)r;
    }
}

/*
 * Reads once (waiting up to |timeout_ms|) and feeds the core; calls |on|
 * for each event. Returns the bytes read (0 at EOF or timeout).
 */
static inline size_t peer_pump(peer *p, int timeout_ms, void (*on)(void *arg, const h2_event *ev),
                               void *arg)
{
    struct pollfd pf = {.fd = p->fd, .events = POLLIN, .revents = 0};
    if (poll(&pf, 1, timeout_ms) <= 0)
        return 0;
    uint8_t buf[16384];
    ssize_t r = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && errno == EAGAIN)
        return 0;
    if (r <= 0) {
        p->eof = true;
        return 0;
    }
    p->received += (uint64_t)r;
    const h2_event *evs = NULL;
    size_t n = 0;
    int rv = h2_conn_receive(p->conn, buf, (size_t)r, &evs, &n);
    cr_assert(rv >= 0 || rv == H2_EPROTO, "receive: %d", rv);
    for (size_t i = 0; i < n && on != NULL; i++)
        on(arg, &evs[i]);
    h2_conn_release_events(p->conn);
    peer_flush(p);
    return (size_t)r;
}

/* ---- a service of one worker, an event queue and a socket pair ---- */

typedef struct svc_rig {
    lockmem lm;
    h2_svc *svc;
    h2_svc_queue *q;
    int peer_fd; /* the test's end; the other one goes to the service */
    int svc_fd;
} svc_rig;

/* |cfg| NULL: the defaults with one worker; else |cfg| with the rig's allocator. */
static inline void svc_rig_start_cfg(svc_rig *r, uint32_t queue_capacity,
                                     const h2_svc_config *cfg)
{
    lockmem_init(&r->lm);
    if (cfg == NULL) {
        r->svc = new_service(&r->lm, 1, 0);
    } else {
        h2_svc_config c = *cfg;
        c.mem = &r->lm.mem;
        cr_assert_eq(h2_svc_new(&r->svc, &c), 0);
    }
    r->q = new_queue(&r->lm, queue_capacity);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    r->peer_fd = sv[0];
    r->svc_fd = sv[1];
}

static inline void svc_rig_start(svc_rig *r, uint32_t queue_capacity)
{
    svc_rig_start_cfg(r, queue_capacity, NULL);
}

/* Attaches the service's end with |sc| (its events to the rig's queue). */
static inline h2_svc_conn_id svc_rig_attach(svc_rig *r, h2_svc_conn_config *sc)
{
    sc->queue = r->q;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(r->svc, r->svc_fd, sc, &id), 0);
    return id;
}

/* Frees the service and the queue; every byte the service took is back. */
static inline void svc_rig_free(svc_rig *r)
{
    h2_svc_free(r->svc);
    h2_svc_queue_free(r->q);
    cr_assert_eq(lockmem_live(&r->lm), 0u, "%zu bytes kept", lockmem_live(&r->lm));
}

/* ---- by-reference payloads ---- */

/* Counts the release callbacks of by-reference payloads (on_release). */
typedef struct released {
    atomic_int count;
    atomic_size_t bytes;
} released;

static inline void on_release(void *user, const uint8_t *data, size_t len)
{
    released *r = user;
    (void)data;
    atomic_fetch_add(&r->count, 1);
    atomic_fetch_add(&r->bytes, len);
}

/*
 * Starts |r| with a server connection (its send buffer set to |sndbuf|
 * bytes when not 0) and a client peer |p| that sent a GET on stream 1,
 * which the service has delivered (the event is released). Returns the
 * connection's id.
 */
static inline h2_svc_conn_id svc_rig_get_on_stream1(svc_rig *r, peer *p, int sndbuf)
{
    svc_rig_start(r, 256);
    if (sndbuf != 0)
        cr_assert_eq(setsockopt(r->svc_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    h2_svc_conn_id id = svc_rig_attach(r, &sc);
    peer_init(p, r->peer_fd, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_initiate(p->conn), 0);
    cr_assert_eq(h2_conn_send_headers(p->conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(p);
    h2_svc_event *ev = wait_event(r->q, H2_SVC_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 1u);
    h2_svc_event_release(ev);
    return id;
}

#endif /* H2_TESTS_TEST_SERVICE_UTIL_H */
