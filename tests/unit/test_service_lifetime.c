/*
 * Service event lifetime: any event may be released at any time, also
 * after h2_svc_free(); queues may be freed as soon as their
 * connection's CLOSED arrived. A randomized run mixes both with posting
 * threads and connections aborted at random moments.
 */
#include <sched.h>
#include <stdatomic.h>
#include "unit/test_service_util.h"

/* Client bytes: preface, SETTINGS, a request with a body on stream 1 and
 * a request reset by the client on stream 3. */
static uint8_t *client_bytes(size_t *len)
{
    h2_conn *c = NULL;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_eq(h2_conn_send_headers(c, 1, get_fields, 4, 0, NULL), 0);
    static const uint8_t body[300] = {1, 2, 3};
    cr_assert_eq(h2_conn_send_data(c, 1, body, sizeof body, 0, 0), 0);
    cr_assert_eq(h2_conn_send_headers(c, 3, get_fields, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_reset_stream(c, 3, H2_CANCEL), 0);
    const uint8_t *out;
    h2_conn_output_view(c, &out, len);
    uint8_t *copy = malloc(*len);
    memcpy(copy, out, *len);
    h2_conn_free(c);
    return copy;
}

Test(service_lifetime, data_and_reset_events_released_after_free)
{
    svc_rig r;
    svc_rig_start(&r, 64);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    svc_rig_attach(&r, &sc);
    size_t len;
    uint8_t *bytes = client_bytes(&len);
    write_all(r.peer_fd, bytes, len);
    free(bytes);
    h2_svc_event *data = wait_event(r.q, H2_EV_DATA_RECEIVED, 5000);
    cr_assert_not_null(data);
    cr_assert_gt(data->flow_controlled_length, 0u);
    h2_svc_event *reset = wait_event(r.q, H2_EV_STREAM_RESET, 5000);
    cr_assert_not_null(reset);
    cr_assert(reset->remote);
    h2_svc_free(r.svc);
    r.svc = NULL;
    /* Both would go back to a worker that no longer exists. */
    h2_svc_event_release(data);
    h2_svc_event_release(reset);
    close(r.peer_fd);
    svc_rig_free(&r);
}

/* ---- randomized: posters, aborts, queues freed at CLOSED, kept events ---- */

#define SLOTS 16
#define POSTERS 4
#define RUN_MS 2500
#define MAX_CONNS 3000
#define MAX_KEPT 4096

typedef struct slot {
    _Atomic h2_svc_conn_id id; /* 0 while being replaced */
    h2_svc_queue *q;           /* consumer only */
    int peer_fd;
    bool closed_seen;
} slot;

typedef struct conn_count {
    atomic_int posted;   /* posts that returned 0 */
    int answered;        /* STATS or COMMAND_FAILED seen (consumer) */
    int after_closed;    /* events seen after its CLOSED (consumer) */
    bool closed;
    bool aborts_posted;
} conn_count;

typedef struct churn {
    h2_svc *svc;
    slot slots[SLOTS];
    conn_count counts[MAX_CONNS];
    _Atomic h2_svc_conn_id ids[MAX_CONNS]; /* conn index -> id */
    atomic_int n_conns;
    atomic_bool stop;
    h2_svc_event *kept[MAX_KEPT];
    int n_kept;
} churn;

static int index_of(churn *ch, h2_svc_conn_id id)
{
    int n = atomic_load(&ch->n_conns);
    for (int i = n - 1; i >= 0; i--)
        if (atomic_load(&ch->ids[i]) == id)
            return i;
    return -1;
}

static void *poster(void *arg)
{
    churn *ch = arg;
    uint32_t x = (uint32_t)(uintptr_t)pthread_self() | 1u;
    while (!atomic_load(&ch->stop)) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        slot *s = &ch->slots[x % SLOTS];
        h2_svc_conn_id id = atomic_load(&s->id);
        if (id == 0)
            continue;
        int idx = index_of(ch, id);
        cr_assert_geq(idx, 0);
        int rv;
        if (x % 97 == 0)
            rv = h2_svc_abort(ch->svc, id, 0);
        else
            rv = h2_svc_query_stats(ch->svc, id, (uint64_t)idx);
        cr_assert(rv == 0 || rv == H2_ENOCONN || rv == H2_EAGAIN, "post: %d", rv);
        if (rv == 0 && x % 97 != 0)
            atomic_fetch_add(&ch->counts[idx].posted, 1);
    }
    return NULL;
}

static void attach_slot(churn *ch, slot *s, lockmem *lm, const uint8_t *bytes, size_t len)
{
    s->q = new_queue(lm, 4);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s->peer_fd = sv[0];
    s->closed_seen = false;
    write_all(sv[0], bytes, len);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.queue = s->q;
    h2_svc_conn_id id = 0;
    /* The posters keep the command rings full: an attach may find no room
     * (H2_EAGAIN, nothing taken) and is tried again. */
    int rv, tries = 0;
    while ((rv = h2_svc_attach_fd(ch->svc, sv[1], &sc, &id)) == H2_EAGAIN && tries++ < 100000)
        sched_yield();
    cr_assert_eq(rv, 0, "attach: %d", rv);
    int n = atomic_load(&ch->n_conns);
    atomic_store(&ch->ids[n], id);
    atomic_store(&ch->n_conns, n + 1);
    atomic_store(&s->id, id);
}

/* Consumer: one event of slot |s|. */
static void consume(churn *ch, slot *s, h2_svc_event *ev)
{
    int idx = index_of(ch, ev->conn);
    cr_assert_geq(idx, 0);
    conn_count *k = &ch->counts[idx];
    if (k->closed)
        k->after_closed++;
    if (ev->type == H2_SVC_EV_STATS ||
        (ev->type == H2_SVC_EV_COMMAND_FAILED && ev->command == H2_SVC_CMD_STATS))
        k->answered++;
    if (ev->type == H2_SVC_EV_CLOSED) {
        k->closed = true;
        s->closed_seen = true;
    }
    bool keep = (ev->type == H2_EV_DATA_RECEIVED || ev->type == H2_EV_STREAM_RESET) &&
                ch->n_kept < MAX_KEPT;
    if (keep)
        ch->kept[ch->n_kept++] = ev;
    else
        h2_svc_event_release(ev);
}

Test(service_lifetime, random_aborts_posts_queue_frees_and_kept_events, .timeout = 60)
{
    lockmem lm;
    lockmem_init(&lm);
    static churn ch;
    memset(&ch, 0, sizeof ch);
    ch.svc = new_service(&lm, 2, 0);
    size_t len;
    uint8_t *bytes = client_bytes(&len);
    for (int i = 0; i < SLOTS; i++)
        attach_slot(&ch, &ch.slots[i], &lm, bytes, len);
    pthread_t t[POSTERS];
    for (int i = 0; i < POSTERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, poster, &ch), 0);

    int64_t end = now_ms() + RUN_MS;
    while (now_ms() < end && atomic_load(&ch.n_conns) < MAX_CONNS - SLOTS) {
        bool any = false;
        for (int i = 0; i < SLOTS; i++) {
            slot *s = &ch.slots[i];
            h2_svc_event *evs[8];
            size_t n = h2_svc_queue_poll(s->q, evs, 8);
            any = any || n > 0;
            for (size_t j = 0; j < n; j++)
                consume(&ch, s, evs[j]);
            if (!s->closed_seen)
                continue;
            /* Nothing may wait behind CLOSED: what did would be dropped
             * unseen by the free below (counted here as after CLOSED). */
            while ((n = h2_svc_queue_poll(s->q, evs, 8)) > 0)
                for (size_t j = 0; j < n; j++)
                    consume(&ch, s, evs[j]);
            /* Freed right at CLOSED, while posters still aim at the id. */
            atomic_store(&s->id, 0);
            h2_svc_queue_free(s->q);
            close(s->peer_fd);
            attach_slot(&ch, s, &lm, bytes, len);
        }
        if (!any)
            sched_yield();
    }
    atomic_store(&ch.stop, true);
    for (int i = 0; i < POSTERS; i++)
        pthread_join(t[i], NULL);

    /* The service goes while connections are open and events are kept. */
    h2_svc_free(ch.svc);
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &ch.slots[i];
        h2_svc_event *ev;
        while (h2_svc_queue_poll(s->q, &ev, 1) == 1)
            consume(&ch, s, ev);
        cr_assert(s->closed_seen, "slot %d: no CLOSED after free", i);
        h2_svc_queue_free(s->q);
        close(s->peer_fd);
    }
    int n = atomic_load(&ch.n_conns);
    int posted = 0, answered = 0;
    for (int i = 0; i < n; i++) {
        conn_count *k = &ch.counts[i];
        cr_assert(k->closed, "conn %d: no CLOSED", i);
        cr_assert_eq(k->after_closed, 0, "conn %d: events after CLOSED", i);
        cr_assert_eq(atomic_load(&k->posted), k->answered, "conn %d: %d posted, %d answered", i,
                     atomic_load(&k->posted), k->answered);
        posted += atomic_load(&k->posted);
        answered += k->answered;
    }
    cr_assert_gt(n, SLOTS, "no connection ended during the run");
    cr_assert_eq(posted, answered);
    for (int i = 0; i < ch.n_kept; i++)
        h2_svc_event_release(ch.kept[i]);
    free(bytes);
    cr_assert_eq(lockmem_live(&lm), 0u, "%zu blocks kept", lockmem_live(&lm));
}
