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
    h2_closed_map_init(&set->closed);
    set->max_closed = max_closed;
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
    h2_closed_map_free(&set->closed, mem);
    h2_mem_free(mem, set->ring);
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

h2_stream *h2_stream_new(h2_stream_set *set, uint32_t id)
{
    h2_stream *s = set->free_list;
    set->free_list = ((h2_free_stream *)s)->next;
    set->n_free--;
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->content_length = -1;
    h2_stream_map_put(&set->live, s);
    return s;
}

static int ring_reserve(h2_stream_set *set, const h2_mem *mem)
{
    if (set->ring_n < set->ring_cap || set->ring_cap >= set->max_closed)
        return 0;
    uint32_t cap = set->ring_cap == 0 ? 16 : set->ring_cap * 2;
    if (cap > set->max_closed)
        cap = set->max_closed;
    uint32_t *ring = h2_mem_malloc(mem, (size_t)cap * sizeof(*ring));
    if (ring == NULL)
        return H2_ENOMEM;
    for (uint32_t i = 0; i < set->ring_n; i++)
        ring[i] = set->ring[(set->ring_head + i) % set->ring_cap];
    h2_mem_free(mem, set->ring);
    set->ring = ring;
    set->ring_cap = cap;
    set->ring_head = 0;
    return 0;
}

void h2_stream_remember(h2_stream_set *set, const h2_mem *mem, uint32_t id, h2_closed_how how)
{
    if (set->max_closed == 0)
        return;
    if (ring_reserve(set, mem) != 0)
        return;
    if (set->ring_n == set->ring_cap) {
        /* Full: forget the oldest. */
        uint32_t old = set->ring[set->ring_head];
        h2_closed_map_del(&set->closed, old);
        set->ring_head = (set->ring_head + 1) % set->ring_cap;
        set->ring_n--;
    }
    if (h2_closed_map_reserve(&set->closed, mem) != 0)
        return;
    h2_closed_map_put(&set->closed, id, (uint32_t)how);
    set->ring[(set->ring_head + set->ring_n) % set->ring_cap] = id;
    set->ring_n++;
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
