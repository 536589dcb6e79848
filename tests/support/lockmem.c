/* A thread-safe counting allocator: see lockmem.h. */
#include "support/lockmem.h"

static void *lm_malloc(size_t size, void *ud)
{
    lockmem *lm = ud;
    pthread_mutex_lock(&lm->lock);
    void *p = lm->tm.mem.malloc(size, lm->tm.mem.user_data);
    pthread_mutex_unlock(&lm->lock);
    return p;
}

static void *lm_realloc(void *ptr, size_t size, void *ud)
{
    lockmem *lm = ud;
    pthread_mutex_lock(&lm->lock);
    void *p = lm->tm.mem.realloc(ptr, size, lm->tm.mem.user_data);
    pthread_mutex_unlock(&lm->lock);
    return p;
}

static void lm_free(void *ptr, void *ud)
{
    lockmem *lm = ud;
    pthread_mutex_lock(&lm->lock);
    lm->tm.mem.free(ptr, lm->tm.mem.user_data);
    pthread_mutex_unlock(&lm->lock);
}

void lockmem_init(lockmem *lm)
{
    testmem_init(&lm->tm);
    pthread_mutex_init(&lm->lock, NULL);
    lm->mem = (h2_mem){lm, lm_malloc, lm_realloc, lm_free};
}

size_t lockmem_live(lockmem *lm)
{
    pthread_mutex_lock(&lm->lock);
    size_t n = lm->tm.live_blocks;
    pthread_mutex_unlock(&lm->lock);
    return n;
}

size_t lockmem_peak(lockmem *lm)
{
    pthread_mutex_lock(&lm->lock);
    size_t n = lm->tm.peak_bytes;
    pthread_mutex_unlock(&lm->lock);
    return n;
}

size_t lockmem_allocs(lockmem *lm)
{
    pthread_mutex_lock(&lm->lock);
    size_t n = lm->tm.n_alloc;
    pthread_mutex_unlock(&lm->lock);
    return n;
}
