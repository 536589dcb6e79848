/*
 * Service: per-connection hold budgets. Copied DATA not yet sent and FEED
 * bytes not yet processed are charged, when posted, to the connection's
 * account and to its worker's total; the per-connection limit is the one
 * that trips first, so one connection whose peer stalls (or whose consumer
 * stops reading) cannot use up what the other connections of its worker
 * may hold.
 *
 * Posters find an account by connection id in the worker's table: open
 * addressing with linear probing, read by any thread without a lock and
 * written under the worker's |acct_lock| by whoever prepares a connection
 * (before its id is handed out, so that the very first post finds it) and
 * by the worker that frees it. An entry is published by storing its key
 * last (release); a removed entry gets the key SVC_ACCT_GONE, which readers
 * probe past and the next insertion on that path reuses. When live entries
 * would pass half the table, a new one at least twice as large is built
 * from them and published; replaced tables stay allocated until the worker
 * is freed (a reader may still be in one), which costs less than the newest
 * table again, since each replacement at least doubles. Accounts are
 * pooled and never freed before the worker: a reader that raced with the
 * end of its connection charges a live account (the one that reuses it,
 * until the command fails for its closed connection a moment later), never
 * freed memory.
 */
#include "core/mem.h"
#include "h2/errors.h"
#include "service/svc_internal.h"

#define MIN_SLOTS 16u

static uint32_t slot_of(uint64_t id, uint32_t mask)
{
    /* Fibonacci hashing: ids differ in their high bits (the sequence). */
    return (uint32_t)((id * 0x9e3779b97f4a7c15u) >> 32) & mask;
}

static svc_account *acct_find(svc_worker *w, h2_svc_conn_id id)
{
    svc_acct_table *t = atomic_load_explicit(&w->accts, memory_order_acquire);
    if (t == NULL)
        return NULL;
    uint32_t i = slot_of(id, t->mask);
    for (uint32_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        uint64_t key = atomic_load_explicit(&t->slots[i].key, memory_order_acquire);
        if (key == id)
            return atomic_load_explicit(&t->slots[i].acct, memory_order_relaxed);
        if (key == 0)
            return NULL;
    }
    return NULL;
}

/* Takes |len| on |held| unless that passes |limit|; anything while it holds nothing. */
static bool take(atomic_size_t *held, size_t limit, size_t len)
{
    size_t was = atomic_fetch_add_explicit(held, len, memory_order_relaxed);
    if (was > 0 && len > limit - (was < limit ? was : limit)) {
        atomic_fetch_sub_explicit(held, len, memory_order_relaxed);
        return false;
    }
    return true;
}

bool svc_hold_take(h2_service *svc, svc_worker *w, h2_svc_conn_id conn, int kind, size_t len,
                   svc_hold *h)
{
    bool feed = kind == SVC_HOLD_FEED;
    h->worker = feed ? &w->feed_bytes : &w->send_bytes;
    h->conn = NULL;
    svc_account *a = acct_find(w, conn);
    if (a != NULL) {
        h->conn = feed ? &a->feed : &a->send;
        if (!take(h->conn, feed ? svc->feed_hold_conn_limit : svc->send_hold_conn_limit, len))
            return false;
    }
    if (!take(h->worker, feed ? svc->feed_hold_limit : svc->send_hold_limit, len)) {
        if (h->conn != NULL)
            atomic_fetch_sub_explicit(h->conn, len, memory_order_relaxed);
        return false;
    }
    return true;
}

void svc_hold_undo(const svc_hold *h, size_t len)
{
    atomic_fetch_sub_explicit(h->worker, len, memory_order_relaxed);
    if (h->conn != NULL)
        atomic_fetch_sub_explicit(h->conn, len, memory_order_relaxed);
}

void svc_hold_attach(svc_cmd *cmd, const svc_hold *h)
{
    cmd->hold_count = h->worker;
    cmd->hold_conn = h->conn;
}

/* Puts |key| -> |a| in |t| (room checked by the caller): the first free slot. */
static void put(svc_acct_table *t, uint64_t key, svc_account *a)
{
    uint32_t i = slot_of(key, t->mask);
    for (;;) {
        uint64_t k = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
        if (k == 0 || k == SVC_ACCT_GONE)
            break;
        i = (i + 1) & t->mask;
    }
    atomic_store_explicit(&t->slots[i].acct, a, memory_order_relaxed);
    atomic_store_explicit(&t->slots[i].key, key, memory_order_release);
    t->live++;
}

/* Makes room for one more entry: a new table when live entries would pass half. */
static int reserve(svc_worker *w)
{
    const h2_mem *mem = &w->svc->mem;
    svc_acct_table *t = atomic_load_explicit(&w->accts, memory_order_relaxed);
    if (t != NULL && (size_t)(t->live + 1) * 2 <= (size_t)t->mask + 1)
        return 0;
    uint32_t live = t != NULL ? t->live : 0;
    uint32_t slots = MIN_SLOTS;
    while (slots < (live + 1u) * 4u) {
        if (slots > UINT32_MAX / 4)
            return H2_ENOMEM;
        slots *= 2;
    }
    svc_acct_table *n = h2_mem_calloc(mem, 1, sizeof(*n) + (size_t)slots * sizeof(n->slots[0]));
    if (n == NULL)
        return H2_ENOMEM;
    n->mask = slots - 1;
    n->older = t;
    for (uint32_t i = 0; t != NULL && i <= t->mask; i++) {
        uint64_t key = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
        if (key != 0 && key != SVC_ACCT_GONE)
            put(n, key, atomic_load_explicit(&t->slots[i].acct, memory_order_relaxed));
    }
    atomic_store_explicit(&w->accts, n, memory_order_release);
    return 0;
}

/* Under |acct_lock|: a pooled or new account keyed by |id|, or NULL. */
static svc_account *open_locked(svc_worker *w, h2_svc_conn_id id)
{
    if (reserve(w) != 0)
        return NULL;
    svc_account *a = w->acct_free;
    if (a != NULL) {
        w->acct_free = a->free_next;
    } else {
        a = h2_mem_calloc(&w->svc->mem, 1, sizeof(*a));
        if (a == NULL)
            return NULL;
        atomic_init(&a->feed, 0);
        atomic_init(&a->send, 0);
        a->owner = w;
        /* Every account stays on the worker's list until the worker is freed. */
        a->all_next = w->acct_all;
        w->acct_all = a;
    }
    put(atomic_load_explicit(&w->accts, memory_order_relaxed), id, a);
    return a;
}

int svc_account_open(svc_worker *w, svc_conn *c)
{
    pthread_mutex_lock(&w->acct_lock);
    c->acct = open_locked(w, c->id);
    pthread_mutex_unlock(&w->acct_lock);
    return c->acct != NULL ? 0 : H2_ENOMEM;
}

void svc_account_close(svc_conn *c)
{
    svc_account *a = c->acct;
    if (a == NULL)
        return;
    c->acct = NULL;
    svc_worker *w = a->owner;
    pthread_mutex_lock(&w->acct_lock);
    svc_acct_table *t = atomic_load_explicit(&w->accts, memory_order_relaxed);
    uint32_t i = slot_of(c->id, t->mask);
    for (uint32_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        uint64_t key = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
        if (key == c->id) {
            atomic_store_explicit(&t->slots[i].key, SVC_ACCT_GONE, memory_order_release);
            t->live--;
            break;
        }
        if (key == 0)
            break;
    }
    /* Back to the pool; bytes still charged to it (commands in flight) come
     * back as those commands are answered. */
    a->free_next = w->acct_free;
    w->acct_free = a;
    pthread_mutex_unlock(&w->acct_lock);
}

void svc_accounts_free(svc_worker *w)
{
    const h2_mem *mem = &w->svc->mem;
    svc_acct_table *t = atomic_load_explicit(&w->accts, memory_order_relaxed);
    atomic_store_explicit(&w->accts, NULL, memory_order_relaxed);
    while (t != NULL) {
        svc_acct_table *older = t->older;
        h2_mem_free(mem, t);
        t = older;
    }
    svc_account *a = w->acct_all;
    while (a != NULL) {
        svc_account *next = a->all_next;
        h2_mem_free(mem, a);
        a = next;
    }
    w->acct_all = w->acct_free = NULL;
    pthread_mutex_destroy(&w->acct_lock);
}
