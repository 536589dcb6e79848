/*
 * Wake-ups and the user timer, through the service: h2_svc_notify()
 * answers with H2_SVC_EV_USER in order with the connection's other events,
 * from the test thread, from another thread and from inside the
 * connection's own callback (never recursively, never refused for a full
 * ring); h2_svc_set_timer() fires H2_SVC_EV_TIMER at the deadline of a
 * clock the test moves and not a millisecond before, is replaced and
 * cancelled, and is dropped when the connection ends (CLOSED stays the
 * last event). Every test ends with all memory returned.
 */
#include "test_service_util.h"

/* Where the service's clock starts. */
#define T0 5000000

/* A server connection over a socket pair; the test holds the other end and the clock. */
typedef struct rig {
    lockmem lm;
    fake_clock clock;
    h2_svc *svc;
    h2_svc_queue *q;
    int peer_fd;
    h2_svc_conn_id id;
} rig;

static void quiet_config(h2_svc_conn_config *sc)
{
    h2_svc_conn_config_init(sc, H2_ROLE_SERVER);
    sc->idle_timeout_ms = 0;
    sc->settings_timeout_ms = 0;
    sc->header_timeout_ms = 0;
    sc->preface_timeout_ms = 0;
    sc->close_timeout_ms = 0;
    sc->write_timeout_ms = 0;
    sc->flow_timeout_ms = 0;
}

/* Attaches one more connection to the rig's queue; returns its id once ATTACHED came. */
static h2_svc_conn_id rig_attach(rig *r, int *peer_fd)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    quiet_config(&sc);
    sc.queue = r->q;
    h2_svc_conn_id id = 0;
    cr_assert_eq(h2_svc_attach_fd(r->svc, sv[1], &sc, &id), 0);
    *peer_fd = sv[0];
    h2_svc_event *ev = wait_event(r->q, H2_SVC_EV_ATTACHED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->conn, id);
    h2_svc_event_release(ev);
    return id;
}

static void rig_start(rig *r)
{
    lockmem_init(&r->lm);
    r->svc = new_service_clock(&r->lm, 1, &r->clock, T0);
    r->q = new_queue(&r->lm, 256);
    r->id = rig_attach(r, &r->peer_fd);
}

static void rig_at(rig *r, int64_t ms)
{
    fake_clock_set(&r->clock, r->svc, T0 + ms);
}

static void rig_free(rig *r)
{
    h2_svc_free(r->svc);
    h2_svc_queue_free(r->q);
    close(r->peer_fd);
    cr_assert_eq(lockmem_live(&r->lm), 0u, "%zu bytes kept", lockmem_live(&r->lm));
}

/* Events met while proving a worker turn: a TIMER or USER there is a failure. */
static void no_wake(void *arg, h2_svc_event *ev)
{
    (void)arg;
    cr_assert(ev->type != H2_SVC_EV_TIMER && ev->type != H2_SVC_EV_USER,
              "unexpected event %d (user %llu)", (int)ev->type, (unsigned long long)ev->user);
    h2_svc_event_release(ev);
}

/* A worker turn at the clock as it is now brought no wake-up. */
static void no_wake_now(rig *r)
{
    cr_assert_null(svc_barrier_each(r->svc, r->q, r->id, no_wake, NULL));
}

static void expect(rig *r, int type, uint64_t user)
{
    h2_svc_event *ev = next_event(r->q, 5000);
    cr_assert_not_null(ev, "no event %d", type);
    cr_assert_eq((int)ev->type, type, "event %d, expected %d", (int)ev->type, type);
    cr_assert_eq(ev->user, user, "user %llu, expected %llu", (unsigned long long)ev->user,
                 (unsigned long long)user);
    cr_assert_eq(ev->conn, r->id);
    cr_assert_eq(ev->stream_id, 0u);
    h2_svc_event_release(ev);
}

/* ---- h2_svc_notify() ---- */

Test(service_wake, notify_answers_with_user_event)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_notify(r.svc, r.id, 0x1234), 0);
    expect(&r, H2_SVC_EV_USER, 0x1234);
    rig_free(&r);
}

Test(service_wake, notify_in_order_with_other_events)
{
    rig r;
    rig_start(&r);
    for (uint64_t i = 0; i < 20; i++) {
        if (i % 2 == 0)
            cr_assert_eq(h2_svc_query_stats(r.svc, r.id, i), 0);
        else
            cr_assert_eq(h2_svc_notify(r.svc, r.id, i), 0);
    }
    for (uint64_t i = 0; i < 20; i++)
        expect(&r, i % 2 == 0 ? H2_SVC_EV_STATS : H2_SVC_EV_USER, i);
    rig_free(&r);
}

Test(service_wake, notify_bad_arguments)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_notify(NULL, r.id, 1), H2_EINVAL);
    cr_assert_eq(h2_svc_notify(r.svc, 0, 1), H2_EINVAL);
    cr_assert_eq(h2_svc_set_timer(NULL, r.id, 1, 1), H2_EINVAL);
    cr_assert_eq(h2_svc_set_timer(r.svc, 0, 1, 1), H2_EINVAL);
    rig_free(&r);
}

typedef struct poster {
    h2_svc *svc;
    h2_svc_conn_id id;
    uint64_t base;
    uint64_t n;
} poster;

static void *post_notifies(void *arg)
{
    poster *p = arg;
    for (uint64_t i = 0; i < p->n; i++) {
        int rv;
        while ((rv = h2_svc_notify(p->svc, p->id, p->base + i)) == H2_EAGAIN)
            sched_yield();
        cr_assert_eq(rv, 0);
    }
    return NULL;
}

Test(service_wake, notify_from_other_threads_each_in_its_order)
{
    rig r;
    rig_start(&r);
    enum { THREADS = 3, EACH = 300 };
    poster p[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        p[i] = (poster){r.svc, r.id, (uint64_t)(i + 1) << 32, EACH};
        cr_assert_eq(pthread_create(&t[i], NULL, post_notifies, &p[i]), 0);
    }
    uint64_t next[THREADS] = {0};
    for (int got = 0; got < THREADS * EACH; got++) {
        h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_USER, 5000);
        cr_assert_not_null(ev, "after %d wake-ups", got);
        uint64_t from = (ev->user >> 32) - 1;
        cr_assert_lt(from, (uint64_t)THREADS);
        cr_assert_eq(ev->user & 0xffffffffu, next[from], "thread %llu out of order",
                     (unsigned long long)from);
        next[from]++;
        h2_svc_event_release(ev);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    rig_free(&r);
}

/* ---- from inside the connection's callback ---- */

typedef struct cb_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    h2_svc *svc;
    uint64_t last;  /* the highest USER seen */
    int depth;      /* callbacks running now (worker thread) */
    int max_depth;  /* deepest nesting seen */
    int failures;   /* posts refused from the callback */
    uint64_t chain; /* USER events to chain, one from each */
    uint64_t burst; /* notifies to post from the ATTACHED callback */
    int64_t timer_ms;
    bool timer_seen;
    bool closed;
} cb_state;

static void cb_event(void *user, h2_svc_event *ev)
{
    cb_state *s = user;
    pthread_mutex_lock(&s->lock);
    s->depth++;
    if (s->depth > s->max_depth)
        s->max_depth = s->depth;
    pthread_mutex_unlock(&s->lock);
    int rv = 0;
    if (ev->type == H2_SVC_EV_ATTACHED) {
        for (uint64_t i = 1; i <= s->burst && rv == 0; i++)
            rv = h2_svc_notify(s->svc, ev->conn, i);
        if (s->chain > 0 && rv == 0)
            rv = h2_svc_notify(s->svc, ev->conn, 1);
        if (s->timer_ms >= 0 && rv == 0)
            rv = h2_svc_set_timer(s->svc, ev->conn, s->timer_ms, 77);
    } else if (ev->type == H2_SVC_EV_USER && s->chain > 0 && ev->user < s->chain) {
        /* The event of this post must come on a later turn, not inside it. */
        rv = h2_svc_notify(s->svc, ev->conn, ev->user + 1);
    }
    pthread_mutex_lock(&s->lock);
    if (rv != 0)
        s->failures++;
    if (ev->type == H2_SVC_EV_USER) {
        if (ev->user != s->last + 1)
            s->failures++;
        s->last = ev->user;
    }
    if (ev->type == H2_SVC_EV_TIMER && ev->user == 77)
        s->timer_seen = true;
    if (ev->type == H2_SVC_EV_CLOSED)
        s->closed = true;
    s->depth--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    h2_svc_event_release(ev);
}

/* A service (1 worker, |mailbox| ring slots, the rig's clock) and a
 * connection whose events go to cb_event(). */
static h2_svc_conn_id cb_start(rig *r, cb_state *s, uint32_t mailbox)
{
    lockmem_init(&r->lm);
    atomic_init(&r->clock.ms, T0);
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = 1;
    cfg.mem = &r->lm.mem;
    if (mailbox != 0)
        cfg.mailbox_capacity = mailbox;
    cfg.clock = fake_clock_read;
    cfg.clock_user = &r->clock;
    cr_assert_eq(h2_svc_new(&r->svc, &cfg), 0);
    r->q = new_queue(&r->lm, 8);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->svc = r->svc;
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    r->peer_fd = sv[0];
    h2_svc_conn_config sc;
    quiet_config(&sc);
    sc.on_event = cb_event;
    sc.user = s;
    cr_assert_eq(h2_svc_attach_fd(r->svc, sv[1], &sc, &r->id), 0);
    return r->id;
}

/* Waits (5 s at most) until |*flag| or |s->last| reaches |last|. */
static void cb_wait(cb_state *s, const bool *flag, uint64_t last)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&s->lock);
    while (flag != NULL ? !*flag : s->last < last)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
            break;
    bool ok = flag != NULL ? *flag : s->last >= last;
    pthread_mutex_unlock(&s->lock);
    cr_assert(ok, "timed out (last USER %llu)", (unsigned long long)s->last);
}

static void cb_free(rig *r, cb_state *s)
{
    h2_svc_free(r->svc);
    h2_svc_queue_free(r->q);
    close(r->peer_fd);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    cr_assert_eq(lockmem_live(&r->lm), 0u, "%zu bytes kept", lockmem_live(&r->lm));
}

Test(service_wake, notify_from_callback_comes_later_not_nested)
{
    rig r;
    cb_state s = {.chain = 50, .timer_ms = -1};
    cb_start(&r, &s, 0);
    cb_wait(&s, NULL, 50);
    pthread_mutex_lock(&s.lock);
    cr_assert_eq(s.failures, 0);
    cr_assert_eq(s.max_depth, 1, "a callback ran inside another");
    cr_assert_eq(s.last, 50u);
    pthread_mutex_unlock(&s.lock);
    cb_free(&r, &s);
}

Test(service_wake, notify_from_callback_never_refused_for_a_full_ring)
{
    rig r;
    /* Far more wake-ups than the command ring holds, from one callback. */
    cb_state s = {.burst = 200, .timer_ms = -1};
    cb_start(&r, &s, 16);
    cb_wait(&s, NULL, 200);
    pthread_mutex_lock(&s.lock);
    cr_assert_eq(s.failures, 0);
    cr_assert_eq(s.max_depth, 1);
    pthread_mutex_unlock(&s.lock);
    cb_free(&r, &s);
}

Test(service_wake, timer_set_from_callback_fires_at_deadline)
{
    rig r;
    cb_state s = {.chain = 1, .timer_ms = 40};
    cb_start(&r, &s, 0);
    /* USER 1 was posted in the same callback as the timer: once it came,
     * the timer is armed. */
    cb_wait(&s, NULL, 1);
    fake_clock_set(&r.clock, r.svc, T0 + 40);
    cb_wait(&s, &s.timer_seen, 0);
    cb_free(&r, &s);
}

/* ---- h2_svc_set_timer() ---- */

Test(service_wake, timer_fires_at_deadline_not_before)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 100, 9), 0);
    no_wake_now(&r);
    rig_at(&r, 99);
    no_wake_now(&r);
    rig_at(&r, 100);
    expect(&r, H2_SVC_EV_TIMER, 9);
    /* One-shot: nothing more, however far the clock goes. */
    rig_at(&r, 100000);
    no_wake_now(&r);
    rig_free(&r);
}

Test(service_wake, timer_zero_delay_fires_on_next_turn)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 0, 3), 0);
    expect(&r, H2_SVC_EV_TIMER, 3);
    rig_free(&r);
}

Test(service_wake, timer_again_after_firing)
{
    rig r;
    rig_start(&r);
    for (uint64_t i = 1; i <= 3; i++) {
        cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 10, i), 0);
        no_wake_now(&r);
        rig_at(&r, (int64_t)i * 10);
        expect(&r, H2_SVC_EV_TIMER, i);
    }
    rig_free(&r);
}

Test(service_wake, timer_replaced_by_a_later_call)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 100, 1), 0);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 200, 2), 0);
    /* The worker took both before the clock moves: a replacement it has
     * not taken yet cannot stop an expiry it sees first. */
    no_wake_now(&r);
    rig_at(&r, 150);
    no_wake_now(&r); /* the first deadline passed: replaced, it never comes */
    rig_at(&r, 200);
    expect(&r, H2_SVC_EV_TIMER, 2);
    /* ... and an earlier deadline replaces a later one as well. */
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 500, 3), 0);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 10, 4), 0);
    no_wake_now(&r);
    rig_at(&r, 210);
    expect(&r, H2_SVC_EV_TIMER, 4);
    rig_at(&r, 1000);
    no_wake_now(&r);
    rig_free(&r);
}

Test(service_wake, timer_cancelled_by_negative_delay)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, -1, 0), 0); /* none pending: nothing */
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 100, 1), 0);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, -1, 2), 0);
    no_wake_now(&r); /* the cancel was taken before the clock moves */
    rig_at(&r, 1000);
    no_wake_now(&r);
    rig_free(&r);
}

Test(service_wake, timer_pending_at_close_is_dropped)
{
    rig r;
    rig_start(&r);
    int other_fd;
    h2_svc_conn_id other = rig_attach(&r, &other_fd);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 100, 1), 0);
    cr_assert_eq(h2_svc_abort(r.svc, r.id, 0), 0);
    h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->conn, r.id);
    h2_svc_event_release(ev);
    /* Past the deadline, a turn of the same worker (same queue, in order)
     * brings nothing for the ended connection. */
    rig_at(&r, 1000);
    cr_assert_null(svc_barrier_each(r.svc, r.q, other, no_wake, NULL));
    /* Posting to the ended connection is refused at the call. */
    cr_assert_eq(h2_svc_notify(r.svc, r.id, 5), H2_ENOCONN);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 10, 5), H2_ENOCONN);
    close(other_fd);
    rig_free(&r);
}

Test(service_wake, pending_timer_and_notifies_freed_with_the_service)
{
    rig r;
    rig_start(&r);
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 100, 1), 0);
    for (uint64_t i = 0; i < 10; i++)
        cr_assert_eq(h2_svc_notify(r.svc, r.id, i), 0);
    rig_free(&r); /* every byte back, events still queued included */
}

Test(service_wake, timer_on_many_connections_of_one_worker)
{
    /* Two heap slots per connection: every connection's own timers and
     * its user timer fit together. */
    rig r;
    rig_start(&r);
    enum { N = 40 };
    int fds[N];
    h2_svc_conn_id ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = rig_attach(&r, &fds[i]);
        cr_assert_eq(h2_svc_set_timer(r.svc, ids[i], 10 + i, (uint64_t)i), 0);
    }
    cr_assert_eq(h2_svc_set_timer(r.svc, r.id, 5, 1000), 0);
    rig_at(&r, 5);
    expect(&r, H2_SVC_EV_TIMER, 1000);
    rig_at(&r, 10 + N);
    bool seen[N] = {false};
    for (int got = 0; got < N; got++) {
        h2_svc_event *ev = wait_event(r.q, H2_SVC_EV_TIMER, 5000);
        cr_assert_not_null(ev);
        cr_assert_lt(ev->user, (uint64_t)N);
        cr_assert_eq(ev->conn, ids[ev->user]);
        cr_assert(!seen[ev->user]);
        seen[ev->user] = true;
        h2_svc_event_release(ev);
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    rig_free(&r);
}
