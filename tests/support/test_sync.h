/*
 * Waiting without sleeping: a counter that any thread raises and any thread
 * waits on (a mutex and a condition variable on CLOCK_MONOTONIC). The
 * timeout of a wait is a safety net only: a test fails when it passes.
 */
#ifndef H2_TESTS_SUPPORT_TEST_SYNC_H
#define H2_TESTS_SUPPORT_TEST_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tsync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t value;
} tsync;

void tsync_init(tsync *s);
void tsync_destroy(tsync *s);
/* Adds |n| to the counter and wakes every waiter. */
void tsync_add(tsync *s, int64_t n);
int64_t tsync_get(tsync *s);
/* Blocks until the counter is at least |target|; false after |timeout_ms|. */
bool tsync_wait_geq(tsync *s, int64_t target, int timeout_ms);

#endif /* H2_TESTS_SUPPORT_TEST_SYNC_H */
