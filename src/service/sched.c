/*
 * Service: RFC 9218 scheduling of streams with held sends (see sched.h).
 * Intrusive doubly linked lists: every operation is O(1) except the
 * insertion of a non-incremental node, which walks its urgency's queue
 * from the back (O(1) when streams arrive in |order|, as new streams do).
 */
#include "service/sched.h"

#include <string.h>

static void list_unlink(svc_sched_list *l, svc_sched_node *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

static void list_append(svc_sched_list *l, svc_sched_node *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

/* Inserts |n| after the last node whose |order| is not above its own. */
static void list_insert_ordered(svc_sched_list *l, svc_sched_node *n)
{
    svc_sched_node *after = l->tail;
    while (after != NULL && after->order > n->order)
        after = after->prev;
    n->prev = after;
    n->next = after != NULL ? after->next : l->head;
    if (n->next != NULL)
        n->next->prev = n;
    else
        l->tail = n;
    if (after != NULL)
        after->next = n;
    else
        l->head = n;
}

/* The list a ready |n| sits in. */
static svc_sched_list *ready_list(svc_sched *s, const svc_sched_node *n)
{
    return n->incremental ? &s->ring[n->urgency] : &s->fifo[n->urgency];
}

/* Links a node that is in no list as ready, at its place by priority. */
static void link_ready(svc_sched *s, svc_sched_node *n)
{
    if (n->incremental)
        list_append(&s->ring[n->urgency], n);
    else
        list_insert_ordered(&s->fifo[n->urgency], n);
    n->state = SVC_SCHED_READY;
}

void svc_sched_init(svc_sched *s)
{
    memset(s, 0, sizeof(*s));
}

void svc_sched_node_init(svc_sched_node *n, uint32_t order)
{
    n->prev = n->next = NULL;
    n->order = order;
    n->urgency = 3;
    n->incremental = false;
    n->state = SVC_SCHED_OUT;
}

void svc_sched_add(svc_sched *s, svc_sched_node *n)
{
    if (n->state == SVC_SCHED_READY)
        return;
    if (n->state == SVC_SCHED_BLOCKED)
        list_unlink(&s->blocked, n);
    else
        s->count++;
    link_ready(s, n);
}

void svc_sched_remove(svc_sched *s, svc_sched_node *n)
{
    if (n->state == SVC_SCHED_OUT)
        return;
    list_unlink(n->state == SVC_SCHED_READY ? ready_list(s, n) : &s->blocked, n);
    n->state = SVC_SCHED_OUT;
    s->count--;
}

void svc_sched_set_priority(svc_sched *s, svc_sched_node *n, unsigned urgency, bool incremental)
{
    uint8_t u = (uint8_t)(urgency < SVC_SCHED_LEVELS ? urgency : SVC_SCHED_LEVELS - 1u);
    if (n->state == SVC_SCHED_READY) {
        list_unlink(ready_list(s, n), n);
        n->urgency = u;
        n->incremental = incremental;
        link_ready(s, n);
        return;
    }
    n->urgency = u;
    n->incremental = incremental;
}

void svc_sched_block(svc_sched *s, svc_sched_node *n)
{
    if (n->state != SVC_SCHED_READY)
        return;
    list_unlink(ready_list(s, n), n);
    list_append(&s->blocked, n);
    n->state = SVC_SCHED_BLOCKED;
}

void svc_sched_unblock(svc_sched *s, svc_sched_node *n)
{
    if (n->state != SVC_SCHED_BLOCKED)
        return;
    list_unlink(&s->blocked, n);
    link_ready(s, n);
}

size_t svc_sched_unblock_all(svc_sched *s)
{
    size_t moved = 0;
    while (s->blocked.head != NULL) {
        svc_sched_unblock(s, s->blocked.head);
        moved++;
    }
    return moved;
}

svc_sched_node *svc_sched_next(const svc_sched *s)
{
    for (unsigned u = 0; u < SVC_SCHED_LEVELS; u++) {
        svc_sched_node *f = s->fifo[u].head;
        svc_sched_node *r = s->ring[u].head;
        if (f == NULL && r == NULL)
            continue;
        if (f == NULL || r == NULL)
            return f != NULL ? f : r;
        return (s->ring_turn & (1u << u)) != 0 ? r : f;
    }
    return NULL;
}

void svc_sched_served(svc_sched *s, svc_sched_node *n)
{
    if (n->state != SVC_SCHED_READY)
        return;
    uint8_t bit = (uint8_t)(1u << n->urgency);
    if (n->incremental) {
        svc_sched_list *l = &s->ring[n->urgency];
        if (l->tail != n) {
            list_unlink(l, n);
            list_append(l, n);
        }
        s->ring_turn = (uint8_t)(s->ring_turn & ~bit);
    } else {
        s->ring_turn = (uint8_t)(s->ring_turn | bit);
    }
}

svc_sched_node *svc_sched_any(const svc_sched *s)
{
    if (s->blocked.head != NULL)
        return s->blocked.head;
    for (unsigned u = 0; u < SVC_SCHED_LEVELS; u++) {
        if (s->fifo[u].head != NULL)
            return s->fifo[u].head;
        if (s->ring[u].head != NULL)
            return s->ring[u].head;
    }
    return NULL;
}
