/*
 * Service: timer slots and a worker's timer heap (worker_timer.c), on the
 * service's clock.
 */
#ifndef H2_SERVICE_SVC_TIMER_H
#define H2_SERVICE_SVC_TIMER_H

#include <stdint.h>
#include "h2/service.h"

typedef struct svc_worker svc_worker;
typedef struct svc_conn svc_conn;

/* What an epoll registration points to: the first member of each owner. */
enum { SVC_POLL_CONN = 1, SVC_POLL_LISTENER };

/* The owner of a connection's second timer slot (svc_conn.user_timer, svc_wake.h). */
enum { SVC_TIMER_USER = SVC_POLL_LISTENER + 1 };

/* Timer slots per connection (its own timers' earliest, the user timer). */
#define SVC_CONN_TIMERS 2u

/*
 * A slot in a worker's timer heap: |deadline| in service clock (svc_now_ms())
 * milliseconds, |index| its position in the heap (SVC_TIMER_NONE: not in
 * it). Embedded in connections and listeners.
 */
#define SVC_TIMER_NONE UINT32_MAX
typedef struct svc_timer {
    int64_t deadline;
    uint32_t index;
    uint8_t kind; /* SVC_POLL_CONN or SVC_POLL_LISTENER: the owner */
} svc_timer;

typedef struct svc_timer_heap {
    svc_timer **items;
    uint32_t count;
    uint32_t cap;
} svc_timer_heap;

/* ---- worker_timer.c ---- */

/* The service's clock in milliseconds: its |clock| hook, or CLOCK_MONOTONIC. */
int64_t svc_now_ms(const h2_svc *svc);

/* Makes room for |n| timers in total; 0 or H2_ENOMEM. */
int svc_timers_reserve(svc_worker *w, uint32_t n);

/* Makes room for the timers of |conns| connections and |listeners| listeners
 * (SVC_CONN_TIMERS each, one each); 0 or H2_ENOMEM. */
int svc_timers_reserve_for(svc_worker *w, uint32_t conns, uint32_t listeners);

/* Arms |t| at |deadline|, moves it, or (|deadline| < 0) disarms it. Never allocates
 * beyond what svc_timers_reserve() made room for. */
void svc_timer_set(svc_worker *w, svc_timer *t, int64_t deadline);

/* Milliseconds until the earliest deadline (0 when due), or -1 when none is armed. */
int svc_timers_wait_ms(svc_worker *w);

/*
 * Called after the worker announced its sleep, with the |timeout_ms| it is
 * about to sleep: reads the clock again and returns the timeout shortened
 * to the nearest deadline, so that a clock moved before h2_svc_wake()
 * is seen either here or by the wake-up.
 */
int svc_timers_recheck(svc_worker *w, int timeout_ms);

/* Runs every timer due at w->now. */
void svc_timers_run(svc_worker *w);

/* Re-reads the state of |c| after activity and re-arms its timer. */
void svc_conn_timers_update(svc_conn *c);

void svc_timers_free(svc_worker *w);

#endif /* H2_SERVICE_SVC_TIMER_H */
