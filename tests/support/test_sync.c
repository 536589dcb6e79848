/* A counter to wait on: see test_sync.h. */
#include "support/test_sync.h"

#include <errno.h>
#include <time.h>

void tsync_init(tsync *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    s->value = 0;
}

void tsync_destroy(tsync *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

void tsync_add(tsync *s, int64_t n)
{
    pthread_mutex_lock(&s->lock);
    s->value += n;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int64_t tsync_get(tsync *s)
{
    pthread_mutex_lock(&s->lock);
    int64_t v = s->value;
    pthread_mutex_unlock(&s->lock);
    return v;
}

bool tsync_wait_geq(tsync *s, int64_t target, int timeout_ms)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    int rv = 0;
    while (s->value < target && rv != ETIMEDOUT)
        rv = pthread_cond_timedwait(&s->cond, &s->lock, &end);
    bool ok = s->value >= target;
    pthread_mutex_unlock(&s->lock);
    return ok;
}
