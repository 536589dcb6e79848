/*
 * Service: wake-ups and the user timer (h2_svc_notify(),
 * h2_svc_set_timer()). service_wake.c posts them; conn_wake.c carries
 * them out on the worker.
 *
 * A NOTIFY becomes H2_SVC_EV_USER in its own block. A SET_TIMER block is
 * kept by the connection (svc_conn.user_timer_cmd, one at most) with its
 * deadline in the connection's second heap slot (svc_conn.user_timer) and
 * becomes H2_SVC_EV_TIMER when the deadline passes; a replaced or
 * cancelled one is freed, so is one pending when the connection ends.
 *
 * Posts made on the connection's own worker thread skip the ring: they
 * wait in the worker's |wakes| FIFO, taken whole at the start of the next
 * turn, so a callback never finds the ring full and never recurses.
 */
#ifndef H2_SERVICE_SVC_WAKE_H
#define H2_SERVICE_SVC_WAKE_H

#include "service/svc_conn.h"
#include "service/svc_record.h"

typedef struct svc_worker svc_worker;

/* ---- conn_wake.c (worker thread) ---- */

/* NOTIFY: the command block becomes the USER event. */
void svc_conn_notify(svc_conn *c, svc_cmd *cmd);

/* SET_TIMER: arms or replaces the connection's user timer at
 * |cmd->deadline|, or (-1) cancels it; takes |cmd|. */
void svc_conn_set_timer(svc_conn *c, svc_cmd *cmd);

/* The user timer of |c| expired: its block becomes the TIMER event. */
void svc_conn_user_timer_fire(svc_conn *c);

/* Disarms and frees the user timer of |c| (the connection ends). */
void svc_conn_user_timer_drop(svc_conn *c);

/* Carries out what the worker's own thread posted before this call
 * (svc_worker.wakes); what those events' callbacks post waits for the
 * next call. */
void svc_worker_run_wakes(svc_worker *w);

/* Frees what the worker's own thread posted and nobody carried out. */
void svc_worker_free_wakes(svc_worker *w);

#endif /* H2_SERVICE_SVC_WAKE_H */
