/*
 * Service: the service record (service.c: its lifetime).
 */
#ifndef H2_SERVICE_SVC_SERVICE_H
#define H2_SERVICE_SVC_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include "h2/service.h"
#include "service/svc_live.h"
#include "service/svc_worker.h"

struct h2_svc {
    h2_mem mem;
    unsigned n_workers;
    svc_worker *workers;
    h2_svc_queue *queue; /* destination for events of unknown connections */
    h2_svc_event_fn on_event;
    void *on_event_user;
    size_t read_buffer_size;
    atomic_uint_fast64_t next_id; /* any thread */
    atomic_uint next_worker;      /* any thread: round robin */
    svc_slot *slots;              /* dedicated workers */
    _Atomic(svc_worker *) reap;   /* any thread: dedicated workers that left, to be joined */
    unsigned n_slots;
    uint32_t mailbox_capacity;
    int post_wait_ms;
    size_t feed_hold_limit;
    size_t send_hold_limit;
    size_t feed_hold_conn_limit;
    size_t send_hold_conn_limit;
    bool tcp_nodelay; /* h2_svc_config.tcp_nodelay */
    atomic_bool closing; /* h2_svc_free() has begun: no new dedicated threads */
    h2_svc_clock_fn clock; /* timers' clock; NULL: CLOCK_MONOTONIC */
    void *clock_user;
    /* Live connection ids (service_live.c): chunks of entries, allocated as
     * needed and kept until the service is freed; a free list under
     * |live_lock|. */
    _Atomic(svc_live *) *live_chunks;
    pthread_mutex_t live_lock;
    uint32_t live_used;           /* entries handed out at least once */
    uint32_t live_free;           /* free list head + 1, or 0 */
    atomic_uint_fast64_t n_live;  /* connections not destroyed yet */
    /* Whole-service shutdown (h2_svc_shutdown()). */
    atomic_int drain;             /* 0, SVC_DRAIN_GOAWAY, SVC_DRAIN_CUT */
    atomic_int_fast64_t drain_deadline;
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond;
    atomic_bool drain_waiting;    /* a shutdown waits for n_live to reach 0 */
};

enum { SVC_DRAIN_GOAWAY = 1, SVC_DRAIN_CUT = 2 };

/* ---- service.c ---- */

/* Wakes every worker thread, shared and dedicated (they look at their
 * clocks, |drain| and their side channels again). Any thread. */
void svc_wake_workers(h2_svc *svc);

/* Wakes a shutdown waiting for the last connection. */
void svc_drain_notify(h2_svc *svc);

#endif /* H2_SERVICE_SVC_SERVICE_H */
