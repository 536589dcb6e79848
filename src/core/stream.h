/*
 * Streams of one connection: the per-stream object (RFC 9113 section 5.1
 * state plus the per-stream flow-control and message bookkeeping), a slab
 * that recycles stream objects, and the bounded record of closed streams.
 *
 * Only open and half-closed streams have objects. A stream that closes is
 * freed at once and remembered as (id, how it closed) in h2_stream_set's
 * closed record: per id parity, a sliding window of 2-bit slots indexed by
 * stream id, covering the most recent ids (at most max_closed ids; older
 * records are forgotten). The window grows from nothing only as far as the
 * span of ids it has to remember.
 */
#ifndef H2_CORE_STREAM_H
#define H2_CORE_STREAM_H

#include "h2/common.h"
#include "core/flow.h"
#include "core/stream_map.h"

typedef enum h2_stream_state {
    H2_SS_OPEN = 1,
    H2_SS_HALF_CLOSED_LOCAL,  /* we sent END_STREAM */
    H2_SS_HALF_CLOSED_REMOTE, /* the peer sent END_STREAM */
} h2_stream_state;

/* How a stream closed, as kept in the closed record (never 0). */
typedef enum h2_closed_how {
    H2_CLOSED_RST_SENT = 1,   /* we reset it (or refused it) */
    H2_CLOSED_RST_RECV = 2,   /* the peer reset it */
    H2_CLOSED_END_STREAM = 3, /* both sides sent END_STREAM */
} h2_closed_how;

enum {
    H2_SF_OUTBOUND = 1u << 0,      /* we opened it (we are its client) */
    H2_SF_SENT_FINAL = 1u << 1,    /* request or final response sent */
    H2_SF_SENT_TRAILERS = 1u << 2, /* trailers sent */
    H2_SF_RECV_FINAL = 1u << 3,    /* request or final response received */
    H2_SF_RECV_TRAILERS = 1u << 4,
    H2_SF_HEAD = 1u << 5, /* our request used HEAD: the response has no content */
};

typedef struct h2_stream {
    uint32_t id;
    uint8_t state; /* h2_stream_state */
    uint8_t flags; /* H2_SF_* */
    int32_t send_window;
    h2_recv_window recv;
    /* Inbound DATA bytes (padding excluded) the content-length still
     * expects, or -1 when the message declared no content-length. */
    int64_t content_left;
} h2_stream;

/* Objects are carved from chunks of this many streams. */
#define H2_STREAM_CHUNK 16u

typedef struct h2_stream_chunk h2_stream_chunk;

/* Closed record of one id parity: 2 bits per id, ids (top - 2 * (cap - 1)) .. top. */
typedef struct h2_closed_ids {
    uint8_t *bits;
    uint32_t cap; /* slots, a power of two, or 0 */
    uint32_t top; /* highest id of this parity seen, 0 when none */
} h2_closed_ids;

typedef struct h2_stream_set {
    h2_stream_map live;
    h2_stream_chunk *chunks;
    h2_stream *free_list; /* linked through the first bytes of free objects */
    size_t n_free;
    h2_closed_ids closed[2]; /* [id & 1] */
    uint32_t max_closed;     /* power of two, or 0 */
} h2_stream_set;

void h2_stream_set_init(h2_stream_set *set, uint32_t max_closed);
void h2_stream_set_free(h2_stream_set *set, const h2_mem *mem);

static inline h2_stream *h2_stream_get(const h2_stream_set *set, uint32_t id)
{
    return h2_stream_map_get(&set->live, id);
}

/*
 * Makes sure one h2_stream_new() cannot fail. Returns 0 or H2_ENOMEM
 * (nothing changed in a way anyone can see).
 */
int h2_stream_reserve(h2_stream_set *set, const h2_mem *mem);

/*
 * Creates and indexes a zeroed stream |id|; h2_stream_reserve() first.
 * Also marks |id| as used in the closed record (h2_stream_note_id()).
 */
h2_stream *h2_stream_new(h2_stream_set *set, const h2_mem *mem, uint32_t id);

/*
 * Records that |id| is now in use (the highest of its parity so far), so
 * that the closed record's window slides forward. May allocate; on failure
 * older records are forgotten instead.
 */
void h2_stream_note_id(h2_stream_set *set, const h2_mem *mem, uint32_t id);

/*
 * Frees |s| and remembers it as closed |how|. Recording may allocate; if
 * that fails the stream is simply forgotten (treated as evicted).
 */
void h2_stream_close(h2_stream_set *set, const h2_mem *mem, h2_stream *s, h2_closed_how how);

/* Remembers a stream that never had an object (refused) as closed |how|. */
void h2_stream_remember(h2_stream_set *set, const h2_mem *mem, uint32_t id, h2_closed_how how);

/* How |id| closed, or 0 when it is not remembered. */
uint32_t h2_stream_closed_how(const h2_stream_set *set, uint32_t id);

#endif /* H2_CORE_STREAM_H */
