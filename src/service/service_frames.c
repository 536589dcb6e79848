/*
 * Service: posting the frame options. Priority on HEADERS and padded DATA
 * go through the HEADERS and DATA posts of service_cmd.c; a GOAWAY with a
 * chosen last stream id and debug data, and ALTSVC, build one command
 * record with their payload copied into the same block. The worker carries
 * them out in worker_dispatch.c and worker_send.c (WINDOW_UPDATE is
 * svc_flow.c's).
 */
#include <string.h>

#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_post.h"
#include "service/svc_record.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

int h2_svc_submit_headers_prio(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                               const h2_header *fields, size_t n, uint32_t flags,
                               const h2_priority_args *prio, uint64_t user)
{
    return svc_post_headers(svc, conn, stream_id, fields, n, flags, prio, user);
}

int h2_svc_send_data_padded(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                            const uint8_t *data, size_t len, uint32_t flags, uint8_t pad_len,
                            uint64_t user)
{
    return svc_post_data(svc, conn, stream_id, data, len, flags, pad_len, user, NULL, NULL);
}

int h2_svc_close_with(h2_svc *svc, h2_svc_conn_id conn, uint32_t error_code,
                      int64_t last_stream_id, const uint8_t *debug, size_t debug_len,
                      uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (debug == NULL && debug_len > 0) || last_stream_id < -1 ||
        last_stream_id > (int64_t)H2_MAX_STREAM_ID)
        return H2_EINVAL;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_CLOSE, conn, debug_len, &tail);
    if (cmd == NULL)
        return H2_ENOMEM;
    if (debug_len > 0) {
        memcpy(tail, debug, debug_len);
        cmd->data = tail;
        cmd->len = debug_len;
    }
    cmd->error_code = error_code;
    cmd->last_id = last_stream_id;
    cmd->has_last_id = true;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}

int h2_svc_send_altsvc(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                       const uint8_t *origin, size_t origin_len, const uint8_t *value,
                       size_t value_len, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL || (origin == NULL && origin_len > 0) || (value == NULL && value_len > 0) ||
        stream_id > H2_MAX_STREAM_ID || origin_len > 65535 ||
        (stream_id == 0) != (origin_len > 0) || value_len > SIZE_MAX - origin_len)
        return H2_EINVAL;
    uint8_t *tail = NULL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_ALTSVC, conn, origin_len + value_len, &tail);
    if (cmd == NULL)
        return H2_ENOMEM;
    if (origin_len > 0)
        memcpy(tail, origin, origin_len);
    if (value_len > 0)
        memcpy(tail + origin_len, value, value_len);
    cmd->data = tail;
    cmd->len = origin_len;
    cmd->len2 = value_len;
    cmd->stream_id = stream_id;
    cmd->user = user;
    return svc_post(svc, w, cmd);
}
