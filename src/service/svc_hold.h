/*
 * Service: hold budgets for FEED bytes and copied DATA (svc_hold.c).
 */
#ifndef H2_SERVICE_SVC_HOLD_H
#define H2_SERVICE_SVC_HOLD_H

#include <stdatomic.h>
#include <stdbool.h>
#include "h2/service.h"

typedef struct svc_worker svc_worker;
typedef struct svc_cmd svc_cmd;

/* What a poster charged: the counters to give back on failure. */
typedef struct svc_hold {
    atomic_size_t *worker;
    atomic_size_t *conn;
} svc_hold;

enum { SVC_HOLD_FEED, SVC_HOLD_SEND };

/* ---- svc_hold.c ---- */

/*
 * Any thread: charges |len| bytes of |kind| (SVC_HOLD_FEED or _SEND) for
 * connection |conn| of worker |w|: to the connection's entry in the live-id
 * table (while |conn| is live) against the per-connection limit, and to the
 * worker's total against its limit. Either takes anything while it holds
 * nothing. Returns false, charging nothing, when a limit would be passed;
 * else true with the counters in |*h|.
 */
bool svc_hold_take(h2_svc *svc, svc_worker *w, h2_svc_conn_id conn, int kind, size_t len,
                   svc_hold *h);

/* Any thread: gives back what svc_hold_take() charged (the command was not posted). */
void svc_hold_undo(const svc_hold *h, size_t len);

/*
 * Any thread: the command will give |h| back (|cmd->len| bytes) when it is
 * answered (svc_cmd_done(), svc_cmd_fail()) or freed unposted
 * (svc_cmd_free(), also when svc_post() fails).
 */
void svc_hold_attach(svc_cmd *cmd, const svc_hold *h);

/* Gives back what |cmd| holds, once (nothing when it holds nothing). */
void svc_hold_release(svc_cmd *cmd);

#endif /* H2_SERVICE_SVC_HOLD_H */
