/* Stream-id hash tables: linear probing with backward-shift deletion. */
#include <string.h>
#include "core/stream_map.h"
#include "core/mem.h"
#include "core/stream.h"
#include "h2/errors.h"

#define H2_MAP_MIN_CAP 8u

static inline uint32_t map_hash(uint32_t id)
{
    /* Stream ids of one side step by 2: mix so that they spread over slots. */
    return (id * 2654435761u) >> 1;
}

void h2_stream_map_init(h2_stream_map *m)
{
    memset(m, 0, sizeof(*m));
}

void h2_stream_map_free(h2_stream_map *m, const h2_mem *mem)
{
    h2_mem_free(mem, m->slots);
    memset(m, 0, sizeof(*m));
}

h2_stream *h2_stream_map_get(const h2_stream_map *m, uint32_t id)
{
    if (m->n == 0)
        return NULL;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = map_hash(id) & mask;; i = (i + 1) & mask) {
        h2_stream *s = m->slots[i];
        if (s == NULL)
            return NULL;
        if (s->id == id)
            return s;
    }
}

static void stream_map_insert(h2_stream **slots, uint32_t cap, h2_stream *s)
{
    uint32_t mask = cap - 1;
    uint32_t i = map_hash(s->id) & mask;
    while (slots[i] != NULL)
        i = (i + 1) & mask;
    slots[i] = s;
}

int h2_stream_map_reserve(h2_stream_map *m, const h2_mem *mem)
{
    if ((m->n + 1) * 2 <= m->cap)
        return 0;
    uint32_t cap = m->cap == 0 ? H2_MAP_MIN_CAP : m->cap * 2;
    if (cap == 0 || cap > (1u << 30))
        return H2_ENOMEM;
    h2_stream **slots = h2_mem_calloc(mem, cap, sizeof(*slots));
    if (slots == NULL)
        return H2_ENOMEM;
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i] != NULL)
            stream_map_insert(slots, cap, m->slots[i]);
    h2_mem_free(mem, m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

void h2_stream_map_put(h2_stream_map *m, h2_stream *s)
{
    stream_map_insert(m->slots, m->cap, s);
    m->n++;
}

void h2_stream_map_del(h2_stream_map *m, uint32_t id)
{
    if (m->n == 0)
        return;
    uint32_t mask = m->cap - 1;
    uint32_t i = map_hash(id) & mask;
    for (;; i = (i + 1) & mask) {
        if (m->slots[i] == NULL)
            return;
        if (m->slots[i]->id == id)
            break;
    }
    /* Backward shift: move later entries of the cluster into the hole. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; m->slots[j] != NULL; j = (j + 1) & mask) {
        uint32_t home = map_hash(m->slots[j]->id) & mask;
        /* Entry j may move to |hole| if its home is not in (hole, j]. */
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = NULL;
    m->n--;
}

void h2_stream_map_each(const h2_stream_map *m, void (*fn)(h2_stream *s, void *arg), void *arg)
{
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i] != NULL)
            fn(m->slots[i], arg);
}
