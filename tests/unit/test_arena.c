/* The core's arena: aligned and unaligned takes mixed, marks, reset, trim. */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include "core/arena.h"
#include "support/testmem.h"

TestSuite(arena, .timeout = 30);

Test(arena, aligned_alloc_after_unaligned_commit)
{
    testmem tm;
    testmem_init(&tm);
    h2_arena a;
    h2_arena_init(&a, 512);
    uint8_t *p = h2_arena_reserve(&a, 3, &tm.mem);
    cr_assert_not_null(p);
    memcpy(p, "abc", 3);
    h2_arena_commit(&a, 3);
    void *q = h2_arena_alloc(&a, &tm.mem, 24);
    cr_assert_not_null(q);
    cr_assert_eq((uintptr_t)q % alignof(max_align_t), 0);
    cr_assert_arr_eq(p, "abc", 3, "earlier bytes untouched");
    cr_assert_eq(tm.n_alloc, 1, "both fit the first chunk");
    h2_arena_free(&a, &tm.mem);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(arena, rollback_forgets_and_reset_reuses)
{
    testmem tm;
    testmem_init(&tm);
    h2_arena a;
    h2_arena_init(&a, 512);
    h2_arena_mark m = h2_arena_get_mark(&a);
    for (int i = 0; i < 10; i++)
        cr_assert_not_null(h2_arena_alloc(&a, &tm.mem, 300));
    size_t calls = tm.n_alloc;
    cr_assert_gt(calls, 1);
    h2_arena_rollback(&a, m);
    for (int i = 0; i < 10; i++)
        cr_assert_not_null(h2_arena_alloc(&a, &tm.mem, 300));
    h2_arena_reset(&a);
    for (int i = 0; i < 10; i++)
        cr_assert_not_null(h2_arena_alloc(&a, &tm.mem, 300));
    cr_assert_eq(tm.n_alloc, calls, "chunks kept and reused");
    h2_arena_trim(&a, &tm.mem);
    cr_assert_eq(tm.live_blocks, 1, "trim keeps a small first chunk");
    h2_arena_free(&a, &tm.mem);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(arena, out_of_memory_leaves_arena_usable)
{
    testmem tm;
    testmem_init(&tm);
    h2_arena a;
    h2_arena_init(&a, 512);
    tm.fail_at = 1;
    cr_assert_null(h2_arena_alloc(&a, &tm.mem, 10));
    tm.fail_at = 2;
    cr_assert_null(h2_arena_reserve(&a, 10, &tm.mem));
    cr_assert_null(h2_arena_alloc(&a, &tm.mem, (size_t)H2_ARENA_MAX_REQUEST + 1));
    cr_assert_eq(tm.n_calls, 2, "an oversized request does not reach the allocator");
    cr_assert_not_null(h2_arena_alloc(&a, &tm.mem, 10));
    h2_arena_free(&a, &tm.mem);
    cr_assert_eq(tm.live_blocks, 0);
}
