/* Stream objects (slab + free list), id index and the closed-stream record. */
#include <string.h>
#include "core/stream.h"
#include "core/mem.h"
#include "h2/errors.h"

struct h2_stream_chunk {
    h2_stream_chunk *next;
    h2_stream items[H2_STREAM_CHUNK];
};

/* A free stream keeps the next free one in its first bytes. */
typedef union h2_free_stream {
    h2_stream s;
    h2_stream *next;
} h2_free_stream;

void h2_stream_set_init(h2_stream_set *set, uint32_t max_closed)
{
    memset(set, 0, sizeof(*set));
    h2_stream_map_init(&set->live);
    /* round up to a power of two, at most 2^30 slots */
    uint32_t cap = 0;
    if (max_closed > 0) {
        cap = 1;
        while (cap < max_closed && cap < (1u << 30))
            cap <<= 1;
    }
    set->max_closed = cap;
}

void h2_stream_set_free(h2_stream_set *set, const h2_mem *mem)
{
    h2_stream_chunk *c = set->chunks;
    while (c != NULL) {
        h2_stream_chunk *next = c->next;
        h2_mem_free(mem, c);
        c = next;
    }
    h2_stream_map_free(&set->live, mem);
    h2_mem_free(mem, set->closed[0].bits);
    h2_mem_free(mem, set->closed[1].bits);
    memset(set, 0, sizeof(*set));
}

int h2_stream_reserve(h2_stream_set *set, const h2_mem *mem)
{
    if (h2_stream_map_reserve(&set->live, mem) != 0)
        return H2_ENOMEM;
    if (set->n_free > 0)
        return 0;
    h2_stream_chunk *c = h2_mem_malloc(mem, sizeof(*c));
    if (c == NULL)
        return H2_ENOMEM;
    c->next = set->chunks;
    set->chunks = c;
    for (size_t i = H2_STREAM_CHUNK; i-- > 0;) {
        h2_free_stream *f = (h2_free_stream *)&c->items[i];
        f->next = set->free_list;
        set->free_list = &c->items[i];
    }
    set->n_free += H2_STREAM_CHUNK;
    return 0;
}

/* ---- closed record ------------------------------------------------------- */

#define H2_CLOSED_MIN_CAP 256u

static inline uint32_t slot_of(uint32_t cap, uint32_t id)
{
    return (id >> 1) & (cap - 1);
}

static inline unsigned get2(const uint8_t *bits, uint32_t slot)
{
    return ((unsigned)bits[slot >> 2] >> ((slot & 3u) * 2u)) & 3u;
}

static inline void set2(uint8_t *bits, uint32_t slot, unsigned v)
{
    unsigned shift = (slot & 3u) * 2u;
    bits[slot >> 2] = (uint8_t)((bits[slot >> 2] & ~(3u << shift)) | (v << shift));
}

/* Is |id| inside the window of |ci|? */
static inline bool in_window(const h2_closed_ids *ci, uint32_t id)
{
    return ci->cap > 0 && id <= ci->top && (ci->top - id) / 2 < ci->cap;
}

/* Re-indexes the window into |ncap| slots. Returns false when out of memory. */
static bool closed_grow(h2_closed_ids *ci, const h2_mem *mem, uint32_t ncap)
{
    uint8_t *nb = h2_mem_calloc(mem, ncap / 4, 1);
    if (nb == NULL)
        return false;
    for (uint32_t k = 0; ci->bits != NULL && k < ci->cap && 2 * (uint64_t)k < ci->top; k++) {
        uint32_t id = ci->top - 2 * k;
        unsigned v = get2(ci->bits, slot_of(ci->cap, id));
        if (v != 0)
            set2(nb, slot_of(ncap, id), v);
    }
    h2_mem_free(mem, ci->bits);
    ci->bits = nb;
    ci->cap = ncap;
    return true;
}

/* Id |nid|, the next of its parity, takes over its slot (growing the
 * window when the slot still holds a remembered stream); it becomes top. */
static inline void take_slot(h2_stream_set *set, h2_closed_ids *ci, const h2_mem *mem, uint32_t nid)
{
    uint32_t slot = slot_of(ci->cap, nid);
    if (get2(ci->bits, slot) != 0 && ci->cap < set->max_closed && closed_grow(ci, mem, ci->cap * 2))
        slot = slot_of(ci->cap, nid);
    set2(ci->bits, slot, 0);
    ci->top = nid;
}

void h2_stream_note_id(h2_stream_set *set, const h2_mem *mem, uint32_t id)
{
    h2_closed_ids *ci = &set->closed[id & 1u];
    if (id <= ci->top)
        return;
    if (ci->bits == NULL) {
        ci->top = id;
        return;
    }
    if (id == ci->top + 2) {
        take_slot(set, ci, mem, id); /* the usual next id */
        return;
    }
    uint32_t steps = (id - ci->top) / 2;
    if (steps >= ci->cap) {
        /* a jump past the whole window: everything in it is forgotten */
        memset(ci->bits, 0, ci->cap / 4);
        ci->top = id;
        return;
    }
    for (uint32_t nid = ci->top + 2; nid <= id && nid > ci->top; nid += 2)
        take_slot(set, ci, mem, nid);
}

void h2_stream_remember(h2_stream_set *set, const h2_mem *mem, uint32_t id, h2_closed_how how)
{
    if (set->max_closed == 0)
        return;
    h2_closed_ids *ci = &set->closed[id & 1u];
    h2_stream_note_id(set, mem, id);
    if (ci->bits == NULL) {
        uint32_t cap = H2_CLOSED_MIN_CAP < set->max_closed ? H2_CLOSED_MIN_CAP : set->max_closed;
        if (cap < 4)
            cap = 4;
        if (!closed_grow(ci, mem, cap))
            return;
    }
    while (!in_window(ci, id) && ci->cap < set->max_closed) {
        if (!closed_grow(ci, mem, ci->cap * 2))
            return;
    }
    if (in_window(ci, id))
        set2(ci->bits, slot_of(ci->cap, id), (unsigned)how);
}

uint32_t h2_stream_closed_how(const h2_stream_set *set, uint32_t id)
{
    const h2_closed_ids *ci = &set->closed[id & 1u];
    if (ci->bits == NULL || !in_window(ci, id))
        return 0;
    return get2(ci->bits, slot_of(ci->cap, id));
}

/* ---- stream objects -------------------------------------------------------- */

h2_stream *h2_stream_new(h2_stream_set *set, const h2_mem *mem, uint32_t id)
{
    h2_stream *s = set->free_list;
    set->free_list = ((h2_free_stream *)s)->next;
    set->n_free--;
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->content_left = -1;
    h2_stream_map_put(&set->live, s);
    h2_stream_note_id(set, mem, id);
    return s;
}

void h2_stream_close(h2_stream_set *set, const h2_mem *mem, h2_stream *s, h2_closed_how how)
{
    uint32_t id = s->id;
    h2_stream_map_del(&set->live, id);
    h2_free_stream *f = (h2_free_stream *)s;
    f->next = set->free_list;
    set->free_list = s;
    set->n_free++;
    h2_stream_remember(set, mem, id, how);
}
