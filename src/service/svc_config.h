/*
 * Service internals: the versioned configurations (svc_config.c) and their
 * defaults (service.c). An application's struct may be older (smaller) or
 * newer (larger) than this library's: its |size| says which, and the
 * import fills what it lacks with defaults.
 */
#ifndef H2_SVC_CONFIG_H
#define H2_SVC_CONFIG_H

#include <stddef.h>
#include "h2/service.h"
#include "service/svc_listen.h"

/* ---- service.c ---- */

/* The defaults, in this library's layout. */
void svc_service_config_defaults(h2_svc_config *cfg);
void svc_conn_config_defaults(h2_svc_conn_config *cfg, h2_role role);

/* ---- svc_config.c ---- */

/* The application's |src| in this library's layout, defaults for the
 * fields it lacks; 0 or H2_EINVAL. */
int svc_service_config_import(h2_svc_config *dst, const h2_svc_config *src);
int svc_conn_config_import(h2_svc_conn_config *dst, const h2_svc_conn_config *src);

/* Bytes to allocate for a listener given |given| (validated by an import). */
size_t svc_listener_alloc_size(const h2_svc_conn_config *given);

/* Keeps |given|'s layout with the values of |l->cfg| in the listener's tail. */
void svc_listener_keep_layout(svc_listener *l, const h2_svc_conn_config *given);

/* The configuration of a connection accepted on |l| as |fd|, after the
 * accept callback had its say: 0, or the callback's refusal (< 0), or
 * H2_EINVAL (it broke the layout). */
int svc_listener_config(svc_listener *l, int fd, h2_svc_conn_config *cfg);

#endif /* H2_SVC_CONFIG_H */
