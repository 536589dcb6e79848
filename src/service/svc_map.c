/*
 * Service: hash map from non-zero 64-bit keys to pointers.
 */
#include "service/svc_map.h"

#include <string.h>
#include "core/mem.h"
#include "h2/errors.h"

static size_t slot_of(uint64_t key, size_t cap)
{
    /* Fibonacci hashing spreads sequential ids over the table. */
    uint64_t h = key * 0x9e3779b97f4a7c15u;
    return (size_t)(h >> 32) & (cap - 1);
}

void svc_map_init(svc_map *m, const h2_mem *mem)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
    m->mem = mem;
}

void svc_map_free(svc_map *m)
{
    h2_mem_free(m->mem, m->slots);
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void *svc_map_get(const svc_map *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return m->slots[i].value;
        if (m->slots[i].key == 0)
            return NULL;
    }
}

static void insert_slot(svc_map_slot *slots, size_t cap, uint64_t key, void *value)
{
    size_t i = slot_of(key, cap);
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].value = value;
}

static int grow(svc_map *m)
{
    size_t cap = m->cap == 0 ? 16 : m->cap * 2;
    svc_map_slot *slots = h2_mem_calloc(m->mem, cap, sizeof(*slots));
    if (slots == NULL)
        return H2_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != 0)
            insert_slot(slots, cap, m->slots[i].key, m->slots[i].value);
    h2_mem_free(m->mem, m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int svc_map_put(svc_map *m, uint64_t key, void *value)
{
    if (key == 0)
        return H2_EINVAL;
    /* Keep the load at or below 3/4. */
    if ((m->count + 1) * 4 > m->cap * 3) {
        int rv = grow(m);
        if (rv != 0)
            return rv;
    }
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].key != 0 && m->slots[i].key != key)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == 0)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    return 0;
}

void *svc_map_remove(svc_map *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return NULL;
        i = (i + 1) & mask;
    }
    void *value = m->slots[i].value;
    m->count--;
    /* Backward shift: move later entries of the run into the hole when
     * their home slot does not lie between the hole and themselves. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m->slots[j].key, m->cap);
        size_t dist_j = (j - home) & mask;
        size_t dist_hole = (j - hole) & mask;
        if (dist_j >= dist_hole) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].key = 0;
    m->slots[hole].value = NULL;
    return value;
}
