/*
 * Header-list normalisation (RFC 9113 section 8.2.3 and h2's habits): the
 * inbound join of cookie fields into one, and the outbound pass that
 * lowercases names, strips what h2 strips from values and splits cookies.
 */
#include <string.h>
#include "core/headers.h"
#include "core/headers_lex.h"
#include "h2/errors.h"

/* ------------------------------------------------------------------------ */
/* Inbound normalisation                                                     */
/* ------------------------------------------------------------------------ */

static const uint8_t cookie_name[] = {'c', 'o', 'o', 'k', 'i', 'e'};

int h2_headers_normalize_inbound(const h2_header *fields, size_t n, h2_hdr_scratch *s,
                                 const h2_header **out, size_t *n_out)
{
    size_t k = 0, last = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (h2_hdr_bytes_eq(fields[i].name, fields[i].name_len, "cookie", 6)) {
            k++;
            last = i;
            total += fields[i].value_len; /* all of them lie in memory: no overflow */
        }
    }
    if (k == 0 || (k == 1 && last == n - 1 && (fields[last].flags & H2_HEADER_NEVER_INDEX))) {
        *out = fields;
        *n_out = n;
        return 0;
    }
    size_t m = n - k + 1;
    if (m > SIZE_MAX / sizeof(h2_header) || total > SIZE_MAX - 2 * k)
        return H2_ENOMEM;
    /* Sizes first, then both blocks, then writing: nothing half-done on failure. */
    size_t joined_len = total + 2 * (k - 1);
    h2_header *arr = h2_hdr_scratch_alloc(s, m * sizeof(h2_header));
    if (arr == NULL)
        return H2_ENOMEM;
    uint8_t *joined = NULL;
    if (k > 1) {
        joined = h2_hdr_scratch_alloc(s, joined_len);
        if (joined == NULL)
            return H2_ENOMEM;
    }

    size_t j = 0, at = 0, seen = 0;
    const uint8_t *value = NULL;
    for (size_t i = 0; i < n; i++) {
        const h2_header *h = &fields[i];
        if (!h2_hdr_bytes_eq(h->name, h->name_len, "cookie", 6)) {
            arr[j++] = *h;
            continue;
        }
        if (joined == NULL) {
            value = h->value;
            continue;
        }
        if (seen++ > 0) {
            joined[at++] = ';';
            joined[at++] = ' ';
        }
        if (h->value_len > 0)
            memcpy(joined + at, h->value, h->value_len);
        at += h->value_len;
    }
    arr[j].name = cookie_name;
    arr[j].name_len = sizeof(cookie_name);
    arr[j].value = joined != NULL ? joined : value;
    arr[j].value_len = joined_len;
    arr[j].flags = H2_HEADER_NEVER_INDEX;
    *out = arr;
    *n_out = m;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Outbound normalisation                                                    */
/* ------------------------------------------------------------------------ */

static bool has_upper(const uint8_t *n, size_t len)
{
    return span_suspect(n, len, word_has_upper, 0, C_UPPER);
}

size_t h2_hdr_count_cookie_seps(const uint8_t *v, size_t len)
{
    size_t c = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (v[i] == ';' && v[i + 1] == ' ')
            c++;
    }
    return c;
}

/* Whether normalisation would change anything in the list. */
bool h2_hdr_outbound_needs_work(const h2_header *f, size_t n, bool split)
{
    for (size_t i = 0; i < n; i++) {
        const h2_header *h = &f[i];
        if (has_upper(h->name, h->name_len) ||
            h2_hdr_field_needs_work(h, h2_hdr_name_token(h->name, h->name_len), split))
            return true;
    }
    return false;
}

static void strip(const uint8_t **p, size_t *len)
{
    const uint8_t *b = *p;
    size_t l = *len;
    while (l > 0 && (h2_hdr_cls[b[0]] & C_STRIP)) {
        b++;
        l--;
    }
    while (l > 0 && (h2_hdr_cls[b[l - 1]] & C_STRIP))
        l--;
    *p = b;
    *len = l;
}

static bool name_is_cookie_ci(const uint8_t *n, size_t len)
{
    if (len != 6)
        return false;
    for (size_t i = 0; i < 6; i++) {
        if ((n[i] | 0x20) != cookie_name[i])
            return false;
    }
    return true;
}

/* Appends one (already stripped-name) field for a value piece; drops nothing. */
static void emit_piece(h2_header *arr, size_t *k, const uint8_t *name, size_t name_len,
                       enum name_tok tok, const uint8_t *v, size_t vlen, uint32_t flags)
{
    strip(&v, &vlen);
    if (tok == TOK_AUTH || (tok == TOK_COOKIE && vlen < 20))
        flags |= H2_HEADER_NEVER_INDEX;
    h2_header *o = &arr[(*k)++];
    o->name = name;
    o->name_len = name_len;
    o->value = vlen > 0 ? v : (const uint8_t *)"";
    o->value_len = vlen;
    o->flags = flags;
}

int h2_hdr_normalize_outbound(const h2_header *f, size_t n, bool split, h2_hdr_scratch *s,
                              const h2_header **out, size_t *n_out)
{
    /* Bound on the output: one field per input plus the extra cookie pieces. */
    size_t cap = n;
    for (size_t i = 0; split && i < n; i++) {
        if (name_is_cookie_ci(f[i].name, f[i].name_len))
            cap += h2_hdr_count_cookie_seps(f[i].value, f[i].value_len);
    }
    if (cap > SIZE_MAX / sizeof(h2_header))
        return H2_ENOMEM;
    h2_header *arr = h2_hdr_scratch_alloc(s, cap * sizeof(h2_header));
    if (arr == NULL)
        return H2_ENOMEM;

    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const h2_header *h = &f[i];
        const uint8_t *name = h->name;
        size_t name_len = h->name_len;
        if (has_upper(name, name_len)) {
            uint8_t *low = h2_hdr_scratch_alloc(s, name_len);
            if (low == NULL)
                return H2_ENOMEM;
            for (size_t j = 0; j < name_len; j++)
                low[j] = (h2_hdr_cls[name[j]] & C_UPPER) ? (uint8_t)(name[j] | 0x20) : name[j];
            name = low;
        }
        /* h2 decides on splitting before stripping the name. */
        bool split_this = split && h2_hdr_bytes_eq(name, name_len, "cookie", 6);
        strip(&name, &name_len);
        enum name_tok tok = h2_hdr_name_token(name, name_len);
        if (tok == TOK_CONN)
            continue;
        const uint8_t *v = h->value;
        size_t vlen = h->value_len;
        if (split_this && vlen > 0) {
            size_t start = 0;
            for (size_t j = 0; j + 1 < vlen; j++) {
                if (v[j] == ';' && v[j + 1] == ' ') {
                    emit_piece(arr, &k, name, name_len, tok, v + start, j - start, h->flags);
                    start = j + 2;
                    j++;
                }
            }
            emit_piece(arr, &k, name, name_len, tok, v + start, vlen - start, h->flags);
        } else {
            emit_piece(arr, &k, name, name_len, tok, v, vlen, h->flags);
        }
    }
    *out = arr;
    *n_out = k;
    return 0;
}
