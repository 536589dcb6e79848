/*
 * Service: preparing connections and posting them to their worker
 * (service_attach.c).
 */
#ifndef H2_SERVICE_SVC_ATTACH_H
#define H2_SERVICE_SVC_ATTACH_H

#include "h2/service.h"

typedef struct svc_conn svc_conn;

/* ---- service_attach.c ---- */

/*
 * Builds a connection for socket |fd| (-1: feed mode) on worker |wi| from
 * |cfg|; nothing is posted. On failure nothing is kept and |fd| is not
 * touched. Returns 0, H2_EINVAL or H2_ENOMEM.
 */
int svc_conn_prepare(h2_svc *svc, int fd, const h2_svc_conn_config *cfg, unsigned wi,
                     svc_conn **out);

/* The worker for a new connection: |cfg->worker|, or the next in turn. */
unsigned svc_pick_worker(h2_svc *svc, const h2_svc_conn_config *cfg);

/* Posts the attach command of |c| to the worker its id names; 0, H2_EAGAIN or H2_ENOMEM. */
int svc_conn_post_attach(h2_svc *svc, svc_conn *c);

#endif /* H2_SERVICE_SVC_ATTACH_H */
