/*
 * Service: hold budgets. Copied DATA not yet sent and FEED bytes not yet
 * processed are charged, when posted, to the connection (in its entry of
 * the live-id table, service_live.c) and to its worker's total. The
 * per-connection limit is the one that trips first, so one connection
 * whose peer stalls (or whose consumer stops reading) cannot use up what
 * the other connections of its worker may hold.
 *
 * The entry is found from the id alone, without a lock, and entries are
 * never freed before the service. A poster that raced with the end of its
 * connection (the entry's key no longer matches) charges only the worker;
 * its post then fails with H2_ENOCONN and gives the bytes back. Bytes that
 * commands carry back after their connection ended go to the entry's
 * counter even if a new connection reuses the entry: every subtraction
 * follows its own addition, so the counter stays exact for the new one
 * once the old commands are answered.
 */
#include "h2/errors.h"
#include "service/svc_hold.h"
#include "service/svc_live.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

/* Takes |len| on |held| unless that passes |limit|; anything while it holds nothing. */
static bool take(atomic_size_t *held, size_t limit, size_t len)
{
    size_t was = atomic_fetch_add_explicit(held, len, memory_order_relaxed);
    if (was > 0 && len > limit - (was < limit ? was : limit)) {
        atomic_fetch_sub_explicit(held, len, memory_order_relaxed);
        return false;
    }
    return true;
}

bool svc_hold_take(h2_svc *svc, svc_worker *w, h2_svc_conn_id conn, int kind, size_t len,
                   svc_hold *h)
{
    bool feed = kind == SVC_HOLD_FEED;
    h->worker = feed ? &w->feed_bytes : &w->send_bytes;
    h->conn = NULL;
    svc_live *e = svc_live_of(svc, conn);
    if (e != NULL && atomic_load_explicit(&e->key, memory_order_acquire) == conn >> SVC_ID_BITS) {
        h->conn = feed ? &e->feed : &e->send;
        if (!take(h->conn, feed ? svc->feed_hold_conn_limit : svc->send_hold_conn_limit, len))
            return false;
    }
    if (!take(h->worker, feed ? svc->feed_hold_limit : svc->send_hold_limit, len)) {
        if (h->conn != NULL)
            atomic_fetch_sub_explicit(h->conn, len, memory_order_relaxed);
        return false;
    }
    return true;
}

void svc_hold_undo(const svc_hold *h, size_t len)
{
    atomic_fetch_sub_explicit(h->worker, len, memory_order_relaxed);
    if (h->conn != NULL)
        atomic_fetch_sub_explicit(h->conn, len, memory_order_relaxed);
}

void svc_hold_attach(svc_cmd *cmd, const svc_hold *h)
{
    cmd->hold_count = h->worker;
    cmd->hold_conn = h->conn;
}

void svc_hold_release(svc_cmd *cmd)
{
    if (cmd->hold_count != NULL)
        atomic_fetch_sub_explicit(cmd->hold_count, cmd->len, memory_order_relaxed);
    if (cmd->hold_conn != NULL)
        atomic_fetch_sub_explicit(cmd->hold_conn, cmd->len, memory_order_relaxed);
    cmd->hold_count = cmd->hold_conn = NULL;
}
