/*
 * Open-addressing hash tables keyed by stream id (linear probing, backward
 * shift deletion, so no tombstones). Id 0 marks an empty slot.
 *
 *  - h2_stream_map: id -> stream object (the object holds its own id).
 *  - h2_closed_map: id -> one byte saying how a closed stream ended.
 *
 * Both start empty (no memory) and double when half full.
 */
#ifndef H2_CORE_MAP_H
#define H2_CORE_MAP_H

#include "h2/common.h"

struct h2_stream;

typedef struct h2_stream_map {
    struct h2_stream **slots;
    uint32_t cap; /* power of two, or 0 */
    uint32_t n;
} h2_stream_map;

void h2_stream_map_init(h2_stream_map *m);
void h2_stream_map_free(h2_stream_map *m, const h2_mem *mem);
struct h2_stream *h2_stream_map_get(const h2_stream_map *m, uint32_t id);
/* Makes sure one more insert cannot fail. Returns 0 or H2_ENOMEM. */
int h2_stream_map_reserve(h2_stream_map *m, const h2_mem *mem);
/* Inserts |s| (its id must not be present); h2_stream_map_reserve() first. */
void h2_stream_map_put(h2_stream_map *m, struct h2_stream *s);
void h2_stream_map_del(h2_stream_map *m, uint32_t id);
/* Calls |fn| on every stream; |fn| must not change the map. */
void h2_stream_map_each(const h2_stream_map *m, void (*fn)(struct h2_stream *s, void *arg),
                        void *arg);

typedef struct h2_closed_slot {
    uint32_t id;
    uint32_t how;
} h2_closed_slot;

typedef struct h2_closed_map {
    h2_closed_slot *slots;
    uint32_t cap;
    uint32_t n;
} h2_closed_map;

void h2_closed_map_init(h2_closed_map *m);
void h2_closed_map_free(h2_closed_map *m, const h2_mem *mem);
/* Returns the stored value, or 0 when |id| is not present. */
uint32_t h2_closed_map_get(const h2_closed_map *m, uint32_t id);
int h2_closed_map_reserve(h2_closed_map *m, const h2_mem *mem);
void h2_closed_map_put(h2_closed_map *m, uint32_t id, uint32_t how);
void h2_closed_map_del(h2_closed_map *m, uint32_t id);

#endif /* H2_CORE_MAP_H */
