/*
 * The frame trace hook (h2_conn_config.trace): received frames are handed
 * to it by the frame dispatcher; sent frames are recovered from the bytes
 * queued in the output, which the output buffer's tap (kept with its
 * segment records) feeds to a small
 * frame parser, so that every frame writer is covered without a call of
 * its own. Without a hook nothing is allocated and the output has no tap.
 */
#ifndef H2_CORE_CONN_TRACE_H
#define H2_CORE_CONN_TRACE_H

#include "h2/conn_config.h"
#include "core/frame.h"

/* The tracer of one connection: the hook, and the parser of the sent bytes. */
typedef struct h2_trace_out {
    h2_trace_fn fn;
    void *user;
    uint8_t hd[H2_FRAME_HEADER_LEN];
    uint8_t hd_len;         /* header bytes of the current frame seen */
    uint8_t skip;           /* client preface bytes still to pass over */
    bool split;             /* the payload came in more than one piece */
    uint32_t left;          /* payload bytes of the current frame still to come */
    const uint8_t *payload; /* the payload when it came in one piece */
} h2_trace_out;

struct h2_conn;

/* Sets up the tracer when the configuration has a hook: 0 or H2_ENOMEM.
 * h2_conn_free() frees it (c->out.segs->tap). */
int h2_conn_trace_init(struct h2_conn *c);

/* A complete received frame whose header passed the checks. */
void h2_conn_trace_received(struct h2_conn *c, const h2_frame_hd *hd, const uint8_t *payload);

#endif /* H2_CORE_CONN_TRACE_H */
