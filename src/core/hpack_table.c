/* The HPACK dynamic table: see hpack_table.h for the layout. */
#include <string.h>
#include "core/hpack_table.h"
#include "core/mem.h"

static size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

void h2_hpack_table_init(h2_hpack_table *t, size_t limit, bool indexed)
{
    memset(t, 0, sizeof(*t));
    t->limit = limit;
    t->indexed = indexed;
}

void h2_hpack_table_free(h2_hpack_table *t, const h2_mem *mem)
{
    h2_mem_free(mem, t->ents);
    h2_mem_free(mem, t->links);
    h2_mem_free(mem, t->data);
    h2_mem_free(mem, t->buckets);
    t->ents = NULL;
    t->links = NULL;
    t->data = NULL;
    t->buckets = NULL;
    t->alloc_limit = 0;
}

static inline size_t entry_size(const h2_hpack_entry *e)
{
    return (size_t)e->name_len + e->value_len + H2_HPACK_ENTRY_OVERHEAD;
}

static inline void evict_oldest(h2_hpack_table *t)
{
    t->size -= entry_size(&t->ents[t->first_seq & t->ent_mask]);
    t->first_seq++;
}

void h2_hpack_table_set_limit(h2_hpack_table *t, size_t limit)
{
    while (t->size > limit)
        evict_oldest(t);
    t->limit = limit;
}

static void link_entry(h2_hpack_table *t, h2_hpack_link *l, uint64_t seq)
{
    uint64_t *b = &t->buckets[l->hash.field & t->bucket_mask];
    l->next_field = *b;
    *b = seq + 1;
    b = &t->buckets[t->bucket_mask + 1 + (l->hash.name & t->bucket_mask)];
    l->next_name = *b;
    *b = seq + 1;
}

/*
 * Sizes the rings for |lim| and moves the live entries to the start of new
 * ones. The old byte ring is freed, or handed to |*old_data| when that is
 * not NULL. 0 or H2_ENOMEM (nothing changed).
 */
static int rebuild(h2_hpack_table *t, const h2_mem *mem, size_t lim, uint8_t **old_data)
{
    if (lim > SIZE_MAX / 4)
        return H2_ENOMEM;
    size_t ent_cap = pow2_at_least(lim / H2_HPACK_ENTRY_OVERHEAD + 1);
    size_t data_cap = pow2_at_least(2 * lim);
    size_t bucket_cap = t->indexed ? 2 * ent_cap : 0;

    h2_hpack_entry *ents = h2_mem_malloc(mem, ent_cap * sizeof(*ents));
    h2_hpack_link *links = t->indexed ? h2_mem_malloc(mem, ent_cap * sizeof(*links)) : NULL;
    uint8_t *data = h2_mem_malloc(mem, data_cap);
    uint64_t *buckets = bucket_cap ? h2_mem_calloc(mem, 2 * bucket_cap, sizeof(*buckets)) : NULL;
    if (ents == NULL || data == NULL || (t->indexed && (links == NULL || buckets == NULL))) {
        h2_mem_free(mem, ents);
        h2_mem_free(mem, links);
        h2_mem_free(mem, data);
        h2_mem_free(mem, buckets);
        return H2_ENOMEM;
    }

    /* Move the live entries, oldest first, to the start of the new ring. */
    uint64_t pos = 0;
    for (uint64_t seq = t->first_seq; seq != t->next_seq; seq++) {
        h2_hpack_entry *e = &ents[seq & (ent_cap - 1)];
        *e = t->ents[seq & t->ent_mask];
        if (links != NULL)
            links[seq & (ent_cap - 1)].hash = t->links[seq & t->ent_mask].hash;
        size_t n = (size_t)e->name_len + e->value_len;
        memcpy(data + pos, t->data + (e->vpos & t->data_mask), n);
        e->vpos = pos;
        pos += n;
    }
    if (old_data != NULL) {
        *old_data = t->data;
        t->data = NULL;
    }
    h2_hpack_table_free(t, mem);
    t->ents = ents;
    t->links = links;
    t->data = data;
    t->buckets = buckets;
    t->ent_mask = ent_cap - 1;
    t->data_mask = data_cap - 1;
    t->bucket_mask = bucket_cap ? bucket_cap - 1 : 0;
    t->vtail = pos;
    t->alloc_limit = lim;
    if (buckets != NULL) {
        for (uint64_t seq = t->first_seq; seq != t->next_seq; seq++)
            link_entry(t, &links[seq & t->ent_mask], seq);
    }
    return 0;
}

int h2_hpack_table_reserve(h2_hpack_table *t, const h2_mem *mem)
{
    if (t->limit <= t->alloc_limit || t->limit < H2_HPACK_ENTRY_OVERHEAD)
        return 0;
    return rebuild(t, mem, t->limit, NULL);
}

int h2_hpack_table_renew(h2_hpack_table *t, const h2_mem *mem, uint8_t **old_data)
{
    *old_data = NULL;
    size_t lim = t->limit > t->alloc_limit ? t->limit : t->alloc_limit;
    if (lim < H2_HPACK_ENTRY_OVERHEAD)
        return 0;
    return rebuild(t, mem, lim, old_data);
}

/* memcpy() without the call for the short strings most fields have. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n != 0) {
        memcpy(dst, src, n);
    }
}

void h2_hpack_table_insert(h2_hpack_table *t, const uint8_t *name, size_t name_len,
                           const uint8_t *value, size_t value_len, h2_hpack_hash hash)
{
    size_t n = name_len + value_len;
    size_t esz = n + H2_HPACK_ENTRY_OVERHEAD;
    if (esz > t->limit) {
        t->first_seq = t->next_seq;
        t->size = 0;
        return;
    }
    while (t->size + esz > t->limit)
        evict_oldest(t);

    uint64_t vpos = t->vtail;
    size_t cap = t->data_mask + 1;
    size_t phys = (size_t)(vpos & t->data_mask);
    if (phys + n > cap) {
        vpos += cap - phys;
        phys = 0;
    }
    copy_bytes(t->data + phys, name, name_len);
    copy_bytes(t->data + phys + name_len, value, value_len);
    t->vtail = vpos + n;

    uint64_t seq = t->next_seq++;
    h2_hpack_entry *e = &t->ents[seq & t->ent_mask];
    e->vpos = vpos;
    e->name_len = (uint32_t)name_len;
    e->value_len = (uint32_t)value_len;
    if (t->links != NULL) {
        h2_hpack_link *l = &t->links[seq & t->ent_mask];
        l->hash = hash;
        link_entry(t, l, seq);
    }
    t->size += esz;
}

int h2_hpack_table_clone(h2_hpack_table *dst, const h2_hpack_table *src, const h2_mem *mem)
{
    *dst = *src;
    dst->ents = NULL;
    dst->links = NULL;
    dst->data = NULL;
    dst->buckets = NULL;
    if (src->ents == NULL)
        return 0;
    size_t ent_bytes = (src->ent_mask + 1) * sizeof(*src->ents);
    size_t link_bytes = src->links ? (src->ent_mask + 1) * sizeof(*src->links) : 0;
    size_t data_bytes = src->data_mask + 1;
    size_t bucket_bytes = src->buckets ? 2 * (src->bucket_mask + 1) * sizeof(*src->buckets) : 0;
    dst->ents = h2_mem_malloc(mem, ent_bytes);
    dst->data = h2_mem_malloc(mem, data_bytes);
    if (link_bytes != 0)
        dst->links = h2_mem_malloc(mem, link_bytes);
    if (bucket_bytes != 0)
        dst->buckets = h2_mem_malloc(mem, bucket_bytes);
    if (dst->ents == NULL || dst->data == NULL || (link_bytes != 0 && dst->links == NULL) ||
        (bucket_bytes != 0 && dst->buckets == NULL)) {
        h2_hpack_table_free(dst, mem);
        return H2_ENOMEM;
    }
    memcpy(dst->ents, src->ents, ent_bytes);
    if (link_bytes != 0)
        memcpy(dst->links, src->links, link_bytes);
    memcpy(dst->data, src->data, data_bytes);
    if (bucket_bytes != 0)
        memcpy(dst->buckets, src->buckets, bucket_bytes);
    return 0;
}
