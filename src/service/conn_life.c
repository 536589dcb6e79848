/*
 * Service worker: a connection's life on its worker, from attach to the
 * CLOSED event and the free. A connection that ends (svc_conn_finish())
 * fails what it holds, closes its transport and joins the worker's closing
 * FIFO, where its CLOSED waits until every command posted to it before the
 * end was handled (svc_live); the loop then emits it and frees the
 * connection once its events are out.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_live.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_wake.h"
#include "service/svc_worker.h"

/* Holds the CLOSED of |c| until the commands posted to it were handled. */
static void closing_push(svc_conn *c)
{
    svc_worker *w = c->worker;
    c->close_wait = true;
    c->close_ticket = 0;
    /* Appended: CLOSED events leave in the order the connections ended. */
    svc_closing_push(&w->closing, c);
}

svc_conn *svc_worker_conn(svc_worker *w, h2_svc_conn_id id)
{
    svc_conn *c = svc_map_get(&w->conns, id);
    if (c != NULL || w->closing.head == NULL)
        return c;
    /* An ended connection whose CLOSED waits, not in the map (failed attach). */
    for (c = w->closing.head; c != NULL; c = c->close_next)
        if (c->id == id)
            return c;
    return NULL;
}

/* True when the CLOSED of |c| may go out: no post to it is in flight, and
 * every command the ring held when that became true was handled. */
static bool closing_ready(svc_worker *w, svc_conn *c)
{
    if (c->close_ticket == 0) {
        if (c->live != NULL && atomic_load_explicit(&c->live->posters, memory_order_seq_cst) != 0)
            return false;
        c->close_ticket = w->handled + h2_mailbox_count(&w->mb) + 1u;
    }
    return w->handled + 1u >= c->close_ticket;
}

/* Emits the CLOSED of every ended connection that may have it now. */
void svc_worker_settle_closing(svc_worker *w)
{
    svc_conn *prev = NULL;
    svc_conn *c = w->closing.head;
    while (c != NULL) {
        if (!closing_ready(w, c)) {
            prev = c;
            c = c->close_next;
            continue;
        }
        svc_closing_unlink(&w->closing, c, prev);
        c->close_wait = false;
        svc_event_rec *rec = c->closed_ev;
        c->closed_ev = NULL;
        /* The final counters: the core's as it ended, the service's now. */
        h2_svc_conn_stats st = c->st;
        st.frames_in = rec->pub.stats.frames_in;
        st.frames_out = rec->pub.stats.frames_out;
        st.streams_opened = rec->pub.stats.streams_opened;
        rec->pub.stats = st;
        svc_conn_emit(c, rec);
        svc_conn_touch(c);
        c = prev != NULL ? prev->close_next : w->closing.head;
    }
}

/* True when a closing connection can be settled (checked before sleeping). */
bool svc_worker_closing_due(svc_worker *w)
{
    for (svc_conn *c = w->closing.head; c != NULL; c = c->close_next)
        if (closing_ready(w, c))
            return true;
    return false;
}

void svc_conn_destroy(svc_conn *c)
{
    const h2_mem *mem = c->streams.mem;
    if (c->live != NULL)
        svc_live_release(c->svc, c);
    svc_conn_close_transport(c);
    h2_conn_free(c->conn);
    c->conn = NULL;
    /* DATA whose frames the output held: the connection is gone. */
    svc_cmd *cmd;
    while ((cmd = svc_cmds_pop(&c->released)) != NULL)
        svc_cmd_fail(c->worker, NULL, cmd, H2_ECLOSED, c->reason);
    svc_conn_user_timer_drop(c);
    if (c->closed_ev != NULL)
        svc_event_free(c->closed_ev);
    svc_map_free(&c->streams);
    h2_mem_free(mem, c->sched);
    h2_mem_free(mem, c->initial);
    h2_mem_free(mem, c);
}

void svc_conn_finish(svc_conn *c, int reason, int error, int sys_errno)
{
    if (c->reason != 0)
        return;
    if (reason == H2_SVC_CLOSE_PROTOCOL || reason == H2_SVC_CLOSE_GRACEFUL ||
        (reason == H2_SVC_CLOSE_TIMEOUT && c->has_goaway_code)) {
        svc_conn_flush(c); /* the GOAWAY, as far as the socket takes it */
        if (c->reason != 0)
            return; /* the socket failed meanwhile: finished with that reason */
    }
    c->reason = reason;
    /* From now on posts to this id fail at the call; CLOSED waits for the
     * ones already made (svc_worker_settle_closing()). */
    svc_live_end(c);
    svc_conn_drop_held(c, reason);
    svc_conn_close_transport(c);
    svc_timer_set(c->worker, &c->timer, -1);
    svc_conn_user_timer_drop(c); /* CLOSED is the last event */
    h2_conn_error err = {0};
    svc_event_rec *rec = c->closed_ev;
    svc_conn_stats_now(c, &rec->pub.stats, c->closed_core);
    svc_conn_count_core(c, c->closed_core);
    if (c->conn != NULL)
        err = h2_conn_last_error(c->conn);
    h2_conn_free(c->conn);
    c->conn = NULL;
    svc_conn_settle_output(c); /* DATA whose frames the output held */
    /* Nothing left to acknowledge on a closed connection. */
    for (svc_event_rec *p = c->pending.head; p != NULL; p = p->next)
        svc_event_drop_ack(p);
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    rec->pub.sys_errno = sys_errno;
    rec->pub.timer = c->timeout;
    rec->pub.error_code = err.occurred ? err.code : c->has_goaway_code ? c->goaway_code : 0;
    closing_push(c);
    svc_conn_touch(c); /* freed by the dirty pass once its events are out */
}

void svc_conn_timeout(svc_conn *c, int timer, bool goaway, uint32_t code)
{
    if (c->reason != 0)
        return;
    c->timeout = timer;
    svc_count(&c->worker->count.timeouts, 1);
    if (timer > 0 && timer < H2_SVC_TIMER_COUNT)
        svc_count(&c->worker->count.timer_expired[timer], 1);
    /* The GOAWAY's debug data names the timer, for the peer's logs. */
    static const char *const debug[] = {
        [H2_SVC_TIMER_IDLE] = "idle timeout",       [H2_SVC_TIMER_SETTINGS] = "settings timeout",
        [H2_SVC_TIMER_HEADER] = "header timeout",   [H2_SVC_TIMER_FLOW] = "flow control stall",
        [H2_SVC_TIMER_PREFACE] = "preface timeout",
    };
    const char *why = "";
    if (timer > 0 && (size_t)timer < sizeof(debug) / sizeof(debug[0]) && debug[timer] != NULL)
        why = debug[timer];
    if (goaway && h2_conn_close(c->conn, code, (const uint8_t *)why, strlen(why), -1) == 0) {
        c->has_goaway_code = true;
        c->goaway_code = code;
    }
    svc_conn_finish(c, H2_SVC_CLOSE_TIMEOUT, 0, 0);
}

void svc_conn_stats_now(const svc_conn *c, h2_svc_conn_stats *out, h2_conn_stats *core)
{
    memset(core, 0, sizeof(*core));
    core->size = sizeof(*core);
    if (c->conn != NULL)
        h2_conn_get_stats(c->conn, core);
    *out = c->st;
    out->frames_in = core->frames_received;
    out->frames_out = core->frames_sent;
    out->streams_opened = core->streams_opened_local + core->streams_opened_remote;
}

void svc_conn_count_core(svc_conn *c, const h2_conn_stats *core)
{
    svc_worker_counters *k = &c->worker->count;
    uint64_t streams = core->streams_opened_local + core->streams_opened_remote;
    svc_count(&k->frames_in, core->frames_received - c->seen_frames_in);
    svc_count(&k->frames_out, core->frames_sent - c->seen_frames_out);
    svc_count(&k->streams_opened, streams - c->seen_streams);
    c->seen_frames_in = core->frames_received;
    c->seen_frames_out = core->frames_sent;
    c->seen_streams = streams;
}

/* Fails an attach before the connection took part in the loop: commands
 * already posted to its id are answered before its CLOSED. */
static void attach_failed(svc_worker *w, svc_conn *c, int reason, int error)
{
    c->worker = w;
    c->reason = reason;
    svc_live_end(c);
    svc_conn_close_transport(c);
    svc_event_rec *rec = c->closed_ev;
    rec->pub.type = H2_SVC_EV_CLOSED;
    rec->pub.reason = reason;
    rec->pub.error = error;
    closing_push(c);
    svc_conn_touch(c);
}

/* Whole-service shutdown: GOAWAY(NO_ERROR); open streams may finish. */
void svc_conn_drain(svc_conn *c)
{
    if (c->reason != 0 || c->drain_seen)
        return;
    c->drain_seen = true;
    c->closing = true;
    (void)h2_conn_close(c->conn, H2_NO_ERROR, NULL, 0, -1);
    svc_conn_touch(c);
}

void svc_worker_attach(svc_worker *w, svc_conn *c)
{
    c->worker = w;
    if (w->stopping) {
        attach_failed(w, c, H2_SVC_CLOSE_SHUTDOWN, H2_ECLOSED);
        return;
    }
    if (svc_timers_reserve_for(w, (uint32_t)w->conns.count + 1u, w->n_listeners) != 0 ||
        svc_map_put(&w->conns, c->id, c) != 0) {
        attach_failed(w, c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM);
        return;
    }
    c->last_active = w->now;
    svc_count(&w->count.connections_total, 1);
    atomic_store_explicit(&w->count.connections, w->conns.count, memory_order_relaxed);
    if (c->fd >= 0) {
        int fl = fcntl(c->fd, F_GETFL);
        if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
            svc_conn_finish(c, H2_SVC_CLOSE_IO, H2_EINTERNAL, errno);
            return;
        }
    }
    if (!c->initiated && h2_conn_initiate(c->conn) != 0) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    c->initiated = true;
    svc_event_rec *rec = svc_worker_event_alloc(w, 0, NULL);
    if (rec == NULL) {
        svc_conn_finish(c, H2_SVC_CLOSE_NOMEM, H2_ENOMEM, 0);
        return;
    }
    rec->pub.type = H2_SVC_EV_ATTACHED;
    svc_conn_emit(c, rec);
    if (c->initial != NULL) {
        uint8_t *initial = c->initial;
        c->initial = NULL;
        svc_conn_receive(c, initial, c->initial_len);
        h2_mem_free(&w->svc->mem, initial);
        if (c->reason != 0)
            return;
    }
    if (w->draining)
        svc_conn_drain(c);
    svc_conn_update_epoll(c);
    svc_conn_touch(c);
}
