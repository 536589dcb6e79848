/*
 * Service: the worker record, its counters, dedicated worker slots, and the
 * loop's calls (worker.c). Everything in a worker is touched by its thread
 * only, except the fields marked "any thread".
 */
#ifndef H2_SERVICE_SVC_WORKER_H
#define H2_SERVICE_SVC_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include "h2/service.h"
#include "service/mailbox.h"
#include "service/svc_conn.h"
#include "service/svc_map.h"
#include "service/svc_pool.h"
#include "service/svc_timer.h"

struct svc_listener;
struct svc_retbox;

/* Worker counters: written by the worker only, read by any thread. */
/* Queues a worker wakes at most once per turn (more: woken at once). */
#define SVC_WAKE_MAX 16

typedef struct svc_worker_counters {
    atomic_uint_fast64_t connections_total;
    atomic_uint_fast64_t connections;
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t commands;
    atomic_uint_fast64_t events;
    atomic_uint_fast64_t loops;
    atomic_uint_fast64_t timeouts;
    atomic_uint_fast64_t timer_expired[H2_SVC_TIMER_COUNT];
    atomic_uint_fast64_t frames_in;
    atomic_uint_fast64_t frames_out;
    atomic_uint_fast64_t streams_opened;
} svc_worker_counters;

/* Worker: adds |n| to a counter only it writes. */
static inline void svc_count(atomic_uint_fast64_t *a, uint64_t n)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* States of a dedicated worker slot. */
enum { SVC_SLOT_FREE = 0, SVC_SLOT_STARTING, SVC_SLOT_LIVE, SVC_SLOT_DRAINING, SVC_SLOT_EXITED };


/*
 * A slot for a dedicated worker (a worker thread for one connection).
 * |state| and |posters| are touched by any thread: a poster counts itself
 * in |posters|, then posts to the worker only while it is LIVE; a worker
 * that leaves sets DRAINING, waits for |posters| to reach 0 and answers
 * what its ring still holds, so no command is left unanswered.
 */
typedef struct svc_slot {
    atomic_int state;
    atomic_int posters;
    _Atomic(struct svc_worker *) worker; /* allocated on first use, freed with the service */
} svc_slot;

/* A FIFO of connections (a worker's ended connections, by |close_next|). */
typedef struct svc_conn_list {
    svc_conn *head;
    svc_conn *tail;
} svc_conn_list;

SVC_FIFO_DEFINE(svc_closing, svc_conn_list, svc_conn, close_next)

typedef struct svc_worker {
    struct h2_svc *svc;
    unsigned index;               /* worker index, or SVC_ID_DEDICATED | slot index */
    svc_slot *slot;               /* dedicated workers: their slot, else NULL */
    bool served;                  /* dedicated: its connection was attached */
    struct svc_worker *reap_next; /* dedicated: in the service's list of threads to join */
    pthread_t thread;
    atomic_bool started; /* |thread| runs or ran, not joined yet (see service_dedicated.c) */
    h2_mailbox mb;
    int epfd;
    uint8_t *rbuf;
    size_t rbuf_size;
    svc_map conns;
    svc_conn *dirty;   /* connections to pump and flush this turn */
    svc_conn *blocked; /* connections whose events wait for queue room */
    /* Queues given events this turn whose consumers are not woken yet:
     * one wake-up per queue per turn (svc_worker_flush_wakes()). */
    struct h2_svc_queue *wake[SVC_WAKE_MAX];
    unsigned n_wake;
    bool stopping;     /* shutdown: deliver events whatever the queues' fill */
    svc_timer_heap timers;
    int64_t now; /* svc_now_ms(), refreshed each turn */
    struct svc_listener *listeners;
    uint32_t n_listeners;
    svc_worker_counters count;
    atomic_bool room;         /* any thread: a queue this worker waits on has room again */
    bool retry_now;           /* a queue was drained while this worker registered */
    bool timed_retry;         /* a queue had no registration slot left: retry on a timer */
    atomic_size_t feed_bytes; /* any thread: FEED bytes posted here and not yet processed */
    atomic_size_t send_bytes; /* any thread: copied DATA bytes posted here and not yet sent */
    struct svc_retbox *ret; /* released DATA and STREAM_RESET events (any thread) */
    atomic_bool stop;   /* any thread: set by h2_svc_free() */
    svc_conn_list closing; /* ended connections whose CLOSED waits for posts in flight */
    uint64_t drained;   /* commands taken from the ring so far */
    uint64_t handled;   /* ... and carried out or answered */
    bool draining;      /* whole-service shutdown seen: GOAWAY sent everywhere */
    bool cut;           /* whole-service shutdown deadline seen */
    svc_cmd_list wakes; /* NOTIFY, SET_TIMER posted by this worker's own thread (svc_wake.h) */
    svc_pool pool;      /* recycled record blocks (svc_pool.h) */
} svc_worker;

/* ---- worker.c ---- */

/* Prepares a worker (not started); 0, H2_ENOMEM or H2_EINTERNAL. */
int svc_worker_init(h2_svc *svc, svc_worker *w, unsigned index, uint32_t capacity);

/* Frees what a worker holds (its thread has ended). */
void svc_worker_destroy(svc_worker *w);

void *svc_worker_main(void *arg);

/* True on a worker thread of |svc|. */
bool svc_on_worker_thread(const h2_svc *svc);

/* True on a worker thread of any service (and while any service's shutdown
 * sweep runs callbacks): posting calls made there never wait for room. */
bool svc_on_any_worker_thread(void);

/* True on the thread that runs the loop of |w| (its event callbacks included). */
bool svc_on_own_worker(const svc_worker *w);

/* Marks |c| to be pumped and flushed before the worker sleeps. */
void svc_conn_touch(svc_conn *c);

/* Dedicated worker thread: leaves after its connection ended. */
void svc_worker_leave(svc_worker *w);

/*
 * Service shutdown, once every worker thread was joined: answers what was
 * posted to a ring after its worker left (by event callbacks of other
 * workers, by listeners handing connections over): attaches fail with
 * reason H2_SVC_CLOSE_SHUTDOWN, commands with H2_ECLOSED. Runs on the
 * thread freeing the service, until every ring is empty.
 */
void svc_service_sweep(h2_svc *svc);

#endif /* H2_SERVICE_SVC_WORKER_H */
