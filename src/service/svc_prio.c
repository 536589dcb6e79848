/*
 * Service: RFC 9218 priority signals of a connection's streams and their
 * way into the scheduler of held sends (see svc_prio.h, sched.h).
 */
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_conn.h"
#include "service/svc_dispatch.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

#define PRIO_MIN_CAP 8u
#define PRIO_MAX_ENTRIES 4096u

static const h2_mem *mem_of(struct svc_conn *c)
{
    return &c->worker->svc->mem;
}

static svc_prio_entry *find(svc_prio_tab *t, uint32_t id)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->v[i].id == id)
            return &t->v[i];
    return NULL;
}

static void drop_at(svc_prio_tab *t, uint32_t i)
{
    t->v[i] = t->v[--t->n];
}

/* True when |id| can send no more: we ended it, or it closed. */
static bool done_sending(struct svc_conn *c, uint32_t id)
{
    int st = h2_conn_stream_state(c->conn, id);
    return st == H2_STATE_HALF_CLOSED_LOCAL || st == H2_STATE_CLOSED;
}

/* How many entries the table may hold: the local MAX_CONCURRENT_STREAMS + 32, at most 4096. */
static uint32_t entry_limit(struct svc_conn *c)
{
    uint32_t mcs = h2_conn_setting(c->conn, false, H2_SETTING_MAX_CONCURRENT_STREAMS);
    return mcs < PRIO_MAX_ENTRIES - 32u ? mcs + 32u : PRIO_MAX_ENTRIES;
}

/* Makes room for one more entry in a full table. */
static void make_room(struct svc_conn *c, svc_prio_tab *t)
{
    for (uint32_t i = 0; i < t->n;) {
        if (done_sending(c, t->v[i].id))
            drop_at(t, i);
        else
            i++;
    }
    if (t->n < t->cap)
        return;
    if (t->cap < entry_limit(c)) {
        uint32_t cap = t->cap < PRIO_MIN_CAP ? PRIO_MIN_CAP : t->cap * 2u;
        svc_prio_entry *v = h2_mem_realloc(mem_of(c), t->v, (size_t)cap * sizeof(*v));
        if (v != NULL) {
            t->v = v;
            t->cap = cap;
            return;
        }
        if (t->n == 0)
            return; /* no memory and nothing to give way: the signal is dropped */
    }
    /* The oldest stream's entry gives way. */
    uint32_t oldest = 0;
    for (uint32_t i = 1; i < t->n; i++)
        if (t->v[i].id < t->v[oldest].id)
            oldest = i;
    drop_at(t, oldest);
}

/* The stream record of |id| with held sends, or NULL. */
static svc_stream *stream_of(struct svc_conn *c, uint32_t id)
{
    return svc_map_get(&c->streams, id);
}

/*
 * Records urgency |u| / |inc| for |id|; |firm| signals replace anything,
 * others only what is not firm. Applies it to the stream's record.
 */
static void record(struct svc_conn *c, uint32_t id, uint8_t u, bool inc, bool firm)
{
    if (c->reason != 0 || c->conn == NULL)
        return;
    svc_prio_tab *t = &c->prio;
    svc_prio_entry *e = find(t, id);
    if (e != NULL && e->firm && !firm)
        return;
    if (e == NULL) {
        if (t->n == t->cap)
            make_room(c, t);
        if (t->n < t->cap)
            e = &t->v[t->n++];
    }
    if (e != NULL)
        *e = (svc_prio_entry){.id = id, .urgency = u, .incremental = inc, .firm = firm};
    svc_stream *s = stream_of(c, id);
    if (s != NULL)
        svc_sched_set_priority(c->sched, &s->node, u, inc);
}

void svc_prio_on_request(struct svc_conn *c, uint32_t stream_id, const h2_header *fields, size_t n)
{
    h2_priority p;
    (void)h2_priority_from_headers(fields, n, &p); /* malformed: the defaults */
    bool dflt = p.urgency == H2_PRIORITY_DEFAULT_URGENCY && !p.incremental;
    if (dflt && find(&c->prio, stream_id) == NULL)
        return; /* the defaults need no entry */
    record(c, stream_id, p.urgency, p.incremental, false);
}

void svc_prio_on_update(struct svc_conn *c, uint32_t stream_id, uint8_t urgency, bool incremental)
{
    record(c, stream_id, urgency, incremental, true);
}

void svc_prio_command(struct svc_conn *c, struct svc_cmd *cmd)
{
    if (stream_of(c, cmd->stream_id) == NULL && done_sending(c, cmd->stream_id)) {
        svc_cmd_fail(c->worker, c, cmd, H2_ESTREAM_CLOSED, 0);
        return;
    }
    record(c, cmd->stream_id, cmd->sched_prio.urgency, cmd->sched_prio.incremental, true);
    svc_cmd_done(cmd);
}

void svc_prio_stream_new(struct svc_conn *c, struct svc_stream *s)
{
    svc_sched_node_init(&s->node, s->id);
    const svc_prio_entry *e = find(&c->prio, s->id);
    if (e != NULL)
        svc_sched_set_priority(c->sched, &s->node, e->urgency, e->incremental);
    svc_sched_add(c->sched, &s->node);
}

void svc_prio_stream_gone(struct svc_conn *c, struct svc_stream *s)
{
    svc_sched_remove(c->sched, &s->node);
    if (c->prio.n == 0 || (c->conn != NULL && !done_sending(c, s->id)))
        return;
    svc_prio_tab *t = &c->prio;
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->v[i].id == s->id) {
            drop_at(t, i);
            return;
        }
    }
}

void svc_prio_free(struct svc_conn *c)
{
    h2_mem_free(mem_of(c), c->prio.v);
    c->prio = (svc_prio_tab){NULL, 0, 0};
}
