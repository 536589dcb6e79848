/*
 * A program as built against an older release: tests/check_abi.sh compiles
 * it with a copy of include/ whose versioned structs (h2_conn_config,
 * h2_svc_config, h2_svc_conn_config, h2_conn_stats) lack their trailing
 * fields, links it against the shared library of this tree and runs it.
 * Each struct is followed in memory by a canary that the library must not
 * touch. With -DABI_PROBE it only prints the sizes it was compiled with, so
 * that the script can check the copy really is smaller than the tree's.
 * Prints "abi: N passed, M failed" and exits non-zero on a failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <h2/h2.h>
#include <h2/service.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "abi: %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

#define CANARY_WORDS 16
#define CANARY 0xA5A5A5A5A5A5A5A5ull

static void canary_set(uint64_t *c)
{
    for (int i = 0; i < CANARY_WORDS; i++)
        c[i] = CANARY;
}

static int canary_ok(const uint64_t *c)
{
    for (int i = 0; i < CANARY_WORDS; i++)
        if (c[i] != CANARY)
            return 0;
    return 1;
}

static void print_sizes(void)
{
    printf("%zu %zu %zu %zu\n", sizeof(h2_conn_config), sizeof(h2_svc_config),
           sizeof(h2_svc_conn_config), sizeof(h2_conn_stats));
}

static void core_checks(void)
{
    struct {
        h2_conn_config cfg;
        uint64_t canary[CANARY_WORDS];
    } w;
    canary_set(w.canary);
    h2_conn_config_init(&w.cfg, H2_ROLE_CLIENT);
    CHECK(canary_ok(w.canary));
    CHECK(w.cfg.size == sizeof(w.cfg));
    h2_conn *c = NULL;
    CHECK(h2_conn_new(&c, &w.cfg) == 0);
    if (c == NULL)
        return;
    static const h2_header req[] = {
        H2_HDR(":method", "GET"),
        H2_HDR(":scheme", "http"),
        H2_HDR(":authority", "localhost"),
        H2_HDR(":path", "/"),
    };
    CHECK(h2_conn_initiate(c) == 0);
    CHECK(h2_conn_send_headers(c, 1, req, 4, H2_SEND_END_STREAM, NULL) == 0);
    struct {
        h2_conn_stats st;
        uint64_t canary[CANARY_WORDS];
    } s;
    canary_set(s.canary);
    memset(&s.st, 0, sizeof(s.st));
    s.st.size = sizeof(s.st);
    CHECK(h2_conn_get_stats(c, &s.st) == 0);
    CHECK(canary_ok(s.canary));
    CHECK(s.st.size == sizeof(s.st));
    CHECK(s.st.frames_sent == 2 && s.st.streams_opened_local == 1);
    h2_conn_free(c);
    w.cfg.size = 0;
    CHECK(h2_conn_new(&c, &w.cfg) == H2_EINVAL);
}

typedef struct accepted {
    atomic_int calls;
    size_t size, conn_size;
} accepted;

static int on_accept(void *user, int fd, h2_svc_conn_config *cfg)
{
    (void)fd;
    accepted *a = user;
    a->size = cfg->size;
    a->conn_size = cfg->conn.size;
    cfg->user = a;
    atomic_fetch_add(&a->calls, 1);
    return 0;
}

static void on_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

/* The next event of |type| within about 5 s (released ones skipped), or NULL. */
static h2_svc_event *wait_for(h2_svc_queue *q, int type)
{
    for (int turns = 0; turns < 100;) {
        h2_svc_event *ev = NULL;
        if (h2_svc_queue_poll(q, &ev, 1) == 0) {
            if (h2_svc_queue_wait(q, 50) == 0)
                turns++;
            continue;
        }
        if ((int)ev->type == type)
            return ev;
        h2_svc_event_release(ev);
    }
    return NULL;
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void listen_checks(h2_svc *svc, h2_svc_queue *q, const h2_svc_conn_config *base)
{
    h2_svc_conn_config cfg = *base;
    cfg.on_output = NULL;
    accepted a = {.calls = 0};
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    CHECK(lfd >= 0);
    if (lfd < 0)
        return;
    CHECK(h2_svc_listen(svc, lfd, &cfg, on_accept, &a) == 0);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(cfd, (struct sockaddr *)&to, sizeof to) == 0);
    h2_svc_event *ev = wait_for(q, H2_SVC_EV_ATTACHED);
    CHECK(ev != NULL && ev->conn_user == &a);
    h2_svc_event_release(ev);
    CHECK(atomic_load(&a.calls) == 1);
    CHECK(a.size == sizeof(h2_svc_conn_config) && a.conn_size == sizeof(h2_conn_config));
    close(cfd);
}

static void service_checks(void)
{
    struct {
        h2_svc_config cfg;
        uint64_t canary[CANARY_WORDS];
    } s;
    canary_set(s.canary);
    h2_svc_config_init(&s.cfg);
    CHECK(canary_ok(s.canary));
    s.cfg.workers = 1;
    h2_svc *svc = NULL;
    CHECK(h2_svc_new(&svc, &s.cfg) == 0);
    h2_svc_queue *q = NULL;
    CHECK(h2_svc_queue_new(&q, 64, NULL) == 0);
    if (svc == NULL || q == NULL)
        return;
    struct {
        h2_svc_conn_config cfg;
        uint64_t canary[CANARY_WORDS];
    } c;
    canary_set(c.canary);
    h2_svc_conn_config_init(&c.cfg, H2_ROLE_SERVER);
    CHECK(canary_ok(c.canary));
    CHECK(c.cfg.size == sizeof(c.cfg) && c.cfg.conn.size == sizeof(c.cfg.conn));
    CHECK(c.cfg.worker == -1 && c.cfg.conn.max_concurrent_streams == 100);
    c.cfg.queue = q;
    c.cfg.on_output = on_output;
    c.cfg.user = &c;
    h2_svc_conn_id id = 0;
    CHECK(h2_svc_attach_feed(svc, &c.cfg, &id) == 0);
    h2_svc_event *ev = wait_for(q, H2_SVC_EV_ATTACHED);
    CHECK(ev != NULL && ev->conn_user == &c);
    h2_svc_event_release(ev);
    CHECK(h2_svc_query_stats(svc, id, 1) == 0);
    ev = wait_for(q, H2_SVC_EV_STATS);
    CHECK(ev != NULL && ev->core_stats != NULL && ev->core_stats->size >= sizeof(h2_conn_stats));
    h2_svc_event_release(ev);
    listen_checks(svc, q, &c.cfg);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
}

int main(void)
{
    print_sizes();
#ifdef ABI_PROBE
    return 0;
#endif
    core_checks();
    service_checks();
    printf("abi: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
