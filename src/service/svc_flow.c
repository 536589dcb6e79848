/*
 * Service: manual flow control. With |manual_flow_control| a released DATA
 * event acknowledges nothing (conn_events.c does not hand it back to the
 * worker); the application opens the windows itself, with
 * h2_svc_ack_data() (bytes processed, the core decides when a
 * WINDOW_UPDATE is due) or with h2_svc_increment_window() (an explicit
 * WINDOW_UPDATE), posted here and carried out on the worker.
 */
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_post.h"
#include "service/svc_query.h"

int h2_svc_increment_window(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                            uint32_t increment, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || stream_id > H2_MAX_STREAM_ID || increment == 0 ||
        increment > (uint32_t)INT32_MAX)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_INCREMENT_WINDOW, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->stream_id = stream_id;
    cmd->len = increment; /* the command's amount, as for ACK_DATA */
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int svc_flow_increment(svc_conn *c, const svc_cmd *cmd)
{
    return h2_conn_increment_window(c->conn, cmd->stream_id, (uint32_t)cmd->len);
}
