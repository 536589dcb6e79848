/*
 * Service: state queries. h2_svc_query_state() posts a command; the
 * connection's worker, which alone may read the core, copies windows,
 * settings, stream ids and the asked stream's state into one block with
 * the answer event (H2_SVC_EV_STATE), so the snapshot lives as long as the
 * event and its release frees both.
 */
#include <string.h>

#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_post.h"
#include "service/svc_query.h"
#include "service/svc_service.h"
#include "service/svc_retbox.h"
#include "service/svc_worker.h"

/* The settings the library knows, in increasing id order. */
static const uint16_t known_settings[] = {
    H2_SETTING_HEADER_TABLE_SIZE,       H2_SETTING_ENABLE_PUSH,
    H2_SETTING_MAX_CONCURRENT_STREAMS,  H2_SETTING_INITIAL_WINDOW_SIZE,
    H2_SETTING_MAX_FRAME_SIZE,          H2_SETTING_MAX_HEADER_LIST_SIZE,
    H2_SETTING_ENABLE_CONNECT_PROTOCOL, H2_SETTING_NO_RFC7540_PRIORITIES,
};
#define N_KNOWN (sizeof(known_settings) / sizeof(known_settings[0]))

int h2_svc_query_state(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || stream_id > H2_MAX_STREAM_ID)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_QUERY_STATE, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->stream_id = stream_id;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

/* One entry per known setting, from our side (|remote| false) or the peer's. */
static void copy_settings(const h2_conn *conn, bool remote, h2_setting *out)
{
    for (size_t i = 0; i < N_KNOWN; i++) {
        out[i].id = known_settings[i];
        out[i].value = h2_conn_setting(conn, remote, known_settings[i]);
    }
}

/* The asked stream's state, how it closed and its windows. */
static void stream_part(const h2_conn *conn, uint32_t id, h2_svc_conn_state *st)
{
    st->stream_id = id;
    st->stream_state = H2_STATE_IDLE;
    st->stream_closed_by = -1;
    st->stream_window_error = H2_EINVAL;
    if (id == 0)
        return;
    int state = h2_conn_stream_state(conn, id);
    if (state >= 0)
        st->stream_state = state;
    int by = h2_conn_stream_closed_by(conn, id);
    if (by >= 0)
        st->stream_closed_by = by;
    int32_t send = 0, recv = 0;
    int rv = h2_conn_send_window(conn, id, &send);
    if (rv == 0)
        rv = h2_conn_recv_window(conn, id, &recv);
    st->stream_window_error = rv;
    if (rv == 0) {
        st->stream_send_window = send;
        st->stream_recv_window = recv;
    }
}

/* Fills |st| (zeroed, |pending| room for |n_pending| entries) from the core. */
static void snapshot(const h2_conn *conn, uint32_t stream_id, h2_svc_conn_state *st,
                     h2_setting *local, h2_setting *remote, h2_setting *pending, size_t n_pending)
{
    st->size = sizeof(*st);
    (void)h2_conn_send_window(conn, 0, &st->send_window);
    (void)h2_conn_recv_window(conn, 0, &st->recv_window);
    stream_part(conn, stream_id, st);
    st->highest_inbound_stream_id = h2_conn_highest_inbound_stream_id(conn);
    st->highest_outbound_stream_id = h2_conn_highest_outbound_stream_id(conn);
    st->max_inbound_frame_size = h2_conn_max_inbound_frame_size(conn);
    st->max_outbound_frame_size = h2_conn_max_outbound_frame_size(conn);
    st->open_inbound_streams = h2_conn_open_inbound_streams(conn);
    st->open_outbound_streams = h2_conn_open_outbound_streams(conn);
    st->settings_unacked = h2_conn_settings_unacked(conn);
    copy_settings(conn, false, local);
    copy_settings(conn, true, remote);
    st->local = local;
    st->n_local = N_KNOWN;
    st->remote = remote;
    st->n_remote = N_KNOWN;
    if (n_pending > 0) {
        st->n_pending = h2_conn_pending_settings(conn, pending, n_pending);
        st->pending = pending;
    }
}

void svc_query_answer_state(svc_conn *c, svc_cmd *cmd)
{
    /* The pending count is read in the same worker turn as the copy, so
     * the room cannot fall short. */
    size_t n_pending = h2_conn_pending_settings(c->conn, NULL, 0);
    size_t head = (sizeof(h2_svc_conn_state) + 15u) & ~(size_t)15u;
    size_t extra = head + (2 * N_KNOWN + n_pending) * sizeof(h2_setting);
    uint8_t *tail = NULL;
    svc_event_rec *rec = svc_worker_event_alloc(c->worker, extra, &tail);
    if (rec == NULL) {
        svc_cmd_fail(c->worker, c, cmd, H2_ENOMEM, 0);
        return;
    }
    h2_svc_conn_state *st = (h2_svc_conn_state *)(void *)tail;
    memset(st, 0, sizeof(*st));
    h2_setting *local = (h2_setting *)(void *)(tail + head);
    snapshot(c->conn, cmd->stream_id, st, local, local + N_KNOWN, local + 2 * N_KNOWN, n_pending);
    rec->pub.type = H2_SVC_EV_STATE;
    rec->pub.stream_id = cmd->stream_id;
    rec->pub.user = cmd->user;
    rec->pub.state = st;
    svc_cmd_done(cmd);
    svc_conn_emit(c, rec);
}
