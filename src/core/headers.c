/*
 * Header-block rules: validation of inbound and outbound lists (RFC 9113
 * sections 8.2 and 8.3, RFC 8441 section 4, h2 4.4.1's rule set), cookie
 * joining and splitting, outbound normalisation and content-length parsing.
 *
 * Everything runs in one pass over the list where it can; names are
 * recognised by length first, characters through one 256-entry class table.
 */
#include <string.h>
#include "core/headers.h"
#include "h2/errors.h"

/* ------------------------------------------------------------------------ */
/* Character classes                                                         */
/* ------------------------------------------------------------------------ */

enum {
    C_NAME = 1,   /* allowed in a field name after an optional leading ':' (RFC 9113 8.2.1) */
    C_UPPER = 2,  /* 'A'..'Z' */
    C_VBAD = 4,   /* NUL, LF, CR: never allowed in a value */
    C_OWS = 8,    /* SP, HTAB: not allowed at either end of a value */
    C_STRIP = 16, /* what outbound normalisation strips: SP HTAB LF VT FF CR */
    C_DIGIT = 32, /* '0'..'9' */
};

/* Bits of the enum above for every byte value. */
/* clang-format off */
static const uint8_t cls[256] = {
    /* 0x00 */ 4,  0,  0,  0,  0,  0,  0,  0,  0,  24, 20, 16, 16, 20, 0,  0,
    /* 0x10 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0x20 */ 24, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    /* 0x30 */ 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 0,  1,  1,  1,  1,  1,
    /* 0x40 */ 1,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
    /* 0x50 */ 2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  1,  1,  1,  1,  1,
    /* 0x60 */ 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    /* 0x70 */ 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  0,
    /* 0x80 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0x90 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0xa0 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0xb0 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0xc0 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0xd0 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0xe0 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 0xf0 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Names the rules single out                                                */
/* ------------------------------------------------------------------------ */

enum name_tok {
    TOK_OTHER = 0,
    /* The known pseudo-headers; their values are also bit numbers. */
    TOK_METHOD,
    TOK_SCHEME,
    TOK_AUTHORITY,
    TOK_PATH,
    TOK_STATUS,
    TOK_PROTOCOL,
    TOK_TE,
    TOK_HOST,
    TOK_COOKIE,
    TOK_CONTENT_LENGTH,
    TOK_CONN, /* connection, proxy-connection, keep-alive, transfer-encoding, upgrade */
    TOK_AUTH, /* authorization, proxy-authorization */
};

#define BIT(tok) (1u << (tok))
#define REQUEST_ONLY                                                                               \
    (BIT(TOK_METHOD) | BIT(TOK_SCHEME) | BIT(TOK_AUTHORITY) | BIT(TOK_PATH) | BIT(TOK_PROTOCOL))

#define NAME_IS(n, lit) (memcmp((n), (lit), sizeof(lit) - 1) == 0)

/* Recognises |n| exactly (case matters); length decides which names to compare. */
static enum name_tok name_token(const uint8_t *n, size_t len)
{
    switch (len) {
    case 2:
        return NAME_IS(n, "te") ? TOK_TE : TOK_OTHER;
    case 4:
        return NAME_IS(n, "host") ? TOK_HOST : TOK_OTHER;
    case 5:
        return NAME_IS(n, ":path") ? TOK_PATH : TOK_OTHER;
    case 6:
        return NAME_IS(n, "cookie") ? TOK_COOKIE : TOK_OTHER;
    case 7:
        if (n[0] == ':') {
            if (NAME_IS(n, ":method"))
                return TOK_METHOD;
            if (NAME_IS(n, ":scheme"))
                return TOK_SCHEME;
            return NAME_IS(n, ":status") ? TOK_STATUS : TOK_OTHER;
        }
        return NAME_IS(n, "upgrade") ? TOK_CONN : TOK_OTHER;
    case 9:
        return NAME_IS(n, ":protocol") ? TOK_PROTOCOL : TOK_OTHER;
    case 10:
        if (n[0] == ':')
            return NAME_IS(n, ":authority") ? TOK_AUTHORITY : TOK_OTHER;
        return NAME_IS(n, "connection") || NAME_IS(n, "keep-alive") ? TOK_CONN : TOK_OTHER;
    case 13:
        return NAME_IS(n, "authorization") ? TOK_AUTH : TOK_OTHER;
    case 14:
        return NAME_IS(n, "content-length") ? TOK_CONTENT_LENGTH : TOK_OTHER;
    case 16:
        return NAME_IS(n, "proxy-connection") ? TOK_CONN : TOK_OTHER;
    case 17:
        return NAME_IS(n, "transfer-encoding") ? TOK_CONN : TOK_OTHER;
    case 19:
        return NAME_IS(n, "proxy-authorization") ? TOK_AUTH : TOK_OTHER;
    default:
        return TOK_OTHER;
    }
}

static bool bytes_eq(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, blen) == 0;
}

static bool same_value(const h2_header *a, const h2_header *b)
{
    return a->value_len == b->value_len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

static const char ERR_UPPER[] = "Received uppercase header name";
static const char ERR_NAME_CHAR[] = "Received header name with invalid character";
static const char ERR_VALUE_CHAR[] = "Received header value with invalid character";
static const char ERR_VALUE_WS[] = "Received header value surrounded by whitespace";
static const char ERR_EMPTY_NAME[] = "Received header name with zero length.";
static const char ERR_TE[] = "Invalid value for TE header";
static const char ERR_CONN[] = "Connection-specific header field present";
static const char ERR_DUP_PSEUDO[] = "Received duplicate pseudo-header field";
static const char ERR_PSEUDO_ORDER[] = "Received pseudo-header field out of sequence";
static const char ERR_CUSTOM_PSEUDO[] = "Received custom pseudo-header field";
static const char ERR_DUP_HOST[] = "Received duplicate host header";
static const char ERR_EMPTY_PATH[] = "An empty :path header is forbidden";
static const char ERR_TRAILER_PSEUDO[] = "Received pseudo-header in trailer";
static const char ERR_NO_STATUS[] = "Header block missing mandatory :status header";
static const char ERR_REQUEST_ONLY[] = "Encountered request-only headers";
static const char ERR_STATUS_FORMAT[] = "Invalid :status: must be 3 digits from 100 to 999";
static const char ERR_NO_METHOD[] = "Header block missing mandatory :method header";
static const char ERR_NO_SCHEME[] = "Header block missing mandatory :scheme header";
static const char ERR_NO_PATH[] = "Header block missing mandatory :path header";
static const char ERR_RESPONSE_ONLY[] = "Encountered response-only headers";
static const char ERR_PROTOCOL_METHOD[] = "Encountered connect-request-only headers";
static const char ERR_PROTOCOL_SETTING[] = ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL";
static const char ERR_CONNECT_PSEUDO[] = "CONNECT request with :scheme or :path";
static const char ERR_CONNECT_AUTHORITY[] = "CONNECT request without :authority";
static const char ERR_NO_AUTHORITY[] = "Request header block has neither :authority nor host";
static const char ERR_AUTHORITY_MISMATCH[] =
    "Request header block has mismatched :authority and host";
static const char ERR_CL_INVALID[] = "Invalid content-length header";
static const char ERR_CL_CONFLICT[] = "Conflicting content-length headers";

/* ------------------------------------------------------------------------ */
/* Per-field rules                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Word-at-a-time screening. Each test below is non-zero when some byte of
 * |w| may break the rule (never zero when one does); a hit is then settled
 * byte by byte through the class table, so false hits cost time, not
 * correctness.
 */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Some byte below |n| (n <= 128). */
static inline uint64_t word_has_less(uint64_t w, unsigned n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

/* Some byte equal to |c|. */
static inline uint64_t word_has_byte(uint64_t w, unsigned c)
{
    return word_has_less(w ^ (ONES * c), 1);
}

/* Some byte in 'A'..'Z' (exact per byte: the 7-bit sums cannot carry). */
static inline uint64_t word_has_upper(uint64_t w)
{
    const uint64_t low7 = w & (ONES * 0x7f);
    return (ONES * (127 + 'Z' + 1) - low7) & ~w & (low7 + ONES * (127 - ('A' - 1))) & HIGHS;
}

/* A byte that is not allowed in a name: < 0x21, >= 0x7f, 'A'..'Z' or ':'. */
static inline uint64_t name_word_suspect(uint64_t w)
{
    return word_has_less(w, 0x21) | (w & HIGHS) | word_has_byte(w, 0x7f) | word_has_byte(w, ':') |
           word_has_upper(w);
}

/* A byte that may be NUL, LF or CR: all are below 0x0e. */
static inline uint64_t value_word_suspect(uint64_t w)
{
    return word_has_less(w, 0x0e);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

static inline uint64_t load32x2(const uint8_t *a, const uint8_t *b)
{
    uint32_t x, y;
    memcpy(&x, a, sizeof(x));
    memcpy(&y, b, sizeof(y));
    return (uint64_t)x | (uint64_t)y << 32;
}

/*
 * Whether |p| may hold a byte that |suspect| flags. Spans of 4 bytes and
 * more are covered by (overlapping) words; shorter ones byte by byte against
 * |bad| class bits, whose answer is exact.
 */
static inline bool span_suspect(const uint8_t *p, size_t len, uint64_t (*suspect)(uint64_t),
                                uint8_t good, uint8_t bad)
{
    if (len >= 8) {
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            if (suspect(load64(p + i)))
                return true;
        }
        return i < len && suspect(load64(p + len - 8));
    }
    if (len >= 4)
        return suspect(load32x2(p, p + len - 4)) != 0;
    for (size_t i = 0; i < len; i++) {
        if ((cls[p[i]] & good) != good || (cls[p[i]] & bad) != 0)
            return true;
    }
    return false;
}

/* A name byte outside RFC 9113 8.2.1 (a ':' is allowed only first). */
static const char *check_name_chars(const uint8_t *n, size_t len)
{
    size_t start = (len > 0 && n[0] == ':') ? 1 : 0;
    if (!span_suspect(n + start, len - start, name_word_suspect, C_NAME, 0))
        return NULL;
    for (size_t i = start; i < len; i++) {
        if ((cls[n[i]] & C_NAME) == 0) {
            /* h2 reports uppercase in preference to other bad bytes. */
            for (size_t j = 0; j < len; j++) {
                if (cls[n[j]] & C_UPPER)
                    return ERR_UPPER;
            }
            return ERR_NAME_CHAR;
        }
    }
    return NULL;
}

static bool value_has_bad_byte(const uint8_t *v, size_t len)
{
    if (!span_suspect(v, len, value_word_suspect, 0, C_VBAD))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (cls[v[i]] & C_VBAD)
            return true;
    }
    return false;
}

static const char *check_value_chars(const uint8_t *v, size_t len)
{
    if (len == 0)
        return NULL;
    if (value_has_bad_byte(v, len))
        return ERR_VALUE_CHAR;
    if ((cls[v[0]] | cls[v[len - 1]]) & C_OWS)
        return ERR_VALUE_WS;
    return NULL;
}

/* ASCII case-insensitive "trailers" (every byte of it is a letter). */
static bool is_trailers(const uint8_t *v, size_t len)
{
    static const char t[8] = {'t', 'r', 'a', 'i', 'l', 'e', 'r', 's'};
    if (len != 8)
        return false;
    for (size_t i = 0; i < 8; i++) {
        if ((v[i] | 0x20) != t[i])
            return false;
    }
    return true;
}

/* State of the scan that the per-field rules depend on. */
typedef struct scan_state {
    unsigned seen;                             /* BIT(tok) of every known pseudo-header met */
    bool regular;                              /* a regular field was met */
    bool request;                              /* the block is a request */
    const h2_header *pseudo[TOK_PROTOCOL + 1]; /* first of each (:status: leading only) */
    const h2_header *host;                     /* first host field */
} scan_state;

/*
 * The rules of one field, in h2's pipeline order: name characters, value
 * characters, empty name, te, connection-specific, pseudo-headers, duplicate
 * host, empty :path. Runs before |st| records the field.
 */
static const char *field_rule(const h2_header *h, enum name_tok tok, const scan_state *st)
{
    const char *e = check_name_chars(h->name, h->name_len);
    if (e == NULL)
        e = check_value_chars(h->value, h->value_len);
    if (e != NULL)
        return e;
    if (h->name_len == 0)
        return ERR_EMPTY_NAME;
    switch (tok) {
    case TOK_TE:
        return is_trailers(h->value, h->value_len) ? NULL : ERR_TE;
    case TOK_CONN:
        return ERR_CONN;
    case TOK_HOST:
        return st->request && st->host != NULL ? ERR_DUP_HOST : NULL;
    case TOK_OTHER:
        if (h->name[0] != ':')
            return NULL;
        return st->regular ? ERR_PSEUDO_ORDER : ERR_CUSTOM_PSEUDO;
    case TOK_METHOD:
    case TOK_SCHEME:
    case TOK_AUTHORITY:
    case TOK_PATH:
    case TOK_STATUS:
    case TOK_PROTOCOL:
        if (st->seen & BIT(tok))
            return ERR_DUP_PSEUDO;
        if (st->regular)
            return ERR_PSEUDO_ORDER;
        if (tok == TOK_PATH && st->request && h->value_len == 0)
            return ERR_EMPTY_PATH;
        return NULL;
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Block rules                                                               */
/* ------------------------------------------------------------------------ */

/* :status as a number when it is 3 ASCII digits not starting with 0, else 0. */
static int parse_status(const h2_header *h)
{
    if (h == NULL || h->value_len != 3)
        return 0;
    const uint8_t *v = h->value;
    if (!(cls[v[0]] & cls[v[1]] & cls[v[2]] & C_DIGIT) || v[0] == '0')
        return 0;
    return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

static const char *request_rule(const scan_state *st, const h2_block_expect *ex,
                                const h2_block_info *info)
{
    const unsigned seen = st->seen;
    if (!(seen & BIT(TOK_METHOD)))
        return ERR_NO_METHOD;
    if (seen & BIT(TOK_STATUS))
        return ERR_RESPONSE_ONLY;
    if (info->has_protocol) {
        if (!info->method_connect)
            return ERR_PROTOCOL_METHOD;
        /*
         * h2 does not gate :protocol on the setting; RFC 8441 section 4 makes
         * it malformed unless the receiver sent ENABLE_CONNECT_PROTOCOL=1.
         */
        if (!ex->connect_protocol)
            return ERR_PROTOCOL_SETTING;
    }
    if (info->method_connect && !info->has_protocol) {
        /*
         * Ordinary CONNECT (RFC 9113 8.5): no :scheme, no :path, and the
         * target in :authority. h2 lets a host field stand in for it; the
         * RFC makes such a request malformed.
         */
        if (seen & (BIT(TOK_SCHEME) | BIT(TOK_PATH)))
            return ERR_CONNECT_PSEUDO;
        if (!(seen & BIT(TOK_AUTHORITY)))
            return ERR_CONNECT_AUTHORITY;
    } else {
        if (!(seen & BIT(TOK_PATH)))
            return ERR_NO_PATH;
        if (!(seen & BIT(TOK_SCHEME)))
            return ERR_NO_SCHEME;
    }
    /* As h2: one of :authority and host, equal when both (also for CONNECT). */
    const h2_header *auth = st->pseudo[TOK_AUTHORITY];
    const h2_header *host = st->host;
    if (auth == NULL && host == NULL)
        return ERR_NO_AUTHORITY;
    if (auth != NULL && host != NULL && !same_value(auth, host))
        return ERR_AUTHORITY_MISMATCH;
    return h2_headers_target_error(st->pseudo[TOK_METHOD], st->pseudo[TOK_SCHEME],
                                   st->pseudo[TOK_PATH], auth);
}

static const char *block_rule(const scan_state *st, const h2_block_expect *ex,
                              const h2_block_info *info)
{
    switch (info->kind) {
    case H2_BLOCK_TRAILERS:
        return st->seen != 0 ? ERR_TRAILER_PSEUDO : NULL;
    case H2_BLOCK_RESPONSE:
    case H2_BLOCK_INFORMATIONAL:
        if (!(st->seen & BIT(TOK_STATUS)))
            return ERR_NO_STATUS;
        if (st->seen & REQUEST_ONLY)
            return ERR_REQUEST_ONLY;
        /* h2 does not check the form of :status; RFC 9113 8.3.2 with RFC 9110 15 do. */
        if (info->status == 0)
            return ERR_STATUS_FORMAT;
        return NULL;
    case H2_BLOCK_REQUEST:
    default:
        return request_rule(st, ex, info);
    }
}

/*
 * The whole check, in one pass. |validate|: apply the rules; |cl_strict|:
 * a malformed or conflicting content-length is an error.
 */
static int check_block(const h2_header *f, size_t n, const h2_block_expect *ex, bool validate,
                       bool cl_strict, h2_block_info *info)
{
    scan_state st;
    memset(&st, 0, sizeof(st));
    st.request = ex->request;
    const char *verr = NULL;
    const char *clerr = NULL;
    int64_t cl = -1;

    for (size_t i = 0; i < n; i++) {
        const h2_header *h = &f[i];
        enum name_tok tok = name_token(h->name, h->name_len);
        if (validate && verr == NULL)
            verr = field_rule(h, tok, &st);
        if (tok >= TOK_METHOD && tok <= TOK_PROTOCOL) {
            if (st.pseudo[tok] == NULL && (tok != TOK_STATUS || !st.regular))
                st.pseudo[tok] = h;
            st.seen |= BIT(tok);
        } else if (h->name_len == 0 || h->name[0] != ':') {
            st.regular = true;
            if (tok == TOK_HOST) {
                if (st.host == NULL)
                    st.host = h;
            } else if (tok == TOK_CONTENT_LENGTH) {
                int64_t v = h2_parse_content_length(h->value, h->value_len);
                if (v < 0) {
                    if (clerr == NULL)
                        clerr = ERR_CL_INVALID;
                } else if (cl < 0) {
                    cl = v;
                } else if (cl != v && clerr == NULL) {
                    clerr = ERR_CL_CONFLICT;
                }
            }
        }
    }

    info->status = parse_status(st.pseudo[TOK_STATUS]);
    if (ex->request)
        info->kind = H2_BLOCK_REQUEST;
    else if (info->status >= 100 && info->status <= 199)
        info->kind = H2_BLOCK_INFORMATIONAL;
    else if (ex->final_seen)
        info->kind = H2_BLOCK_TRAILERS;
    else
        info->kind = H2_BLOCK_RESPONSE;
    const h2_header *m = st.pseudo[TOK_METHOD];
    info->method_head = m != NULL && bytes_eq(m->value, m->value_len, "HEAD", 4);
    info->method_connect = m != NULL && bytes_eq(m->value, m->value_len, "CONNECT", 7);
    info->has_protocol = (st.seen & BIT(TOK_PROTOCOL)) != 0;
    info->content_length = cl;
    info->error = NULL;

    if (cl_strict && clerr != NULL) {
        info->content_length = -1;
        info->error = clerr;
        return H2_EHEADER;
    }
    if (validate && verr == NULL)
        verr = block_rule(&st, ex, info);
    if (verr != NULL) {
        info->error = verr;
        return H2_EHEADER;
    }
    return 0;
}

int h2_headers_check_inbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                             bool validate, h2_block_info *info)
{
    return check_block(fields, n, expect, validate, true, info);
}

int64_t h2_parse_content_length(const uint8_t *v, size_t len)
{
    if (len == 0)
        return -1;
    int64_t r = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)v[i] - (unsigned)'0';
        if (d > 9)
            return -1;
        if (r > (INT64_MAX - (int64_t)d) / 10)
            return -1;
        r = r * 10 + (int64_t)d;
    }
    return r;
}

/* ------------------------------------------------------------------------ */
/* Inbound normalisation                                                     */
/* ------------------------------------------------------------------------ */

static const uint8_t cookie_name[] = {'c', 'o', 'o', 'k', 'i', 'e'};

int h2_headers_normalize_inbound(const h2_header *fields, size_t n, h2_hdr_scratch *s,
                                 const h2_header **out, size_t *n_out)
{
    size_t k = 0, last = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (bytes_eq(fields[i].name, fields[i].name_len, "cookie", 6)) {
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
        if (!bytes_eq(h->name, h->name_len, "cookie", 6)) {
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

static bool edge_strippable(const uint8_t *p, size_t len)
{
    return len > 0 && ((cls[p[0]] | cls[p[len - 1]]) & C_STRIP) != 0;
}

/* Occurrences of "; " in |v|, i.e. the number of extra fields a split makes. */
static size_t count_cookie_seps(const uint8_t *v, size_t len)
{
    size_t c = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (v[i] == ';' && v[i + 1] == ' ')
            c++;
    }
    return c;
}

/* Whether normalisation would change anything in the list. */
static bool outbound_needs_work(const h2_header *f, size_t n, bool split)
{
    for (size_t i = 0; i < n; i++) {
        const h2_header *h = &f[i];
        if (edge_strippable(h->name, h->name_len) || edge_strippable(h->value, h->value_len) ||
            has_upper(h->name, h->name_len))
            return true;
        switch (name_token(h->name, h->name_len)) {
        case TOK_CONN:
            return true;
        case TOK_AUTH:
            if (!(h->flags & H2_HEADER_NEVER_INDEX))
                return true;
            break;
        case TOK_COOKIE:
            if (h->value_len < 20 && !(h->flags & H2_HEADER_NEVER_INDEX))
                return true;
            if (split && count_cookie_seps(h->value, h->value_len) > 0)
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

static void strip(const uint8_t **p, size_t *len)
{
    const uint8_t *b = *p;
    size_t l = *len;
    while (l > 0 && (cls[b[0]] & C_STRIP)) {
        b++;
        l--;
    }
    while (l > 0 && (cls[b[l - 1]] & C_STRIP))
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

static int normalize_outbound(const h2_header *f, size_t n, bool split, h2_hdr_scratch *s,
                              const h2_header **out, size_t *n_out)
{
    /* Bound on the output: one field per input plus the extra cookie pieces. */
    size_t cap = n;
    for (size_t i = 0; split && i < n; i++) {
        if (name_is_cookie_ci(f[i].name, f[i].name_len))
            cap += count_cookie_seps(f[i].value, f[i].value_len);
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
                low[j] = (cls[name[j]] & C_UPPER) ? (uint8_t)(name[j] | 0x20) : name[j];
            name = low;
        }
        /* h2 decides on splitting before stripping the name. */
        bool split_this = split && bytes_eq(name, name_len, "cookie", 6);
        strip(&name, &name_len);
        enum name_tok tok = name_token(name, name_len);
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

int h2_headers_prepare_outbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                                const h2_outbound_opts *opts, h2_hdr_scratch *s,
                                const h2_header **out, size_t *n_out, h2_block_info *info)
{
    const h2_header *list = fields;
    size_t count = n;
    if (opts->normalize && outbound_needs_work(fields, n, opts->split_cookies)) {
        int rv = normalize_outbound(fields, n, opts->split_cookies, s, &list, &count);
        if (rv != 0) {
            memset(info, 0, sizeof(*info));
            info->content_length = -1;
            return rv;
        }
    }
    *out = list;
    *n_out = count;
    return check_block(list, count, expect, opts->validate, opts->validate, info);
}
