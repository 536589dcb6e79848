/*
 * h2_obuf, the connection's output queue. Frames are serialized straight
 * into its own contiguous byte buffer; DATA payloads sent by reference are
 * queued as segments that point at the caller's memory. The caller drains
 * the queue from the front, as one contiguous view at a time, as an iovec
 * list, or by copying.
 */
#ifndef H2_CORE_OBUF_H
#define H2_CORE_OBUF_H

#include <sys/uio.h>
#include "h2/common.h"

/* Called once the queue no longer needs a referenced payload. */
typedef void (*h2_obuf_release_fn)(void *user, const uint8_t *data, size_t len);

/*
 * One segment of the queue: a run of the queue's own bytes (|ref| NULL; the
 * runs lie back to back in the byte buffer, in queue order, so a run needs
 * no position) or a reference to caller memory.
 */
typedef struct h2_oseg {
    const uint8_t *ref;  /* next byte to hand out, or NULL for own bytes */
    size_t len;          /* bytes of the segment not yet handed out */
    const uint8_t *base; /* the whole referenced payload, for |release| */
    size_t base_len;
    h2_obuf_release_fn release; /* may be NULL */
    void *user;
} h2_oseg;

/* A frame tracer fed every byte queued (conn_trace.c). */
struct h2_trace_out;

/*
 * The segment records, allocated on the first reference (a connection that
 * never sends by reference does not pay for them) and reused.
 */
typedef struct h2_osegs {
    size_t head, n, cap; /* records item[head, head + n) are queued */
    size_t ref_bytes;    /* referenced bytes queued */
    /* frame tracer, NULL: none; kept here, not in h2_obuf, so that an
     * untraced connection does not pay for it */
    struct h2_trace_out *tap;
    h2_oseg item[];
} h2_osegs;

/*
 * While no segment is queued (|segs| NULL or segs->n 0) the queue is
 * exactly the own bytes data[off, len). Otherwise the segments describe the
 * whole queue in order, and their own runs add up to len - off.
 */
typedef struct h2_obuf {
    uint8_t *data;
    size_t off; /* first own byte not yet handed out */
    size_t len; /* end of queued own bytes */
    size_t cap;
    h2_osegs *segs;
} h2_obuf;

/*
 * Called with every byte queued, own or referenced, in queue order, as it
 * is queued, while segs->tap is set. Defined by the tracer (conn_trace.c).
 */
void h2_obuf_tap(struct h2_trace_out *t, const uint8_t *p, size_t n);

/* True while segments describe the queue. */
static inline bool h2_obuf_segmented(const h2_obuf *b)
{
    return b->segs != NULL && b->segs->n > 0;
}

/* An empty buffer; allocates nothing. */
void h2_obuf_init(h2_obuf *b);

/* Releases every queued reference, then frees the memory. */
void h2_obuf_free(h2_obuf *b, const h2_mem *mem);

/* Bytes queued, own and referenced. */
static inline size_t h2_obuf_pending(const h2_obuf *b)
{
    return b->len - b->off + (b->segs != NULL ? b->segs->ref_bytes : 0);
}

/*
 * Makes room for |n| more own bytes at data + len (compacting or growing),
 * and, when segments are in use, for the segment record that committing
 * them may need. Returns 0 or H2_ENOMEM (the queue is unchanged).
 */
int h2_obuf_reserve(h2_obuf *b, const h2_mem *mem, size_t n);

/*
 * Makes sure |k| segment records can be added without allocating (plus the
 * one record switching to segments may need). Returns 0 or H2_ENOMEM (the
 * queue is unchanged).
 */
int h2_obuf_reserve_segs(h2_obuf *b, const h2_mem *mem, size_t k);

/* Where the next bytes go; valid after a successful h2_obuf_reserve(). */
static inline uint8_t *h2_obuf_tail(h2_obuf *b)
{
    return b->data + b->len;
}

/* Slow path of h2_obuf_commit(): the queue is in segment mode. */
void h2_obuf_commit_seg(h2_obuf *b, size_t n);

/* Marks |n| reserved bytes as written. */
static inline void h2_obuf_commit(h2_obuf *b, size_t n)
{
    if (b->segs != NULL && b->segs->tap != NULL)
        h2_obuf_tap(b->segs->tap, b->data + b->len, n);
    if (!h2_obuf_segmented(b))
        b->len += n;
    else
        h2_obuf_commit_seg(b, n);
}

/*
 * Queues |len| (> 0) bytes at |data| by reference, after everything queued
 * so far. Needs room for two segment records (h2_obuf_reserve_segs(b, 2)
 * before; cannot fail then). |release|, when not NULL, is called with
 * (|user|, |data|, |len|) exactly once, when the last of these bytes is
 * consumed or the queue is cleared or freed.
 */
void h2_obuf_add_ref(h2_obuf *b, const uint8_t *data, size_t len, h2_obuf_release_fn release,
                     void *user);

/* Removes up to |n| bytes from the front, releasing finished references. */
void h2_obuf_consume(h2_obuf *b, size_t n);

/* Drops everything queued, releasing references (keeps the memory). */
void h2_obuf_clear(h2_obuf *b);

/* The first contiguous run of queued bytes (NULL and 0 when empty). */
void h2_obuf_front(const h2_obuf *b, const uint8_t **data, size_t *len);

/* Fills up to |max| iovecs with the queued bytes in order; returns how many. */
size_t h2_obuf_iov(const h2_obuf *b, struct iovec *iov, size_t max);

/* Copies up to |cap| queued bytes to |out| without removing them; returns the count. */
size_t h2_obuf_peek(const h2_obuf *b, uint8_t *out, size_t cap);

#endif /* H2_CORE_OBUF_H */
