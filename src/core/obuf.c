/* The output queue of the connection core: see obuf.h. */
#include <string.h>
#include "core/obuf.h"
#include "core/mem.h"
#include "h2/errors.h"

#define H2_OBUF_MIN_CAP 128u
#define H2_OBUF_MIN_SEGS 8u

void h2_obuf_init(h2_obuf *b)
{
    memset(b, 0, sizeof(*b));
}

void h2_obuf_free(h2_obuf *b, const h2_mem *mem)
{
    h2_obuf_clear(b);
    h2_mem_free(mem, b->data);
    h2_mem_free(mem, b->segs);
    memset(b, 0, sizeof(*b));
}

/* Room for |k| more records after the last one, moving or growing the array. */
static int seg_room(h2_obuf *b, const h2_mem *mem, size_t k)
{
    h2_osegs *q = b->segs;
    if (q != NULL && q->cap - q->head - q->n >= k)
        return 0;
    if (q != NULL && q->head > 0 && q->cap - q->n >= k) {
        memmove(q->item, q->item + q->head, q->n * sizeof(*q->item));
        q->head = 0;
        return 0;
    }
    size_t n = q != NULL ? q->n : 0;
    if (k > SIZE_MAX / (4 * sizeof(h2_oseg)) - n)
        return H2_ENOMEM;
    size_t cap = q == NULL || q->cap < H2_OBUF_MIN_SEGS ? H2_OBUF_MIN_SEGS : q->cap;
    while (cap < n + k)
        cap *= 2;
    h2_osegs *p = h2_mem_malloc(mem, sizeof(*p) + cap * sizeof(h2_oseg));
    if (p == NULL)
        return H2_ENOMEM;
    p->head = 0;
    p->n = n;
    p->cap = cap;
    p->ref_bytes = 0;
    p->tap = NULL;
    if (q != NULL) {
        p->ref_bytes = q->ref_bytes;
        p->tap = q->tap;
        if (n > 0)
            memcpy(p->item, q->item + q->head, n * sizeof(*q->item));
        h2_mem_free(mem, q);
    }
    b->segs = p;
    return 0;
}

int h2_obuf_reserve(h2_obuf *b, const h2_mem *mem, size_t n)
{
    /* In segment mode a commit may open a new own run after a reference. */
    if (h2_obuf_segmented(b) && seg_room(b, mem, 1) != 0)
        return H2_ENOMEM;
    if (b->cap - b->len >= n)
        return 0;
    size_t pending = b->len - b->off;
    if (b->off > 0 && b->cap - pending >= n) {
        /* Own runs have no stored positions, so moving them is free. */
        memmove(b->data, b->data + b->off, pending);
        b->off = 0;
        b->len = pending;
        return 0;
    }
    if (n > SIZE_MAX / 2 - pending)
        return H2_ENOMEM;
    size_t need = pending + n;
    size_t cap = b->cap < H2_OBUF_MIN_CAP ? H2_OBUF_MIN_CAP : b->cap;
    while (cap < need)
        cap *= 2;
    uint8_t *p;
    if (b->off == 0) {
        p = h2_mem_realloc(mem, b->data, cap);
        if (p == NULL)
            return H2_ENOMEM;
    } else {
        p = h2_mem_malloc(mem, cap);
        if (p == NULL)
            return H2_ENOMEM;
        if (pending > 0)
            memcpy(p, b->data + b->off, pending);
        h2_mem_free(mem, b->data);
    }
    b->data = p;
    b->cap = cap;
    b->off = 0;
    b->len = pending;
    return 0;
}

int h2_obuf_reserve_segs(h2_obuf *b, const h2_mem *mem, size_t k)
{
    if (k > SIZE_MAX / 2)
        return H2_ENOMEM;
    return seg_room(b, mem, k + 1);
}

/* Appends a record; room was reserved. */
static h2_oseg *seg_push(h2_osegs *q)
{
    h2_oseg *s = &q->item[q->head + q->n];
    q->n++;
    memset(s, 0, sizeof(*s));
    return s;
}

void h2_obuf_commit_seg(h2_obuf *b, size_t n)
{
    b->len += n;
    if (n == 0)
        return;
    h2_osegs *q = b->segs;
    h2_oseg *last = &q->item[q->head + q->n - 1];
    if (last->ref == NULL)
        last->len += n;
    else
        seg_push(q)->len = n;
}

void h2_obuf_add_ref(h2_obuf *b, const uint8_t *data, size_t len, h2_obuf_release_fn release,
                     void *user)
{
    if (b->segs->tap != NULL)
        h2_obuf_tap(b->segs->tap, data, len);
    h2_osegs *q = b->segs;
    if (q->n == 0) {
        q->head = 0;
        size_t own = b->len - b->off;
        if (own > 0)
            seg_push(q)->len = own;
    }
    h2_oseg *s = seg_push(q);
    s->ref = data;
    s->len = len;
    s->base = data;
    s->base_len = len;
    s->release = release;
    s->user = user;
    q->ref_bytes += len;
}

void h2_obuf_consume(h2_obuf *b, size_t n)
{
    if (!h2_obuf_segmented(b)) {
        size_t pending = b->len - b->off;
        if (n >= pending) {
            b->off = 0;
            b->len = 0;
        } else {
            b->off += n;
        }
        return;
    }
    h2_osegs *q = b->segs;
    while (n > 0 && q->n > 0) {
        h2_oseg *s = &q->item[q->head];
        size_t take = n < s->len ? n : s->len;
        n -= take;
        s->len -= take;
        if (s->ref == NULL) {
            b->off += take;
        } else {
            s->ref += take;
            q->ref_bytes -= take;
        }
        if (s->len > 0)
            break;
        h2_oseg done = *s;
        q->head++;
        q->n--;
        /* The queue is consistent before the callback runs. */
        if (done.ref != NULL && done.release != NULL)
            done.release(done.user, done.base, done.base_len);
    }
    /* Back to plain mode when only own bytes are left. */
    if (q->n == 1 && q->item[q->head].ref == NULL)
        q->n = 0;
    if (q->n == 0)
        q->head = 0;
    if (b->off == b->len) {
        b->off = 0;
        b->len = 0;
    }
}

void h2_obuf_clear(h2_obuf *b)
{
    b->off = 0;
    b->len = 0;
    h2_osegs *q = b->segs;
    if (q == NULL)
        return;
    size_t head = q->head, n = q->n;
    q->head = 0;
    q->n = 0;
    q->ref_bytes = 0;
    for (size_t i = head; i < head + n; i++) {
        const h2_oseg *s = &q->item[i];
        if (s->ref != NULL && s->release != NULL)
            s->release(s->user, s->base, s->base_len);
    }
}

void h2_obuf_front(const h2_obuf *b, const uint8_t **data, size_t *len)
{
    if (h2_obuf_segmented(b)) {
        const h2_oseg *s = &b->segs->item[b->segs->head];
        *data = s->ref != NULL ? s->ref : b->data + b->off;
        *len = s->len;
        return;
    }
    size_t n = b->len - b->off;
    *data = n > 0 ? b->data + b->off : NULL;
    *len = n;
}

size_t h2_obuf_iov(const h2_obuf *b, struct iovec *iov, size_t max)
{
    if (max == 0 || h2_obuf_pending(b) == 0)
        return 0;
    if (!h2_obuf_segmented(b)) {
        iov[0].iov_base = b->data + b->off;
        iov[0].iov_len = b->len - b->off;
        return 1;
    }
    const h2_osegs *q = b->segs;
    size_t own = b->off, k = 0;
    for (size_t i = q->head; i < q->head + q->n && k < max; i++) {
        const h2_oseg *s = &q->item[i];
        if (s->ref != NULL) {
            /* The iovec type is not const-qualified; the bytes are only read. */
            iov[k].iov_base = (void *)(uintptr_t)s->ref;
        } else {
            iov[k].iov_base = b->data + own;
            own += s->len;
        }
        iov[k].iov_len = s->len;
        k++;
    }
    return k;
}

size_t h2_obuf_peek(const h2_obuf *b, uint8_t *out, size_t cap)
{
    if (!h2_obuf_segmented(b)) {
        size_t n = b->len - b->off;
        if (n > cap)
            n = cap;
        if (n > 0)
            memcpy(out, b->data + b->off, n);
        return n;
    }
    const h2_osegs *q = b->segs;
    size_t own = b->off, done = 0;
    for (size_t i = q->head; i < q->head + q->n && done < cap; i++) {
        const h2_oseg *s = &q->item[i];
        const uint8_t *src = s->ref != NULL ? s->ref : b->data + own;
        size_t n = s->len < cap - done ? s->len : cap - done;
        memcpy(out + done, src, n);
        done += n;
        if (s->ref == NULL)
            own += s->len;
    }
    return done;
}
