/*
 * Service: what workers and tests use of an event queue beyond the public
 * calls (svc_queue.c).
 */
#ifndef H2_SERVICE_SVC_QUEUE_H
#define H2_SERVICE_SVC_QUEUE_H

#include "service/mailbox.h"
#include "service/svc_record.h"

struct svc_worker;

/* ---- svc_queue.c ---- */

/*
 * Offers |rec| to |q|; returns false when the queue is full (the record
 * stays with the caller). With |force|, the queue takes it beyond its
 * capacity and this returns true.
 */
bool svc_queue_offer(h2_svc_queue *q, svc_event_rec *rec, bool force);

/*
 * Worker: offers |rec| to |q|'s ring without waking a parked consumer;
 * false when the ring is full or older records wait beyond it (the record
 * stays with the caller). The caller owes |q| an svc_queue_notify()
 * before it may block (svc_worker_defer_wake()).
 */
bool svc_queue_offer_quiet(h2_svc_queue *q, svc_event_rec *rec);

/* Wakes |q|'s consumer if it is parked. */
void svc_queue_notify(h2_svc_queue *q);

/*
 * Offers a connection's last event (CLOSED) beyond the capacity if need
 * be. The application may free |q| as soon as it took |rec|: a free that
 * meets this call under way waits for it to return.
 */
void svc_queue_offer_last(h2_svc_queue *q, svc_event_rec *rec);

/*
 * Worker: |w| found |q| full. Registers |w| to be woken when the consumer
 * frees room; returns 0, or -1 when the registry is full (retry on a
 * timer). |epoch| is svc_queue_epoch() read before the failed offer: when
 * it changed meanwhile, sets w->retry_now.
 */
int svc_queue_watch(h2_svc_queue *q, struct svc_worker *w, uint64_t epoch);

/* Worker: withdraws the registration of |w| (none of its blocked connections uses |q|). */
void svc_queue_unwatch(h2_svc_queue *q, struct svc_worker *w);

/*
 * For tests: makes h2_svc_queue_poll() call |fn|(|arg|) on the consumer's
 * thread between its look at the overflow stack and its look at the ring
 * (NULL |fn|: none, the default). |arg| belongs to the caller.
 */
void svc_queue_set_poll_hook(h2_svc_queue *q, h2_mailbox_hook fn, void *arg);

/* Drains so far (changes each time the consumer takes events). */
uint64_t svc_queue_epoch(h2_svc_queue *q);

#endif /* H2_SERVICE_SVC_QUEUE_H */
