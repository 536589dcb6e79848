/*
 * HPACK throughput: libh2's encoder and decoder against nghttp2's, on the
 * header lists of the hpack-test-case corpus (raw-data: 32 stories, each a
 * sequence of request or response header lists sharing one compression
 * context, as on one connection).
 *
 *   encode: per story a fresh encoder (table 4096) encodes every case in
 *           order into a buffer sized by the library's own bound function.
 *   decode: every story is first encoded once with nghttp2's deflater, so
 *           both decoders read identical bytes; per story a fresh decoder
 *           decodes every block in order and the caller reads every field.
 *
 * Throughput counts uncompressed header bytes (sum of name and value
 * lengths) per second, in MB (10^6 bytes). Each sample repeats the whole
 * corpus until at least 200 ms have passed; ours and nghttp2 alternate
 * within each round, and the medians over the rounds are reported.
 *
 * usage: bench_hpack [--rounds N] [--only ours|nghttp2] [--stories DIR]
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nghttp2/nghttp2.h>

#include "h2/h2.h"

#ifndef H2_STORIES_DIR
#define H2_STORIES_DIR "tests/data/hpack-test-case"
#endif

#define MIN_SAMPLE_SEC 0.2
#define MAX_DEPTH 64

/* ------------------------------------------------------------------------ */
/* A minimal JSON reader, enough for the story files                          */
/* ------------------------------------------------------------------------ */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jval {
    enum jtype type;
    char *str; /* J_STR: bytes (NUL terminated, may contain NUL) */
    size_t len;
    struct jval *items; /* J_ARR: elements; J_OBJ: values */
    struct jval *keys;  /* J_OBJ: member names (J_STR) */
    size_t n;
} jval;

typedef struct jparser {
    const char *p;
    const char *end;
    const char *err;
} jparser;

static void jfree(jval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->items != NULL) {
            jfree(&v->items[i]);
        }
        if (v->keys != NULL) {
            jfree(&v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof(*v));
}

static void jskip_ws(jparser *jp)
{
    while (jp->p < jp->end &&
           (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')) {
        jp->p++;
    }
}

static int jhex4(jparser *jp, unsigned *out)
{
    unsigned u = 0;
    if (jp->end - jp->p < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char c = *jp->p++;
        u <<= 4;
        if (c >= '0' && c <= '9') {
            u |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            u |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            u |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = u;
    return 0;
}

static size_t utf8_put(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string (at the opening quote); escapes never grow the text. */
static int jstring(jparser *jp, jval *v)
{
    jp->p++;
    const char *start = jp->p;
    while (jp->p < jp->end && *jp->p != '"') {
        jp->p += *jp->p == '\\' ? 2 : 1;
    }
    if (jp->p >= jp->end) {
        jp->err = "unterminated string";
        return -1;
    }
    const char *stop = jp->p;
    char *out = malloc((size_t)(stop - start) + 1);
    if (out == NULL) {
        jp->err = "out of memory";
        return -1;
    }
    size_t n = 0;
    jp->p = start;
    while (jp->p < stop) {
        char c = *jp->p++;
        if ((unsigned char)c < 0x20) {
            jp->err = "control character in string";
            goto bad;
        }
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        c = *jp->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            out[n++] = c;
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (jhex4(jp, &cp) != 0) {
                jp->err = "bad \\u escape";
                goto bad;
            }
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (stop - jp->p < 6 || jp->p[0] != '\\' || jp->p[1] != 'u') {
                    jp->err = "lone surrogate";
                    goto bad;
                }
                jp->p += 2;
                if (jhex4(jp, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    jp->err = "bad surrogate pair";
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                jp->err = "lone surrogate";
                goto bad;
            }
            n += utf8_put(cp, out + n);
            break;
        }
        default:
            jp->err = "bad escape";
            goto bad;
        }
    }
    out[n] = '\0';
    jp->p = stop + 1;
    v->type = J_STR;
    v->str = out;
    v->len = n;
    return 0;
bad:
    free(out);
    return -1;
}

static int jvalue(jparser *jp, jval *v, int depth);

static int jcontainer(jparser *jp, jval *v, int depth, char close)
{
    size_t cap = 0;
    int is_obj = close == '}';
    v->type = is_obj ? J_OBJ : J_ARR;
    jp->p++;
    jskip_ws(jp);
    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            jval *items = realloc(v->items, cap * sizeof(*items));
            if (items == NULL) {
                jp->err = "out of memory";
                return -1;
            }
            v->items = items;
            if (is_obj) {
                jval *keys = realloc(v->keys, cap * sizeof(*keys));
                if (keys == NULL) {
                    jp->err = "out of memory";
                    return -1;
                }
                v->keys = keys;
            }
        }
        memset(&v->items[v->n], 0, sizeof(jval));
        if (is_obj) {
            memset(&v->keys[v->n], 0, sizeof(jval));
        }
        v->n++;
        jskip_ws(jp);
        if (is_obj) {
            if (jp->p >= jp->end || *jp->p != '"') {
                jp->err = "expected a member name";
                return -1;
            }
            if (jstring(jp, &v->keys[v->n - 1]) != 0) {
                return -1;
            }
            jskip_ws(jp);
            if (jp->p >= jp->end || *jp->p != ':') {
                jp->err = "expected ':'";
                return -1;
            }
            jp->p++;
        }
        if (jvalue(jp, &v->items[v->n - 1], depth + 1) != 0) {
            return -1;
        }
        jskip_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            return 0;
        }
        jp->err = is_obj ? "expected ',' or '}'" : "expected ',' or ']'";
        return -1;
    }
}

static int jliteral(jparser *jp, const char *word, enum jtype type, jval *v)
{
    size_t n = strlen(word);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0) {
        jp->err = "unexpected character";
        return -1;
    }
    jp->p += n;
    v->type = type;
    return 0;
}

static int jvalue(jparser *jp, jval *v, int depth)
{
    if (depth > MAX_DEPTH) {
        jp->err = "nesting too deep";
        return -1;
    }
    jskip_ws(jp);
    if (jp->p >= jp->end) {
        jp->err = "unexpected end of input";
        return -1;
    }
    switch (*jp->p) {
    case '{':
        return jcontainer(jp, v, depth, '}');
    case '[':
        return jcontainer(jp, v, depth, ']');
    case '"':
        return jstring(jp, v);
    case 't':
        return jliteral(jp, "true", J_BOOL, v);
    case 'f':
        return jliteral(jp, "false", J_BOOL, v);
    case 'n':
        return jliteral(jp, "null", J_NULL, v);
    default:
        break;
    }
    const char *start = jp->p;
    while (jp->p < jp->end && strchr("+-0123456789.eE", *jp->p) != NULL) {
        jp->p++;
    }
    if (jp->p == start) {
        jp->err = "unexpected character";
        return -1;
    }
    v->type = J_NUM;
    return 0;
}

static const jval *jget(const jval *obj, const char *key)
{
    if (obj->type != J_OBJ) {
        return NULL;
    }
    for (size_t i = 0; i < obj->n; i++) {
        if (obj->keys[i].len == strlen(key) &&
            memcmp(obj->keys[i].str, key, obj->keys[i].len) == 0) {
            return &obj->items[i];
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The corpus                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct hcase {
    h2_header *fields; /* for libh2 */
    nghttp2_nv *nv;    /* the same bytes, for nghttp2 */
    size_t n;
    size_t raw_bytes; /* sum of name and value lengths */
    uint8_t *wire;    /* encoded once by nghttp2's deflater */
    size_t wire_len;
} hcase;

typedef struct story {
    char name[256];
    hcase *cases;
    size_t n_cases;
    uint8_t *arena; /* every name and value of the story */
} story;

typedef struct corpus {
    story *stories;
    size_t n_stories;
    size_t raw_bytes;  /* per pass over the corpus */
    size_t wire_bytes; /* nghttp2-encoded size of one pass */
    size_t n_blocks;
    size_t n_fields;
    size_t max_fields; /* largest header list */
} corpus;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            break;
        }
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (nb == NULL) {
            free(buf);
        }
        buf = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (buf == NULL || err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Turns one parsed story into |st|; returns 0 or -1 with a message printed. */
static int load_story(const char *path, const jval *root, story *st)
{
    const jval *cases = jget(root, "cases");
    if (cases == NULL || cases->type != J_ARR) {
        fprintf(stderr, "bench_hpack: %s: no \"cases\" array\n", path);
        return -1;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < cases->n; i++) {
        const jval *hs = jget(&cases->items[i], "headers");
        if (hs == NULL || hs->type != J_ARR) {
            fprintf(stderr, "bench_hpack: %s: case %zu: no \"headers\" array\n", path, i);
            return -1;
        }
        for (size_t k = 0; k < hs->n; k++) {
            const jval *h = &hs->items[k];
            if (h->type != J_OBJ || h->n != 1 || h->items[0].type != J_STR) {
                fprintf(stderr, "bench_hpack: %s: case %zu: header %zu is not {name: value}\n",
                        path, i, k);
                return -1;
            }
            bytes += h->keys[0].len + h->items[0].len;
        }
    }
    st->arena = malloc(bytes + 1);
    st->cases = calloc(cases->n + 1, sizeof(hcase));
    if (st->arena == NULL || st->cases == NULL) {
        fprintf(stderr, "bench_hpack: out of memory\n");
        return -1;
    }
    st->n_cases = cases->n;
    size_t off = 0;
    for (size_t i = 0; i < cases->n; i++) {
        const jval *hs = jget(&cases->items[i], "headers");
        hcase *c = &st->cases[i];
        c->n = hs->n;
        c->fields = calloc(hs->n + 1, sizeof(h2_header));
        c->nv = calloc(hs->n + 1, sizeof(nghttp2_nv));
        if (c->fields == NULL || c->nv == NULL) {
            fprintf(stderr, "bench_hpack: out of memory\n");
            return -1;
        }
        for (size_t k = 0; k < hs->n; k++) {
            const jval *name = &hs->items[k].keys[0];
            const jval *value = &hs->items[k].items[0];
            uint8_t *np = st->arena + off;
            memcpy(np, name->str, name->len);
            off += name->len;
            uint8_t *vp = st->arena + off;
            memcpy(vp, value->str, value->len);
            off += value->len;
            c->fields[k] = (h2_header){np, name->len, vp, value->len, 0};
            c->nv[k] = (nghttp2_nv){np, vp, name->len, value->len, NGHTTP2_NV_FLAG_NONE};
            c->raw_bytes += name->len + value->len;
        }
    }
    return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static int load_corpus(const char *stories, corpus *cp)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/raw-data", stories);
    struct dirent **names;
    int n = scandir(dir, &names, json_name, name_cmp);
    if (n < 0) {
        fprintf(stderr, "bench_hpack: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (n == 0) {
        fprintf(stderr, "bench_hpack: %s: no story files\n", dir);
        free(names);
        return -1;
    }
    cp->stories = calloc((size_t)n, sizeof(story));
    int rv = cp->stories == NULL ? -1 : 0;
    for (int i = 0; i < n && rv == 0; i++) {
        char path[8192];
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        char *text = read_file(path, &len);
        if (text == NULL) {
            fprintf(stderr, "bench_hpack: %s: cannot read\n", path);
            rv = -1;
            break;
        }
        jparser jp = {text, text + len, NULL};
        jval root = {0};
        if (jvalue(&jp, &root, 0) != 0) {
            fprintf(stderr, "bench_hpack: %s: bad JSON at byte %zu: %s\n", path,
                    (size_t)(jp.p - text), jp.err);
            rv = -1;
        } else {
            story *st = &cp->stories[cp->n_stories++];
            snprintf(st->name, sizeof(st->name), "%s", names[i]->d_name);
            rv = load_story(path, &root, st);
        }
        jfree(&root);
        free(text);
    }
    for (int i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    for (size_t s = 0; s < cp->n_stories && rv == 0; s++) {
        for (size_t i = 0; i < cp->stories[s].n_cases; i++) {
            hcase *c = &cp->stories[s].cases[i];
            cp->raw_bytes += c->raw_bytes;
            cp->n_fields += c->n;
            cp->max_fields = c->n > cp->max_fields ? c->n : cp->max_fields;
            cp->n_blocks++;
        }
    }
    return rv;
}

static void free_corpus(corpus *cp)
{
    for (size_t s = 0; s < cp->n_stories; s++) {
        story *st = &cp->stories[s];
        for (size_t i = 0; st->cases != NULL && i < st->n_cases; i++) {
            free(st->cases[i].fields);
            free(st->cases[i].nv);
            free(st->cases[i].wire);
        }
        free(st->cases);
        free(st->arena);
    }
    free(cp->stories);
}

/* ------------------------------------------------------------------------ */
/* The measured work                                                          */
/* ------------------------------------------------------------------------ */

/* Output buffer shared by the encoders, grown to each block's bound. */
typedef struct obuf {
    uint8_t *p;
    size_t cap;
} obuf;

static int obuf_reserve(obuf *b, size_t need)
{
    if (need <= b->cap) {
        return 0;
    }
    uint8_t *p = realloc(b->p, need);
    if (p == NULL) {
        return -1;
    }
    b->p = p;
    b->cap = need;
    return 0;
}

/* Keeps results alive so the compiler cannot drop the work. */
static volatile size_t sink;

/* One pass of libh2's encoder over the corpus; returns the encoded bytes or 0 on error. */
static size_t ours_encode_pass(const corpus *cp, obuf *b)
{
    size_t total = 0;
    for (size_t s = 0; s < cp->n_stories; s++) {
        const story *st = &cp->stories[s];
        h2_hpack_encoder *enc;
        if (h2_hpack_encoder_new(&enc, H2_HPACK_DEFAULT_TABLE_SIZE, NULL) != 0) {
            return 0;
        }
        for (size_t i = 0; i < st->n_cases; i++) {
            const hcase *c = &st->cases[i];
            size_t bound = h2_hpack_encode_bound(enc, c->fields, c->n);
            size_t len = 0;
            if (obuf_reserve(b, bound) != 0 ||
                h2_hpack_encode(enc, c->fields, c->n, b->p, bound, &len) != 0) {
                h2_hpack_encoder_free(enc);
                return 0;
            }
            total += len;
        }
        h2_hpack_encoder_free(enc);
    }
    return total;
}

static size_t ng_encode_pass(const corpus *cp, obuf *b)
{
    size_t total = 0;
    for (size_t s = 0; s < cp->n_stories; s++) {
        const story *st = &cp->stories[s];
        nghttp2_hd_deflater *def;
        if (nghttp2_hd_deflate_new(&def, NGHTTP2_DEFAULT_HEADER_TABLE_SIZE) != 0) {
            return 0;
        }
        for (size_t i = 0; i < st->n_cases; i++) {
            const hcase *c = &st->cases[i];
            size_t bound = nghttp2_hd_deflate_bound(def, c->nv, c->n);
            if (obuf_reserve(b, bound) != 0) {
                nghttp2_hd_deflate_del(def);
                return 0;
            }
            ssize_t len = nghttp2_hd_deflate_hd(def, b->p, bound, c->nv, c->n);
            if (len < 0) {
                nghttp2_hd_deflate_del(def);
                return 0;
            }
            total += (size_t)len;
        }
        nghttp2_hd_deflate_del(def);
    }
    return total;
}

/* One pass of libh2's decoder; returns the decoded name + value bytes, or 0 on error. */
static size_t ours_decode_pass(const corpus *cp)
{
    size_t total = 0;
    for (size_t s = 0; s < cp->n_stories; s++) {
        const story *st = &cp->stories[s];
        h2_hpack_decoder *dec;
        if (h2_hpack_decoder_new(&dec, NULL) != 0) {
            return 0;
        }
        for (size_t i = 0; i < st->n_cases; i++) {
            const hcase *c = &st->cases[i];
            const h2_header *out;
            size_t n;
            if (h2_hpack_decode(dec, c->wire, c->wire_len, &out, &n) != 0) {
                h2_hpack_decoder_free(dec);
                return 0;
            }
            for (size_t k = 0; k < n; k++) {
                total += out[k].name_len + out[k].value_len;
            }
            h2_hpack_decoder_reset_output(dec);
        }
        h2_hpack_decoder_free(dec);
    }
    return total;
}

/*
 * Decodes one block with nghttp2's inflater, calling |emit| for each field
 * (NULL: only sum the lengths). Returns the name + value bytes or -1.
 */
static long ng_inflate_block(nghttp2_hd_inflater *inf, const uint8_t *in, size_t len,
                             int (*emit)(const nghttp2_nv *, void *), void *arg)
{
    long total = 0;
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, len, 1);
        if (rv < 0) {
            return -1;
        }
        in += rv;
        len -= (size_t)rv;
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            total += (long)(nv.namelen + nv.valuelen);
            if (emit != NULL && emit(&nv, arg) != 0) {
                return -1;
            }
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(inf);
            return total;
        }
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && len == 0) {
            return -1;
        }
    }
}

static size_t ng_decode_pass(const corpus *cp)
{
    size_t total = 0;
    for (size_t s = 0; s < cp->n_stories; s++) {
        const story *st = &cp->stories[s];
        nghttp2_hd_inflater *inf;
        if (nghttp2_hd_inflate_new(&inf) != 0) {
            return 0;
        }
        for (size_t i = 0; i < st->n_cases; i++) {
            const hcase *c = &st->cases[i];
            long got = ng_inflate_block(inf, c->wire, c->wire_len, NULL, NULL);
            if (got < 0) {
                nghttp2_hd_inflate_del(inf);
                return 0;
            }
            total += (size_t)got;
        }
        nghttp2_hd_inflate_del(inf);
    }
    return total;
}

/* ------------------------------------------------------------------------ */
/* Set-up and verification (untimed)                                          */
/* ------------------------------------------------------------------------ */

static int prepare_wire(corpus *cp)
{
    obuf b = {NULL, 0};
    int rv = 0;
    for (size_t s = 0; s < cp->n_stories && rv == 0; s++) {
        story *st = &cp->stories[s];
        nghttp2_hd_deflater *def;
        if (nghttp2_hd_deflate_new(&def, NGHTTP2_DEFAULT_HEADER_TABLE_SIZE) != 0) {
            rv = -1;
            break;
        }
        for (size_t i = 0; i < st->n_cases && rv == 0; i++) {
            hcase *c = &st->cases[i];
            size_t bound = nghttp2_hd_deflate_bound(def, c->nv, c->n);
            ssize_t len = obuf_reserve(&b, bound) == 0
                              ? nghttp2_hd_deflate_hd(def, b.p, bound, c->nv, c->n)
                              : -1;
            c->wire = len >= 0 ? malloc((size_t)len + 1) : NULL;
            if (c->wire == NULL) {
                fprintf(stderr, "bench_hpack: %s case %zu: nghttp2 encoding failed\n", st->name, i);
                rv = -1;
                break;
            }
            memcpy(c->wire, b.p, (size_t)len);
            c->wire_len = (size_t)len;
            cp->wire_bytes += (size_t)len;
        }
        nghttp2_hd_deflate_del(def);
    }
    free(b.p);
    return rv;
}

typedef struct expect {
    const hcase *c;
    size_t next;
    int bad;
} expect;

static int same_field(const uint8_t *name, size_t name_len, const uint8_t *value, size_t value_len,
                      const h2_header *want)
{
    return name_len == want->name_len && value_len == want->value_len &&
           memcmp(name, want->name, name_len) == 0 && memcmp(value, want->value, value_len) == 0;
}

static int expect_nv(const nghttp2_nv *nv, void *arg)
{
    expect *e = arg;
    if (e->next >= e->c->n ||
        !same_field(nv->name, nv->namelen, nv->value, nv->valuelen, &e->c->fields[e->next])) {
        e->bad = 1;
        return -1;
    }
    e->next++;
    return 0;
}

static int check_ours_decode(const story *st, size_t i, h2_hpack_decoder *dec, const uint8_t *wire,
                             size_t len, const char *what)
{
    const hcase *c = &st->cases[i];
    const h2_header *out;
    size_t n;
    int rv = h2_hpack_decode(dec, wire, len, &out, &n);
    if (rv != 0) {
        fprintf(stderr, "bench_hpack: %s case %zu: libh2 failed to decode %s: %s\n", st->name, i,
                what, h2_errname(rv));
        return -1;
    }
    int ok = n == c->n;
    for (size_t k = 0; ok && k < n; k++) {
        ok =
            same_field(out[k].name, out[k].name_len, out[k].value, out[k].value_len, &c->fields[k]);
    }
    h2_hpack_decoder_reset_output(dec);
    if (!ok) {
        fprintf(stderr, "bench_hpack: %s case %zu: libh2 decoded %s to other headers\n", st->name,
                i, what);
        return -1;
    }
    return 0;
}

static int check_ng_decode(const story *st, size_t i, nghttp2_hd_inflater *inf, const uint8_t *wire,
                           size_t len, const char *what)
{
    expect e = {&st->cases[i], 0, 0};
    long got = ng_inflate_block(inf, wire, len, expect_nv, &e);
    if (got < 0 || e.bad || e.next != e.c->n) {
        fprintf(stderr, "bench_hpack: %s case %zu: nghttp2 decoded %s to other headers%s\n",
                st->name, i, what, got < 0 && !e.bad ? " (decoding error)" : "");
        return -1;
    }
    return 0;
}

/*
 * Checks, per story and in order: both decoders turn nghttp2's encoding into
 * the input headers, and nghttp2's decoder turns libh2's encoding into them
 * too. Returns 0 or -1 with a message printed.
 */
static int verify(const corpus *cp, int use_ours, int use_ng)
{
    obuf b = {NULL, 0};
    int rv = 0;
    for (size_t s = 0; s < cp->n_stories && rv == 0; s++) {
        const story *st = &cp->stories[s];
        h2_hpack_decoder *dec = NULL;
        h2_hpack_encoder *enc = NULL;
        nghttp2_hd_inflater *inf = NULL, *inf_ours = NULL;
        if (h2_hpack_decoder_new(&dec, NULL) != 0 ||
            h2_hpack_encoder_new(&enc, H2_HPACK_DEFAULT_TABLE_SIZE, NULL) != 0 ||
            nghttp2_hd_inflate_new(&inf) != 0 || nghttp2_hd_inflate_new(&inf_ours) != 0) {
            fprintf(stderr, "bench_hpack: out of memory\n");
            rv = -1;
        }
        for (size_t i = 0; i < st->n_cases && rv == 0; i++) {
            const hcase *c = &st->cases[i];
            if (use_ours) {
                rv = check_ours_decode(st, i, dec, c->wire, c->wire_len, "nghttp2's encoding");
            }
            if (rv == 0 && use_ng) {
                rv = check_ng_decode(st, i, inf, c->wire, c->wire_len, "its own encoding");
            }
            if (rv == 0 && use_ours) {
                size_t bound = h2_hpack_encode_bound(enc, c->fields, c->n);
                size_t len = 0;
                int erv = obuf_reserve(&b, bound) == 0
                              ? h2_hpack_encode(enc, c->fields, c->n, b.p, bound, &len)
                              : H2_ENOMEM;
                if (erv != 0) {
                    fprintf(stderr, "bench_hpack: %s case %zu: libh2 failed to encode: %s\n",
                            st->name, i, h2_errname(erv));
                    rv = -1;
                } else {
                    rv = check_ng_decode(st, i, inf_ours, b.p, len, "libh2's encoding");
                }
            }
        }
        h2_hpack_decoder_free(dec);
        h2_hpack_encoder_free(enc);
        nghttp2_hd_inflate_del(inf);
        nghttp2_hd_inflate_del(inf_ours);
    }
    free(b.p);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Timing                                                                     */
/* ------------------------------------------------------------------------ */

enum impl { OURS, NGHTTP2 };
enum op { DECODE, ENCODE };

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One timed sample: repeats whole passes for >= MIN_SAMPLE_SEC; returns MB/s or -1. */
static double sample(const corpus *cp, enum impl who, enum op op, obuf *b)
{
    size_t passes = 0;
    double start = now_sec(), elapsed;
    do {
        size_t got;
        if (op == ENCODE) {
            got = who == OURS ? ours_encode_pass(cp, b) : ng_encode_pass(cp, b);
        } else {
            got = who == OURS ? ours_decode_pass(cp) : ng_decode_pass(cp);
        }
        if (got == 0) {
            return -1;
        }
        sink += got;
        passes++;
        elapsed = now_sec() - start;
    } while (elapsed < MIN_SAMPLE_SEC);
    return (double)cp->raw_bytes * (double)passes / elapsed / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_hpack [--rounds N] [--only ours|nghttp2] [--stories DIR]\n"
            "  --rounds N   timed rounds per benchmark (default 7); medians are reported\n"
            "  --only X     measure only libh2 (ours) or only nghttp2\n"
            "  --stories DIR hpack-test-case folder holding raw-data/ (default %s)\n",
            H2_STORIES_DIR);
}

static void print_result(const char *name, const double *med, int use_ours, int use_ng)
{
    char ours[32] = "n/a", ng[32] = "n/a", better[32] = "n/a";
    if (use_ours) {
        snprintf(ours, sizeof(ours), "%.1f", med[OURS]);
    }
    if (use_ng) {
        snprintf(ng, sizeof(ng), "%.1f", med[NGHTTP2]);
    }
    if (use_ours && use_ng) {
        snprintf(better, sizeof(better), "%.2f", med[OURS] / med[NGHTTP2]);
    }
    printf("RESULT %s ours=%s nghttp2=%s better=%s\n", name, ours, ng, better);
}

int main(int argc, char **argv)
{
    int rounds = 7, use_ours = 1, use_ng = 1;
    const char *stories = H2_STORIES_DIR;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--rounds") == 0) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end != '\0' || r < 1 || r > 1000) {
                fprintf(stderr, "bench_hpack: --rounds takes a number in 1..1000\n");
                return 2;
            }
            rounds = (int)r;
        } else if (strcmp(argv[i], "--only") == 0) {
            i++;
            if (strcmp(argv[i], "ours") == 0) {
                use_ng = 0;
            } else if (strcmp(argv[i], "nghttp2") == 0) {
                use_ours = 0;
            } else {
                fprintf(stderr, "bench_hpack: --only takes ours or nghttp2\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--stories") == 0) {
            stories = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }

    corpus cp = {0};
    if (load_corpus(stories, &cp) != 0 || prepare_wire(&cp) != 0 ||
        verify(&cp, use_ours, use_ng) != 0) {
        free_corpus(&cp);
        return 1;
    }
    printf("HPACK corpus: %zu stories, %zu header blocks, %zu fields (largest list %zu), "
           "%zu header bytes per pass, %zu bytes encoded by nghttp2\n",
           cp.n_stories, cp.n_blocks, cp.n_fields, cp.max_fields, cp.raw_bytes, cp.wire_bytes);
    printf("%d rounds; each sample repeats the corpus for >= %.0f ms; MB = 10^6 header bytes\n\n",
           rounds, MIN_SAMPLE_SEC * 1000);

    double *samples = calloc((size_t)rounds * 4, sizeof(double));
    obuf b = {NULL, 0};
    if (samples == NULL) {
        fprintf(stderr, "bench_hpack: out of memory\n");
        free_corpus(&cp);
        return 1;
    }
    /* samples[((op * 2) + impl) * rounds + round] */
    int rv = 0;
    for (int op = DECODE; op <= ENCODE && rv == 0; op++) {
        for (int r = 0; r < rounds && rv == 0; r++) {
            for (int k = 0; k < 2 && rv == 0; k++) {
                enum impl who = (r + k) % 2 == 0 ? OURS : NGHTTP2;
                if ((who == OURS && !use_ours) || (who == NGHTTP2 && !use_ng)) {
                    continue;
                }
                double mbs = sample(&cp, who, (enum op)op, &b);
                if (mbs < 0) {
                    fprintf(stderr, "bench_hpack: %s %s failed during timing\n",
                            who == OURS ? "libh2" : "nghttp2", op == DECODE ? "decode" : "encode");
                    rv = 1;
                }
                samples[(op * 2 + (int)who) * rounds + r] = mbs;
            }
        }
    }
    if (rv == 0) {
        static const char *const op_name[] = {"decode", "encode"};
        static const char *const impl_name[] = {"libh2", "nghttp2"};
        double med[2][2] = {{0}};
        printf("%-8s %-8s %10s %10s %10s\n", "op", "impl", "min MB/s", "median", "max MB/s");
        for (int op = DECODE; op <= ENCODE; op++) {
            for (int who = OURS; who <= NGHTTP2; who++) {
                if ((who == OURS && !use_ours) || (who == NGHTTP2 && !use_ng)) {
                    continue;
                }
                double *v = &samples[(op * 2 + who) * rounds];
                med[op][who] = median(v, rounds);
                printf("%-8s %-8s %10.1f %10.1f %10.1f\n", op_name[op], impl_name[who], v[0],
                       med[op][who], v[rounds - 1]);
            }
        }
        if (use_ours) {
            size_t ours_wire = ours_encode_pass(&cp, &b);
            printf("\nencoded size of one pass: libh2 %zu bytes, nghttp2 %zu bytes (%.1f%% and "
                   "%.1f%% of %zu)\n",
                   ours_wire, cp.wire_bytes, 100.0 * (double)ours_wire / (double)cp.raw_bytes,
                   100.0 * (double)cp.wire_bytes / (double)cp.raw_bytes, cp.raw_bytes);
        }
        printf("\n");
        print_result("hpack-decode", med[DECODE], use_ours, use_ng);
        print_result("hpack-encode", med[ENCODE], use_ours, use_ng);
    }
    free(samples);
    free(b.p);
    free_corpus(&cp);
    return rv;
}
