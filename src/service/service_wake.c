/*
 * Service: posting wake-ups (h2_svc_notify()) and the user timer
 * (h2_svc_set_timer()). From the connection's own worker thread the
 * command goes to the worker's |wakes| FIFO instead of the ring
 * (svc_wake.h); from any other thread it is posted as usual.
 */
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_live.h"
#include "service/svc_post.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_wake.h"
#include "service/svc_worker.h"

/* Posts |cmd| (freed on failure) to the worker |w| of its connection. */
static int post_wake(h2_svc *svc, svc_worker *w, svc_cmd *cmd)
{
    if (!svc_on_own_worker(w))
        return svc_post(svc, w, cmd);
    /* Only this thread ends the connection, so the check holds until the
     * worker takes the FIFO on its next turn. */
    svc_live *e = svc_live_of(svc, cmd->conn);
    if (e == NULL ||
        atomic_load_explicit(&e->key, memory_order_relaxed) != cmd->conn >> SVC_ID_BITS) {
        svc_cmd_free(cmd);
        return H2_ENOCONN;
    }
    svc_cmds_push(&w->wakes, cmd);
    return 0;
}

int h2_svc_notify(h2_svc *svc, h2_svc_conn_id conn, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_NOTIFY, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->user = user;
    return post_wake(svc, w, cmd);
}

int h2_svc_set_timer(h2_svc *svc, h2_svc_conn_id conn, int64_t delay_ms, uint64_t user)
{
    svc_worker *w = svc_target(svc, conn);
    if (w == NULL)
        return H2_EINVAL;
    svc_cmd *cmd = svc_cmd_new(svc, H2_SVC_CMD_SET_TIMER, conn, 0, NULL);
    if (cmd == NULL)
        return H2_ENOMEM;
    cmd->user = user;
    cmd->deadline = -1;
    if (delay_ms >= 0) {
        /* From the call, not from when the worker gets to it. */
        int64_t now = svc_now_ms(svc);
        cmd->deadline = delay_ms > INT64_MAX - now ? INT64_MAX : now + delay_ms;
        if (cmd->deadline < 0)
            cmd->deadline = 0; /* the heap keeps no negative deadline */
    }
    return post_wake(svc, w, cmd);
}
