/*
 * Service: dedicated workers, a thread for one connection
 * (service_dedicated.c).
 */
#ifndef H2_SERVICE_SVC_DEDICATED_H
#define H2_SERVICE_SVC_DEDICATED_H

#include "h2/service.h"

typedef struct svc_worker svc_worker;

/* ---- service_dedicated.c ---- */

/* Attaches a connection with a worker of its own. */
int svc_attach_dedicated(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                         h2_svc_conn_id *id);

/* The dedicated worker of |slot|, or NULL. */
svc_worker *svc_dedicated_of(h2_svc *svc, unsigned slot);

/* Posts |ptr| to dedicated worker |w|, or when it is leaving, to worker 0 (where
 * a command for an unknown connection fails as usual). */
int svc_dedicated_post(h2_svc *svc, svc_worker *w, void *ptr, int wait_ms);

/* Stops and joins every dedicated worker (service shutdown). */
void svc_dedicated_shutdown(h2_svc *svc);

/* Frees every dedicated worker (service shutdown, after the sweep). */
void svc_dedicated_free(h2_svc *svc);

/* Shared worker 0: joins the dedicated threads that left and frees their slots. */
void svc_dedicated_reap(h2_svc *svc);

#endif /* H2_SERVICE_SVC_DEDICATED_H */
