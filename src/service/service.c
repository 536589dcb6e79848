/*
 * Service: creation and shutdown, attaching connections, and the posting
 * calls that application threads use to send commands to workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/abi.h"
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

#define DEFAULT_MAILBOX 4096u
#define DEFAULT_READ_BUFFER 65536u
#define MIN_READ_BUFFER 1024u
#define DEFAULT_FEED_HOLD (1u << 20)
#define DEFAULT_SEND_HOLD (64u << 20)
/* Per connection: a 64th of the worker totals, so that 64 connections
 * holding their full share at once still fit under them. */
#define DEFAULT_FEED_HOLD_CONN (16u << 10)
#define DEFAULT_SEND_HOLD_CONN (1u << 20)
/* Flow-control stall floor: 256 bytes a second, 15 KiB per default interval. */
#define DEFAULT_FLOW_MIN_RATE 256u


void svc_service_config_defaults(h2_svc_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->workers = 0;
    cfg->mailbox_capacity = DEFAULT_MAILBOX;
    cfg->read_buffer_size = DEFAULT_READ_BUFFER;
    cfg->max_dedicated = 64;
    cfg->feed_hold_limit = DEFAULT_FEED_HOLD;
    cfg->send_hold_limit = DEFAULT_SEND_HOLD;
    cfg->feed_hold_conn_limit = DEFAULT_FEED_HOLD_CONN;
    cfg->send_hold_conn_limit = DEFAULT_SEND_HOLD_CONN;
    cfg->clock = NULL; /* CLOCK_MONOTONIC */
    cfg->clock_user = NULL;
    cfg->tcp_nodelay = true;
}

void svc_conn_config_defaults(h2_svc_conn_config *cfg, h2_role role)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    h2_conn_config_init(&cfg->conn, role);
    cfg->worker = -1;
    cfg->idle_timeout_ms = 180000;
    cfg->settings_timeout_ms = 10000;
    cfg->header_timeout_ms = 20000;
    cfg->close_timeout_ms = 30000;
    cfg->write_timeout_ms = 60000;
    cfg->flow_timeout_ms = 60000;
    cfg->preface_timeout_ms = 10000;
    cfg->flow_min_rate = DEFAULT_FLOW_MIN_RATE;
}

unsigned h2_svc_workers(const h2_svc *svc)
{
    return svc == NULL ? 0 : svc->n_workers;
}

void svc_worker_destroy(svc_worker *w)
{
    const h2_mem *mem = &w->svc->mem;
    /* Events released from now on are only freed (the box outlives us). */
    svc_retbox_close(w->ret);
    w->ret = NULL;
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
    h2_mailbox_destroy(&w->mb);
    h2_mem_free(mem, w->rbuf);
    w->rbuf = NULL;
    svc_timers_free(w);
    svc_map_free(&w->conns);
}

int svc_worker_init(h2_svc *svc, svc_worker *w, unsigned index, uint32_t capacity)
{
    w->svc = svc;
    w->index = index;
    w->epfd = -1;
    w->rbuf_size = svc->read_buffer_size;
    atomic_init(&w->started, false);
    atomic_init(&w->stop, false);
    atomic_init(&w->room, false);
    atomic_init(&w->feed_bytes, 0);
    atomic_init(&w->send_bytes, 0);
    atomic_init(&w->count.connections_total, 0);
    atomic_init(&w->count.connections, 0);
    atomic_init(&w->count.bytes_in, 0);
    atomic_init(&w->count.bytes_out, 0);
    atomic_init(&w->count.commands, 0);
    atomic_init(&w->count.events, 0);
    atomic_init(&w->count.loops, 0);
    atomic_init(&w->count.timeouts, 0);
    for (unsigned i = 0; i < H2_SVC_TIMER_COUNT; i++)
        atomic_init(&w->count.timer_expired[i], 0);
    atomic_init(&w->count.frames_in, 0);
    atomic_init(&w->count.frames_out, 0);
    atomic_init(&w->count.streams_opened, 0);
    svc_map_init(&w->conns, &svc->mem);
    int rv = h2_mailbox_init(&w->mb, capacity, &svc->mem);
    if (rv != 0)
        return rv;
    w->ret = svc_retbox_new(&svc->mem, &w->mb);
    if (w->ret == NULL)
        return H2_ENOMEM;
    w->rbuf = h2_mem_malloc(&svc->mem, w->rbuf_size);
    if (w->rbuf == NULL)
        return H2_ENOMEM;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return H2_EINTERNAL;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, h2_mailbox_fd(&w->mb), &ev) != 0)
        return H2_EINTERNAL;
    return 0;
}

static void stop_workers(h2_svc *svc)
{
    for (unsigned i = 0; i < svc->n_workers; i++) {
        svc_worker *w = &svc->workers[i];
        if (!atomic_load_explicit(&w->started, memory_order_acquire))
            continue;
        atomic_store_explicit(&w->stop, true, memory_order_seq_cst);
        h2_mailbox_notify(&w->mb);
    }
    for (unsigned i = 0; i < svc->n_workers; i++) {
        svc_worker *w = &svc->workers[i];
        if (atomic_load_explicit(&w->started, memory_order_acquire))
            pthread_join(w->thread, NULL);
        atomic_store_explicit(&w->started, false, memory_order_relaxed);
    }
}

static void service_destroy(h2_svc *svc)
{
    atomic_store_explicit(&svc->closing, true, memory_order_seq_cst);
    stop_workers(svc);
    svc_dedicated_shutdown(svc);
    svc_service_sweep(svc);
    svc_dedicated_free(svc);
    h2_mem mem = svc->mem;
    if (svc->workers != NULL) {
        for (unsigned i = 0; i < svc->n_workers; i++)
            if (svc->workers[i].svc != NULL)
                svc_worker_destroy(&svc->workers[i]);
        h2_mem_free(&mem, svc->workers);
    }
    h2_mem_free(&mem, svc->slots);
    svc_live_table_free(svc);
    h2_mem_free(&mem, svc);
}

int h2_svc_new(h2_svc **out, const h2_svc_config *cfg)
{
    if (out == NULL)
        return H2_EINVAL;
    *out = NULL;
    h2_svc_config imported;
    if (svc_service_config_import(&imported, cfg) != 0)
        return H2_EINVAL;
    cfg = &imported;
    unsigned n = cfg->workers;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1u : (unsigned)cpus;
        if (n > H2_SVC_MAX_WORKERS)
            n = H2_SVC_MAX_WORKERS;
    }
    uint32_t cap = cfg->mailbox_capacity;
    if (n > H2_SVC_MAX_WORKERS || cap < H2_MAILBOX_MIN_CAPACITY ||
        cap > H2_MAILBOX_MAX_CAPACITY || (cap & (cap - 1)) != 0 ||
        cfg->read_buffer_size < MIN_READ_BUFFER || cfg->feed_hold_limit == 0 ||
        cfg->send_hold_limit == 0 || cfg->feed_hold_conn_limit == 0 ||
        cfg->send_hold_conn_limit == 0)
        return H2_EINVAL;

    const h2_mem *mem = h2_mem_or_default(cfg->mem);
    h2_svc *svc = h2_mem_calloc(mem, 1, sizeof(*svc));
    if (svc == NULL)
        return H2_ENOMEM;
    svc->mem = *mem;
    svc->n_workers = n;
    svc->queue = cfg->queue;
    svc->on_event = cfg->on_event;
    svc->on_event_user = cfg->on_event_user;
    svc->read_buffer_size = cfg->read_buffer_size;
    svc->mailbox_capacity = cap;
    svc->post_wait_ms = cfg->post_wait_ms;
    svc->feed_hold_limit = cfg->feed_hold_limit;
    svc->send_hold_limit = cfg->send_hold_limit;
    svc->feed_hold_conn_limit = cfg->feed_hold_conn_limit;
    svc->send_hold_conn_limit = cfg->send_hold_conn_limit;
    svc->clock = cfg->clock;
    svc->clock_user = cfg->clock_user;
    svc->tcp_nodelay = cfg->tcp_nodelay;
    atomic_init(&svc->next_id, 1);
    atomic_init(&svc->next_worker, 0);
    svc->workers = h2_mem_calloc(mem, n, sizeof(*svc->workers));
    if (svc->workers == NULL) {
        h2_mem_free(mem, svc);
        return H2_ENOMEM;
    }
    for (unsigned i = 0; i < n; i++)
        svc->workers[i].epfd = -1;
    svc->n_slots = cfg->max_dedicated;
    if (svc->n_slots > 0) {
        svc->slots = h2_mem_calloc(mem, svc->n_slots, sizeof(*svc->slots));
        if (svc->slots == NULL) {
            h2_mem_free(mem, svc->workers);
            h2_mem_free(mem, svc);
            return H2_ENOMEM;
        }
        for (unsigned i = 0; i < svc->n_slots; i++) {
            atomic_init(&svc->slots[i].state, SVC_SLOT_FREE);
            atomic_init(&svc->slots[i].posters, 0);
            atomic_init(&svc->slots[i].worker, NULL);
        }
    }
    atomic_init(&svc->reap, NULL);
    if (svc_live_table_init(svc) != 0) {
        h2_mem_free(mem, svc->slots);
        h2_mem_free(mem, svc->workers);
        h2_mem_free(mem, svc);
        return H2_ENOMEM;
    }

    int rv = 0;
    for (unsigned i = 0; i < n && rv == 0; i++)
        rv = svc_worker_init(svc, &svc->workers[i], i, cap);
    for (unsigned i = 0; i < n && rv == 0; i++) {
        svc_worker *w = &svc->workers[i];
        int e = pthread_create(&w->thread, NULL, svc_worker_main, w);
        if (e != 0) {
            errno = e;
            rv = H2_EINTERNAL;
        } else {
            atomic_store_explicit(&w->started, true, memory_order_release);
        }
    }
    if (rv != 0) {
        int saved = errno;
        service_destroy(svc);
        errno = saved;
        return rv;
    }
    *out = svc;
    return 0;
}

void h2_svc_free(h2_svc *svc)
{
    if (svc != NULL)
        service_destroy(svc);
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

svc_worker *svc_worker_of(h2_svc *svc, h2_svc_conn_id id)
{
    uint64_t wi = id & ((1u << SVC_ID_BITS) - 1u);
    if (id == 0)
        return NULL;
    if ((wi & SVC_ID_DEDICATED) != 0)
        return svc_dedicated_of(svc, (unsigned)(wi & ~(uint64_t)SVC_ID_DEDICATED));
    if (wi >= svc->n_workers)
        return NULL;
    return &svc->workers[wi];
}

/* A zeroed command with |extra| bytes after it (16-byte aligned) in |*tail|. */
svc_cmd *svc_cmd_new(h2_svc *svc, int kind, h2_svc_conn_id conn, size_t extra, uint8_t **tail)
{
    size_t head = (sizeof(svc_cmd) + 15u) & ~(size_t)15u;
    if (extra > SIZE_MAX - head)
        return NULL;
    uint8_t *block = h2_mem_malloc(&svc->mem, head + extra);
    if (block == NULL)
        return NULL;
    svc_cmd *cmd = (svc_cmd *)(void *)block;
    memset(cmd, 0, sizeof(*cmd));
    cmd->ev.mem = svc->mem;
    cmd->ev.block = block;
    cmd->kind = kind;
    cmd->conn = conn;
    if (tail != NULL)
        *tail = block + head;
    return cmd;
}

/* Posts to |mb|, waiting for room as the configuration says. */
static int mb_post(h2_svc *svc, h2_mailbox *mb, void *ptr)
{
    /* A worker waiting for another worker's ring could wait for ever: that
     * worker may itself be waiting for ours (see post_wait_ms). */
    if (svc->post_wait_ms == 0 || svc_on_any_worker_thread())
        return h2_mailbox_post(mb, ptr);
    return h2_mailbox_post_wait(mb, ptr, svc->post_wait_ms);
}

int svc_post(h2_svc *svc, svc_worker *w, svc_cmd *cmd)
{
    /* Counted in the entry while posting: the connection's CLOSED waits
     * for this post, so the command is answered before it. */
    uint64_t key = cmd->conn >> SVC_ID_BITS;
    svc_live *e = svc_live_of(svc, cmd->conn);
    int rv = H2_ENOCONN;
    if (e != NULL && svc_on_own_worker(w)) {
        /* A callback of the connection's own worker: only this thread ends
         * the connection and settles its CLOSED, after this post, so no
         * count is needed (the ring count the CLOSED waits for includes it). */
        if (atomic_load_explicit(&e->key, memory_order_relaxed) == key)
            rv = w->slot != NULL ? svc_dedicated_post(svc, w, cmd, 0) : h2_mailbox_post(&w->mb, cmd);
    } else if (e != NULL) {
        atomic_fetch_add_explicit(&e->posters, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&e->key, memory_order_seq_cst) == key) {
            int wait = svc_on_any_worker_thread() ? 0 : svc->post_wait_ms;
            if (w->slot != NULL)
                rv = svc_dedicated_post(svc, w, cmd, wait);
            else
                rv = mb_post(svc, &w->mb, cmd);
        }
        atomic_fetch_sub_explicit(&e->posters, 1, memory_order_seq_cst);
        /* Ended meanwhile: its worker may be waiting for this post. */
        if (atomic_load_explicit(&e->key, memory_order_seq_cst) != key)
            h2_mailbox_notify(&w->mb);
    }
    if (rv != 0)
        h2_mem_free(&svc->mem, cmd);
    return rv;
}

unsigned svc_pick_worker(h2_svc *svc, const h2_svc_conn_config *cfg)
{
    if (cfg->worker >= 0 && (unsigned)cfg->worker < svc->n_workers)
        return (unsigned)cfg->worker;
    return atomic_fetch_add_explicit(&svc->next_worker, 1, memory_order_relaxed) % svc->n_workers;
}

void svc_cmd_free(h2_svc *svc, svc_cmd *cmd)
{
    h2_mem_free(&svc->mem, cmd);
}

static bool conn_config_ok(h2_svc *svc, int fd, const h2_svc_conn_config *cfg)
{
    if (cfg->queue == NULL && cfg->on_event == NULL)
        return false;
    if (fd < 0 && cfg->on_output == NULL)
        return false;
    if (cfg->worker >= 0 && (unsigned)cfg->worker >= svc->n_workers)
        return false;
    if (cfg->transport != NULL && (cfg->transport->read == NULL || cfg->transport->writev == NULL))
        return false;
    if (cfg->initial_data == NULL && cfg->initial_len > 0)
        return false;
    if (cfg->upgrade && (cfg->conn.role != H2_ROLE_SERVER ||
                         (cfg->upgrade_settings == NULL && cfg->upgrade_settings_len > 0)))
        return false;
    /* The service frees request slots itself (see hold_reset_requests). */
    if (cfg->conn.explicit_request_done)
        return false;
    return true;
}

int svc_conn_prepare(h2_svc *svc, int fd, const h2_svc_conn_config *cfg, unsigned wi,
                     svc_conn **out)
{
    *out = NULL;
    if (!conn_config_ok(svc, fd, cfg))
        return H2_EINVAL;
    svc_conn *c = h2_mem_calloc(&svc->mem, 1, sizeof(*c));
    if (c == NULL)
        return H2_ENOMEM;
    c->poll_kind = SVC_POLL_CONN;
    c->fd = -1;
    c->timer.index = SVC_TIMER_NONE;
    c->timer.kind = SVC_POLL_CONN;
    c->settings_since = c->header_since = c->close_since = c->write_since = c->flow_since = -1;
    c->preface_since = -1;
    c->read_wait = H2_SVC_WANT_READ;
    c->write_wait = H2_SVC_WANT_WRITE;
    svc_map_init(&c->streams, &svc->mem);
    h2_conn_config cc = cfg->conn;
    cc.mem = &svc->mem;
    /* A reset request keeps its slot until the application released the
     * STREAM_RESET event: resets cannot admit requests faster than the
     * application learns that earlier ones ended. */
    cc.hold_reset_requests = cc.role == H2_ROLE_SERVER;
    c->server = cc.role == H2_ROLE_SERVER;
    c->trace = cfg->trace;
    int rv = h2_conn_new(&c->conn, &cc);
    if (rv == 0 && cfg->upgrade) {
        rv = h2_conn_initiate_upgrade_server(c->conn, cfg->upgrade_settings,
                                             cfg->upgrade_settings_len);
        c->initiated = rv == 0;
    }
    if (rv != 0) {
        svc_conn_destroy(c);
        return rv;
    }
    uint8_t *core_tail = NULL;
    c->closed_ev = svc_event_alloc(&svc->mem, sizeof(h2_conn_stats), &core_tail);
    if (c->closed_ev != NULL) {
        c->closed_core = (h2_conn_stats *)(void *)core_tail;
        memset(c->closed_core, 0, sizeof(*c->closed_core));
        c->closed_ev->pub.core_stats = c->closed_core;
    }
    if (cfg->initial_len > 0) {
        c->initial = h2_mem_malloc(&svc->mem, cfg->initial_len);
        if (c->initial != NULL) {
            memcpy(c->initial, cfg->initial_data, cfg->initial_len);
            c->initial_len = cfg->initial_len;
        }
    }
    if (c->closed_ev == NULL || (cfg->initial_len > 0 && c->initial == NULL)) {
        svc_conn_destroy(c);
        return H2_ENOMEM;
    }
    if (fd >= 0 && cfg->transport != NULL) {
        c->tr = *cfg->transport;
        c->has_tr = true;
    }
    c->idle_ms = cfg->idle_timeout_ms;
    c->settings_ms = cfg->settings_timeout_ms;
    c->header_ms = cfg->header_timeout_ms;
    c->close_ms = cfg->close_timeout_ms;
    c->write_ms = cfg->write_timeout_ms;
    c->flow_ms = cfg->flow_timeout_ms;
    c->flow_floor = (uint64_t)cfg->flow_min_rate * cfg->flow_timeout_ms / 1000u;
    if (c->flow_floor == 0)
        c->flow_floor = 1;
    c->preface_ms = cfg->preface_timeout_ms;
    if (svc_conn_new_id(svc, c, wi) != 0) {
        svc_conn_destroy(c);
        return H2_ENOMEM;
    }
    c->queue = cfg->queue;
    c->on_event = cfg->on_event;
    c->on_output = fd < 0 ? cfg->on_output : NULL;
    c->user = cfg->user;
    c->fd = fd;
    *out = c;
    return 0;
}

int svc_conn_post_attach(h2_svc *svc, svc_conn *c)
{
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_ATTACH, c->id, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->attach = c;
    int rv = mb_post(svc, &svc_worker_of(svc, c->id)->mb, cmd);
    if (rv != 0)
        h2_mem_free(&svc->mem, cmd);
    return rv;
}

static int attach(h2_svc *svc, int fd, const h2_svc_conn_config *cfg, h2_svc_conn_id *id)
{
    if (svc == NULL || cfg == NULL || id == NULL)
        return H2_EINVAL;
    *id = 0;
    h2_svc_conn_config imported;
    if (svc_conn_config_import(&imported, cfg) != 0)
        return H2_EINVAL;
    cfg = &imported;
    if (!conn_config_ok(svc, fd, cfg))
        return H2_EINVAL;
    if (fd >= 0)
        svc_socket_nodelay(svc, fd);
    if (atomic_load_explicit(&svc->drain, memory_order_acquire) != 0)
        return H2_ECLOSED; /* h2_svc_shutdown() */
    if (cfg->dedicated)
        return svc_attach_dedicated(svc, fd, cfg, id);
    svc_conn *c = NULL;
    int rv = svc_conn_prepare(svc, fd, cfg, svc_pick_worker(svc, cfg), &c);
    if (rv != 0)
        return rv;
    /* Once posted, |c| belongs to the worker, which may free it at once. */
    h2_svc_conn_id cid = c->id;
    rv = svc_conn_post_attach(svc, c);
    if (rv != 0) {
        c->fd = -1; /* the caller keeps its socket and its transport */
        svc_conn_destroy(c);
        return rv;
    }
    *id = cid;
    return 0;
}

int h2_svc_attach_fd(h2_svc *svc, int fd, const h2_svc_conn_config *cfg, h2_svc_conn_id *id)
{
    if (fd < 0) {
        if (id != NULL)
            *id = 0;
        return H2_EINVAL;
    }
    return attach(svc, fd, cfg, id);
}

int h2_svc_attach_feed(h2_svc *svc, const h2_svc_conn_config *cfg, h2_svc_conn_id *id)
{
    return attach(svc, -1, cfg, id);
}

int h2_svc_listen(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                      h2_svc_accept_fn on_accept, void *accept_user)
{
    h2_svc_conn_config imported;
    const h2_svc_conn_config *given = cfg;
    if (svc == NULL || fd < 0 || svc_conn_config_import(&imported, cfg) != 0)
        return H2_EINVAL;
    cfg = &imported;
    if (!conn_config_ok(svc, fd, cfg))
        return H2_EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return H2_EINVAL;
    svc_listener *l = h2_mem_calloc(&svc->mem, 1, svc_listener_alloc_size(given));
    svc_cmd *cmd = svc_cmd_new(svc, SVC_CMD_LISTEN, 0, 0, NULL);
    if (l == NULL || cmd == NULL) {
        h2_mem_free(&svc->mem, l);
        h2_mem_free(&svc->mem, cmd);
        return H2_ENOMEM;
    }
    l->poll_kind = SVC_POLL_LISTENER;
    l->fd = fd;
    l->cfg = *cfg;
    l->cfg.initial_data = NULL;
    l->cfg.initial_len = 0;
    l->cfg.upgrade = false;
    l->cfg.upgrade_settings = NULL;
    l->cfg.upgrade_settings_len = 0;
    if (cfg->transport != NULL) {
        l->tr = *cfg->transport;
        l->cfg.transport = &l->tr;
    }
    svc_listener_keep_layout(l, given);
    l->on_accept = on_accept;
    l->accept_user = accept_user;
    l->timer.index = SVC_TIMER_NONE;
    l->timer.kind = SVC_POLL_LISTENER;
    cmd->listener = l;
    unsigned wi = svc_pick_worker(svc, cfg);
    int rv = mb_post(svc, &svc->workers[wi].mb, cmd);
    if (rv != 0) {
        h2_mem_free(&svc->mem, cmd);
        h2_mem_free(&svc->mem, l); /* the caller keeps |fd| */
    }
    return rv;
}

int h2_svc_worker_get_stats(const h2_svc *svc, unsigned worker, h2_svc_worker_stats *out)
{
    if (svc == NULL || out == NULL || worker >= svc->n_workers)
        return H2_EINVAL;
    h2_svc_worker_stats full, *dst = out;
    out = &full;
    const svc_worker *w = &svc->workers[worker];
    const svc_worker_counters *k = &w->count;
    memset(out, 0, sizeof(*out));
    out->connections = atomic_load_explicit(&k->connections, memory_order_relaxed);
    out->connections_total = atomic_load_explicit(&k->connections_total, memory_order_relaxed);
    out->bytes_in = atomic_load_explicit(&k->bytes_in, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&k->bytes_out, memory_order_relaxed);
    out->commands = atomic_load_explicit(&k->commands, memory_order_relaxed);
    out->events = atomic_load_explicit(&k->events, memory_order_relaxed);
    out->loops = atomic_load_explicit(&k->loops, memory_order_relaxed);
    out->timeouts = atomic_load_explicit(&k->timeouts, memory_order_relaxed);
    for (unsigned i = 0; i < H2_SVC_TIMER_COUNT; i++)
        out->timer_expired[i] = atomic_load_explicit(&k->timer_expired[i], memory_order_relaxed);
    out->frames_in = atomic_load_explicit(&k->frames_in, memory_order_relaxed);
    out->frames_out = atomic_load_explicit(&k->frames_out, memory_order_relaxed);
    out->streams_opened = atomic_load_explicit(&k->streams_opened, memory_order_relaxed);
    h2_mailbox_stats ms;
    h2_mailbox_get_stats(&w->mb, &ms);
    out->mailbox_high_water = ms.high_water;
    return h2_abi_export(dst, &full, sizeof(full), H2_SVC_WORKER_STATS_MIN_SIZE);
}
