/*
 * Memory per idle connection inside the service (included by
 * bench/bench_service.c only; every function here is static).
 *
 * N connected AF_UNIX socketpairs. One end of each is a server connection:
 * for libh2, attached in fd mode to a service of 1 worker; for nghttp2, an
 * nghttp2 server session fed from that socket (nghttp2_session_mem_recv /
 * mem_send) by this thread. The other end is a client peer driven by a
 * libh2 core connection (h2_conn, libc allocator) with the same exchange
 * for both: client preface and SETTINGS; the server's SETTINGS (and its
 * ACK); the peer's SETTINGS ACK and a PING; the server's PING ACK. When the
 * peer holds that PING ACK and the ACK of its own SETTINGS, the server has
 * handled every byte of the handshake and the connection is idle. The peer
 * connection is then freed; its socket stays open.
 *
 * The figure of the RESULT line is the bytes the library holds through its
 * allocator hook per connection: the service is given a counting h2_mem
 * (thread-safe, atomic counters; it includes the service's own record of
 * the connection, its core connection and its preallocated CLOSED event),
 * nghttp2 the same counting functions as an nghttp2_mem
 * (nghttp2_session_server_new3). Counted: live bytes after the N
 * handshakes minus live bytes before the first, divided by N; each block
 * as malloc_usable_size() plus malloc's size word. The process RSS growth
 * over the same N connections is printed too, and given as RESULT
 * service-conn-rss (it also holds the allocator's free lists and, for
 * nghttp2, nothing of an application's own per-connection buffers; libh2
 * runs first, so nghttp2 may reuse pages it freed).
 */
#ifndef BENCH_SERVICE_MEM_H
#define BENCH_SERVICE_MEM_H

#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench_service_common.h"

#define MEM_PEER_TIMEOUT_MS 5000
#define MEM_BUF 16384

enum { MEM_OURS = 0, MEM_NGHTTP2 = 1 };

typedef struct mem_result {
    double bytes;  /* counted bytes per connection */
    double blocks; /* counted blocks per connection */
    double rss;    /* RSS growth per connection */
} mem_result;

/* Writes all of |len| bytes to the blocking socket |fd|. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int peer_flush(h2_conn *peer, int fd)
{
    uint8_t buf[MEM_BUF];
    size_t n;
    while ((n = h2_conn_data_to_send(peer, buf, sizeof buf)) > 0)
        if (write_all(fd, buf, n) != 0)
            return -1;
    return 0;
}

/* nghttp2's end: reads what the socket holds, feeds it, writes the output. */
static int ng_mem_pump(nghttp2_session *s, int fd, bench_error *err)
{
    uint8_t buf[MEM_BUF];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return bench_fail(err, "nghttp2 end: recv: %s", strerror(errno));
        }
        if (n == 0)
            return bench_fail(err, "nghttp2 end: peer closed");
        ssize_t rv = nghttp2_session_mem_recv(s, buf, (size_t)n);
        if (rv < 0)
            return bench_fail(err, "nghttp2_session_mem_recv: %s", nghttp2_strerror((int)rv));
    }
    for (;;) {
        const uint8_t *d = NULL;
        ssize_t n = nghttp2_session_mem_send(s, &d);
        if (n < 0)
            return bench_fail(err, "nghttp2_session_mem_send: %s", nghttp2_strerror((int)n));
        if (n == 0)
            return 0;
        if (write_all(fd, d, (size_t)n) != 0)
            return bench_fail(err, "nghttp2 end: send: %s", strerror(errno));
    }
}

/*
 * Drives the client peer on |fd| through the handshake described at the
 * top. |ng|: the nghttp2 session at the other end, pumped by this thread
 * before each read; NULL when a service worker runs the other end.
 */
static int peer_handshake(int fd, nghttp2_session *ng, int ng_fd, bench_error *err)
{
    h2_conn *peer = NULL;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    int rc = h2_conn_new(&peer, &cfg);
    if (rc == 0)
        rc = h2_conn_initiate(peer);
    if (rc != 0)
        return bench_fail(err, "peer: set-up: %s", h2_strerror(rc));
    if (peer_flush(peer, fd) != 0) {
        h2_conn_free(peer);
        return bench_fail(err, "peer: send: %s", strerror(errno));
    }
    bool pinged = false, ping_acked = false, settings_acked = false;
    uint8_t buf[MEM_BUF];
    while (!ping_acked || !settings_acked) {
        if (ng != NULL && ng_mem_pump(ng, ng_fd, err) != 0)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, MEM_PEER_TIMEOUT_MS);
        if (pr <= 0) {
            bench_fail(err, "peer: %s", pr == 0 ? "no answer from the server" : strerror(errno));
            break;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            bench_fail(err, "peer: recv: %s", n == 0 ? "closed" : strerror(errno));
            break;
        }
        const h2_event *evs;
        size_t n_ev;
        rc = h2_conn_receive(peer, buf, (size_t)n, &evs, &n_ev);
        if (rc != 0) {
            bench_fail(err, "peer: h2_conn_receive: %s", h2_strerror(rc));
            break;
        }
        bool got_settings = false;
        for (size_t i = 0; i < n_ev; i++) {
            if (evs[i].type == H2_EV_REMOTE_SETTINGS_CHANGED)
                got_settings = true;
            else if (evs[i].type == H2_EV_SETTINGS_ACKNOWLEDGED)
                settings_acked = true;
            else if (evs[i].type == H2_EV_PING_ACK_RECEIVED)
                ping_acked = true;
        }
        h2_conn_release_events(peer);
        /* The PING follows the SETTINGS ACK the core queued: once it is
         * answered, the server has handled the ACK too. */
        if (got_settings && !pinged) {
            static const uint8_t opaque[8] = {'m', 'e', 'm', 'o', 'r', 'y', 0, 0};
            rc = h2_conn_ping(peer, opaque);
            if (rc != 0) {
                bench_fail(err, "peer: h2_conn_ping: %s", h2_strerror(rc));
                break;
            }
            pinged = true;
        }
        if (peer_flush(peer, fd) != 0) {
            bench_fail(err, "peer: send: %s", strerror(errno));
            break;
        }
    }
    h2_conn_free(peer);
    return ping_acked && settings_acked ? 0 : -1;
}

/* Service callback: every event is released at once. */
static void mem_svc_event(void *user, h2_svc_event *ev)
{
    (void)user;
    h2_svc_event_release(ev);
}

/* N idle connections in a service of 1 worker. */
static int mem_ours(unsigned n, mem_result *out)
{
    mem_counter cnt;
    atomic_init(&cnt.bytes, 0);
    atomic_init(&cnt.blocks, 0);
    h2_mem hm = {&cnt, cnt_malloc, cnt_realloc, cnt_free};
    bench_error err;
    memset(&err, 0, sizeof err);
    int *peers = malloc(n * sizeof *peers);
    h2_svc *svc = NULL;
    h2_svc_config sc;
    h2_svc_config_init(&sc);
    sc.workers = 1;
    sc.mem = &hm;
    int rc = peers == NULL ? H2_ENOMEM : h2_svc_new(&svc, &sc);
    if (rc != 0) {
        free(peers);
        fprintf(stderr, "bench_service: memory: h2_svc_new: %s\n", h2_strerror(rc));
        return -1;
    }
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
    cc.on_event = mem_svc_event;

    sleep_ms(20); /* the worker started and allocated what it keeps */
    malloc_trim(0);
    long long before = atomic_load(&cnt.bytes), before_blocks = atomic_load(&cnt.blocks);
    long rss0 = rss_bytes();
    unsigned made = 0;
    for (; made < n; made++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            bench_fail(&err, "socketpair: %s", strerror(errno));
            break;
        }
        h2_svc_conn_id id;
        rc = h2_svc_attach_fd(svc, sv[0], &cc, &id);
        if (rc != 0) {
            close(sv[0]);
            close(sv[1]);
            bench_fail(&err, "h2_svc_attach_fd: %s", h2_strerror(rc));
            break;
        }
        peers[made] = sv[1];
        if (peer_handshake(sv[1], NULL, -1, &err) != 0) {
            made++;
            break;
        }
    }
    sleep_ms(50); /* the worker finished its turn after the last PING ACK */
    long long after = atomic_load(&cnt.bytes), after_blocks = atomic_load(&cnt.blocks);
    long rss1 = rss_bytes();
    h2_svc_free(svc);
    for (unsigned i = 0; i < made; i++)
        close(peers[i]);
    free(peers);
    if (bench_failed(&err)) {
        fprintf(stderr, "bench_service: memory libh2: %s\n", bench_message(&err));
        return -1;
    }
    out->bytes = (double)(after - before) / n;
    out->blocks = (double)(after_blocks - before_blocks) / n;
    out->rss = (double)(rss1 - rss0) / n;
    if (atomic_load(&cnt.bytes) != 0 || atomic_load(&cnt.blocks) != 0) {
        fprintf(stderr, "bench_service: memory libh2: %lld bytes in %lld blocks not freed\n",
                atomic_load(&cnt.bytes), atomic_load(&cnt.blocks));
        return -1;
    }
    return 0;
}

/* N idle nghttp2 server sessions, each on its socket. */
static int mem_nghttp2(unsigned n, mem_result *out)
{
    mem_counter cnt;
    atomic_init(&cnt.bytes, 0);
    atomic_init(&cnt.blocks, 0);
    nghttp2_mem nm = {&cnt, cnt_malloc, cnt_free, cnt_calloc, cnt_realloc};
    bench_error err;
    memset(&err, 0, sizeof err);
    int *fds = malloc(2 * n * sizeof *fds);
    nghttp2_session **ss = calloc(n, sizeof *ss);
    nghttp2_session_callbacks *cbs = NULL;
    if (fds == NULL || ss == NULL || nghttp2_session_callbacks_new(&cbs) != 0) {
        free(fds);
        free(ss);
        fprintf(stderr, "bench_service: memory: out of memory\n");
        return -1;
    }
    /* The same settings as the service's server connections send. */
    h2_conn_config ref;
    h2_conn_config_init(&ref, H2_ROLE_SERVER);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, ref.max_concurrent_streams},
    };

    malloc_trim(0);
    long long before = atomic_load(&cnt.bytes), before_blocks = atomic_load(&cnt.blocks);
    long rss0 = rss_bytes();
    unsigned made = 0;
    for (; made < n; made++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            bench_fail(&err, "socketpair: %s", strerror(errno));
            break;
        }
        fds[2 * made] = sv[0];
        fds[2 * made + 1] = sv[1];
        int rv = nghttp2_session_server_new3(&ss[made], cbs, NULL, NULL, &nm);
        if (rv == 0)
            rv = nghttp2_submit_settings(ss[made], NGHTTP2_FLAG_NONE, iv, 1);
        if (rv != 0) {
            bench_fail(&err, "nghttp2 session: %s", nghttp2_strerror(rv));
            made++;
            break;
        }
        if (peer_handshake(sv[1], ss[made], sv[0], &err) != 0) {
            made++;
            break;
        }
    }
    long long after = atomic_load(&cnt.bytes), after_blocks = atomic_load(&cnt.blocks);
    long rss1 = rss_bytes();
    for (unsigned i = 0; i < made; i++) {
        nghttp2_session_del(ss[i]);
        close(fds[2 * i]);
        close(fds[2 * i + 1]);
    }
    nghttp2_session_callbacks_del(cbs);
    free(fds);
    free(ss);
    if (bench_failed(&err)) {
        fprintf(stderr, "bench_service: memory nghttp2: %s\n", bench_message(&err));
        return -1;
    }
    out->bytes = (double)(after - before) / n;
    out->blocks = (double)(after_blocks - before_blocks) / n;
    out->rss = (double)(rss1 - rss0) / n;
    return 0;
}

/* Raises the open-file limit to hold |n| socketpairs at once, if needed. */
static int mem_fd_room(unsigned n)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)n * 2 + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur >= want)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
        fprintf(stderr, "bench_service: memory: %u connections need %llu open files (limit %llu)\n",
                n, (unsigned long long)want, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

/* Measures both (|only|: -1 both, MEM_OURS, MEM_NGHTTP2); prints the table and RESULT. */
static int mem_part(unsigned n, int only)
{
    if (mem_fd_room(n) != 0)
        return -1;
    mem_result res[2];
    memset(res, 0, sizeof res);
    printf("\nmemory per idle connection: %u connections after the SETTINGS and PING exchange\n",
           n);
    printf("(counted: bytes live through the library's allocator hook;\n"
           " RSS: growth of the process's resident memory)\n");
    if ((only < 0 || only == MEM_OURS) && mem_ours(n, &res[MEM_OURS]) != 0)
        return -1;
    if ((only < 0 || only == MEM_NGHTTP2) && mem_nghttp2(n, &res[MEM_NGHTTP2]) != 0)
        return -1;
    printf("impl       counted B/conn  blocks/conn  RSS B/conn\n");
    static const char *const names[2] = {"libh2", "nghttp2"};
    for (int i = 0; i < 2; i++)
        if (only < 0 || only == i)
            printf("%-10s %14.0f %12.1f %11.0f\n", names[i], res[i].bytes, res[i].blocks,
                   res[i].rss);
    if (only < 0) {
        printf("RESULT service-conn-memory ours=%.0f nghttp2=%.0f better=%.2f\n",
               res[MEM_OURS].bytes, res[MEM_NGHTTP2].bytes,
               res[MEM_NGHTTP2].bytes / res[MEM_OURS].bytes);
        /* Resident memory: libh2 runs first, so nghttp2 may reuse pages it
         * freed; the comparison leans towards nghttp2. */
        if (res[MEM_OURS].rss > 0)
            printf("RESULT service-conn-rss ours=%.0f nghttp2=%.0f better=%.2f\n",
                   res[MEM_OURS].rss, res[MEM_NGHTTP2].rss,
                   res[MEM_NGHTTP2].rss / res[MEM_OURS].rss);
    }
    return 0;
}

#endif /* BENCH_SERVICE_MEM_H */
