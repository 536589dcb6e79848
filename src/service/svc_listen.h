/*
 * Service: listening sockets, each owned by one worker (worker_listen.c).
 */
#ifndef H2_SERVICE_SVC_LISTEN_H
#define H2_SERVICE_SVC_LISTEN_H

#include "h2/service.h"
#include "service/svc_timer.h"

typedef struct svc_worker svc_worker;

/* A listening socket, owned by one worker. */
typedef struct svc_listener {
    uint8_t poll_kind; /* SVC_POLL_LISTENER: must stay first */
    int fd;
    h2_svc_conn_config cfg; /* copied; pointer fields other than |transport| cleared */
    h2_svc_transport tr;    /* |cfg.transport| points here when set */
    h2_svc_accept_fn on_accept;
    void *accept_user;
    bool paused;     /* out of the epoll set after EMFILE and the like */
    svc_timer timer; /* resumes a paused listener */
    struct svc_listener *next;
    /* |cfg| in the layout given to h2_svc_listen(), and room for the
     * copy each accept callback gets; both in the listener's allocation
     * (svc_config.c). */
    unsigned char *cfg_raw;
    unsigned char *cfg_scratch;
} svc_listener;

/* ---- worker_listen.c ---- */

/* Worker: starts accepting on |l| (a LISTEN command). */
void svc_listener_start(svc_worker *w, svc_listener *l);

/* Worker: |l| is readable: accepts until EAGAIN. */
void svc_listener_ready(svc_worker *w, svc_listener *l);

/* Sets TCP_NODELAY on |fd| when the service's configuration asks for it;
 * sockets that are not TCP refuse it and are left alone (errno is kept). */
void svc_socket_nodelay(const h2_svc *svc, int fd);

/* Worker: the pause of |l| is over. */
void svc_listener_resume(svc_worker *w, svc_listener *l);

/* Frees |l| and closes its socket. */
void svc_listener_free(const h2_mem *mem, svc_listener *l);

/* Worker: closes and frees every listener (shutdown). */
void svc_listeners_close(svc_worker *w);

#endif /* H2_SERVICE_SVC_LISTEN_H */
