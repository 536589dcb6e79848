/*
 * Service: the order in which streams with held sends take turns, by RFC
 * 9218 extensible priorities (urgency 0..7, incremental or not). A pure
 * data structure: no threads, no clock, no allocation. The caller embeds
 * one svc_sched_node in each stream record and owns it; the scheduler
 * only links nodes together.
 *
 * Order
 *   - Lowest urgency first: a stream is served only while no stream of a
 *     lower urgency value is ready.
 *   - Non-incremental streams of one urgency go one at a time, by
 *     ascending |order| (the service passes the stream id, which is the
 *     order the streams were created in, as RFC 9218 section 10
 *     recommends): the first keeps the turn until it leaves.
 *   - Incremental streams of one urgency share: each is served one
 *     quantum (the caller's unit, one DATA frame in the service), then
 *     goes to the back of the ring.
 *   - Incremental and non-incremental streams of the same urgency
 *     alternate, quantum by quantum, while both kinds are ready: the
 *     non-incremental queue (its first stream) gets every other quantum,
 *     the incremental ring the others. RFC 9218 section 10 leaves this
 *     open and asks servers to avoid starving either kind; alternating
 *     keeps a large non-incremental response from holding back
 *     incremental ones issued after it, and the other way round.
 *
 * States of a node: out (not scheduled), ready, or blocked (scheduled,
 * but skipped by svc_sched_next() until unblocked: for example its
 * stream's flow-control window is shut). Reprioritising keeps the state;
 * a ready node moves to its new place (a non-incremental one by |order|,
 * an incremental one to the back of its new ring).
 */
#ifndef H2_SERVICE_SCHED_H
#define H2_SERVICE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVC_SCHED_LEVELS 8u

enum { SVC_SCHED_OUT = 0, SVC_SCHED_READY, SVC_SCHED_BLOCKED };

typedef struct svc_sched_node {
    struct svc_sched_node *prev;
    struct svc_sched_node *next;
    uint32_t order;   /* FIFO key among non-incremental streams (the stream id) */
    uint8_t urgency;  /* 0 (first) .. 7 */
    bool incremental; /* shares its urgency round robin */
    uint8_t state;    /* SVC_SCHED_OUT, _READY or _BLOCKED */
} svc_sched_node;

typedef struct svc_sched_list {
    svc_sched_node *head;
    svc_sched_node *tail;
} svc_sched_list;

typedef struct svc_sched {
    svc_sched_list fifo[SVC_SCHED_LEVELS]; /* ready non-incremental, by |order| */
    svc_sched_list ring[SVC_SCHED_LEVELS]; /* ready incremental, next turn first */
    svc_sched_list blocked;                /* blocked nodes, in the order blocked */
    uint8_t ring_turn;                     /* bit u: the ring of urgency u serves next */
    size_t count;                          /* nodes ready or blocked */
} svc_sched;

/* An empty scheduler. */
void svc_sched_init(svc_sched *s);

/* Prepares |n| (out, urgency 3, not incremental) with FIFO key |order|. */
void svc_sched_node_init(svc_sched_node *n, uint32_t order);

/* Makes |n| ready (from out or blocked); a ready node stays where it is. */
void svc_sched_add(svc_sched *s, svc_sched_node *n);

/* Takes |n| out of the scheduler, whatever its state (out: nothing happens). */
void svc_sched_remove(svc_sched *s, svc_sched_node *n);

/*
 * Gives |n| urgency |urgency| (above 7: 7) and |incremental|. A ready node
 * moves to its new place even when nothing changed; other states keep the
 * values for when it becomes ready.
 */
void svc_sched_set_priority(svc_sched *s, svc_sched_node *n, unsigned urgency, bool incremental);

/* A ready |n| becomes blocked: svc_sched_next() skips it. Else nothing. */
void svc_sched_block(svc_sched *s, svc_sched_node *n);

/* A blocked |n| becomes ready again, at its place by priority. Else nothing. */
void svc_sched_unblock(svc_sched *s, svc_sched_node *n);

/* Every blocked node becomes ready, in the order they were blocked; returns how many. */
size_t svc_sched_unblock_all(svc_sched *s);

/* The ready node to serve now, or NULL when none is ready. Changes nothing. */
svc_sched_node *svc_sched_next(const svc_sched *s);

/*
 * |n| (ready) was served one quantum: an incremental node goes to the back
 * of its ring, and at its urgency the turn passes to the other kind. A
 * non-incremental node keeps its place at the head of its queue.
 */
void svc_sched_served(svc_sched *s, svc_sched_node *n);

/* Any node ready or blocked (for tearing down), or NULL. */
svc_sched_node *svc_sched_any(const svc_sched *s);

#endif /* H2_SERVICE_SCHED_H */
