/*
 * Service: CLOCK_MONOTONIC in microseconds and milliseconds, and deadlines
 * on it, for real waits (a post waiting for room, a queue wait, the
 * shutdown deadline, the mailbox's park back-off). Timers use the
 * service's own clock instead (svc_now_ms(), svc_timer.h).
 */
#ifndef H2_SERVICE_SVC_CLOCK_H
#define H2_SERVICE_SVC_CLOCK_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

/* Microseconds of CLOCK_MONOTONIC. */
static inline int64_t svc_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline int64_t svc_mono_ms(void)
{
    return svc_mono_us() / 1000;
}

/* The svc_mono_ms() at which |timeout_ms| from now ends; -1 (none) when it is negative. */
static inline int64_t svc_deadline_ms(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : svc_mono_ms() + timeout_ms;
}

/* Milliseconds left until |deadline| (-1: none), clamped to [0, INT_MAX]. */
static inline int svc_remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - svc_mono_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

#endif /* H2_SERVICE_SVC_CLOCK_H */
