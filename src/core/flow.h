/*
 * Flow-control windows (RFC 9113 section 6.9) with overflow-checked
 * arithmetic, and the receive-side automatic update rule of h2
 * (acknowledge_received_data).
 */
#ifndef H2_CORE_FLOW_H
#define H2_CORE_FLOW_H

#include "h2/common.h"

#define H2_FLOW_MAX 2147483647

/*
 * A receive window: |current| is what the peer may still send, |max| the
 * largest value it was opened to, |processed| bytes the application has
 * finished with but not yet returned to the peer.
 */
typedef struct h2_recv_window {
    int32_t current;
    int32_t max;
    uint32_t processed;
} h2_recv_window;

static inline void h2_recv_window_init(h2_recv_window *w, uint32_t size)
{
    w->current = (int32_t)size;
    w->max = (int32_t)size;
    w->processed = 0;
}

/* Charges |n| received bytes. Returns false when the window goes below 0. */
static inline bool h2_recv_window_consume(h2_recv_window *w, uint32_t n)
{
    int64_t v = (int64_t)w->current - n;
    if (v < 0)
        return false;
    w->current = (int32_t)v;
    return true;
}

/*
 * Opens the window by |inc| (a WINDOW_UPDATE we send, or a settings
 * change, which may be negative). Returns false, changing nothing, when the
 * result would pass 2^31-1.
 */
bool h2_recv_window_open(h2_recv_window *w, int64_t inc);

/* Would opening by |inc| overflow? */
static inline bool h2_recv_window_can_open(const h2_recv_window *w, int64_t inc)
{
    return (int64_t)w->current + inc <= H2_FLOW_MAX;
}

/*
 * Records |n| processed bytes and returns the WINDOW_UPDATE increment to
 * send now (0: none); the window is already opened by it when non-zero.
 */
uint32_t h2_recv_window_processed(h2_recv_window *w, size_t n);

/* Adds |delta| to a send window. Returns false (unchanged) past 2^31-1. */
static inline bool h2_send_window_add(int32_t *w, int64_t delta)
{
    int64_t v = (int64_t)*w + delta;
    if (v > H2_FLOW_MAX || v < -(int64_t)H2_FLOW_MAX - 1)
        return false;
    *w = (int32_t)v;
    return true;
}

#endif /* H2_CORE_FLOW_H */
