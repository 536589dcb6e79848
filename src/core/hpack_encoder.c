/*
 * HPACK encoder (RFC 7541 sections 4, 6): header fields in, one header block
 * out.
 *
 * Matches are found without scanning: static names through the generated
 * switch (hpack_static_table.c) and the few static values of that name;
 * dynamic entries through the table's hash index over names.
 *
 * Indexing policy: every field is added to the dynamic table unless it is
 * flagged NEVER_INDEX or NO_INDEX, or its entry would take more than three
 * quarters of the table.
 */
#include <string.h>
#include "h2/hpack.h"
#include "core/hpack_encoder.h"
#include "core/hpack_int.h"
#include "core/hpack_static.h"
#include "core/hpack_table.h"
#include "core/huffman.h"
#include "core/mem.h"

struct h2_hpack_encoder {
    h2_mem mem;
    h2_hpack_table table; /* its limit is the size the peer's decoder uses */
    size_t cap;           /* the table never grows above this */
    size_t pending_min;   /* smallest size asked for since the last block */
    size_t pending_final; /* last size asked for */
    bool pending;         /* size updates are due at the start of the next block */
    bool huffman;
};

/*
 * Worst-case bytes for one field beyond its strings: a literal with a new
 * name, plus the scratch room the one-pass Huffman coder may write past a
 * string.
 */
#define FIELD_OVERHEAD (1u + 2u * H2_HPACK_INT_MAX_BYTES + H2_HUFF_ENCODE_SLACK)

int h2_hpack_encoder_new(h2_hpack_encoder **out, size_t table_cap, const h2_mem *mem)
{
    if (out == NULL)
        return H2_EINVAL;
    *out = NULL;
    mem = h2_mem_or_default(mem);
    h2_hpack_encoder *enc = h2_mem_malloc(mem, sizeof(*enc));
    if (enc == NULL)
        return H2_ENOMEM;
    memset(enc, 0, sizeof(*enc));
    enc->mem = *mem;
    if (table_cap > UINT32_MAX)
        table_cap = UINT32_MAX;
    enc->cap = table_cap;
    enc->huffman = true;
    h2_hpack_table_init(&enc->table, H2_HPACK_DEFAULT_TABLE_SIZE, true);
    if (table_cap < H2_HPACK_DEFAULT_TABLE_SIZE) {
        enc->pending = true;
        enc->pending_min = table_cap;
        enc->pending_final = table_cap;
    }
    *out = enc;
    return 0;
}

void h2_hpack_encoder_free(h2_hpack_encoder *enc)
{
    if (enc == NULL)
        return;
    h2_mem mem = enc->mem;
    h2_hpack_table_free(&enc->table, &mem);
    h2_mem_free(&mem, enc);
}

void h2_hpack_encoder_set_huffman(h2_hpack_encoder *enc, bool enabled)
{
    enc->huffman = enabled;
}

int h2_hpack_encoder_set_peer_max_table_size(h2_hpack_encoder *enc, size_t peer_max)
{
    if (enc == NULL)
        return H2_EINVAL;
    size_t eff = peer_max < enc->cap ? peer_max : enc->cap;
    if (!enc->pending || eff < enc->pending_min)
        enc->pending_min = eff;
    enc->pending_final = eff;
    enc->pending = true;
    return 0;
}

size_t h2_hpack_encoder_table_size(const h2_hpack_encoder *enc)
{
    return enc != NULL ? enc->table.size : 0;
}

static inline size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t h2_hpack_encode_bound(const h2_hpack_encoder *enc, const h2_header *fields, size_t n)
{
    size_t bound = 2 * H2_HPACK_INT_MAX_BYTES;
    (void)enc;
    if (fields == NULL)
        return bound;
    if (n < ((size_t)1 << 16) && SIZE_MAX > UINT32_MAX) {
        /* Fast path: no overflow is possible while every length is below 2^40. */
        size_t sum = bound + n * FIELD_OVERHEAD;
        size_t big = 0;
        for (size_t i = 0; i < n; i++) {
            sum += fields[i].name_len + fields[i].value_len;
            big |= fields[i].name_len | fields[i].value_len;
        }
        if ((big >> 20 >> 20) == 0)
            return sum;
    }
    for (size_t i = 0; i < n; i++) {
        bound = sat_add(bound, fields[i].name_len);
        bound = sat_add(bound, fields[i].value_len);
        bound = sat_add(bound, FIELD_OVERHEAD);
    }
    return bound;
}

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* Hash of a header name for the dynamic table index. */
static inline uint32_t hash_name(const uint8_t *p, size_t n)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = k ^ n;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (rotl64(h, 23) ^ v) * k;
        p += 8;
        n -= 8;
    }
    if (n != 0) {
        uint64_t v = 0;
        memcpy(&v, p, n);
        h = (rotl64(h, 23) ^ v) * k;
    }
    h ^= h >> 29;
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Hash of a whole field from its name hash, the value's length and its ends. */
static inline uint32_t hash_field(uint32_t name_hash, const uint8_t *v, size_t n)
{
    uint64_t x;
    if (n >= 8)
        x = h2_hpack_load64(v) * UINT64_C(0xff51afd7ed558ccd) ^ h2_hpack_load64(v + n - 8);
    else if (n >= 4)
        x = ((uint64_t)h2_hpack_load32(v) << 32) | h2_hpack_load32(v + n - 4);
    else if (n != 0)
        x = ((uint64_t)v[0] << 16) | ((uint64_t)v[n / 2] << 8) | v[n - 1];
    else
        x = 0;
    x = (x ^ ((uint64_t)name_hash << 32) ^ n) * UINT64_C(0x9e3779b97f4a7c15);
    return (uint32_t)(x >> 32);
}

/*
 * Writes a string literal (section 5.2), Huffman-coded unless that is
 * longer (at equal length Huffman is kept, as RFC 7541 Appendix C does).
 */
static inline uint8_t *put_string(const h2_hpack_encoder *enc, uint8_t *o, const uint8_t *s,
                                  size_t n)
{
    if (H2_HP_LIKELY(n - 1 < 0x7e) && enc->huffman) {
        /* One pass: code at o + 1, keep it unless longer than the string. */
        size_t hl = h2_huff_encode_upto(s, n, o + 1, n);
        if (hl != SIZE_MAX) {
            *o = (uint8_t)(0x80 | hl);
            return o + 1 + hl;
        }
        *o = (uint8_t)n;
        memcpy(o + 1, s, n);
        return o + 1 + n;
    }
    if (enc->huffman && n != 0) {
        size_t hl = h2_huffman_encoded_len(s, n);
        if (hl <= n) {
            o = h2_hpack_put_int(o, 0x80, 0x7f, hl);
            return o + h2_huffman_encode(s, n, o);
        }
    }
    o = h2_hpack_put_int(o, 0x00, 0x7f, n);
    memcpy(o, s, n);
    return o + n;
}

/* Encodes one field at |o| (room for its worst case is guaranteed). */
static uint8_t *encode_field(h2_hpack_encoder *enc, const h2_header *f, uint8_t *o)
{
    const uint8_t *name = f->name;
    const uint8_t *value = f->value;
    size_t nl = f->name_len;
    size_t vl = f->value_len;
    bool never = (f->flags & H2_HEADER_NEVER_INDEX) != 0;

    size_t name_idx = h2_hpack_static_find_name(name, nl);
    if (name_idx != 0 && !never) {
        const h2_header *s = &h2_hpack_static[name_idx];
        for (unsigned k = h2_hpack_static_nvals[name_idx]; k != 0; k--, s++) {
            if (s->value_len == vl && h2_hpack_bytes_eq(s->value, value, vl)) {
                *o++ = (uint8_t)(0x80 | (size_t)(s - h2_hpack_static));
                return o;
            }
        }
    }

    /*
     * Names of the static table hash to their index (top bit set): no text
     * to hash, and an equal hash means an equal name. Other names hash
     * their bytes (top bit clear). The field hash adds the value's length
     * and its first and last bytes: constant time, whatever the length.
     */
    h2_hpack_table *t = &enc->table;
    bool static_name = name_idx != 0;
    h2_hpack_hash h;
    h.name = static_name ? 0x80000000u | (((uint32_t)name_idx * 0x9e3779b1u) & 0x7fffffffu)
                         : hash_name(name, nl) & 0x7fffffffu;
    h.field = hash_field(h.name, value, vl);
    if (t->buckets != NULL) {
        if (!never) {
            uint64_t link = t->buckets[h.field & t->bucket_mask];
            while (link > t->first_seq) {
                const h2_hpack_link *l = &t->links[(link - 1) & t->ent_mask];
                const h2_hpack_entry *e = &t->ents[(link - 1) & t->ent_mask];
                if (l->hash.field == h.field && l->hash.name == h.name && e->value_len == vl &&
                    e->name_len == nl) {
                    const uint8_t *bytes = h2_hpack_table_bytes(t, e);
                    if ((static_name || h2_hpack_bytes_eq(bytes, name, nl)) &&
                        h2_hpack_bytes_eq(bytes + nl, value, vl)) {
                        size_t idx = (size_t)(t->next_seq - link) + H2_HPACK_STATIC_COUNT + 1;
                        return h2_hpack_put_int(o, 0x80, 0x7f, idx);
                    }
                }
                link = l->next_field;
            }
        }
        if (!static_name) {
            uint64_t link = t->buckets[t->bucket_mask + 1 + (h.name & t->bucket_mask)];
            while (link > t->first_seq) {
                const h2_hpack_link *l = &t->links[(link - 1) & t->ent_mask];
                const h2_hpack_entry *e = &t->ents[(link - 1) & t->ent_mask];
                if (l->hash.name == h.name && e->name_len == nl &&
                    h2_hpack_bytes_eq(h2_hpack_table_bytes(t, e), name, nl)) {
                    name_idx = (size_t)(t->next_seq - link) + H2_HPACK_STATIC_COUNT + 1;
                    break;
                }
                link = l->next_name;
            }
        }
    }

    size_t esz = nl + vl + H2_HPACK_ENTRY_OVERHEAD;
    bool add = !(f->flags & (H2_HEADER_NEVER_INDEX | H2_HEADER_NO_INDEX)) &&
               esz <= t->limit - t->limit / 4;
    if (add)
        o = h2_hpack_put_int(o, 0x40, 0x3f, name_idx);
    else
        o = h2_hpack_put_int(o, never ? 0x10 : 0x00, 0x0f, name_idx);
    if (name_idx == 0)
        o = put_string(enc, o, name, nl);
    o = put_string(enc, o, value, vl);
    if (add)
        h2_hpack_table_insert(t, name, nl, value, vl, h);
    return o;
}

/*
 * Makes sure the table has memory for every size it will take in this
 * block, so that encoding cannot fail half-way. Returns 0 or H2_ENOMEM
 * (nothing observable changed).
 */
static int reserve_table(h2_hpack_encoder *enc)
{
    h2_hpack_table *t = &enc->table;
    size_t limit = t->limit;
    size_t need = enc->pending && enc->pending_final > limit ? enc->pending_final : limit;
    if (need <= t->alloc_limit)
        return 0;
    t->limit = need;
    int rv = h2_hpack_table_reserve(t, &enc->mem);
    t->limit = limit;
    return rv;
}

/* Encodes the block into |out|, which holds at least the bound. Cannot fail. */
static size_t encode_block(h2_hpack_encoder *enc, const h2_header *fields, size_t n, uint8_t *out)
{
    uint8_t *o = out;
    if (enc->pending) {
        h2_hpack_table *t = &enc->table;
        bool two = enc->pending_min < enc->pending_final;
        if (two) {
            o = h2_hpack_put_int(o, 0x20, 0x1f, enc->pending_min);
            h2_hpack_table_set_limit(t, enc->pending_min);
        }
        if (two || enc->pending_final != t->limit) {
            o = h2_hpack_put_int(o, 0x20, 0x1f, enc->pending_final);
            h2_hpack_table_set_limit(t, enc->pending_final);
        }
        enc->pending = false;
    }
    for (size_t i = 0; i < n; i++)
        o = encode_field(enc, &fields[i], o);
    return (size_t)(o - out);
}

/* h2_hpack_encode() with the output bound of the fields already known. */
static int encode_bounded(h2_hpack_encoder *enc, const h2_header *fields, size_t n, uint8_t *out,
                          size_t cap, size_t bound, size_t *out_len)
{
    if (enc == NULL || (fields == NULL && n != 0) || (out == NULL && cap != 0) || out_len == NULL)
        return H2_EINVAL;
    *out_len = 0;
    for (size_t i = 0; i < n; i++) {
        if ((fields[i].name == NULL && fields[i].name_len != 0) ||
            (fields[i].value == NULL && fields[i].value_len != 0))
            return H2_EINVAL;
    }
    if (reserve_table(enc) != 0)
        return H2_ENOMEM;

    if (H2_HP_LIKELY(cap >= bound)) {
        *out_len = encode_block(enc, fields, n, out);
        return 0;
    }

    /*
     * The output may not fit: encode into scratch memory and keep a copy of
     * the table to put back if it does not.
     */
    h2_hpack_table saved;
    if (h2_hpack_table_clone(&saved, &enc->table, &enc->mem) != 0)
        return H2_ENOMEM;
    uint8_t *tmp = bound == SIZE_MAX ? NULL : h2_mem_malloc(&enc->mem, bound);
    if (tmp == NULL) {
        h2_hpack_table_free(&saved, &enc->mem);
        return H2_ENOMEM;
    }
    bool pending = enc->pending;
    size_t len = encode_block(enc, fields, n, tmp);
    int rv = 0;
    if (len <= cap) {
        if (len != 0)
            memcpy(out, tmp, len);
        *out_len = len;
        h2_hpack_table_free(&saved, &enc->mem);
    } else {
        h2_hpack_table_free(&enc->table, &enc->mem);
        enc->table = saved;
        enc->pending = pending;
        rv = H2_ENOBUFS;
    }
    h2_mem_free(&enc->mem, tmp);
    return rv;
}

int h2_hpack_encode(h2_hpack_encoder *enc, const h2_header *fields, size_t n, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    size_t bound = enc != NULL ? h2_hpack_encode_bound(enc, fields, n) : 0;
    return encode_bounded(enc, fields, n, out, cap, bound, out_len);
}

int h2_hpack_encode_within(h2_hpack_encoder *enc, const h2_header *fields, size_t n, uint8_t *out,
                           size_t bound, size_t *out_len)
{
    return encode_bounded(enc, fields, n, out, bound, bound, out_len);
}
