/*
 * Service worker: stream handles. A stream opened with h2_svc_open_stream()
 * has a handle from the moment it was posted, while its id is chosen by
 * the worker when the HEADERS goes out (which, without a free slot, may be
 * much later). Each connection keeps a record per handle, found by handle
 * and, once the stream opened, by id:
 *
 *   - while the stream waits for a slot, commands addressed to its handle
 *     wait in the record's FIFO, in the order they came; when it opens
 *     they are carried out in that order, translated to the id;
 *   - after it opened, a command addressed to the handle is translated to
 *     the id and carried out as if posted with it;
 *   - a reset addressed to a waiting stream cancels it: the HEADERS is
 *     taken out of the connection's opening FIFO and never goes out;
 *   - the record is freed when the stream closes (the core says
 *     H2_STATE_CLOSED), when its open failed, or when the connection ends.
 *
 * Closing is noticed without a hook in every place that can close a
 * stream: after every event of a stream with a handle and every reset the
 * core is asked for the stream's state. A closed stream's record goes at
 * once (before the event is delivered); one that the peer half-closed
 * goes on a check list, which the end of each pump walks, until our side
 * ends it too (that END_STREAM is always followed by a pump).
 */
#include "service/svc_handles.h"

#include "core/mem.h"
#include "h2/conn_introspect.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_map.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

typedef struct svc_handle {
    uint32_t handle;
    uint32_t id;       /* 0 while the stream waits for a slot */
    svc_cmd_list held; /* commands waiting for the stream to open */
    bool on_check;     /* in the check list */
    struct svc_handle *check_next;
    struct svc_handle *check_prev;
} svc_handle;

typedef struct svc_handles {
    svc_map by_handle; /* handle -> svc_handle */
    svc_map by_id;     /* stream id -> svc_handle, once opened */
    svc_handle *check; /* records to look at in the next sweep */
} svc_handles;

static const h2_mem *mem_of(svc_conn *c)
{
    return &c->worker->svc->mem;
}

static svc_handle *find(svc_conn *c, uint32_t handle)
{
    if (c->handles == NULL || handle == 0)
        return NULL;
    return svc_map_get(&c->handles->by_handle, handle);
}

static void fail_all(svc_conn *c, svc_cmd_list *l, int error, int reason)
{
    svc_cmd *cmd;
    while ((cmd = svc_cmds_pop(l)) != NULL)
        svc_cmd_fail(c->worker, c, cmd, error, reason);
}

static void check_unlink(svc_handles *hs, svc_handle *r)
{
    if (!r->on_check)
        return;
    if (r->check_prev != NULL)
        r->check_prev->check_next = r->check_next;
    else
        hs->check = r->check_next;
    if (r->check_next != NULL)
        r->check_next->check_prev = r->check_prev;
    r->check_next = r->check_prev = NULL;
    r->on_check = false;
}

/* Forgets |r|, failing what still waits behind it with H2_ESTREAM_CLOSED. */
static void drop(svc_conn *c, svc_handle *r)
{
    svc_handles *hs = c->handles;
    fail_all(c, &r->held, H2_ESTREAM_CLOSED, 0);
    check_unlink(hs, r);
    svc_map_remove(&hs->by_handle, r->handle);
    if (r->id != 0 && svc_map_get(&hs->by_id, r->id) == r)
        svc_map_remove(&hs->by_id, r->id);
    h2_mem_free(mem_of(c), r);
}

bool svc_handle_begin(svc_conn *c, svc_cmd *cmd)
{
    if (find(c, cmd->handle) != NULL)
        return true; /* tried before and put back for output room */
    const h2_mem *mem = mem_of(c);
    if (c->handles == NULL) {
        c->handles = h2_mem_calloc(mem, 1, sizeof(*c->handles));
        if (c->handles == NULL) {
            svc_cmd_fail(c->worker, c, cmd, H2_ENOMEM, 0);
            return false;
        }
        svc_map_init(&c->handles->by_handle, mem);
        svc_map_init(&c->handles->by_id, mem);
    }
    svc_handle *r = h2_mem_calloc(mem, 1, sizeof(*r));
    if (r == NULL || svc_map_put(&c->handles->by_handle, cmd->handle, r) != 0) {
        h2_mem_free(mem, r);
        svc_cmd_fail(c->worker, c, cmd, H2_ENOMEM, 0);
        return false;
    }
    r->handle = cmd->handle;
    return true;
}

void svc_handle_opened(svc_conn *c, uint32_t handle, uint32_t id)
{
    svc_handle *r = find(c, handle);
    if (r == NULL)
        return;
    r->id = id;
    /* Without the id entry the record is only freed by a reset through the
     * handle or the connection's end: a leak bounded by the connection. */
    (void)svc_map_put(&c->handles->by_id, id, r);
    /* What waited was posted before anything now in the deferred FIFO:
     * carried out now, or put in front of it when output room ran out. */
    svc_cmd_list rest = {NULL, NULL};
    svc_cmd *cmd;
    while ((cmd = svc_cmds_pop(&r->held)) != NULL) {
        cmd->stream_id = id;
        if (rest.head == NULL && svc_conn_execute(c, cmd))
            continue;
        svc_cmds_push(&rest, cmd);
    }
    if (rest.head != NULL) {
        c->output_full = c->output_full || h2_conn_output_pending(c->conn) > 0;
        svc_cmds_append(&rest, &c->deferred);
        c->deferred = rest;
    }
}

void svc_handle_abandon(svc_conn *c, uint32_t handle)
{
    svc_handle *r = find(c, handle);
    if (r != NULL)
        drop(c, r);
}

/* Takes the HEADERS that opens |handle| out of |l|; NULL when not there. */
static svc_cmd *take_open(svc_cmd_list *l, uint32_t handle)
{
    svc_cmd *prev = NULL;
    for (svc_cmd *cmd = l->head; cmd != NULL; prev = cmd, cmd = cmd->next) {
        if (cmd->kind == H2_SVC_CMD_HEADERS && cmd->stream_id == 0 && cmd->handle == handle) {
            svc_cmds_unlink(l, cmd, prev);
            return cmd;
        }
    }
    return NULL;
}

/* A reset of a stream that still waits for a slot: it never opens. */
static void cancel(svc_conn *c, svc_handle *r)
{
    svc_cmd *open = take_open(&c->opening, r->handle);
    if (open == NULL)
        open = take_open(&c->deferred, r->handle);
    if (open != NULL)
        svc_cmd_fail(c->worker, c, open, H2_ESTREAM_CLOSED, 0);
    drop(c, r);
}

bool svc_handle_route(svc_conn *c, svc_cmd *cmd)
{
    uint32_t handle = cmd->stream_id;
    svc_handle *r = find(c, handle);
    cmd->handle = handle;
    if (r == NULL) {
        svc_cmd_fail(c->worker, c, cmd, H2_ESTREAM_CLOSED, 0);
        return true;
    }
    if (r->id != 0) {
        cmd->stream_id = r->id;
        return false;
    }
    if (cmd->kind == H2_SVC_CMD_RESET) {
        cancel(c, r);
        svc_cmd_done(cmd);
        return true;
    }
    svc_cmds_push(&r->held, cmd);
    return true;
}

void svc_handles_check(svc_conn *c, uint32_t id)
{
    svc_handles *hs = c->handles;
    if (hs == NULL || id == 0 || svc_is_handle(id))
        return;
    svc_handle *r = svc_map_get(&hs->by_id, id);
    if (r == NULL)
        return;
    int st = h2_conn_stream_state(c->conn, id);
    if (st < 0 || st == H2_STATE_CLOSED) {
        drop(c, r);
        return;
    }
    if (st != H2_STATE_HALF_CLOSED_REMOTE || r->on_check)
        return;
    r->on_check = true;
    r->check_prev = NULL;
    r->check_next = hs->check;
    if (hs->check != NULL)
        hs->check->check_prev = r;
    hs->check = r;
}

void svc_handles_sweep(svc_conn *c)
{
    svc_handles *hs = c->handles;
    if (hs == NULL || c->conn == NULL)
        return;
    svc_handle *r = hs->check;
    while (r != NULL) {
        svc_handle *next = r->check_next;
        int st = h2_conn_stream_state(c->conn, r->id);
        if (st < 0 || st == H2_STATE_CLOSED)
            drop(c, r);
        else if (st != H2_STATE_HALF_CLOSED_REMOTE)
            check_unlink(hs, r);
        r = next;
    }
}

void svc_handles_free(svc_conn *c, int reason)
{
    svc_handles *hs = c->handles;
    if (hs == NULL)
        return;
    const h2_mem *mem = mem_of(c);
    for (size_t i = 0; i < hs->by_handle.cap; i++) {
        if (hs->by_handle.slots[i].key == 0)
            continue;
        svc_handle *r = hs->by_handle.slots[i].value;
        fail_all(c, &r->held, H2_ECLOSED, reason);
        h2_mem_free(mem, r);
    }
    svc_map_free(&hs->by_handle);
    svc_map_free(&hs->by_id);
    h2_mem_free(mem, hs);
    c->handles = NULL;
}
