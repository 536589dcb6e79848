/*
 * HPACK decoder (RFC 7541 sections 3, 4, 6): one header block in, an array
 * of fields out, written into the decoder's output arena.
 */
#include <string.h>
#include "h2/hpack.h"
#include "core/arena.h"
#include "core/hpack_int.h"
#include "core/hpack_limits.h"
#include "core/hpack_static.h"
#include "core/hpack_table.h"
#include "core/huffman.h"
#include "core/mem.h"

#define DEFAULT_MAX_LIST 65536u
#define DEFAULT_MAX_STRING 65536u
#define NO_UPDATE_REQUIRED SIZE_MAX
/* Free bytes past a decoded Huffman string, so the decoder runs its fast loop to the end. */
#define HUFF_SLACK 16u
/* Smallest output arena chunk. */
#define H2_HPACK_ARENA_CHUNK 4096u

struct h2_hpack_decoder {
    h2_mem mem;
    h2_hpack_table table;
    h2_arena arena;
    h2_header *fields; /* scratch list for the block being decoded */
    size_t fields_cap;
    size_t max_size;   /* the acknowledged SETTINGS_HEADER_TABLE_SIZE */
    size_t required;   /* the next block must start with an update <= this */
    size_t max_list;   /* 0 = no limit */
    size_t max_string; /* 0 = no limit */
    int failed;        /* 0, or the error that made the context unusable */
    size_t max_fields; /* 0 = no cap */
    h2_hpack_limit_hit hit;
    /*
     * Output fields point into the table's byte ring instead of copies.
     * |pin| is the oldest virtual position handed out since the output was
     * last reset (NO_PIN: none); before an insertion would write over it,
     * the table moves to a new ring and the old one is kept in |retired|
     * until the output is reset.
     */
    uint64_t pin;
    uint8_t **retired;
    size_t n_retired, cap_retired;
};

#define NO_PIN UINT64_MAX

int h2_hpack_decoder_new(h2_hpack_decoder **out, const h2_mem *mem)
{
    if (out == NULL)
        return H2_EINVAL;
    *out = NULL;
    mem = h2_mem_or_default(mem);
    h2_hpack_decoder *dec = h2_mem_malloc(mem, sizeof(*dec));
    if (dec == NULL)
        return H2_ENOMEM;
    memset(dec, 0, sizeof(*dec));
    dec->mem = *mem;
    h2_hpack_table_init(&dec->table, H2_HPACK_DEFAULT_TABLE_SIZE, false);
    h2_arena_init(&dec->arena, H2_HPACK_ARENA_CHUNK);
    dec->max_size = H2_HPACK_DEFAULT_TABLE_SIZE;
    dec->required = NO_UPDATE_REQUIRED;
    dec->max_list = DEFAULT_MAX_LIST;
    dec->max_string = DEFAULT_MAX_STRING;
    dec->pin = NO_PIN;
    *out = dec;
    return 0;
}

/* Output no longer points into the table: frees the old rings, drops the pin. */
static void free_retired(h2_hpack_decoder *dec)
{
    for (size_t i = 0; i < dec->n_retired; i++)
        h2_mem_free(&dec->mem, dec->retired[i]);
    dec->n_retired = 0;
    dec->pin = NO_PIN;
}

void h2_hpack_decoder_free(h2_hpack_decoder *dec)
{
    if (dec == NULL)
        return;
    h2_mem mem = dec->mem;
    free_retired(dec);
    h2_mem_free(&mem, dec->retired);
    h2_hpack_table_free(&dec->table, &mem);
    h2_arena_free(&dec->arena, &mem);
    h2_mem_free(&mem, dec->fields);
    h2_mem_free(&mem, dec);
}

int h2_hpack_decoder_set_max_table_size(h2_hpack_decoder *dec, size_t max)
{
    if (dec == NULL)
        return H2_EINVAL;
    if (max > UINT32_MAX)
        max = UINT32_MAX;
    if (max < dec->table.limit && max < dec->required)
        dec->required = max;
    dec->max_size = max;
    return 0;
}

void h2_hpack_decoder_set_limits(h2_hpack_decoder *dec, size_t max_list_size, size_t max_string_len)
{
    if (dec == NULL)
        return;
    dec->max_list = max_list_size;
    dec->max_string = max_string_len;
}

void h2_hpack_decoder_set_max_fields(h2_hpack_decoder *dec, size_t max_fields)
{
    if (dec != NULL)
        dec->max_fields = max_fields;
}

h2_hpack_limit_hit h2_hpack_decoder_limit_hit(const h2_hpack_decoder *dec)
{
    return dec != NULL ? dec->hit : H2_HPACK_HIT_NONE;
}

void h2_hpack_decoder_reset_output(h2_hpack_decoder *dec)
{
    if (dec != NULL) {
        h2_arena_reset(&dec->arena);
        free_retired(dec);
    }
}

void h2_hpack_decoder_trim_output(h2_hpack_decoder *dec)
{
    if (dec != NULL) {
        h2_arena_trim(&dec->arena, &dec->mem);
        free_retired(dec);
    }
}

size_t h2_hpack_decoder_table_size(const h2_hpack_decoder *dec)
{
    return dec != NULL ? dec->table.size : 0;
}

/* Grows the scratch field list. Returns 0 or H2_ENOMEM. */
static int grow_fields(h2_hpack_decoder *dec)
{
    size_t cap = dec->fields_cap ? dec->fields_cap * 2 : 32;
    if (cap > SIZE_MAX / sizeof(h2_header))
        return H2_ENOMEM;
    h2_header *f = h2_mem_realloc(&dec->mem, dec->fields, cap * sizeof(h2_header));
    if (f == NULL)
        return H2_ENOMEM;
    dec->fields = f;
    dec->fields_cap = cap;
    return 0;
}

/*
 * Reads a string literal (RFC 7541 section 5.2) at |*pp|. Its bytes end up
 * in the arena (committed), except for a plain string when |in_place| is
 * set: then |*s| points into the input. Returns 0, H2_ECOMPRESSION or
 * H2_ENOMEM.
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline int read_string(h2_hpack_decoder *dec, const uint8_t **pp, const uint8_t *end,
                              bool in_place, const uint8_t **s, size_t *slen)
{
    const uint8_t *p = *pp;
    if (p == end)
        return H2_ECOMPRESSION;
    bool huff = (*p & 0x80) != 0;
    uint32_t n;
    if (h2_hpack_get_int(&p, end, 0x7f, &n) != 0 || n > (size_t)(end - p))
        return H2_ECOMPRESSION;
    if (huff) {
        size_t cap = h2_huff_decoded_max(n) + HUFF_SLACK;
        uint8_t *dst = h2_arena_reserve(&dec->arena, cap, &dec->mem);
        if (dst == NULL)
            return H2_ENOMEM;
        ptrdiff_t r = h2_huff_decode_in(p, n, end, dst, cap);
        if (r < 0)
            return H2_ECOMPRESSION;
        h2_arena_commit(&dec->arena, (size_t)r);
        *s = dst;
        *slen = (size_t)r;
    } else if (in_place) {
        *s = p;
        *slen = n;
    } else {
        uint8_t *dst = h2_arena_reserve(&dec->arena, n, &dec->mem);
        if (dst == NULL)
            return H2_ENOMEM;
        memcpy(dst, p, n);
        h2_arena_commit(&dec->arena, n);
        *s = dst;
        *slen = n;
    }
    *pp = p + n;
    return 0;
}

/* Processes the dynamic table size updates that open a block. */
static int read_size_updates(h2_hpack_decoder *dec, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    bool satisfied = dec->required == NO_UPDATE_REQUIRED;
    while (p < end && (*p & 0xe0) == 0x20) {
        uint32_t v;
        if (h2_hpack_get_int(&p, end, 0x1f, &v) != 0)
            return H2_ECOMPRESSION;
        if (v > dec->max_size) {
            dec->hit = H2_HPACK_HIT_TABLE_SIZE;
            return H2_ECOMPRESSION;
        }
        if (v <= dec->required)
            satisfied = true;
        h2_hpack_table_set_limit(&dec->table, v);
    }
    if (!satisfied)
        return H2_ECOMPRESSION;
    dec->required = NO_UPDATE_REQUIRED;
    *pp = p;
    return 0;
}

/*
 * Looks up index |idx| (not 0) of the static or dynamic table into |f|: the
 * name alone, or with |with_value| the value too. |f| points into the
 * table; with |keep| the bytes are pinned so that they stay valid until
 * the output is reset, else only until the table changes. 0 or
 * H2_ECOMPRESSION (no such entry).
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline int lookup(h2_hpack_decoder *dec, uint32_t idx, bool with_value, bool keep,
                         h2_header *f)
{
    if (idx <= H2_HPACK_STATIC_COUNT) {
        const h2_header *st = &h2_hpack_static[idx];
        f->name = st->name;
        f->name_len = st->name_len;
        if (with_value) {
            f->value = st->value;
            f->value_len = st->value_len;
        }
        return 0;
    }
    size_t i = idx - (H2_HPACK_STATIC_COUNT + 1);
    if (i >= h2_hpack_table_len(&dec->table))
        return H2_ECOMPRESSION;
    const h2_hpack_entry *e = h2_hpack_table_get(&dec->table, i);
    const uint8_t *bytes = h2_hpack_table_bytes(&dec->table, e);
    f->name_len = e->name_len;
    if (with_value)
        f->value_len = e->value_len;
    if (keep && e->vpos < dec->pin)
        dec->pin = e->vpos;
    f->name = bytes;
    if (with_value)
        f->value = bytes + f->name_len;
    return 0;
}

/* Indexed header field (section 6.1). |over|: the output is dropped, copy nothing. */
static int decode_indexed(h2_hpack_decoder *dec, const uint8_t **pp, const uint8_t *end, bool over,
                          h2_header *f)
{
    uint32_t idx;
    if (h2_hpack_get_int(pp, end, 0x7f, &idx) != 0 || idx == 0)
        return H2_ECOMPRESSION;
    if (idx <= H2_HPACK_STATIC_COUNT) {
        *f = h2_hpack_static[idx];
        return 0;
    }
    f->flags = 0;
    return lookup(dec, idx, true, !over, f);
}

/*
 * Sizes the table for its limit, and moves it to a new byte ring when
 * output points into the current one (kept until the output is reset).
 * 0 or H2_ENOMEM.
 */
static int table_make_room(h2_hpack_decoder *dec)
{
    if (dec->pin == NO_PIN)
        return h2_hpack_table_reserve(&dec->table, &dec->mem);
    if (dec->n_retired == dec->cap_retired) {
        size_t cap = dec->cap_retired ? dec->cap_retired * 2 : 4;
        uint8_t **r = h2_mem_realloc(&dec->mem, dec->retired, cap * sizeof(*r));
        if (r == NULL)
            return H2_ENOMEM;
        dec->retired = r;
        dec->cap_retired = cap;
    }
    uint8_t *old = NULL;
    if (h2_hpack_table_renew(&dec->table, &dec->mem, &old) != 0)
        return H2_ENOMEM;
    if (old != NULL)
        dec->retired[dec->n_retired++] = old;
    dec->pin = NO_PIN; /* the new ring holds nothing handed out */
    return 0;
}

/* Literal header field (sections 6.2.1 to 6.2.3), added to the table when it says so. */
static int decode_literal(h2_hpack_decoder *dec, const uint8_t **pp, const uint8_t *end, bool over,
                          h2_header *f)
{
    uint8_t b = **pp;
    uint8_t mask;
    bool add = false;
    f->flags = 0;
    if (b & 0x40) {
        mask = 0x3f;
        add = true;
    } else if (b & 0x20) {
        return H2_ECOMPRESSION; /* a table size update after the first field */
    } else {
        mask = 0x0f;
        if (b & 0x10)
            f->flags = H2_HEADER_NEVER_INDEX;
    }
    uint32_t idx;
    if (h2_hpack_get_int(pp, end, mask, &idx) != 0)
        return H2_ECOMPRESSION;
    /* A name that goes into the table or the output must outlive the block's table changes. */
    int rv = idx == 0 ? read_string(dec, pp, end, over && !add, &f->name, &f->name_len)
                      : lookup(dec, idx, false, !(over && !add), f);
    if (rv != 0)
        return rv;
    rv = read_string(dec, pp, end, over, &f->value, &f->value_len);
    if (rv != 0 || !add)
        return rv;
    if (H2_HP_UNLIKELY(dec->table.alloc_limit < dec->table.limit) ||
        (dec->pin != NO_PIN &&
         h2_hpack_table_overwrites(&dec->table, f->name_len + f->value_len, dec->pin))) {
        rv = table_make_room(dec);
        if (rv != 0)
            return rv;
    }
    h2_hpack_hash none = {0, 0};
    h2_hpack_table_insert(&dec->table, f->name, f->name_len, f->value, f->value_len, none);
    return 0;
}

/* The limits of one block and how far it went. */
typedef struct block_state {
    size_t nf;     /* fields kept */
    size_t n_seen; /* fields decoded, also those dropped past a limit */
    size_t max_fields;
    size_t list_size;
    size_t max_list;
    size_t max_string;
    bool over; /* a limit was passed: keep the table in sync, output nothing */
} block_state;

/*
 * Counts |f| against the limits and keeps it unless one was passed. |f| is
 * the next slot of the list itself when |in_list|, else a field decoded
 * aside (the list was full, or a limit passed). 0 or H2_ENOMEM.
 */
static int keep_field(h2_hpack_decoder *dec, block_state *st, const h2_header *f, bool in_list,
                      h2_arena_mark block_mark)
{
    st->list_size += f->name_len + f->value_len + H2_HPACK_ENTRY_OVERHEAD;
    bool long_string = f->name_len > st->max_string || f->value_len > st->max_string;
    if (H2_HP_UNLIKELY(st->list_size > st->max_list || long_string)) {
        if (!st->over)
            dec->hit = long_string ? H2_HPACK_HIT_STRING : H2_HPACK_HIT_LIST;
        st->over = true;
    }
    if (H2_HP_UNLIKELY(st->over)) {
        h2_arena_rollback(&dec->arena, block_mark);
        return 0;
    }
    if (H2_HP_UNLIKELY(!in_list)) {
        if (st->nf == dec->fields_cap && grow_fields(dec) != 0)
            return H2_ENOMEM;
        dec->fields[st->nf] = *f;
    }
    st->nf++;
    return 0;
}

/* Copies the block's |nf| fields into the arena, aligned, as the output. 0 or H2_ENOMEM. */
static int publish_fields(h2_hpack_decoder *dec, size_t nf, const h2_header **out, size_t *n_out)
{
    size_t bytes = nf * sizeof(h2_header);
    uint8_t *base = h2_arena_reserve(&dec->arena, bytes + 7, &dec->mem);
    if (base == NULL)
        return H2_ENOMEM;
    size_t adj = (size_t)(-(uintptr_t)base & 7u);
    memcpy(base + adj, dec->fields, bytes);
    h2_arena_commit(&dec->arena, adj + bytes);
    *out = (const h2_header *)(const void *)(base + adj);
    *n_out = nf;
    return 0;
}

/* Decodes the fields of a block after its size updates. 0 or the error. */
static int decode_fields(h2_hpack_decoder *dec, const uint8_t *p, const uint8_t *end,
                         block_state *st, h2_arena_mark block_mark)
{
    while (p < end) {
        if (H2_HP_UNLIKELY(++st->n_seen > st->max_fields)) {
            dec->hit = H2_HPACK_HIT_FIELDS;
            return H2_ECOMPRESSION;
        }
        /*
         * Decoded straight into the list when it has room: a copy made
         * right after the field's members were stored one by one would wait
         * for those stores to reach the cache.
         */
        h2_header aside;
        bool in_list = !st->over && st->nf < dec->fields_cap;
        h2_header *f = in_list ? &dec->fields[st->nf] : &aside;
        int rv = (*p & 0x80) ? decode_indexed(dec, &p, end, st->over, f)
                             : decode_literal(dec, &p, end, st->over, f);
        if (rv == 0)
            rv = keep_field(dec, st, f, in_list, block_mark);
        if (rv != 0)
            return rv;
    }
    return 0;
}

int h2_hpack_decode(h2_hpack_decoder *dec, const uint8_t *block, size_t len, const h2_header **out,
                    size_t *n_out)
{
    if (dec == NULL || (block == NULL && len != 0) || out == NULL || n_out == NULL)
        return H2_EINVAL;
    *out = NULL;
    *n_out = 0;
    if (dec->failed)
        return dec->failed;
    dec->hit = H2_HPACK_HIT_NONE;

    const uint8_t *p = block;
    const uint8_t *end = block + len;
    h2_arena_mark block_mark = h2_arena_get_mark(&dec->arena);
    block_state st = {
        .max_fields = dec->max_fields ? dec->max_fields : SIZE_MAX,
        .max_list = dec->max_list ? dec->max_list : SIZE_MAX,
        .max_string = dec->max_string ? dec->max_string : SIZE_MAX,
    };
    int rv = read_size_updates(dec, &p, end);
    if (rv == 0)
        rv = decode_fields(dec, p, end, &st, block_mark);
    if (rv == 0 && st.over)
        return H2_EHEADER_LIST_SIZE;
    if (rv == 0 && st.nf > 0)
        rv = publish_fields(dec, st.nf, out, n_out);
    if (rv == 0)
        return 0;
    h2_arena_rollback(&dec->arena, block_mark);
    dec->failed = rv;
    return rv;
}
