#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "support/testmem.h"

/* Each block carries its size in a header so live bytes can be tracked. */
typedef struct {
    size_t size;
    max_align_t align;
} blockhdr;

static bool should_fail(testmem *tm)
{
    tm->n_calls++;
    return tm->fail_at != 0 && tm->n_calls == tm->fail_at;
}

static void *tm_malloc(size_t size, void *ud)
{
    testmem *tm = ud;
    if (should_fail(tm))
        return NULL;
    blockhdr *h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    tm->n_alloc++;
    tm->live_blocks++;
    tm->live_bytes += size;
    if (tm->live_bytes > tm->peak_bytes)
        tm->peak_bytes = tm->live_bytes;
    return h + 1;
}

static void tm_free(void *ptr, void *ud)
{
    testmem *tm = ud;
    if (ptr == NULL)
        return;
    blockhdr *h = (blockhdr *)ptr - 1;
    tm->live_blocks--;
    tm->live_bytes -= h->size;
    free(h);
}

static void *tm_realloc(void *ptr, size_t size, void *ud)
{
    testmem *tm = ud;
    if (ptr == NULL)
        return tm_malloc(size, ud);
    if (should_fail(tm))
        return NULL;
    blockhdr *old = (blockhdr *)ptr - 1;
    size_t old_size = old->size;
    blockhdr *h = realloc(old, sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    tm->n_alloc++;
    tm->live_bytes = tm->live_bytes - old_size + size;
    if (tm->live_bytes > tm->peak_bytes)
        tm->peak_bytes = tm->live_bytes;
    return h + 1;
}

void testmem_init(testmem *tm)
{
    memset(tm, 0, sizeof(*tm));
    tm->mem.user_data = tm;
    tm->mem.malloc = tm_malloc;
    tm->mem.realloc = tm_realloc;
    tm->mem.free = tm_free;
}

size_t testmem_sweep(int (*scenario)(testmem *tm, void *arg), void *arg)
{
    testmem tm;
    testmem_init(&tm);
    cr_assert_eq(scenario(&tm, arg), 0, "scenario failed without injected failures");
    cr_assert_eq(tm.live_blocks, 0, "clean run leaked %zu blocks", tm.live_blocks);
    size_t calls = tm.n_calls;
    cr_assert_gt(calls, 0, "scenario made no allocation");
    for (size_t i = 1; i <= calls; i++) {
        testmem_init(&tm);
        tm.fail_at = i;
        cr_assert_eq(scenario(&tm, arg), 0, "scenario inconsistent when allocation %zu fails", i);
        cr_assert_eq(tm.live_blocks, 0, "leak of %zu blocks when allocation %zu fails",
                     tm.live_blocks, i);
    }
    return calls;
}
