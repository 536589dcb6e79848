/*
 * Service: posting. The calls that application threads use to send
 * commands to a connection's worker each build one command record (with
 * its payload copied into the same block, or referenced) and post it to
 * the worker's ring, counted in the connection's live-id entry so that its
 * CLOSED waits for the post.
 */
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_dedicated.h"
#include "service/svc_handles.h"
#include "service/svc_hold.h"
#include "service/svc_live.h"
#include "service/svc_post.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

/* Validates the common arguments and returns the connection's worker. */
svc_worker *svc_target(h2_svc *svc, h2_svc_conn_id conn)
{
    if (svc == NULL)
        return NULL;
    return svc_worker_of(svc, conn);
}

/* A zeroed command with |extra| bytes after it (16-byte aligned) in |*tail|. */
svc_cmd *svc_cmd_new(h2_svc *svc, int kind, h2_svc_conn_id conn, size_t extra, uint8_t **tail)
{
    /* A shared worker's command comes from its pool: from its own lists
     * on its thread (event callbacks), else from the ring it fills. */
    svc_worker *w =
        kind == H2_SVC_CMD_ATTACH || kind == SVC_CMD_LISTEN ? NULL : svc_worker_of(svc, conn);
    svc_event_rec *rec;
    if (w == NULL || w->slot != NULL)
        rec = svc_rec_alloc(&svc->mem, sizeof(svc_cmd), extra, tail);
    else if (svc_on_own_worker(w))
        rec = svc_pool_alloc(&w->pool, sizeof(svc_cmd), extra, tail);
    else
        rec = svc_pool_alloc_shared(&w->pool, sizeof(svc_cmd), extra, tail);
    svc_cmd *cmd = (svc_cmd *)(void *)rec;
    if (cmd == NULL)
        return NULL;
    cmd->kind = kind;
    cmd->conn = conn;
    return cmd;
}

int svc_post_ring(h2_svc *svc, h2_mailbox *mb, void *ptr)
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
            rv =
                w->slot != NULL ? svc_dedicated_post(svc, w, cmd, 0) : h2_mailbox_post(&w->mb, cmd);
    } else if (e != NULL) {
        atomic_fetch_add_explicit(&e->posters, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&e->key, memory_order_seq_cst) == key) {
            int wait = svc_on_any_worker_thread() ? 0 : svc->post_wait_ms;
            if (w->slot != NULL) {
                rv = svc_dedicated_post(svc, w, cmd, wait);
            } else if (!svc_batch_holds(svc) || svc_on_any_worker_thread()) {
                rv = svc_post_ring(svc, &w->mb, cmd);
            } else if ((rv = h2_mailbox_post_quiet(&w->mb, cmd)) == 0) {
                svc_batch_mark(w->index); /* woken at the batch's end */
            } else {
                /* The ring is full: its worker must run now (it may sleep
                 * on the batch's posts). */
                h2_mailbox_notify(&w->mb);
                rv = svc_post_ring(svc, &w->mb, cmd);
            }
        }
        atomic_fetch_sub_explicit(&e->posters, 1, memory_order_seq_cst);
        /* Ended meanwhile: its worker may be waiting for this post. */
        if (atomic_load_explicit(&e->key, memory_order_seq_cst) != key)
            h2_mailbox_notify(&w->mb);
    }
    if (rv != 0)
        svc_cmd_free(cmd);
    return rv;
}

void svc_cmd_free(svc_cmd *cmd)
{
    svc_hold_release(cmd);
    svc_rec_free(&cmd->ev);
}

int svc_post_simple(h2_svc *svc, h2_svc_conn_id conn, int kind, uint32_t stream_id,
                    uint32_t error_code, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, kind, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->stream_id = stream_id;
    cmd->error_code = error_code;
    cmd->user = user;
    if (kind == H2_SVC_CMD_END_STREAM)
        cmd->flags = H2_SEND_END_STREAM;
    return svc_post(svc, w, cmd);
}

int h2_svc_feed(h2_svc *svc, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (data == NULL && len > 0))
        return H2_EINVAL;
    svc_hold h = {NULL, NULL};
    if (!svc_hold_take(svc, w, conn, SVC_HOLD_FEED, len, &h))
        return H2_EAGAIN;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_FEED, conn, len, &tail);
    if (cmd == NULL) {
        svc_hold_undo(&h, len);
        return H2_ENOMEM;
    }
    if (len > 0)
        memcpy(tail, data, len);
    cmd->data = tail;
    cmd->len = len;
    svc_hold_attach(cmd, &h);
    return svc_post(svc, w, cmd); /* a failed post gives the hold back */
}

svc_cmd *svc_cmd_new_fields(h2_svc *svc, int kind, h2_svc_conn_id conn, const h2_header *fields,
                            size_t n, size_t more, uint8_t **more_at, int *rv)
{
    *rv = H2_EINVAL;
    if ((fields == NULL && n > 0) || n > SIZE_MAX / sizeof(h2_header))
        return NULL;
    size_t extra = n * sizeof(h2_header);
    if (more > SIZE_MAX - extra)
        return NULL;
    extra += more;
    for (size_t i = 0; i < n; i++) {
        if ((fields[i].name == NULL && fields[i].name_len > 0) ||
            (fields[i].value == NULL && fields[i].value_len > 0))
            return NULL;
        size_t add = fields[i].name_len + fields[i].value_len;
        if (add < fields[i].name_len || extra > SIZE_MAX - add)
            return NULL;
        extra += add;
    }
    *rv = H2_ENOMEM;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, kind, conn, extra, &tail);
    if (cmd == NULL)
        return NULL;
    h2_header *copy = (h2_header *)(void *)tail;
    uint8_t *bytes = tail + n * sizeof(h2_header);
    for (size_t i = 0; i < n; i++) {
        copy[i] = fields[i];
        if (fields[i].name_len > 0)
            memcpy(bytes, fields[i].name, fields[i].name_len);
        copy[i].name = bytes;
        bytes += fields[i].name_len;
        if (fields[i].value_len > 0)
            memcpy(bytes, fields[i].value, fields[i].value_len);
        copy[i].value = bytes;
        bytes += fields[i].value_len;
    }
    cmd->fields = n > 0 ? copy : NULL;
    cmd->n_fields = n;
    if (more_at != NULL)
        *more_at = bytes;
    *rv = 0;
    return cmd;
}

int svc_post_headers(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const h2_header *fields,
                     size_t n, uint32_t flags, const h2_priority_args *prio, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (flags & ~(uint32_t)H2_SEND_END_STREAM) != 0 ||
        (stream_id != 0 && !svc_stream_ref_ok(stream_id)))
        return H2_EINVAL;
    if (prio != NULL && (prio->weight > 256 || prio->depends_on > H2_MAX_STREAM_ID))
        return H2_EINVAL;
    int rv;
    svc_cmd *cmd = svc_cmd_new_fields(svc, H2_SVC_CMD_HEADERS, conn, fields, n, 0, NULL, &rv);
    if (cmd == NULL)
        return rv;
    cmd->stream_id = stream_id;
    cmd->flags = flags;
    cmd->user = user;
    if (prio != NULL) {
        cmd->prio = *prio;
        cmd->has_prio = true;
    }
    return svc_post(svc, w, cmd);
}

int h2_svc_submit_headers(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                          const h2_header *fields, size_t n, uint32_t flags, uint64_t user)
{
    return svc_post_headers(svc, conn, stream_id, fields, n, flags, NULL, user);
}

int h2_svc_push(h2_svc *svc, h2_svc_conn_id conn, uint32_t parent_id, const h2_header *fields,
                size_t n, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || parent_id == 0 || parent_id > H2_MAX_STREAM_ID)
        return H2_EINVAL;
    int rv;
    svc_cmd *cmd = svc_cmd_new_fields(svc, H2_SVC_CMD_PUSH, conn, fields, n, 0, NULL, &rv);
    if (cmd == NULL)
        return rv;
    cmd->stream_id = parent_id;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int h2_svc_update_settings(h2_svc *svc, h2_svc_conn_id conn, const h2_setting *entries, size_t n,
                           uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (entries == NULL && n > 0) || n > 64)
        return H2_EINVAL;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_SETTINGS, conn, n * sizeof(h2_setting), &tail);
    if (cmd == NULL)
        return H2_ENOMEM;
    if (n > 0)
        memcpy(tail, entries, n * sizeof(h2_setting));
    cmd->data = tail;
    cmd->len = n;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int h2_svc_prioritize(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                      const h2_priority_args *prio, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || !svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_PRIORITY, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    if (prio != NULL) {
        cmd->prio = *prio;
        cmd->has_prio = true;
    }
    cmd->stream_id = stream_id;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int h2_svc_priority_update(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                           const uint8_t *value, size_t len, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (value == NULL && len > 0) || !svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_PRIORITY_UPDATE, conn, len, &tail);
    if (cmd == NULL)
        return H2_ENOMEM;
    if (len > 0)
        memcpy(tail, value, len);
    cmd->data = tail;
    cmd->len = len;
    cmd->stream_id = stream_id;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int svc_post_data(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const uint8_t *data,
                  size_t len, uint32_t flags, int pad_len, uint64_t user, h2_svc_release_fn release,
                  void *release_user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (data == NULL && len > 0) || !svc_stream_ref_ok(stream_id) ||
        (flags & ~(uint32_t)H2_SEND_END_STREAM) != 0)
        return H2_EINVAL;
    /* Copies count against the connection's and the worker's send hold
     * limits until sent. */
    bool copy = release == NULL && len > 0;
    svc_hold h = {NULL, NULL};
    if (copy && !svc_hold_take(svc, w, conn, SVC_HOLD_SEND, len, &h))
        return H2_EAGAIN;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_DATA, conn, release != NULL ? 0 : len, &tail);
    if (cmd == NULL) {
        if (copy)
            svc_hold_undo(&h, len);
        return H2_ENOMEM;
    }
    if (release != NULL) {
        cmd->data = data;
        cmd->release = release;
        cmd->release_user = release_user;
    } else {
        if (len > 0)
            memcpy(tail, data, len);
        cmd->data = tail;
    }
    cmd->len = len;
    cmd->stream_id = stream_id;
    cmd->flags = flags;
    cmd->user = user;
    if (pad_len >= 0) {
        cmd->padded = true;
        cmd->pad_len = (uint8_t)pad_len;
    }
    if (copy)
        svc_hold_attach(cmd, &h);
    return svc_post(svc, w, cmd); /* a failed post gives the hold back */
}

int h2_svc_send_data(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const uint8_t *data,
                     size_t len, uint32_t flags, uint64_t user)
{
    return svc_post_data(svc, conn, stream_id, data, len, flags, -1, user, NULL, NULL);
}

int h2_svc_respond(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const h2_header *fields,
                   size_t n, const uint8_t *body, size_t len, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (body == NULL && len > 0) || !svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    /* The body counts against the send hold limits until sent, as a copy
     * of h2_svc_send_data() does. */
    svc_hold h = {NULL, NULL};
    if (len > 0 && !svc_hold_take(svc, w, conn, SVC_HOLD_SEND, len, &h))
        return H2_EAGAIN;
    int rv;
    uint8_t *at = NULL;
    svc_cmd *cmd = svc_cmd_new_fields(svc, H2_SVC_CMD_RESPOND, conn, fields, n, len, &at, &rv);
    if (cmd == NULL) {
        if (len > 0)
            svc_hold_undo(&h, len);
        return rv;
    }
    if (len > 0)
        memcpy(at, body, len);
    cmd->data = at;
    cmd->len = len;
    cmd->stream_id = stream_id;
    cmd->flags = H2_SEND_END_STREAM;
    cmd->user = user;
    if (len > 0)
        svc_hold_attach(cmd, &h);
    return svc_post(svc, w, cmd);
}

int h2_svc_send_data_ref(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const uint8_t *data,
                         size_t len, uint32_t flags, uint64_t user, h2_svc_release_fn release,
                         void *release_user)
{
    if (release == NULL)
        return H2_EINVAL;
    return svc_post_data(svc, conn, stream_id, data, len, flags, -1, user, release, release_user);
}

int h2_svc_end_stream(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, uint64_t user)
{
    if (!svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    return svc_post_simple(svc, conn, H2_SVC_CMD_END_STREAM, stream_id, 0, user);
}

int h2_svc_reset_stream(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, uint32_t error_code,
                        uint64_t user)
{
    if (!svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    return svc_post_simple(svc, conn, H2_SVC_CMD_RESET, stream_id, error_code, user);
}

int h2_svc_ping(h2_svc *svc, h2_svc_conn_id conn, const uint8_t opaque[8], uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || opaque == NULL)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_PING, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    memcpy(cmd->ping, opaque, 8);
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int h2_svc_close(h2_svc *svc, h2_svc_conn_id conn, uint32_t error_code, uint64_t user)
{
    return svc_post_simple(svc, conn, H2_SVC_CMD_CLOSE, 0, error_code, user);
}

int h2_svc_abort(h2_svc *svc, h2_svc_conn_id conn, uint64_t user)
{
    return svc_post_simple(svc, conn, H2_SVC_CMD_ABORT, 0, 0, user);
}

int h2_svc_query_stats(h2_svc *svc, h2_svc_conn_id conn, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL)
        return H2_EINVAL;
    /* Room for the core's counters, which the answer carries. */
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_STATS, conn, sizeof(h2_conn_stats), &tail);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->data = tail;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int h2_svc_ack_data(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, size_t n)
{
    if (!svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_ACK_DATA, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->stream_id = stream_id;
    cmd->len = n;
    return svc_post(svc, w, cmd);
}

int h2_svc_set_priority(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const h2_priority *p,
                        uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || p == NULL || p->urgency > H2_PRIORITY_MAX_URGENCY ||
        !svc_stream_ref_ok(stream_id))
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_SET_PRIORITY, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->sched_prio = *p;
    cmd->stream_id = stream_id;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

/* ---- stream handles (svc_handles.c carries them out) ---- */

/* The next handle of the connection whose live-id entry is |e|. */
static uint32_t next_handle(svc_live *e)
{
    uint32_t seq;
    do {
        seq = (uint32_t)atomic_fetch_add_explicit(&e->handles, 1, memory_order_relaxed) + 1u;
        seq &= ~H2_SVC_STREAM_HANDLE;
    } while (seq == 0);
    return H2_SVC_STREAM_HANDLE | seq;
}

int h2_svc_open_stream(h2_svc *svc, h2_svc_conn_id conn, const h2_header *fields, size_t n,
                       uint32_t flags, uint64_t user, uint32_t *handle)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || handle == NULL || (flags & ~(uint32_t)H2_SEND_END_STREAM) != 0)
        return H2_EINVAL;
    svc_live *e = svc_live_of(svc, conn);
    if (e == NULL)
        return H2_ENOCONN;
    int rv;
    svc_cmd *cmd = svc_cmd_new_fields(svc, H2_SVC_CMD_HEADERS, conn, fields, n, 0, NULL, &rv);
    if (cmd == NULL)
        return rv;
    cmd->flags = flags;
    cmd->user = user;
    cmd->handle = next_handle(e);
    uint32_t h = cmd->handle; /* |cmd| belongs to the worker once posted */
    rv = svc_post(svc, w, cmd);
    if (rv == 0)
        *handle = h;
    return rv;
}
