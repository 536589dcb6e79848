/*
 * Service worker: wake-ups and the user timer of a connection
 * (svc_wake.h). NOTIFY answers with USER at once; SET_TIMER keeps its
 * block in the connection, armed in the connection's second heap slot,
 * until it becomes TIMER, is replaced or cancelled, or the connection
 * ends. Neither needs memory on the worker: the posted block is the event.
 */
#include "core/mem.h"
#include "service/svc_dispatch.h"
#include "service/svc_service.h"
#include "service/svc_timer.h"
#include "service/svc_wake.h"
#include "service/svc_worker.h"

void svc_conn_notify(svc_conn *c, svc_cmd *cmd)
{
    cmd->ev.pub.type = H2_SVC_EV_USER;
    cmd->ev.pub.user = cmd->user;
    svc_conn_emit(c, &cmd->ev);
}

void svc_conn_user_timer_drop(svc_conn *c)
{
    if (c->worker != NULL)
        svc_timer_set(c->worker, &c->user_timer, -1);
    if (c->user_timer_cmd != NULL) {
        svc_cmd_done(c->user_timer_cmd);
        c->user_timer_cmd = NULL;
    }
}

void svc_conn_set_timer(svc_conn *c, svc_cmd *cmd)
{
    svc_conn_user_timer_drop(c);
    if (cmd->deadline < 0) {
        svc_cmd_done(cmd);
        return;
    }
    c->user_timer_cmd = cmd;
    c->user_timer.kind = SVC_TIMER_USER;
    /* The slot was reserved at the attach (SVC_CONN_TIMERS per connection). */
    svc_timer_set(c->worker, &c->user_timer, cmd->deadline);
}

void svc_conn_user_timer_fire(svc_conn *c)
{
    svc_cmd *cmd = c->user_timer_cmd;
    c->user_timer_cmd = NULL;
    if (cmd == NULL || c->reason != 0) {
        if (cmd != NULL)
            svc_cmd_done(cmd);
        return;
    }
    cmd->ev.pub.type = H2_SVC_EV_TIMER;
    cmd->ev.pub.user = cmd->user;
    svc_conn_emit(c, &cmd->ev);
    svc_conn_touch(c);
}

void svc_worker_run_wakes(svc_worker *w)
{
    /* Taken whole: what the callbacks below post waits for the next turn. */
    svc_cmd *cmd = w->wakes.head;
    w->wakes.head = w->wakes.tail = NULL;
    while (cmd != NULL) {
        svc_cmd *next = cmd->next;
        cmd->next = NULL;
        svc_conn *c = svc_worker_conn(w, cmd->conn);
        if (c == NULL || c->reason != 0 || w->stopping) {
            /* Ended after the post: CLOSED stays its last event. */
            svc_cmd_done(cmd);
        } else {
            svc_count(&w->count.commands, 1);
            c->st.commands++;
            (void)svc_conn_execute(c, cmd);
        }
        cmd = next;
    }
}

void svc_worker_free_wakes(svc_worker *w)
{
    svc_cmd *cmd = w->wakes.head;
    w->wakes.head = w->wakes.tail = NULL;
    while (cmd != NULL) {
        svc_cmd *next = cmd->next;
        svc_cmd_done(cmd);
        cmd = next;
    }
}
