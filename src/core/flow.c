/* Receive-window bookkeeping and automatic WINDOW_UPDATE thresholds. */
#include "core/flow.h"

bool h2_recv_window_open(h2_recv_window *w, int64_t inc)
{
    int64_t v = (int64_t)w->current + inc;
    if (v > H2_FLOW_MAX || v < -(int64_t)H2_FLOW_MAX - 1)
        return false;
    w->current = (int32_t)v;
    if (w->current > w->max)
        w->max = w->current;
    return true;
}

uint32_t h2_recv_window_processed(h2_recv_window *w, size_t n)
{
    uint64_t p = (uint64_t)w->processed + n;
    w->processed = p > H2_FLOW_MAX ? (uint32_t)H2_FLOW_MAX : (uint32_t)p;
    if (w->processed == 0)
        return 0;
    int64_t room = (int64_t)w->max - w->current;
    int64_t quarter = w->max / 4;
    int64_t small = quarter < 1024 ? quarter : 1024;
    bool send =
        (w->current == 0 && (int64_t)w->processed > small) || (int64_t)w->processed >= w->max / 2;
    if (!send)
        return 0;
    int64_t inc = (int64_t)w->processed < room ? (int64_t)w->processed : room;
    w->processed = 0;
    if (inc <= 0)
        return 0;
    w->current = (int32_t)(w->current + inc);
    return (uint32_t)inc;
}
