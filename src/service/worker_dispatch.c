/*
 * Service worker: command dispatch. Every command a worker takes from its
 * ring comes here: attaches and listeners go to the worker, the rest to
 * their connection, where one switch carries each kind out (or holds it)
 * and each is answered: done (its block freed or turned into the answer
 * event) or COMMAND_FAILED.
 *
 * Order: a command that waits for output room joins the connection's
 * deferred FIFO, and while that is not empty every later command queues
 * behind it, except the few that never wait (STATS, FEED, ABORT,
 * ACK_DATA, NOTIFY, SET_TIMER). Held sends and new streams waiting for a slot are
 * worker_send.c's.
 */
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_handles.h"
#include "service/svc_hold.h"
#include "service/svc_listen.h"
#include "service/svc_query.h"
#include "service/svc_queue.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_wake.h"
#include "service/svc_worker.h"

void svc_cmd_done(svc_cmd *cmd)
{
    svc_hold_release(cmd);
    if (cmd->release != NULL) {
        cmd->release(cmd->release_user, cmd->data, cmd->len);
        cmd->release = NULL;
    }
    svc_rec_free(&cmd->ev);
}

void svc_cmd_fail(svc_worker *w, svc_conn *c, svc_cmd *cmd, int error, int reason)
{
    svc_hold_release(cmd);
    if (cmd->release != NULL) {
        cmd->release(cmd->release_user, cmd->data, cmd->len);
        cmd->release = NULL;
    }
    svc_event_rec *rec = &cmd->ev;
    rec->pub.type = H2_SVC_EV_COMMAND_FAILED;
    rec->pub.conn = cmd->conn;
    rec->pub.stream_id = cmd->stream_id;
    rec->pub.stream_handle = cmd->handle;
    rec->pub.user = cmd->user;
    rec->pub.command = cmd->kind;
    rec->pub.error = error;
    rec->pub.reason = reason;
    if (c != NULL) {
        svc_conn_emit(c, rec);
        return;
    }
    h2_svc *svc = w->svc;
    if (svc->queue != NULL)
        svc_queue_offer(svc->queue, rec, true);
    else if (svc->on_event != NULL)
        svc->on_event(svc->on_event_user, &rec->pub);
    else
        svc_event_free(rec);
}

/* STATS: the command block becomes the answer. */
static void answer_stats(svc_conn *c, svc_cmd *cmd)
{
    cmd->ev.pub.type = H2_SVC_EV_STATS;
    cmd->ev.pub.user = cmd->user;
    /* The block's tail holds the core's counters (h2_svc_query_stats()). */
    svc_conn_stats_now(c, &cmd->ev.pub.stats, (h2_conn_stats *)(uintptr_t)cmd->data);
    cmd->ev.pub.core_stats = (const h2_conn_stats *)(const void *)cmd->data;
    svc_conn_emit(c, &cmd->ev);
}

/* PUSH: a promised stream; the command block becomes PUSH_PROMISED. */
static int push(svc_conn *c, svc_cmd *cmd)
{
    int64_t id = h2_conn_next_stream_id(c->conn);
    int rv = id < 0 ? (int)id
                    : h2_conn_push_stream(c->conn, cmd->stream_id, (uint32_t)id, cmd->fields,
                                          cmd->n_fields);
    if (rv == 0) {
        cmd->ev.pub.type = H2_SVC_EV_PUSH_PROMISED;
        cmd->ev.pub.stream_id = (uint32_t)id;
        cmd->ev.pub.parent_stream_id = cmd->stream_id;
        cmd->ev.pub.user = cmd->user;
        svc_conn_emit(c, &cmd->ev);
    }
    return rv;
}

/* The commands that are one call of the core, its result returned. */
static int frame_call(svc_conn *c, svc_cmd *cmd)
{
    switch (cmd->kind) {
    case H2_SVC_CMD_PING:
        return h2_conn_ping(c->conn, cmd->ping);
    case H2_SVC_CMD_SETTINGS:
        return h2_conn_update_settings(c->conn, (const h2_setting *)(const void *)cmd->data,
                                       cmd->len);
    case H2_SVC_CMD_PRIORITY:
        return h2_conn_prioritize(c->conn, cmd->stream_id, cmd->has_prio ? &cmd->prio : NULL);
    case H2_SVC_CMD_PRIORITY_UPDATE:
        return h2_conn_send_priority_update(c->conn, cmd->stream_id, cmd->data, cmd->len);
    case H2_SVC_CMD_CLOSE:
        c->closing = true;
        return h2_conn_close(c->conn, cmd->error_code, cmd->data, cmd->len,
                             cmd->has_last_id ? cmd->last_id : -1);
    case H2_SVC_CMD_ALTSVC:
        return h2_conn_advertise_alternative_service(c->conn, cmd->stream_id, cmd->data, cmd->len,
                                                     cmd->data + cmd->len, cmd->len2);
    case H2_SVC_CMD_INCREMENT_WINDOW: /* manual flow control (svc_flow.c) */
        return svc_flow_increment(c, cmd);
    default:
        return H2_EINVAL;
    }
}

bool svc_conn_execute(svc_conn *c, svc_cmd *cmd)
{
    svc_worker *w = c->worker;
    int rv = 0;
    /* A stream handle: translated to the id, or held behind its HEADERS. */
    if (svc_is_handle(cmd->stream_id) && svc_handle_route(c, cmd))
        return true;
    switch (cmd->kind) {
    case H2_SVC_CMD_STATS:
        answer_stats(c, cmd);
        return true;
    case H2_SVC_CMD_FEED:
        if (c->fd >= 0)
            svc_cmd_fail(w, c, cmd, H2_EINVAL, 0);
        else
            svc_conn_feed_cmd(c, cmd);
        return true;
    case H2_SVC_CMD_ABORT:
        svc_cmd_done(cmd);
        svc_conn_finish(c, H2_SVC_CLOSE_ABORTED, H2_ECLOSED, 0);
        return true;
    case H2_SVC_CMD_ACK_DATA:
        rv = h2_conn_ack_data(c->conn, cmd->stream_id, cmd->len);
        if (rv != 0)
            svc_cmd_fail(w, c, cmd, rv, 0);
        else
            svc_cmd_done(cmd);
        svc_conn_touch(c);
        return true;
    case H2_SVC_CMD_HEADERS:
        if (cmd->stream_id == 0)
            return svc_conn_open_stream(c, cmd);
        if (svc_conn_hold_behind(c, cmd))
            return true;
        rv = h2_conn_send_headers(c->conn, cmd->stream_id, cmd->fields, cmd->n_fields, cmd->flags,
                                  cmd->has_prio ? &cmd->prio : NULL);
        break;
    case H2_SVC_CMD_DATA:
    case H2_SVC_CMD_END_STREAM:
        svc_conn_hold_send(c, cmd);
        return true;
    case H2_SVC_CMD_RESPOND:
        if (svc_conn_hold_behind(c, cmd))
            return true;
        rv = svc_conn_respond(c, cmd);
        if (rv == 0)
            return true;
        break;
    case H2_SVC_CMD_RESET:
        svc_conn_drop_stream(c, cmd->stream_id);
        rv = h2_conn_reset_stream(c->conn, cmd->stream_id, cmd->error_code);
        svc_handles_check(c, cmd->stream_id);
        break;
    case H2_SVC_CMD_SET_PRIORITY:
        svc_prio_command(c, cmd);
        return true;
    case H2_SVC_CMD_NOTIFY:
        svc_conn_notify(c, cmd);
        return true;
    case H2_SVC_CMD_SET_TIMER:
        svc_conn_set_timer(c, cmd);
        return true;
    case H2_SVC_CMD_PUSH:
        rv = push(c, cmd);
        if (rv == 0)
            return true;
        break;
    case H2_SVC_CMD_QUERY_STATE:
        svc_query_answer_state(c, cmd);
        return true;
    default:
        rv = frame_call(c, cmd);
        break;
    }
    if (rv == H2_ENOBUFS)
        return false;
    if (rv != 0)
        svc_cmd_fail(w, c, cmd, rv, 0);
    else
        svc_cmd_done(cmd);
    return true;
}

/* Kinds that never wait for output room and do not queue behind commands that do. */
static bool never_waits(int kind)
{
    return kind == H2_SVC_CMD_STATS || kind == H2_SVC_CMD_FEED || kind == H2_SVC_CMD_ABORT ||
           kind == H2_SVC_CMD_ACK_DATA || kind == H2_SVC_CMD_NOTIFY || kind == H2_SVC_CMD_SET_TIMER;
}

void svc_worker_command(svc_worker *w, svc_cmd *cmd)
{
    if (cmd->kind == H2_SVC_CMD_ATTACH) {
        svc_conn *c = cmd->attach;
        w->served = true;
        h2_mem_free(&w->svc->mem, cmd);
        svc_worker_attach(w, c);
        return;
    }
    if (cmd->kind == SVC_CMD_LISTEN) {
        svc_listener *l = cmd->listener;
        h2_mem_free(&w->svc->mem, cmd);
        if (w->stopping)
            svc_listener_free(&w->svc->mem, l);
        else
            svc_listener_start(w, l);
        return;
    }
    svc_count(&w->count.commands, 1);
    svc_conn *c = svc_worker_conn(w, cmd->conn);
    if (c != NULL)
        c->st.commands++;
    if (c == NULL || c->reason != 0 || w->stopping) {
        int reason = w->stopping ? H2_SVC_CLOSE_SHUTDOWN : c != NULL ? c->reason : 0;
        svc_cmd_fail(w, c, cmd, H2_ECLOSED, reason);
        return;
    }
    if (never_waits(cmd->kind)) {
        (void)svc_conn_execute(c, cmd);
        return;
    }
    if (c->deferred.head != NULL || !svc_conn_execute(c, cmd))
        svc_cmds_push(&c->deferred, cmd);
    svc_conn_touch(c);
}
