/*
 * Service worker: carrying out commands on a connection, holding sends
 * that the flow-control windows or the output limit do not allow yet, and
 * answering commands that cannot be carried out.
 *
 * Order: commands that wait for output room sit in the connection's
 * deferred FIFO, and while it is not empty every later command queues
 * behind them (room comes back as the transport drains, whatever the
 * peer's streams do). A new stream (HEADERS with id 0) that waits for a
 * concurrency slot sits in the opening FIFO instead, where later new
 * streams queue behind it so that ids go out in the order posted; it holds
 * back nothing else: commands for existing streams and for the connection
 * go on, and one of those is what ends a stream and frees the slot. DATA,
 * END_STREAM and trailers of a stream sit in the stream's FIFO; streams
 * with held sends take turns, one frame each.
 */
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

static const h2_mem *mem_of(svc_conn *c)
{
    return &c->worker->svc->mem;
}

/* Gives the bytes of |cmd| back to the hold budgets it was charged to. */
static void hold_release(svc_cmd *cmd)
{
    if (cmd->hold_count != NULL)
        atomic_fetch_sub_explicit(cmd->hold_count, cmd->len, memory_order_relaxed);
    if (cmd->hold_conn != NULL)
        atomic_fetch_sub_explicit(cmd->hold_conn, cmd->len, memory_order_relaxed);
    cmd->hold_count = cmd->hold_conn = NULL;
}

void svc_cmd_done(const h2_mem *mem, svc_cmd *cmd)
{
    hold_release(cmd);
    if (cmd->release != NULL) {
        cmd->release(cmd->release_user, cmd->data, cmd->len);
        cmd->release = NULL;
    }
    h2_mem_free(mem, cmd);
}

void svc_cmd_fail(svc_worker *w, svc_conn *c, svc_cmd *cmd, int error, int reason)
{
    hold_release(cmd);
    if (cmd->release != NULL) {
        cmd->release(cmd->release_user, cmd->data, cmd->len);
        cmd->release = NULL;
    }
    svc_event_rec *rec = &cmd->ev;
    rec->pub.type = H2_SVC_EV_COMMAND_FAILED;
    rec->pub.conn = cmd->conn;
    rec->pub.stream_id = cmd->stream_id;
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

static void list_push(svc_cmd_list *l, svc_cmd *cmd)
{
    cmd->next = NULL;
    if (l->tail != NULL)
        l->tail->next = cmd;
    else
        l->head = cmd;
    l->tail = cmd;
}

static svc_cmd *list_pop(svc_cmd_list *l)
{
    svc_cmd *cmd = l->head;
    if (cmd != NULL) {
        l->head = cmd->next;
        if (l->head == NULL)
            l->tail = NULL;
        cmd->next = NULL;
    }
    return cmd;
}

static void list_fail(svc_conn *c, svc_cmd_list *l, int error, int reason)
{
    svc_cmd *cmd;
    while ((cmd = list_pop(l)) != NULL)
        svc_cmd_fail(c->worker, c, cmd, error, reason);
}

/* ---- streams with held sends ---- */

static svc_stream *stream_find(svc_conn *c, uint32_t id)
{
    return svc_map_get(&c->streams, id);
}

static svc_stream *stream_make(svc_conn *c, uint32_t id)
{
    svc_stream *s = stream_find(c, id);
    if (s != NULL)
        return s;
    s = h2_mem_calloc(mem_of(c), 1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->id = id;
    if (svc_map_put(&c->streams, id, s) != 0) {
        h2_mem_free(mem_of(c), s);
        return NULL;
    }
    if (c->active_tail != NULL)
        c->active_tail->next = s;
    else
        c->active = s;
    c->active_tail = s;
    return s;
}

/* Unlinks |s| (whose predecessor in the active list is |prev|) and frees it. */
static void stream_drop(svc_conn *c, svc_stream *s, svc_stream *prev)
{
    if (prev != NULL)
        prev->next = s->next;
    else
        c->active = s->next;
    if (c->active_tail == s)
        c->active_tail = prev;
    svc_map_remove(&c->streams, s->id);
    h2_mem_free(mem_of(c), s);
}

static void stream_drop_by_id(svc_conn *c, uint32_t id)
{
    svc_stream *prev = NULL;
    for (svc_stream *s = c->active; s != NULL; prev = s, s = s->next) {
        if (s->id == id) {
            stream_drop(c, s, prev);
            return;
        }
    }
}

void svc_conn_drop_held(svc_conn *c, int reason)
{
    list_fail(c, &c->deferred, H2_ECLOSED, reason);
    list_fail(c, &c->opening, H2_ECLOSED, reason);
    while (c->active != NULL) {
        svc_stream *s = c->active;
        list_fail(c, &s->fifo, H2_ECLOSED, reason);
        stream_drop(c, s, NULL);
    }
    list_fail(c, &c->feed, H2_ECLOSED, reason);
}

/* ---- carrying out commands ---- */

/*
 * Opens a new stream with HEADERS |cmd|. Returns 0 when it was carried out
 * or answered, H2_ENOBUFS (output over its high-water mark) or
 * H2_ETOO_MANY_STREAMS (no slot): the caller keeps it.
 */
static int open_stream(svc_conn *c, svc_cmd *cmd)
{
    int64_t id = h2_conn_next_stream_id(c->conn);
    if (id < 0) {
        svc_cmd_fail(c->worker, c, cmd, (int)id, 0);
        return 0;
    }
    int rv =
        h2_conn_send_headers(c->conn, (uint32_t)id, cmd->fields, cmd->n_fields, cmd->flags, NULL);
    if (rv == H2_ENOBUFS || rv == H2_ETOO_MANY_STREAMS)
        return rv;
    if (rv != 0) {
        svc_cmd_fail(c->worker, c, cmd, rv, 0);
        return 0;
    }
    /* The command block becomes the STREAM_OPENED event. */
    cmd->ev.pub.type = H2_SVC_EV_STREAM_OPENED;
    cmd->ev.pub.stream_id = (uint32_t)id;
    cmd->ev.pub.user = cmd->user;
    svc_conn_emit(c, &cmd->ev);
    return 0;
}

/*
 * Carries out |cmd|. Returns false when it must wait for output room (over
 * the high-water mark): the caller keeps it. A new stream without a slot
 * joins the opening FIFO, as does every new stream while that is not empty.
 */
static bool execute(svc_conn *c, svc_cmd *cmd)
{
    svc_worker *w = c->worker;
    int rv = 0;
    switch (cmd->kind) {
    case H2_SVC_CMD_HEADERS:
        if (cmd->stream_id == 0) {
            rv = c->opening.head != NULL ? H2_ETOO_MANY_STREAMS : open_stream(c, cmd);
            if (rv == H2_ETOO_MANY_STREAMS)
                list_push(&c->opening, cmd);
            return rv != H2_ENOBUFS;
        }
        if (stream_find(c, cmd->stream_id) != NULL) {
            list_push(&stream_find(c, cmd->stream_id)->fifo, cmd);
            return true;
        }
        rv = h2_conn_send_headers(c->conn, cmd->stream_id, cmd->fields, cmd->n_fields, cmd->flags,
                                  NULL);
        break;
    case H2_SVC_CMD_DATA:
    case H2_SVC_CMD_END_STREAM: {
        svc_stream *s = stream_make(c, cmd->stream_id);
        if (s == NULL) {
            svc_cmd_fail(w, c, cmd, H2_ENOMEM, 0);
            return true;
        }
        list_push(&s->fifo, cmd);
        return true;
    }
    case H2_SVC_CMD_RESET: {
        svc_stream *s = stream_find(c, cmd->stream_id);
        if (s != NULL) {
            list_fail(c, &s->fifo, H2_ESTREAM_CLOSED, 0);
            stream_drop_by_id(c, cmd->stream_id);
        }
        rv = h2_conn_reset_stream(c->conn, cmd->stream_id, cmd->error_code);
        break;
    }
    case H2_SVC_CMD_PING:
        rv = h2_conn_ping(c->conn, cmd->ping);
        break;
    case H2_SVC_CMD_SETTINGS:
        rv =
            h2_conn_update_settings(c->conn, (const h2_setting *)(const void *)cmd->data, cmd->len);
        break;
    case H2_SVC_CMD_PRIORITY:
        rv = h2_conn_prioritize(c->conn, cmd->stream_id, cmd->has_prio ? &cmd->prio : NULL);
        break;
    case H2_SVC_CMD_PRIORITY_UPDATE:
        rv = h2_conn_send_priority_update(c->conn, cmd->stream_id, cmd->data, cmd->len);
        break;
    case H2_SVC_CMD_PUSH: {
        int64_t id = h2_conn_next_stream_id(c->conn);
        rv = id < 0 ? (int)id
                    : h2_conn_push_stream(c->conn, cmd->stream_id, (uint32_t)id, cmd->fields,
                                          cmd->n_fields);
        if (rv == 0) {
            /* The command block becomes the PUSH_PROMISED event. */
            cmd->ev.pub.type = H2_SVC_EV_PUSH_PROMISED;
            cmd->ev.pub.stream_id = (uint32_t)id;
            cmd->ev.pub.parent_stream_id = cmd->stream_id;
            cmd->ev.pub.user = cmd->user;
            svc_conn_emit(c, &cmd->ev);
            return true;
        }
        break;
    }
    case H2_SVC_CMD_CLOSE:
        c->closing = true;
        rv = h2_conn_close(c->conn, cmd->error_code, NULL, 0, -1);
        break;
    default:
        rv = H2_EINVAL;
        break;
    }
    if (rv == H2_ENOBUFS)
        return false;
    if (rv != 0)
        svc_cmd_fail(w, c, cmd, rv, 0);
    else
        svc_cmd_done(mem_of(c), cmd);
    return true;
}

void svc_conn_command(svc_conn *c, svc_cmd *cmd)
{
    if (c->deferred.head != NULL || !execute(c, cmd))
        list_push(&c->deferred, cmd);
    svc_conn_touch(c);
}

/*
 * One step of stream |s|: sends at most one frame. Returns 1 when it moved
 * something, 0 when the windows are closed, -1 when the output is full.
 */
static int stream_step(svc_conn *c, svc_stream *s)
{
    svc_cmd *cmd = s->fifo.head;
    int rv;
    if (cmd->kind == H2_SVC_CMD_DATA && cmd->off < cmd->len) {
        int32_t window = 0;
        rv = h2_conn_send_window(c->conn, s->id, &window);
        if (rv == 0 && window <= 0)
            return 0;
        if (rv == 0) {
            size_t chunk = cmd->len - cmd->off;
            if (chunk > (size_t)window)
                chunk = (size_t)window;
            uint32_t max = h2_conn_max_outbound_frame_size(c->conn);
            if (chunk > max)
                chunk = max;
            uint32_t flags = 0;
            if (cmd->off + chunk == cmd->len)
                flags = cmd->flags;
            rv = h2_conn_send_data(c->conn, s->id, cmd->data + cmd->off, chunk, flags, -1);
            if (rv == H2_ENOBUFS)
                return -1;
            if (rv == 0) {
                cmd->off += chunk;
                c->flow_sent += chunk;
                if (cmd->off == cmd->len)
                    svc_cmd_done(mem_of(c), list_pop(&s->fifo));
                return 1;
            }
        }
    } else if (cmd->kind == H2_SVC_CMD_HEADERS) {
        rv = h2_conn_send_headers(c->conn, s->id, cmd->fields, cmd->n_fields, cmd->flags, NULL);
    } else if ((cmd->flags & H2_SEND_END_STREAM) != 0) {
        rv = h2_conn_end_stream(c->conn, s->id);
    } else {
        rv = 0; /* empty DATA without END_STREAM: nothing to send */
    }
    if (rv == H2_ENOBUFS)
        return -1;
    if (rv == 0) {
        svc_cmd_done(mem_of(c), list_pop(&s->fifo));
        return 1;
    }
    /* The stream cannot send any more (closed, reset ...): fail what it holds. */
    list_fail(c, &s->fifo, rv, 0);
    return 1;
}

static void list_unpop(svc_cmd_list *l, svc_cmd *cmd)
{
    cmd->next = l->head;
    l->head = cmd;
    if (l->tail == NULL)
        l->tail = cmd;
}

/* Opens the waiting new streams that slots and output room allow, in order. */
static bool pump_opening(svc_conn *c)
{
    bool moved = false;
    while (c->opening.head != NULL && c->reason == 0) {
        svc_cmd *cmd = list_pop(&c->opening);
        int rv = open_stream(c, cmd);
        if (rv != 0) {
            if (rv == H2_ENOBUFS)
                c->output_full = c->output_full || h2_conn_output_pending(c->conn) > 0;
            list_unpop(&c->opening, cmd);
            break;
        }
        moved = true;
    }
    return moved;
}

bool svc_conn_pump(svc_conn *c)
{
    bool moved = false;
    c->output_full = false;
    while (c->deferred.head != NULL && c->reason == 0) {
        svc_cmd *cmd = list_pop(&c->deferred);
        if (!execute(c, cmd)) {
            c->output_full = c->output_full || h2_conn_output_pending(c->conn) > 0;
            list_unpop(&c->deferred, cmd);
            break;
        }
        moved = true;
    }
    if (pump_opening(c))
        moved = true;
    for (;;) {
        bool round = false;
        svc_stream *prev = NULL;
        svc_stream *s = c->active;
        while (s != NULL && c->reason == 0) {
            int r = stream_step(c, s);
            if (r < 0) {
                c->output_full = true;
                return moved;
            }
            if (r > 0)
                round = moved = true;
            svc_stream *next = s->next;
            if (s->fifo.head == NULL)
                stream_drop(c, s, prev);
            else
                prev = s;
            s = next;
        }
        if (!round)
            return moved;
    }
}
