/*
 * The service's RFC 9218 scheduler (src/service/sched.c) on its own:
 * urgency order, incremental streams taking turns, non-incremental ones
 * one at a time by order, the two kinds alternating at one urgency,
 * reprioritisation, removal while scheduled, blocked streams skipped.
 */
#include <criterion/criterion.h>

#include "service/sched.h"

#define N 8

typedef struct rig {
    svc_sched s;
    svc_sched_node n[N];
} rig;

/* Node i has order i (its "stream id"); none is scheduled. */
static void rig_init(rig *g)
{
    svc_sched_init(&g->s);
    for (uint32_t i = 0; i < N; i++)
        svc_sched_node_init(&g->n[i], i);
}

static int idx(rig *g, const svc_sched_node *n)
{
    return n == NULL ? -1 : (int)(n - g->n);
}

/* Serves |k| quanta and writes who got each into |out|. */
static void serve(rig *g, int *out, int k)
{
    for (int i = 0; i < k; i++) {
        svc_sched_node *n = svc_sched_next(&g->s);
        out[i] = idx(g, n);
        if (n != NULL)
            svc_sched_served(&g->s, n);
    }
}

static void add(rig *g, int i, unsigned u, bool inc)
{
    svc_sched_set_priority(&g->s, &g->n[i], u, inc);
    svc_sched_add(&g->s, &g->n[i]);
}

Test(sched, empty_has_nothing_to_serve)
{
    rig g;
    rig_init(&g);
    cr_assert_null(svc_sched_next(&g.s));
    cr_assert_null(svc_sched_any(&g.s));
    cr_assert_eq(g.s.count, 0u);
}

Test(sched, defaults_are_urgency_3_not_incremental)
{
    rig g;
    rig_init(&g);
    cr_assert_eq(g.n[0].urgency, 3);
    cr_assert_not(g.n[0].incremental);
    cr_assert_eq(g.n[0].state, SVC_SCHED_OUT);
}

Test(sched, lowest_urgency_first)
{
    rig g;
    rig_init(&g);
    add(&g, 0, 5, false);
    add(&g, 1, 7, false);
    add(&g, 2, 1, false);
    add(&g, 3, 3, true);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 2);
    svc_sched_remove(&g.s, &g.n[2]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 3);
    svc_sched_remove(&g.s, &g.n[3]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 0);
    svc_sched_remove(&g.s, &g.n[0]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 1);
    svc_sched_remove(&g.s, &g.n[1]);
    cr_assert_null(svc_sched_next(&g.s));
    cr_assert_eq(g.s.count, 0u);
}

Test(sched, incremental_streams_take_turns)
{
    rig g;
    rig_init(&g);
    add(&g, 0, 3, true);
    add(&g, 1, 3, true);
    add(&g, 2, 3, true);
    int got[7];
    serve(&g, got, 7);
    int want[7] = {0, 1, 2, 0, 1, 2, 0};
    cr_assert_arr_eq(got, want, sizeof want);
}

Test(sched, non_incremental_one_at_a_time_in_order)
{
    rig g;
    rig_init(&g);
    /* Added out of order: the lower order (older stream) still goes first. */
    add(&g, 4, 3, false);
    add(&g, 2, 3, false);
    add(&g, 6, 3, false);
    int got[3];
    serve(&g, got, 3);
    cr_assert_eq(got[0], 2);
    cr_assert_eq(got[1], 2);
    cr_assert_eq(got[2], 2);
    svc_sched_remove(&g.s, &g.n[2]);
    serve(&g, got, 2);
    cr_assert_eq(got[0], 4);
    cr_assert_eq(got[1], 4);
    svc_sched_remove(&g.s, &g.n[4]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 6);
}

Test(sched, kinds_alternate_at_one_urgency)
{
    rig g;
    rig_init(&g);
    add(&g, 0, 2, false);
    add(&g, 1, 2, false);
    add(&g, 2, 2, true);
    add(&g, 3, 2, true);
    int got[8];
    serve(&g, got, 8);
    /* The non-incremental head (0) every other turn, the ring sharing the rest. */
    int want[8] = {0, 2, 0, 3, 0, 2, 0, 3};
    cr_assert_arr_eq(got, want, sizeof want);
    /* A lower urgency value beats both kinds. */
    add(&g, 5, 1, false);
    serve(&g, got, 2);
    cr_assert_eq(got[0], 5);
    cr_assert_eq(got[1], 5);
}

Test(sched, reprioritise_moves_a_ready_stream)
{
    rig g;
    rig_init(&g);
    add(&g, 0, 3, false);
    add(&g, 1, 5, false);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 0);
    svc_sched_set_priority(&g.s, &g.n[1], 0, false);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 1);
    /* Down again, behind 0 at urgency 3: order keeps 0 first. */
    svc_sched_set_priority(&g.s, &g.n[1], 3, false);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 0);
    /* Made incremental at the same urgency: the kinds alternate. */
    svc_sched_set_priority(&g.s, &g.n[1], 3, true);
    int got[4];
    serve(&g, got, 4);
    int want[4] = {0, 1, 0, 1};
    cr_assert_arr_eq(got, want, sizeof want);
    /* Out of range urgency: the lowest. */
    svc_sched_set_priority(&g.s, &g.n[0], 99, false);
    cr_assert_eq(g.n[0].urgency, 7);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 1);
    cr_assert_eq(g.s.count, 2u);
}

Test(sched, reprioritise_a_blocked_or_unscheduled_stream)
{
    rig g;
    rig_init(&g);
    svc_sched_set_priority(&g.s, &g.n[3], 0, true);
    cr_assert_eq(g.n[3].state, SVC_SCHED_OUT);
    cr_assert_null(svc_sched_next(&g.s));
    add(&g, 0, 2, false);
    svc_sched_add(&g.s, &g.n[3]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 3);
    svc_sched_block(&g.s, &g.n[3]);
    svc_sched_set_priority(&g.s, &g.n[3], 6, false);
    cr_assert_eq(g.n[3].state, SVC_SCHED_BLOCKED);
    svc_sched_unblock(&g.s, &g.n[3]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 0);
    svc_sched_remove(&g.s, &g.n[0]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 3);
}

Test(sched, remove_while_scheduled)
{
    rig g;
    rig_init(&g);
    add(&g, 0, 3, true);
    add(&g, 1, 3, true);
    add(&g, 2, 3, true);
    add(&g, 3, 3, false);
    add(&g, 4, 4, false);
    svc_sched_block(&g.s, &g.n[4]);
    /* The middle of a ring, a queue's only node, a blocked node. */
    svc_sched_remove(&g.s, &g.n[1]);
    svc_sched_remove(&g.s, &g.n[3]);
    svc_sched_remove(&g.s, &g.n[4]);
    svc_sched_remove(&g.s, &g.n[4]); /* twice: nothing happens */
    cr_assert_eq(g.n[1].state, SVC_SCHED_OUT);
    cr_assert_eq(g.s.count, 2u);
    int got[4];
    serve(&g, got, 4);
    int want[4] = {0, 2, 0, 2};
    cr_assert_arr_eq(got, want, sizeof want);
    /* Removing the one being served: the next takes over. */
    svc_sched_remove(&g.s, svc_sched_next(&g.s));
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 2);
    svc_sched_remove(&g.s, &g.n[2]);
    cr_assert_null(svc_sched_any(&g.s));
    cr_assert_eq(g.s.count, 0u);
    /* A removed node can come back. */
    svc_sched_add(&g.s, &g.n[1]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 1);
}

Test(sched, blocked_stream_is_skipped_not_spun_on)
{
    rig g;
    rig_init(&g);
    add(&g, 0, 0, false); /* most urgent, but its window is shut */
    add(&g, 1, 3, true);
    add(&g, 2, 3, true);
    svc_sched_block(&g.s, &g.n[0]);
    int got[4];
    serve(&g, got, 4);
    int want[4] = {1, 2, 1, 2};
    cr_assert_arr_eq(got, want, sizeof want);
    cr_assert_eq(g.s.count, 3u);
    /* Blocked twice, unblocked once: ready again, first once more. */
    svc_sched_block(&g.s, &g.n[0]);
    svc_sched_unblock(&g.s, &g.n[0]);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 0);
    /* Everything blocked: nothing to serve, nothing lost. */
    svc_sched_block(&g.s, &g.n[0]);
    svc_sched_block(&g.s, &g.n[1]);
    svc_sched_block(&g.s, &g.n[2]);
    cr_assert_null(svc_sched_next(&g.s));
    cr_assert_not_null(svc_sched_any(&g.s));
    cr_assert_eq(svc_sched_unblock_all(&g.s), 3u);
    cr_assert_eq(idx(&g, svc_sched_next(&g.s)), 0);
    /* add() of a blocked node makes it ready too. */
    svc_sched_block(&g.s, &g.n[0]);
    svc_sched_add(&g.s, &g.n[0]);
    cr_assert_eq(g.n[0].state, SVC_SCHED_READY);
    cr_assert_eq(g.s.count, 3u);
}

Test(sched, served_keeps_a_non_incremental_head)
{
    rig g;
    rig_init(&g);
    add(&g, 1, 3, false);
    add(&g, 0, 3, false);
    for (int i = 0; i < 5; i++) {
        svc_sched_node *n = svc_sched_next(&g.s);
        cr_assert_eq(idx(&g, n), 0);
        svc_sched_served(&g.s, n);
    }
}
