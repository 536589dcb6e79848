/*
 * A thread-safe counting allocator for tests with threads (the service's
 * workers allocate at once): testmem behind a mutex.
 *
 *     lockmem lm; lockmem_init(&lm);
 *     cfg.mem = &lm.mem;
 *     ...
 *     cr_assert_eq(lockmem_live(&lm), 0u); // nothing leaked
 */
#ifndef H2_TESTS_SUPPORT_LOCKMEM_H
#define H2_TESTS_SUPPORT_LOCKMEM_H

#include <pthread.h>
#include <stddef.h>
#include "h2/common.h"
#include "support/testmem.h"

typedef struct lockmem {
    testmem tm;
    pthread_mutex_t lock;
    h2_mem mem; /* the allocator to hand out; its user data is the lockmem */
} lockmem;

void lockmem_init(lockmem *lm);
/* Blocks allocated and not freed yet. */
size_t lockmem_live(lockmem *lm);
/* Most bytes live at once so far. */
size_t lockmem_peak(lockmem *lm);
/* Successful allocations (malloc and realloc calls) so far. */
size_t lockmem_allocs(lockmem *lm);

#endif /* H2_TESTS_SUPPORT_LOCKMEM_H */
