/*
 * Service: state queries (svc_query.c) and manual flow control
 * (svc_flow.c). A query is answered by an event because the core belongs
 * to the connection's worker: the snapshot is taken there.
 */
#ifndef H2_SERVICE_SVC_QUERY_H
#define H2_SERVICE_SVC_QUERY_H

#include "h2/service.h"
#include "service/svc_record.h"

typedef struct svc_conn svc_conn;

/* ---- svc_query.c ---- */

/*
 * Worker: answers a QUERY_STATE command on |c| with an H2_SVC_EV_STATE
 * event carrying a snapshot of the core, or fails it with H2_ENOMEM. The
 * command is done either way.
 */
void svc_query_answer_state(svc_conn *c, svc_cmd *cmd);

/* ---- svc_flow.c ---- */

/* Worker: carries out an INCREMENT_WINDOW command on |c|; the core's result. */
int svc_flow_increment(svc_conn *c, const svc_cmd *cmd);

#endif /* H2_SERVICE_SVC_QUERY_H */
