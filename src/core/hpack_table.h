/*
 * The HPACK dynamic table (RFC 7541 section 2.3.2 and 4), shared by the
 * encoder and the decoder.
 *
 * Entries live in a ring of descriptors; their bytes (name then value, back
 * to back) in a byte ring addressed by 64-bit virtual positions. An entry
 * never straddles the end of the byte ring: one that would is placed at the
 * start of the next lap and the gap is left unused. With a byte ring of at
 * least twice the size limit, every entry the size accounting admits has
 * room, so insertion never allocates and eviction is O(1) per entry.
 *
 * Every entry has a sequence number, increasing by one per insertion; the
 * live ones are [first_seq, next_seq). HPACK index 62 is next_seq - 1.
 *
 * The encoder's table also keeps two hash indexes, one over whole fields
 * (name and value) for exact matches and one over names: buckets hold the
 * newest entry of each hash, and each entry links to the next older entry of
 * its bucket. The links live in a ring of their own, parallel to the entry
 * ring, so that the decoder's table (no indexes) keeps 16 bytes per slot.
 * Evicted entries are never unlinked: a walk stops at the first link older
 * than first_seq, as all links after it are older still.
 *
 * Memory is allocated lazily by h2_hpack_table_reserve(), for the current
 * limit; nothing else allocates.
 */
#ifndef H2_CORE_HPACK_TABLE_H
#define H2_CORE_HPACK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "h2/common.h"
#include "h2/hpack.h"

/* The hash pair an indexed table files an entry under. */
typedef struct h2_hpack_hash {
    uint32_t field; /* name and value */
    uint32_t name;
} h2_hpack_hash;

typedef struct h2_hpack_entry {
    uint64_t vpos; /* virtual position of the name in the byte ring */
    uint32_t name_len;
    uint32_t value_len;
} h2_hpack_entry;

/* Indexed tables only: an entry's place in the hash chains (same ring slot). */
typedef struct h2_hpack_link {
    uint64_t next_field; /* sequence number + 1 of the next older entry ... */
    uint64_t next_name;  /* ... in the same field / name bucket; 0 = none */
    h2_hpack_hash hash;
} h2_hpack_link;

typedef struct h2_hpack_table {
    h2_hpack_entry *ents;
    h2_hpack_link *links; /* indexed tables only, else NULL */
    uint8_t *data;
    uint64_t *buckets; /* indexed tables only: field buckets, then name buckets; */
                       /* each holds sequence number + 1 of the newest, 0 = empty */
    size_t ent_mask;
    size_t data_mask;
    size_t bucket_mask; /* each of the two bucket arrays has bucket_mask + 1 slots */
    uint64_t first_seq;
    uint64_t next_seq;
    uint64_t vtail;     /* virtual position for the next entry's bytes */
    size_t size;        /* RFC 7541 size: sum of name + value + 32 */
    size_t limit;       /* maximum size */
    size_t alloc_limit; /* the limit the memory was sized for; 0 = none */
    bool indexed;
} h2_hpack_table;

void h2_hpack_table_init(h2_hpack_table *t, size_t limit, bool indexed);
void h2_hpack_table_free(h2_hpack_table *t, const h2_mem *mem);

/* Number of entries. */
static inline size_t h2_hpack_table_len(const h2_hpack_table *t)
{
    return (size_t)(t->next_seq - t->first_seq);
}

/* Entry |i| (0 = newest); |i| must be below h2_hpack_table_len(). */
static inline const h2_hpack_entry *h2_hpack_table_get(const h2_hpack_table *t, size_t i)
{
    return &t->ents[(t->next_seq - 1 - i) & t->ent_mask];
}

/* Entry with sequence number |seq|, which must be live. */
static inline const h2_hpack_entry *h2_hpack_table_seq(const h2_hpack_table *t, uint64_t seq)
{
    return &t->ents[seq & t->ent_mask];
}

/* Bytes of entry |e|: the name, then the value right after it. */
static inline const uint8_t *h2_hpack_table_bytes(const h2_hpack_table *t, const h2_hpack_entry *e)
{
    return t->data + (e->vpos & t->data_mask);
}

/*
 * Makes sure the memory fits the current limit (rebuilding the rings when
 * the limit grew past what they were sized for). Returns 0 or H2_ENOMEM
 * (the table is unchanged).
 */
int h2_hpack_table_reserve(h2_hpack_table *t, const h2_mem *mem);

/*
 * Like h2_hpack_table_reserve(), but always builds new rings (sized for the
 * larger of the limit and what the memory was sized for), and the old byte
 * ring is not freed: it goes to |*old_data| (NULL when there was none),
 * owned by the caller, so that bytes pointed into it stay valid. Returns 0
 * or H2_ENOMEM (the table is unchanged, |*old_data| NULL).
 */
int h2_hpack_table_renew(h2_hpack_table *t, const h2_mem *mem, uint8_t **old_data);

/*
 * Would adding an entry of |n| name and value bytes write over the byte at
 * virtual position |vpos| (one handed out earlier)?
 */
static inline bool h2_hpack_table_overwrites(const h2_hpack_table *t, size_t n, uint64_t vpos)
{
    size_t cap = t->data_mask + 1;
    uint64_t at = t->vtail;
    size_t phys = (size_t)(at & t->data_mask);
    if (phys + n > cap)
        at += cap - phys;
    /* The new bytes take the places of virtual positions [at - cap, at + n - cap). */
    return t->data != NULL && at + n > vpos + cap;
}

/* Sets the size limit, evicting the oldest entries until the table fits. */
void h2_hpack_table_set_limit(h2_hpack_table *t, size_t limit);

/*
 * Adds an entry (RFC 7541 section 4.4): evicts until it fits, or empties
 * the table when it is larger than the limit. The table must have been
 * reserved for its current limit. |name|/|value| may point into the table
 * only where the new entry's bytes do not go (h2_hpack_table_overwrites()).
 * |hash| is used by indexed tables only.
 */
void h2_hpack_table_insert(h2_hpack_table *t, const uint8_t *name, size_t name_len,
                           const uint8_t *value, size_t value_len, h2_hpack_hash hash);

/*
 * Copies |src| into |dst| (fresh memory). Returns 0 or H2_ENOMEM (|dst|
 * then holds nothing to free).
 */
int h2_hpack_table_clone(h2_hpack_table *dst, const h2_hpack_table *src, const h2_mem *mem);

#endif /* H2_CORE_HPACK_TABLE_H */
