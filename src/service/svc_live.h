/*
 * Service: connection ids and the table of live ones (service_live.c).
 */
#ifndef H2_SERVICE_SVC_LIVE_H
#define H2_SERVICE_SVC_LIVE_H

#include <stdatomic.h>
#include <stdint.h>
#include "h2/service.h"

typedef struct svc_worker svc_worker;
typedef struct svc_conn svc_conn;

/* Connection ids: a sequence number above SVC_ID_BITS bits naming the
 * worker: its index, or SVC_ID_DEDICATED | the slot of a dedicated worker. */
#define SVC_ID_BITS 16u
#define SVC_ID_DEDICATED 0x8000u

/*
 * An entry of the service's table of live connection ids (service_live.c). An
 * id names its entry; |key| holds the id's upper bits while the
 * connection accepts commands, 0 once it ended. |posters| counts posting
 * threads between their look at |key| and the end of their post: a
 * connection's CLOSED waits until it is 0 and its worker has handled
 * every command posted before.
 */
typedef struct svc_live {
    atomic_uint_fast64_t key;
    atomic_int posters;
    /* The connection's share of the hold budgets (svc_hold.c): FEED bytes
     * and copied DATA bytes posted and not yet processed or sent. */
    atomic_size_t feed;
    atomic_size_t send;
    /* The whole id while |key| is set (h2_svc_conns() reads it). */
    atomic_uint_fast64_t id;
    /* Stream handles handed out so far (h2_svc_open_stream(), any thread). */
    atomic_uint_fast32_t handles;
    uint32_t gen;       /* generation of the next id (under the table lock) */
    uint32_t next_free; /* free list link + 1, or 0 */
} svc_live;

/* ---- service_live.c ---- */

/* Gives |c| a new id on worker |wi| and its entry in the live table;
 * 0 or H2_ENOMEM. */
int svc_conn_new_id(h2_svc *svc, svc_conn *c, unsigned wi);

/* |c| moves to worker |wi| before it was attached (same entry, new id). */
void svc_conn_rehome(svc_conn *c, unsigned wi);

/* Worker: |c| ended: posts to its id fail from now on. */
void svc_live_end(svc_conn *c);

/* Returns the entry of |c| to the table (|c| is being freed). */
void svc_live_release(h2_svc *svc, svc_conn *c);

/* The live-table entry an id names, or NULL. */
svc_live *svc_live_of(h2_svc *svc, h2_svc_conn_id id);

/* Sets up and frees the live table and the shutdown state. */
int svc_live_table_init(h2_svc *svc);
void svc_live_table_free(h2_svc *svc);

/* The worker a connection id names, or NULL. */
svc_worker *svc_worker_of(h2_svc *svc, h2_svc_conn_id id);

#endif /* H2_SERVICE_SVC_LIVE_H */
