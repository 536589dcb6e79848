/*
 * Test allocator: counts allocations and live bytes, and can fail the Nth
 * allocation (1-based; 0 = never). Use it through its h2_mem:
 *
 *     testmem tm; testmem_init(&tm);
 *     tm.fail_at = 3;                 // third allocation returns NULL
 *     h2_hpack_decoder_new(&d, &tm.mem);
 *     ...
 *     cr_assert_eq(tm.live_blocks, 0); // nothing leaked
 */
#ifndef H2_TESTS_TESTMEM_H
#define H2_TESTS_TESTMEM_H

#include <stddef.h>
#include "h2/common.h"

typedef struct testmem {
    h2_mem mem;
    size_t n_alloc;     /* successful malloc/realloc calls so far */
    size_t n_calls;     /* malloc/realloc calls so far, failed ones too */
    size_t fail_at;     /* fail the call whose 1-based number is this; 0 = never */
    size_t live_blocks; /* blocks allocated and not yet freed */
    size_t live_bytes;
    size_t peak_bytes;
} testmem;

void testmem_init(testmem *tm);

/*
 * Runs |scenario| once with no failure to count its allocation calls, then
 * once per call with that call failing. The scenario must return 0 when it
 * ended with a clean error or success, non-zero when it saw an inconsistency.
 * Asserts (Criterion) that every run returns 0 and leaks nothing. Returns
 * the number of allocation calls of the clean run.
 */
size_t testmem_sweep(int (*scenario)(testmem *tm, void *arg), void *arg);

#endif
