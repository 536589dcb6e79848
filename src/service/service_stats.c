/*
 * Service: the statistics snapshot of a worker (h2_svc_worker_get_stats()),
 * read from counters that only the worker writes.
 */
#include <string.h>

#include "core/abi.h"
#include "h2/errors.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

int h2_svc_worker_get_stats(const h2_svc *svc, unsigned worker, h2_svc_worker_stats *out)
{
    if (svc == NULL || out == NULL || worker >= svc->n_workers)
        return H2_EINVAL;
    h2_svc_worker_stats full, *dst = out;
    out = &full;
    const svc_worker *w = &svc->workers[worker];
    const svc_worker_counters *k = &w->count;
    memset(out, 0, sizeof(*out));
    out->connections = atomic_load_explicit(&k->connections, memory_order_relaxed);
    out->connections_total = atomic_load_explicit(&k->connections_total, memory_order_relaxed);
    out->bytes_in = atomic_load_explicit(&k->bytes_in, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&k->bytes_out, memory_order_relaxed);
    out->commands = atomic_load_explicit(&k->commands, memory_order_relaxed);
    out->events = atomic_load_explicit(&k->events, memory_order_relaxed);
    out->loops = atomic_load_explicit(&k->loops, memory_order_relaxed);
    out->timeouts = atomic_load_explicit(&k->timeouts, memory_order_relaxed);
    for (unsigned i = 0; i < H2_SVC_TIMER_COUNT; i++)
        out->timer_expired[i] = atomic_load_explicit(&k->timer_expired[i], memory_order_relaxed);
    out->frames_in = atomic_load_explicit(&k->frames_in, memory_order_relaxed);
    out->frames_out = atomic_load_explicit(&k->frames_out, memory_order_relaxed);
    out->streams_opened = atomic_load_explicit(&k->streams_opened, memory_order_relaxed);
    h2_mailbox_stats ms;
    h2_mailbox_get_stats(&w->mb, &ms);
    out->mailbox_high_water = ms.high_water;
    out->wakeups = ms.wakeups;
    return h2_abi_export(dst, &full, sizeof(full), H2_SVC_WORKER_STATS_MIN_SIZE);
}
