/*
 * The ABI policy of h2/version.h: versioned configurations read through
 * their |size| (a smaller, older layout gets defaults for the rest and is
 * never read past its size; a larger, newer one is accepted; a size too
 * small is refused), the init functions writing no byte past the size they
 * are given, and the counters written no further than the caller's size.
 *
 * The "v0" types below are prefixes of today's structs, as a program built
 * against an older release would have them. Each one sits at the start of
 * a buffer whose bytes past it are 0xAA: had the library read them, a
 * pointer field (|mem|, |trace|, |clock|, |transport|) would be garbage and
 * the calls would crash, and the imported values would differ from the
 * defaults.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "core/abi.h"
#include "h2/h2.h"
#include "h2/service.h"
#include "service/svc_config.h"
#include "test_service_util.h"

#define POISON 0xAA
#define SLACK 64

/* h2_conn_config up to |connection_window_size|. */
typedef struct conn_config_v0 {
    size_t size;
    h2_role role;
    bool validate_inbound_headers;
    bool normalize_inbound_headers;
    bool validate_outbound_headers;
    bool normalize_outbound_headers;
    bool split_outbound_cookies;
    uint32_t header_table_size;
    uint32_t enable_push;
    uint32_t max_concurrent_streams;
    uint32_t initial_window_size;
    uint32_t max_frame_size;
    uint32_t max_header_list_size;
    uint32_t enable_connect_protocol;
    uint32_t no_rfc7540_priorities;
    uint32_t connection_window_size;
} conn_config_v0;
_Static_assert(sizeof(conn_config_v0) == offsetof(h2_conn_config, max_continuation_frames),
               "conn_config_v0 is a prefix of h2_conn_config without padding");
_Static_assert(offsetof(conn_config_v0, connection_window_size) ==
                   offsetof(h2_conn_config, connection_window_size),
               "same offsets");

/* h2_svc_config up to |mem|. */
typedef struct service_config_v0 {
    size_t size;
    unsigned workers;
    uint32_t mailbox_capacity;
    size_t read_buffer_size;
    h2_svc_queue *queue;
    h2_svc_event_fn on_event;
    void *on_event_user;
    const h2_mem *mem;
} service_config_v0;
_Static_assert(sizeof(service_config_v0) == offsetof(h2_svc_config, post_wait_ms),
               "service_config_v0 is a prefix of h2_svc_config without padding");

/* h2_svc_conn_config up to |transport|, around the older, smaller conn_config_v0. */
typedef struct svc_conn_config_v0 {
    size_t size;
    conn_config_v0 conn;
    h2_svc_queue *queue;
    h2_svc_event_fn on_event;
    void *user;
    h2_svc_output_fn on_output;
    int worker;
    bool trace;
    bool dedicated;
    const h2_svc_transport *transport;
} svc_conn_config_v0;
_Static_assert(offsetof(h2_svc_conn_config, transport) - offsetof(h2_svc_conn_config, queue) ==
                   offsetof(svc_conn_config_v0, transport) - offsetof(svc_conn_config_v0, queue),
               "the fields after conn keep their relative offsets");

/* A buffer of |full| + SLACK bytes, all POISON. */
static unsigned char *poisoned(size_t full)
{
    unsigned char *p = malloc(full + SLACK);
    cr_assert_not_null(p);
    memset(p, POISON, full + SLACK);
    return p;
}

static bool all_poison(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != POISON)
            return false;
    return true;
}

/* ---- h2_conn_config -------------------------------------------------------- */

Test(abi, conn_config_init_writes_no_byte_past_the_size)
{
    unsigned char *buf = poisoned(sizeof(h2_conn_config));
    h2_conn_config_init_size((h2_conn_config *)(void *)buf, sizeof(conn_config_v0),
                             H2_ROLE_SERVER);
    conn_config_v0 *v0 = (conn_config_v0 *)(void *)buf;
    cr_assert_eq(v0->size, sizeof(conn_config_v0));
    cr_assert_eq(v0->role, H2_ROLE_SERVER);
    cr_assert_eq(v0->max_concurrent_streams, 100u);
    cr_assert_eq(v0->connection_window_size, 65535u);
    cr_assert(all_poison(buf, sizeof(*v0), sizeof(h2_conn_config) + SLACK));
    /* Too small to hold even |size|: nothing written. */
    h2_conn_config_init_size((h2_conn_config *)(void *)buf, sizeof(size_t) - 1, H2_ROLE_CLIENT);
    cr_assert_eq(v0->size, sizeof(conn_config_v0));
    h2_conn_config_init_size(NULL, sizeof(h2_conn_config), H2_ROLE_CLIENT);
    free(buf);
}

Test(abi, conn_config_older_layout_gets_defaults_past_its_size)
{
    unsigned char *buf = poisoned(sizeof(h2_conn_config));
    h2_conn_config_init_size((h2_conn_config *)(void *)buf, sizeof(conn_config_v0),
                             H2_ROLE_SERVER);
    conn_config_v0 *v0 = (conn_config_v0 *)(void *)buf;
    v0->max_concurrent_streams = 7;
    v0->initial_window_size = 1000;
    const h2_conn_config *cfg = (const h2_conn_config *)(const void *)buf;

    h2_conn_config got;
    cr_assert_eq(h2_conn_config_import(&got, cfg), 0);
    h2_conn_config want;
    h2_conn_config_init(&want, H2_ROLE_SERVER);
    want.max_concurrent_streams = 7;
    want.initial_window_size = 1000;
    cr_assert_eq(got.size, sizeof(h2_conn_config));
    cr_assert_eq(got.max_continuation_frames, 9u);
    cr_assert_eq(got.output_high_water, (size_t)1 << 16);
    cr_assert_null(got.mem);
    cr_assert_null(got.trace);
    cr_assert_null(got.trace_user);
    cr_assert_eq(memcmp(&got, &want, sizeof(got)), 0);

    /* And it runs: a server that sends its SETTINGS with the v0 values. */
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_gt(h2_conn_output_pending(c), 9u);
    h2_conn_free(c);
    free(buf);
}

Test(abi, conn_config_size_too_small_is_refused)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    h2_conn *c = NULL;
    cfg.size = 0;
    cr_assert_eq(h2_conn_new(&c, &cfg), H2_EINVAL);
    cfg.size = H2_CONN_CONFIG_MIN_SIZE - 1;
    cr_assert_eq(h2_conn_new(&c, &cfg), H2_EINVAL);
    cr_assert_null(c);
    cr_assert_eq(h2_conn_new(&c, NULL), H2_EINVAL);
    /* Exactly |size| and |role|: everything else is a default. */
    cfg.size = H2_CONN_CONFIG_MIN_SIZE;
    cfg.max_continuation_frames = 0; /* invalid, but past the size: not read */
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    h2_conn_free(c);
}

Test(abi, conn_config_from_a_newer_program_is_accepted)
{
    unsigned char *buf = poisoned(sizeof(h2_conn_config));
    h2_conn_config *cfg = (h2_conn_config *)(void *)buf;
    h2_conn_config_init_size(cfg, sizeof(h2_conn_config) + SLACK, H2_ROLE_CLIENT);
    /* The init writes what this library knows and leaves the rest alone. */
    cr_assert_eq(cfg->size, sizeof(h2_conn_config) + SLACK);
    cr_assert(all_poison(buf, sizeof(h2_conn_config), sizeof(h2_conn_config) + SLACK));
    cfg->max_frame_size = 32768;
    h2_conn_config got;
    cr_assert_eq(h2_conn_config_import(&got, cfg), 0);
    cr_assert_eq(got.size, sizeof(got));
    cr_assert_eq(got.max_frame_size, 32768u);
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, cfg), 0);
    h2_conn_free(c);
    free(buf);
}

/* ---- h2_conn_stats --------------------------------------------------------- */

Test(abi, conn_stats_written_no_further_than_the_size)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0); /* one SETTINGS frame queued */
    unsigned char *buf = poisoned(sizeof(h2_conn_stats));
    h2_conn_stats *st = (h2_conn_stats *)(void *)buf;
    st->size = H2_CONN_STATS_MIN_SIZE + sizeof(uint64_t); /* up to |frames_sent| */
    cr_assert_eq(h2_conn_get_stats(c, st), 0);
    cr_assert_eq(st->size, H2_CONN_STATS_MIN_SIZE + sizeof(uint64_t));
    cr_assert_eq(st->frames_received, 0u);
    cr_assert_eq(st->frames_sent, 1u);
    cr_assert(all_poison(buf, offsetof(h2_conn_stats, bytes_received),
                         sizeof(h2_conn_stats) + SLACK));
    st->size = H2_CONN_STATS_MIN_SIZE - 1;
    cr_assert_eq(h2_conn_get_stats(c, st), H2_EINVAL);
    st->size = 0;
    cr_assert_eq(h2_conn_get_stats(c, st), H2_EINVAL);
    cr_assert_eq(st->frames_sent, 1u);
    /* Larger than the library's: its own struct, the rest untouched. */
    st->size = sizeof(h2_conn_stats) + SLACK;
    cr_assert_eq(h2_conn_get_stats(c, st), 0);
    cr_assert_eq(st->size, sizeof(h2_conn_stats) + SLACK);
    cr_assert_eq(st->active_requests, 0u);
    cr_assert(all_poison(buf, sizeof(h2_conn_stats), sizeof(h2_conn_stats) + SLACK));
    cr_assert_eq(h2_conn_get_stats(NULL, st), H2_EINVAL);
    cr_assert_eq(h2_conn_get_stats(c, NULL), H2_EINVAL);
    h2_conn_free(c);
    free(buf);
}

/* ---- h2_svc_config ----------------------------------------------------- */

Test(abi, service_config_older_layout_gets_defaults_past_its_size)
{
    unsigned char *buf = poisoned(sizeof(h2_svc_config));
    h2_svc_config_init_size((h2_svc_config *)(void *)buf, sizeof(service_config_v0));
    cr_assert(all_poison(buf, sizeof(service_config_v0), sizeof(h2_svc_config) + SLACK));
    service_config_v0 *v0 = (service_config_v0 *)(void *)buf;
    cr_assert_eq(v0->size, sizeof(*v0));
    cr_assert_eq(v0->mailbox_capacity, 4096u);
    v0->workers = 1;
    v0->mailbox_capacity = 64;
    const h2_svc_config *cfg = (const h2_svc_config *)(const void *)buf;

    h2_svc_config got, want;
    cr_assert_eq(svc_service_config_import(&got, cfg), 0);
    h2_svc_config_init(&want);
    want.workers = 1;
    want.mailbox_capacity = 64;
    cr_assert_eq(memcmp(&got, &want, sizeof(got)), 0);
    cr_assert_null(got.clock);
    cr_assert(got.tcp_nodelay);

    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, cfg), 0);
    cr_assert_eq(h2_svc_workers(svc), 1u);
    h2_svc_free(svc);
    free(buf);
}

Test(abi, service_config_size_checks)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_eq(cfg.size, sizeof(cfg));
    cfg.workers = 1;
    h2_svc *svc = NULL;
    cfg.size = 0;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cfg.size = H2_SVC_CONFIG_MIN_SIZE - 1;
    cr_assert_eq(h2_svc_new(&svc, &cfg), H2_EINVAL);
    cr_assert_null(svc);
    cr_assert_eq(h2_svc_new(&svc, NULL), H2_EINVAL);

    unsigned char *buf = poisoned(sizeof(h2_svc_config));
    h2_svc_config *big = (h2_svc_config *)(void *)buf;
    h2_svc_config_init_size(big, sizeof(h2_svc_config) + SLACK);
    cr_assert(all_poison(buf, sizeof(h2_svc_config), sizeof(h2_svc_config) + SLACK));
    big->workers = 1;
    cr_assert_eq(h2_svc_new(&svc, big), 0);
    h2_svc_worker_stats ws = {.size = 0};
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, &ws), H2_EINVAL);
    unsigned char *wbuf = poisoned(sizeof(h2_svc_worker_stats));
    h2_svc_worker_stats *w = (h2_svc_worker_stats *)(void *)wbuf;
    w->size = H2_SVC_WORKER_STATS_MIN_SIZE;
    cr_assert_eq(h2_svc_worker_get_stats(svc, 0, w), 0);
    cr_assert_eq(w->connections, 0u);
    cr_assert(all_poison(wbuf, H2_SVC_WORKER_STATS_MIN_SIZE, sizeof(*w) + SLACK));
    h2_svc_free(svc);
    free(wbuf);
    free(buf);
}

Test(abi, queue_stats_written_no_further_than_the_size)
{
    h2_svc_queue *q = NULL;
    cr_assert_eq(h2_svc_queue_new(&q, 64, NULL), 0);
    unsigned char *buf = poisoned(sizeof(h2_svc_queue_stats));
    h2_svc_queue_stats *qs = (h2_svc_queue_stats *)(void *)buf;
    qs->size = 0;
    cr_assert_eq(h2_svc_queue_get_stats(q, qs), H2_EINVAL);
    qs->size = H2_SVC_QUEUE_STATS_MIN_SIZE;
    cr_assert_eq(h2_svc_queue_get_stats(q, qs), 0);
    cr_assert_eq(qs->events, 0u);
    cr_assert(all_poison(buf, H2_SVC_QUEUE_STATS_MIN_SIZE, sizeof(*qs) + SLACK));
    qs->size = sizeof(*qs);
    cr_assert_eq(h2_svc_queue_get_stats(q, qs), 0);
    cr_assert_gt(qs->capacity, 0u); /* written: the poison was 0xAAAAAAAA */
    cr_assert_leq(qs->capacity, 64u);
    cr_assert_eq(qs->waiting, 0u);
    h2_svc_queue_free(q);
    free(buf);
}

/* ---- h2_svc_conn_config ---------------------------------------------------- */

/* An older program's h2_svc_conn_config in a poisoned buffer, filled by the init. */
static svc_conn_config_v0 *svc_v0_new(h2_role role)
{
    unsigned char *buf = poisoned(sizeof(h2_svc_conn_config));
    h2_svc_conn_config_init_size((h2_svc_conn_config *)(void *)buf, sizeof(svc_conn_config_v0),
                                 sizeof(conn_config_v0), role);
    cr_assert(all_poison(buf, sizeof(svc_conn_config_v0), sizeof(h2_svc_conn_config) + SLACK));
    svc_conn_config_v0 *v0 = (svc_conn_config_v0 *)(void *)buf;
    cr_assert_eq(v0->size, sizeof(*v0));
    cr_assert_eq(v0->conn.size, sizeof(conn_config_v0));
    cr_assert_eq(v0->conn.role, role);
    cr_assert_eq(v0->conn.max_concurrent_streams, 100u);
    cr_assert_eq(v0->worker, -1);
    cr_assert_null(v0->queue);
    cr_assert_null(v0->transport);
    return v0;
}

Test(abi, svc_conn_config_older_layouts_get_defaults_past_their_sizes)
{
    svc_conn_config_v0 *v0 = svc_v0_new(H2_ROLE_SERVER);
    h2_svc_queue *q = (h2_svc_queue *)(uintptr_t)0x1000;
    v0->queue = q;
    v0->user = &v0;
    v0->worker = 0;
    v0->conn.max_concurrent_streams = 5;

    h2_svc_conn_config got, want;
    cr_assert_eq(svc_conn_config_import(&got, (const h2_svc_conn_config *)(void *)v0), 0);
    h2_svc_conn_config_init(&want, H2_ROLE_SERVER);
    want.queue = q;
    want.user = &v0;
    want.worker = 0;
    want.conn.max_concurrent_streams = 5;
    cr_assert_eq(got.size, sizeof(got));
    cr_assert_eq(got.conn.size, sizeof(got.conn));
    cr_assert_eq(got.idle_timeout_ms, 180000u);
    cr_assert_eq(got.flow_min_rate, 256u);
    cr_assert_null(got.initial_data);
    cr_assert_eq(got.conn.max_continuation_frames, 9u);
    cr_assert_eq(memcmp(&got, &want, sizeof(got)), 0);
    free(v0);
}

Test(abi, svc_conn_config_bad_layouts_are_refused)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_CLIENT);
    sc.queue = q;
    sc.on_output = NULL;
    h2_svc_conn_id id = 0;
    h2_svc_conn_config bad = sc;
    bad.size = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &bad, &id), H2_EINVAL);
    bad.size = H2_SVC_CONN_CONFIG_MIN_SIZE - 1;
    cr_assert_eq(h2_svc_attach_fd(svc, 0, &bad, &id), H2_EINVAL);
    bad = sc;
    bad.conn.size = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, &bad, &id), H2_EINVAL);
    bad.conn.size = sizeof(sc) - offsetof(h2_svc_conn_config, conn) + 1; /* conn past the end */
    cr_assert_eq(h2_svc_listen(svc, 0, &bad, NULL, NULL), H2_EINVAL);
    cr_assert_eq(id, 0u);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

static void v0_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

Test(abi, svc_conn_config_older_layout_attaches_and_runs)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    svc_conn_config_v0 *v0 = svc_v0_new(H2_ROLE_SERVER);
    v0->queue = q;
    v0->user = &lm;
    v0->on_output = v0_output;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_feed(svc, (h2_svc_conn_config *)(void *)v0, &id), 0);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->conn_user, &lm);
    h2_svc_event_release(ev);
    /* The core's counters the service hands out carry the library's size. */
    cr_assert_eq(h2_svc_query_stats(svc, id, 7), 0);
    ev = wait_event(q, H2_SVC_EV_STATS, 5000);
    cr_assert_not_null(ev);
    cr_assert_not_null(ev->core_stats);
    cr_assert_eq(ev->core_stats->size, sizeof(h2_conn_stats));
    h2_svc_event_release(ev);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    free(v0);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- the accept callback sees the listener's layout ------------------------ */

typedef struct accept_rec {
    _Atomic int calls;
    size_t size, conn_size;
    int worker;
    bool transport_null;
} accept_rec;

static int v0_accept(void *user, int fd, h2_svc_conn_config *cfg)
{
    (void)fd;
    accept_rec *r = user;
    svc_conn_config_v0 *v0 = (svc_conn_config_v0 *)(void *)cfg;
    r->size = v0->size;
    r->conn_size = v0->conn.size;
    r->worker = v0->worker;
    r->transport_null = v0->transport == NULL;
    v0->user = r; /* as the older program wrote it */
    atomic_fetch_add(&r->calls, 1);
    return 0;
}

Test(abi, accept_callback_gets_the_layout_given_to_listen)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc *svc = new_service(&lm, 1, 0);
    h2_svc_queue *q = new_queue(&lm, 64);
    svc_conn_config_v0 *v0 = svc_v0_new(H2_ROLE_SERVER);
    v0->queue = q;
    v0->worker = 0;
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    accept_rec rec = {.calls = 0};
    cr_assert_eq(h2_svc_listen(svc, lfd, (h2_svc_conn_config *)(void *)v0, v0_accept, &rec), 0);
    free(v0); /* copied by the call */
    int cfd = connect_loopback(port);
    h2_svc_event *ev = wait_event(q, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->conn_user, &rec);
    h2_svc_event_release(ev);
    cr_assert_eq(atomic_load(&rec.calls), 1);
    cr_assert_eq(rec.size, sizeof(svc_conn_config_v0));
    cr_assert_eq(rec.conn_size, sizeof(conn_config_v0));
    cr_assert_eq(rec.worker, 0);
    cr_assert(rec.transport_null);
    close(cfd);
    h2_svc_free(svc);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
