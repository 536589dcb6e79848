/*
 * Service: a hash map from non-zero 64-bit keys to pointers (open
 * addressing, linear probing, backward-shift deletion). Used by one thread.
 */
#ifndef H2_SERVICE_SVC_MAP_H
#define H2_SERVICE_SVC_MAP_H

#include <stddef.h>
#include <stdint.h>
#include "h2/common.h"

typedef struct svc_map_slot {
    uint64_t key; /* 0: empty */
    void *value;
} svc_map_slot;

typedef struct svc_map {
    svc_map_slot *slots; /* NULL until the first insert */
    size_t cap;          /* a power of two, or 0 */
    size_t count;
    const h2_mem *mem;
} svc_map;

/* @function An empty map that allocates through |mem| (not NULL; must outlive the map). */
void svc_map_init(svc_map *m, const h2_mem *mem);

/* @function Frees the slots (not the values). */
void svc_map_free(svc_map *m);

/* @function The value stored under |key|, or NULL. */
void *svc_map_get(const svc_map *m, uint64_t key);

/* @function Stores |value| under |key| (not 0; replaces). Returns 0 or H2_ENOMEM. */
int svc_map_put(svc_map *m, uint64_t key, void *value);

/* @function Removes |key|; returns its value or NULL. */
void *svc_map_remove(svc_map *m, uint64_t key);

#endif /* H2_SERVICE_SVC_MAP_H */
