/*
 * Event queue order across its two parts: a worker's events go to the
 * ring while it has room, and a connection's CLOSED goes beyond the
 * capacity (the overflow stack) when it has none. A poll that meets the
 * worker half-way must still hand the ring's events out before the CLOSED
 * behind them: the application frees the queue at CLOSED, which would
 * drop whatever the ring still held.
 */
#include "service/svc_queue.h"
#include "service/svc_record.h"
#include "unit/test_service_util.h"

typedef struct producer {
    h2_svc_queue *q;
    const h2_mem *mem;
    int ring_events; /* events the ring took before it was full */
    bool ran;
} producer;

static svc_event_rec *event_of(const h2_mem *mem, int type, uint64_t user)
{
    svc_event_rec *rec = svc_event_alloc(mem, 0, NULL);
    cr_assert_not_null(rec);
    rec->pub.type = type;
    rec->pub.user = user;
    return rec;
}

/*
 * Runs inside the consumer's poll, between its two looks: plays a worker
 * that answers commands until the ring is full and then hands over the
 * connection's CLOSED (which goes to the overflow stack).
 */
static void worker_half_way(void *arg)
{
    producer *p = arg;
    if (p->ran)
        return;
    p->ran = true;
    for (;;) {
        svc_event_rec *rec = event_of(p->mem, H2_SVC_EV_STATS, (uint64_t)p->ring_events);
        if (!svc_queue_offer(p->q, rec, false)) {
            svc_event_free(rec);
            break;
        }
        p->ring_events++;
    }
    svc_queue_offer_last(p->q, event_of(p->mem, H2_SVC_EV_CLOSED, 0));
}

Test(service_queue_poll, closed_in_overflow_does_not_pass_older_ring_events)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_queue *q = new_queue(&lm, 4);
    producer p = {.q = q, .mem = &lm.mem, .ring_events = 0, .ran = false};
    svc_queue_set_poll_hook(q, worker_half_way, &p);

    /* The consumer of the lifetime tests: polls in batches, frees the
     * queue as soon as a batch held CLOSED. */
    int answers = 0;
    bool closed = false;
    for (int polls = 0; !closed && polls < 10; polls++) {
        h2_svc_event *evs[8];
        size_t n = h2_svc_queue_poll(q, evs, 8);
        for (size_t i = 0; i < n; i++) {
            cr_assert(!closed, "an event after CLOSED");
            if (evs[i]->type == H2_SVC_EV_STATS) {
                cr_assert_eq(evs[i]->user, (uint64_t)answers, "answers out of order");
                answers++;
            } else {
                cr_assert_eq(evs[i]->type, H2_SVC_EV_CLOSED);
                closed = true;
            }
            h2_svc_event_release(evs[i]);
        }
    }
    cr_assert(p.ran);
    cr_assert_gt(p.ring_events, 0);
    cr_assert(closed, "no CLOSED");
    cr_assert_eq(answers, p.ring_events, "%d of %d answers came before CLOSED", answers,
                 p.ring_events);
    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u, "%zu blocks kept", lockmem_live(&lm));
}

static bool fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

/*
 * An event loop that stops after h2_svc_queue_prepare_wait() said "events
 * are waiting" (to let its other handles run, say) is called back only if
 * the fd is readable: prepare_wait() clears the fd first, so it must leave
 * it readable whenever it returns false. Both ways an event can be
 * waiting: offered while the consumer was parked (the fd was written), and
 * offered while it was not (nothing was written).
 */
Test(service_queue_poll, prepare_wait_that_refuses_leaves_the_fd_readable)
{
    lockmem lm;
    lockmem_init(&lm);
    h2_svc_queue *q = new_queue(&lm, 4);
    int fd = h2_svc_queue_fd(q);

    cr_assert(h2_svc_queue_prepare_wait(q)); /* parked */
    cr_assert(svc_queue_offer(q, event_of(&lm.mem, H2_SVC_EV_STATS, 1), false));
    cr_assert(fd_readable(fd), "the offer to a parked consumer did not write the fd");
    cr_assert_not(h2_svc_queue_prepare_wait(q));
    cr_assert(fd_readable(fd), "prepare_wait() refused but left the fd cleared");

    h2_svc_event *ev[4];
    size_t n = h2_svc_queue_poll(q, ev, 4);
    cr_assert_eq(n, 1u);
    h2_svc_event_release(ev[0]);
    cr_assert(h2_svc_queue_prepare_wait(q)); /* empty: armed, and the fd cleared */
    cr_assert_not(fd_readable(fd));
    h2_svc_queue_poll(q, ev, 4); /* withdraws the announcement */

    cr_assert(svc_queue_offer(q, event_of(&lm.mem, H2_SVC_EV_STATS, 2), false));
    cr_assert_not(h2_svc_queue_prepare_wait(q));
    cr_assert(fd_readable(fd), "prepare_wait() refused with the fd unreadable");
    n = h2_svc_queue_poll(q, ev, 4);
    cr_assert_eq(n, 1u);
    h2_svc_event_release(ev[0]);

    h2_svc_queue_free(q);
    cr_assert_eq(lockmem_live(&lm), 0u);
}
