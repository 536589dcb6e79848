/*
 * Open-addressing hash table from stream id to stream object (the object
 * holds its own id): linear probing, backward-shift deletion (no
 * tombstones). Starts empty (no memory) and doubles when half full.
 */
#ifndef H2_CORE_STREAM_MAP_H
#define H2_CORE_STREAM_MAP_H

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

#endif /* H2_CORE_STREAM_MAP_H */
