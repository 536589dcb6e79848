/*
 * Service: attaching connections and listening sockets. A connection is
 * prepared here (its core, its id, its configuration) and posted to its
 * worker as an ATTACH command; a dedicated one goes to
 * service_dedicated.c. A listener is posted as a LISTEN command to the
 * worker that will accept on it (worker_listen.c).
 */
#include <fcntl.h>
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_config.h"
#include "service/svc_attach.h"
#include "service/svc_conn.h"
#include "service/svc_dedicated.h"
#include "service/svc_listen.h"
#include "service/svc_live.h"
#include "service/svc_post.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_worker.h"

unsigned svc_pick_worker(h2_svc *svc, const h2_svc_conn_config *cfg)
{
    if (cfg->worker >= 0 && (unsigned)cfg->worker < svc->n_workers)
        return (unsigned)cfg->worker;
    return atomic_fetch_add_explicit(&svc->next_worker, 1, memory_order_relaxed) % svc->n_workers;
}

/* Client side of an h2c upgrade: the HTTP2-Settings value the core
 * computes was already sent by the application (from the same settings). */
static int svc_upgrade_client(h2_conn *conn)
{
    char settings[128];
    size_t len = 0;
    return h2_conn_initiate_upgrade_client(conn, settings, sizeof settings, &len);
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
    if (cfg->upgrade && cfg->conn.role == H2_ROLE_SERVER && cfg->upgrade_settings == NULL &&
        cfg->upgrade_settings_len > 0)
        return false;
    /* The service frees request slots itself (see hold_reset_requests). */
    if (cfg->conn.explicit_request_done)
        return false;
    return true;
}

/* The connection's timeouts (milliseconds; 0: off) from |cfg|. */
static void set_timeouts(svc_conn *c, const h2_svc_conn_config *cfg)
{
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
    c->user_timer.index = SVC_TIMER_NONE;
    c->user_timer.kind = SVC_TIMER_USER;
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
    c->manual_flow = cfg->manual_flow_control;
    c->stream_ended_events = cfg->stream_ended_events;
    int rv = h2_conn_new(&c->conn, &cc);
    if (rv == 0 && cfg->upgrade) {
        if (c->server)
            rv = h2_conn_initiate_upgrade_server(c->conn, cfg->upgrade_settings,
                                                 cfg->upgrade_settings_len);
        else
            rv = svc_upgrade_client(c->conn);
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
    set_timeouts(c, cfg);
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
    int rv = svc_post_ring(svc, &svc_worker_of(svc, c->id)->mb, cmd);
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
    int rv = svc_post_ring(svc, &svc->workers[wi].mb, cmd);
    if (rv != 0) {
        h2_mem_free(&svc->mem, cmd);
        h2_mem_free(&svc->mem, l); /* the caller keeps |fd| */
    }
    return rv;
}
