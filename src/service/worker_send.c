/*
 * Service worker: held sends. Sends that the flow-control windows, the
 * output limit or the peer's stream limit do not allow yet wait here, and
 * the pump sends them as room comes back.
 *
 * Order: commands that wait for output room sit in the connection's
 * deferred FIFO (worker_dispatch.c queues them), and while it is not empty
 * every later command queues behind them (room comes back as the transport
 * drains, whatever the peer's streams do). A new stream (HEADERS with id 0) that waits for a
 * concurrency slot sits in the opening FIFO instead, where later new
 * streams queue behind it so that ids go out in the order posted; it holds
 * back nothing else: commands for existing streams and for the connection
 * go on, and one of those is what ends a stream and frees the slot. DATA,
 * END_STREAM and trailers of a stream sit in the stream's FIFO; streams
 * with held sends go in RFC 9218 priority order (sched.h, svc_prio.h), one
 * frame per turn.
 */
#include <stddef.h>
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_handles.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

static const h2_mem *mem_of(svc_conn *c)
{
    return &c->worker->svc->mem;
}

/*
 * Frames of fewer payload bytes are copied into the core's buffer: a copy
 * of a few KiB costs less than the extra writev segment (and the shorter
 * writes) of a reference.
 */
#define DATA_REF_MIN 4096u

/*
 * DATA payloads of DATA_REF_MIN bytes or more go to the core by reference (h2_conn_send_data_ref),
 * so the bytes are copied only by the kernel: each frame's release callback counts down the
 * command's out_refs. A command is answered (release callback, COMMAND_FAILED) only once the output
 * no longer points into it; until then the answer waits in out_finish.
 */
static void frame_released(void *user, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    svc_cmd *cmd = user;
    if (--cmd->out_refs == 0 && cmd->out_finish != SVC_OUT_NONE)
        svc_cmds_push(&cmd->out_conn->released, cmd);
}

/* Answers |cmd| (error 0: done), or marks it to be answered once its frames left. */
static void cmd_finish(svc_conn *c, svc_cmd *cmd, int error, int reason)
{
    if (cmd->out_refs > 0) {
        cmd->out_finish = error == 0 ? SVC_OUT_DONE : SVC_OUT_FAIL;
        cmd->out_error = error;
        cmd->out_reason = reason;
        return;
    }
    if (error == 0)
        svc_cmd_done(cmd);
    else
        svc_cmd_fail(c->worker, c, cmd, error, reason);
}

void svc_conn_settle_output(svc_conn *c)
{
    svc_cmd *cmd;
    while ((cmd = svc_cmds_pop(&c->released)) != NULL) {
        if (cmd->out_finish == SVC_OUT_FAIL)
            svc_cmd_fail(c->worker, c, cmd, cmd->out_error, cmd->out_reason);
        else if (c->conn == NULL)
            /* The connection ended with these frames unwritten. */
            svc_cmd_fail(c->worker, c, cmd, H2_ECLOSED, c->reason);
        else
            svc_cmd_done(cmd);
    }
}

static void list_fail(svc_conn *c, svc_cmd_list *l, int error, int reason)
{
    svc_cmd *cmd;
    while ((cmd = svc_cmds_pop(l)) != NULL)
        cmd_finish(c, cmd, error, reason);
}

/*
 * Queues one DATA frame of |cmd| on stream |id|, as large as the windows,
 * the frame size and the rest of the payload allow. Returns 1 when a frame
 * was queued (cmd->off moved on), 0 when the windows are shut, H2_ENOBUFS
 * when the output is full, or the core's refusal (the stream cannot send).
 */
static int data_frame(svc_conn *c, uint32_t id, svc_cmd *cmd)
{
    int32_t window = 0;
    /* Padding (h2_svc_send_data_padded()) takes pad_len + 1 bytes of the
     * windows and of the frame besides the data. */
    size_t over = cmd->padded ? (size_t)cmd->pad_len + 1u : 0;
    int rv = h2_conn_send_window(c->conn, id, &window);
    if (rv != 0)
        return rv;
    if (window <= (int32_t)over)
        return 0;
    size_t chunk = cmd->len - cmd->off;
    if (chunk > (size_t)window - over)
        chunk = (size_t)window - over;
    size_t max = h2_conn_max_outbound_frame_size(c->conn) - over;
    if (chunk > max)
        chunk = max;
    uint32_t flags = cmd->off + chunk == cmd->len ? cmd->flags : 0;
    int pad = cmd->padded ? (int)cmd->pad_len : -1;
    if (chunk < DATA_REF_MIN) {
        rv = h2_conn_send_data(c->conn, id, cmd->data + cmd->off, chunk, flags, pad);
    } else {
        cmd->out_refs++;
        cmd->out_conn = c;
        rv = h2_conn_send_data_ref(c->conn, id, cmd->data + cmd->off, chunk, flags, pad,
                                   frame_released, cmd);
        if (rv != 0)
            cmd->out_refs--; /* nothing queued, no release */
    }
    if (rv != 0)
        return rv;
    cmd->off += chunk;
    c->flow_sent += chunk;
    return 1;
}

/* ---- streams with held sends ---- */

static svc_stream *stream_find(svc_conn *c, uint32_t id)
{
    return svc_map_get(&c->streams, id);
}

/* A zeroed stream record, from the worker's pool when it keeps one. */
static svc_stream *stream_alloc(svc_conn *c)
{
    svc_pool *p = &c->worker->pool;
    svc_stream *s = p->streams;
    if (s == NULL)
        return h2_mem_calloc(mem_of(c), 1, sizeof(*s));
    memcpy(&p->streams, s, sizeof(void *));
    p->n_streams--;
    memset(s, 0, sizeof(*s));
    return s;
}

static void stream_free(svc_conn *c, svc_stream *s)
{
    svc_pool *p = &c->worker->pool;
    if (!p->on || p->n_streams >= SVC_POOL_KEEP) {
        h2_mem_free(mem_of(c), s);
        return;
    }
    memcpy(s, &p->streams, sizeof(void *));
    p->streams = s;
    p->n_streams++;
}

static svc_stream *stream_make(svc_conn *c, uint32_t id)
{
    svc_stream *s = stream_find(c, id);
    if (s != NULL)
        return s;
    if (c->sched == NULL && (c->sched = h2_mem_calloc(mem_of(c), 1, sizeof(*c->sched))) == NULL)
        return NULL;
    s = stream_alloc(c);
    if (s == NULL)
        return NULL;
    s->id = id;
    if (svc_map_put(&c->streams, id, s) != 0) {
        stream_free(c, s);
        return NULL;
    }
    s->prev = c->active_tail;
    if (c->active_tail != NULL)
        c->active_tail->next = s;
    else
        c->active = s;
    c->active_tail = s;
    svc_prio_stream_new(c, s);
    return s;
}

/* Unlinks |s| from the active list and the scheduler and frees it. */
static void stream_drop(svc_conn *c, svc_stream *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->active = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    else
        c->active_tail = s->prev;
    svc_prio_stream_gone(c, s);
    svc_map_remove(&c->streams, s->id);
    stream_free(c, s);
}

static void stream_drop_by_id(svc_conn *c, uint32_t id)
{
    svc_stream *s = stream_find(c, id);
    if (s != NULL)
        stream_drop(c, s);
}

void svc_conn_drop_held(svc_conn *c, int reason)
{
    list_fail(c, &c->deferred, H2_ECLOSED, reason);
    list_fail(c, &c->opening, H2_ECLOSED, reason);
    svc_handles_free(c, reason);
    while (c->active != NULL) {
        svc_stream *s = c->active;
        list_fail(c, &s->fifo, H2_ECLOSED, reason);
        stream_drop(c, s);
    }
    list_fail(c, &c->feed, H2_ECLOSED, reason);
    svc_prio_free(c);
}

/* ---- carrying out commands ---- */

/*
 * Opens a new stream with HEADERS |cmd|. Returns 0 when it was carried out
 * or answered, H2_ENOBUFS (output over its high-water mark) or
 * H2_ETOO_MANY_STREAMS (no slot): the caller keeps it.
 */
static int open_stream(svc_conn *c, svc_cmd *cmd)
{
    uint32_t handle = cmd->handle; /* |cmd| is gone once answered */
    int64_t id = h2_conn_next_stream_id(c->conn);
    if (id < 0) {
        svc_cmd_fail(c->worker, c, cmd, (int)id, 0);
        svc_handle_abandon(c, handle);
        return 0;
    }
    int rv = h2_conn_send_headers(c->conn, (uint32_t)id, cmd->fields, cmd->n_fields, cmd->flags,
                                  cmd->has_prio ? &cmd->prio : NULL);
    if (rv == H2_ENOBUFS || rv == H2_ETOO_MANY_STREAMS)
        return rv;
    if (rv != 0) {
        svc_cmd_fail(c->worker, c, cmd, rv, 0);
        svc_handle_abandon(c, handle);
        return 0;
    }
    /* The command block becomes the STREAM_OPENED event. */
    cmd->ev.pub.type = H2_SVC_EV_STREAM_OPENED;
    cmd->ev.pub.stream_id = (uint32_t)id;
    cmd->ev.pub.user = cmd->user;
    cmd->ev.pub.stream_handle = handle;
    svc_conn_emit(c, &cmd->ev);
    if (handle != 0)
        svc_handle_opened(c, handle, (uint32_t)id);
    return 0;
}

bool svc_conn_open_stream(svc_conn *c, svc_cmd *cmd)
{
    if (cmd->handle != 0 && !svc_handle_begin(c, cmd))
        return true;
    int rv = c->opening.head != NULL ? H2_ETOO_MANY_STREAMS : open_stream(c, cmd);
    if (rv == H2_ETOO_MANY_STREAMS)
        svc_cmds_push(&c->opening, cmd);
    return rv != H2_ENOBUFS;
}

bool svc_conn_hold_behind(svc_conn *c, svc_cmd *cmd)
{
    svc_stream *s = stream_find(c, cmd->stream_id);
    if (s == NULL)
        return false;
    svc_cmds_push(&s->fifo, cmd);
    return true;
}

void svc_conn_hold_send(svc_conn *c, svc_cmd *cmd)
{
    /* No stream holds sends, so there is no order to keep: what the
     * windows and the output take goes now, and only the rest is held. */
    if (c->active == NULL && cmd->kind == H2_SVC_CMD_DATA && cmd->off < cmd->len) {
        int rv;
        while ((rv = data_frame(c, cmd->stream_id, cmd)) == 1 && cmd->off < cmd->len)
            ;
        if (rv == 1) {
            cmd_finish(c, cmd, 0, 0);
            return;
        }
        if (rv != 0 && rv != H2_ENOBUFS) {
            cmd_finish(c, cmd, rv, 0);
            return;
        }
    }
    svc_stream *s = stream_make(c, cmd->stream_id);
    if (s == NULL)
        cmd_finish(c, cmd, H2_ENOMEM, 0); /* frames already queued may point into it */
    else
        svc_cmds_push(&s->fifo, cmd);
}

void svc_conn_drop_stream(svc_conn *c, uint32_t stream_id)
{
    svc_stream *s = stream_find(c, stream_id);
    if (s != NULL) {
        list_fail(c, &s->fifo, H2_ESTREAM_CLOSED, 0);
        stream_drop_by_id(c, stream_id);
    }
}

/*
 * The HEADERS of RESPOND |cmd| (END_STREAM when it has no body); once they
 * went out the command carries on as the body's DATA. Returns 0 or the
 * core's refusal (H2_ENOBUFS: the output is full), with nothing sent.
 */
static int respond_headers(svc_conn *c, svc_cmd *cmd)
{
    int rv = h2_conn_send_headers(c->conn, cmd->stream_id, cmd->fields, cmd->n_fields,
                                  cmd->len == 0 ? H2_SEND_END_STREAM : 0, NULL);
    if (rv == 0) {
        cmd->kind = H2_SVC_CMD_DATA;
        cmd->fields = NULL;
        cmd->n_fields = 0;
    }
    return rv;
}

int svc_conn_respond(svc_conn *c, svc_cmd *cmd)
{
    int rv = respond_headers(c, cmd);
    if (rv != 0)
        return rv;
    if (cmd->len == 0)
        svc_cmd_done(cmd);
    else
        svc_conn_hold_send(c, cmd);
    return 0;
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
        rv = data_frame(c, s->id, cmd);
        if (rv == 0)
            return 0;
        if (rv == 1) {
            if (cmd->off == cmd->len)
                cmd_finish(c, svc_cmds_pop(&s->fifo), 0, 0);
            return 1;
        }
    } else if (cmd->kind == H2_SVC_CMD_RESPOND) {
        rv = respond_headers(c, cmd);
        if (rv == 0 && cmd->len > 0)
            return 1; /* now the body's DATA, at the head of the stream */
    } else if (cmd->kind == H2_SVC_CMD_HEADERS) {
        rv = h2_conn_send_headers(c->conn, s->id, cmd->fields, cmd->n_fields, cmd->flags,
                                  cmd->has_prio ? &cmd->prio : NULL);
    } else if ((cmd->flags & H2_SEND_END_STREAM) != 0) {
        rv = h2_conn_end_stream(c->conn, s->id);
    } else {
        rv = 0; /* empty DATA without END_STREAM: nothing to send */
    }
    if (rv == H2_ENOBUFS)
        return -1;
    if (rv == 0) {
        svc_cmd_done(svc_cmds_pop(&s->fifo));
        return 1;
    }
    /* The stream cannot send any more (closed, reset ...): fail what it holds. */
    list_fail(c, &s->fifo, rv, 0);
    return 1;
}

/* Opens the waiting new streams that slots and output room allow, in order. */
static bool pump_opening(svc_conn *c)
{
    bool moved = false;
    while (c->opening.head != NULL && c->reason == 0) {
        svc_cmd *cmd = svc_cmds_pop(&c->opening);
        int rv = open_stream(c, cmd);
        if (rv != 0) {
            if (rv == H2_ENOBUFS)
                c->output_full = c->output_full || h2_conn_output_pending(c->conn) > 0;
            svc_cmds_unpop(&c->opening, cmd);
            break;
        }
        moved = true;
    }
    return moved;
}

/*
 * Sends held stream commands, one frame per turn, in the scheduler's order
 * until the output is full or no stream can send. A stream that cannot
 * (its window, or the connection's, is shut) is blocked for the rest of
 * this pump: it is not asked again until a later pump (which every
 * WINDOW_UPDATE and SETTINGS received leads to) unblocks it.
 */
static bool pump_streams(svc_conn *c)
{
    bool moved = false;
    if (c->sched == NULL)
        return false; /* no stream ever held sends */
    svc_sched_unblock_all(c->sched);
    svc_sched_node *n;
    while (c->reason == 0 && (n = svc_sched_next(c->sched)) != NULL) {
        svc_stream *s = (svc_stream *)(void *)((char *)n - offsetof(svc_stream, node));
        int r = stream_step(c, s);
        if (r < 0) {
            c->output_full = true;
            return moved;
        }
        if (r == 0) {
            svc_sched_block(c->sched, n);
            continue;
        }
        moved = true;
        if (s->fifo.head == NULL)
            stream_drop(c, s);
        else
            svc_sched_served(c->sched, n);
    }
    return moved;
}

bool svc_conn_pump(svc_conn *c)
{
    bool moved = false;
    c->output_full = false;
    while (c->deferred.head != NULL && c->reason == 0) {
        svc_cmd *cmd = svc_cmds_pop(&c->deferred);
        if (!svc_conn_execute(c, cmd)) {
            c->output_full = c->output_full || h2_conn_output_pending(c->conn) > 0;
            svc_cmds_unpop(&c->deferred, cmd);
            break;
        }
        moved = true;
    }
    if (pump_opening(c))
        moved = true;
    moved = pump_streams(c) || moved;
    svc_handles_sweep(c);
    return moved;
}
