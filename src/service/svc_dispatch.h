/*
 * Service: command dispatch, carrying commands out and answering them
 * (worker_dispatch.c).
 */
#ifndef H2_SERVICE_SVC_DISPATCH_H
#define H2_SERVICE_SVC_DISPATCH_H

#include "h2/service.h"
#include "service/svc_record.h"

typedef struct svc_worker svc_worker;
typedef struct svc_conn svc_conn;

/* ---- worker_dispatch.c ---- */

/* Worker: handles |cmd| taken from its ring (attach, listen, or a connection's). */
void svc_worker_command(svc_worker *w, svc_cmd *cmd);

/*
 * Carries out |cmd| on |c|, holds it, or answers it. Returns false when it
 * must wait for output room (over the high-water mark): the caller keeps it.
 */
bool svc_conn_execute(svc_conn *c, svc_cmd *cmd);

/* Reports |cmd| as failed with |error| (and |reason|) and gives up its payload. */
void svc_cmd_fail(svc_worker *w, svc_conn *c, svc_cmd *cmd, int error, int reason);

/* Calls the release callback of a by-reference payload once; frees the command. */
void svc_cmd_done(svc_cmd *cmd);

#endif /* H2_SERVICE_SVC_DISPATCH_H */
