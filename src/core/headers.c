/*
 * Header-block rules: validation of inbound and outbound lists (RFC 9113
 * sections 8.2 and 8.3, RFC 8441 section 4, h2 4.4.1's rule set) and
 * content-length parsing. Cookie joining and splitting and outbound
 * normalisation are in headers_normalize.c.
 *
 * Everything runs in one pass over the list where it can; names are
 * recognised by length first, characters through one 256-entry class table.
 */
#include <string.h>
#include "core/headers.h"
#include "core/headers_lex.h"
#include "h2/errors.h"

#if defined(__GNUC__) || defined(__clang__)
#define H2_HDR_LIKELY(x) __builtin_expect(!!(x), 1)
#define H2_HDR_INLINE inline __attribute__((always_inline))
#else
#define H2_HDR_LIKELY(x) (x)
#define H2_HDR_INLINE inline
#endif

/* ------------------------------------------------------------------------ */
/* Character classes                                                         */
/* ------------------------------------------------------------------------ */

/* Bits of the enum above for every byte value. */
/* clang-format off */
const uint8_t h2_hdr_cls[256] = {
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

#define BIT(tok) (1u << (tok))
#define REQUEST_ONLY                                                                               \
    (BIT(TOK_METHOD) | BIT(TOK_SCHEME) | BIT(TOK_AUTHORITY) | BIT(TOK_PATH) | BIT(TOK_PROTOCOL))

#define NAME_IS(n, lit) (memcmp((n), (lit), sizeof(lit) - 1) == 0)

/* Recognises |n| exactly (case matters); length decides which names to compare. */
static H2_HDR_INLINE enum name_tok name_token(const uint8_t *n, size_t len)
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

enum name_tok h2_hdr_name_token(const uint8_t *n, size_t len)
{
    return name_token(n, len);
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

/* A name byte outside RFC 9113 8.2.1 (a ':' is allowed only first). */
static H2_HDR_INLINE const char *check_name_chars(const uint8_t *n, size_t len)
{
    size_t start = (len > 0 && n[0] == ':') ? 1 : 0;
    if (H2_HDR_LIKELY(!name_span_suspect(n + start, len - start)))
        return NULL;
    for (size_t i = start; i < len; i++) {
        if ((h2_hdr_cls[n[i]] & C_NAME) == 0) {
            /* h2 reports uppercase in preference to other bad bytes. */
            for (size_t j = 0; j < len; j++) {
                if (h2_hdr_cls[n[j]] & C_UPPER)
                    return ERR_UPPER;
            }
            return ERR_NAME_CHAR;
        }
    }
    return NULL;
}

static H2_HDR_INLINE bool value_has_bad_byte(const uint8_t *v, size_t len)
{
    if (H2_HDR_LIKELY(!value_span_suspect(v, len)))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (h2_hdr_cls[v[i]] & C_VBAD)
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
    if ((h2_hdr_cls[v[0]] | h2_hdr_cls[v[len - 1]]) & C_OWS)
        return ERR_VALUE_WS;
    return NULL;
}

/* The classes of the first and the last byte of |p| (0 when empty). */
static H2_HDR_INLINE unsigned edge_cls(const uint8_t *p, size_t len)
{
    return len > 0 ? (unsigned)(h2_hdr_cls[p[0]] | h2_hdr_cls[p[len - 1]]) : 0u;
}

/* check_value_chars() of a value whose edge classes are |vcls|. */
static H2_HDR_INLINE const char *value_rule(const uint8_t *v, size_t len, unsigned vcls)
{
    if (len == 0)
        return NULL;
    if (value_has_bad_byte(v, len))
        return ERR_VALUE_CHAR;
    return (vcls & C_OWS) ? ERR_VALUE_WS : NULL;
}

/*
 * field_rule() of a field whose name no rule singles out and does not
 * start with ':', its value's edge classes being |vcls|: the bytes only.
 */
static H2_HDR_INLINE const char *regular_field_rule(const h2_header *h, unsigned vcls)
{
    const char *e = check_name_chars(h->name, h->name_len);
    return e != NULL ? e : value_rule(h->value, h->value_len, vcls);
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
    /* Every name with a token of its own is spelled with allowed bytes only. */
    const char *e = tok == TOK_OTHER ? check_name_chars(h->name, h->name_len) : NULL;
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
    if (!(h2_hdr_cls[v[0]] & h2_hdr_cls[v[1]] & h2_hdr_cls[v[2]] & C_DIGIT) || v[0] == '0')
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
 * The end of check_block(): |info| from what the scan of the fields found
 * (|st|, the first field rule broken |verr|, the first content-length
 * problem |clerr|, the content-length |cl|), then the block rules.
 */
static int finish_block(const scan_state *st, const h2_block_expect *ex, bool validate,
                        bool cl_strict, const char *verr, const char *clerr, int64_t cl,
                        h2_block_info *info)
{
    info->status = parse_status(st->pseudo[TOK_STATUS]);
    if (ex->request)
        info->kind = H2_BLOCK_REQUEST;
    else if (info->status >= 100 && info->status <= 199)
        info->kind = H2_BLOCK_INFORMATIONAL;
    else if (ex->final_seen)
        info->kind = H2_BLOCK_TRAILERS;
    else
        info->kind = H2_BLOCK_RESPONSE;
    const h2_header *m = st->pseudo[TOK_METHOD];
    info->method_head = m != NULL && h2_hdr_bytes_eq(m->value, m->value_len, "HEAD", 4);
    info->method_connect = m != NULL && h2_hdr_bytes_eq(m->value, m->value_len, "CONNECT", 7);
    info->has_protocol = (st->seen & BIT(TOK_PROTOCOL)) != 0;
    info->content_length = cl;
    info->error = NULL;

    if (cl_strict && clerr != NULL) {
        info->content_length = -1;
        info->error = clerr;
        return H2_EHEADER;
    }
    if (validate && verr == NULL)
        verr = block_rule(st, ex, info);
    if (verr != NULL) {
        info->error = verr;
        return H2_EHEADER;
    }
    return 0;
}

/*
 * The whole check, in one pass. |validate|: apply the rules; |cl_strict|:
 * a malformed or conflicting content-length is an error. |work| (NULL:
 * not asked): set when the outbound normalisation (cookies split when
 * |split|) might change a field; uppercase names are not looked for, as
 * the rules reject them.
 */
static int check_block(const h2_header *f, size_t n, const h2_block_expect *ex, bool validate,
                       bool cl_strict, bool split, bool *work, h2_block_info *info)
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
        if (tok == TOK_OTHER && h->name_len > 0 && h->name[0] != ':') {
            /* Most fields: a regular name that no rule singles out. */
            unsigned vcls = edge_cls(h->value, h->value_len);
            if (validate && verr == NULL)
                verr = regular_field_rule(h, vcls);
            if (work != NULL && !*work)
                *work = ((edge_cls(h->name, h->name_len) | vcls) & C_STRIP) != 0;
            st.regular = true;
            continue;
        }
        if (tok >= TOK_METHOD && tok <= TOK_PROTOCOL) {
            /*
             * A known pseudo-header: field_rule() and the normalisation
             * test for it (its name is spelled right and has no edge to
             * strip), and its recording below.
             */
            unsigned vcls = edge_cls(h->value, h->value_len);
            if (validate && verr == NULL) {
                verr = value_rule(h->value, h->value_len, vcls);
                if (verr == NULL && (st.seen & BIT(tok)))
                    verr = ERR_DUP_PSEUDO;
                else if (verr == NULL && st.regular)
                    verr = ERR_PSEUDO_ORDER;
                else if (verr == NULL && tok == TOK_PATH && st.request && h->value_len == 0)
                    verr = ERR_EMPTY_PATH;
            }
            if (work != NULL && !*work)
                *work = (vcls & C_STRIP) != 0;
            if (st.pseudo[tok] == NULL && (tok != TOK_STATUS || !st.regular))
                st.pseudo[tok] = h;
            st.seen |= BIT(tok);
            continue;
        }
        if (validate && verr == NULL)
            verr = field_rule(h, tok, &st);
        if (work != NULL && !*work)
            *work = h2_hdr_field_needs_work(h, tok, split);
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

    return finish_block(&st, ex, validate, cl_strict, verr, clerr, cl, info);
}

int h2_headers_check_inbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                             bool validate, h2_block_info *info)
{
    return check_block(fields, n, expect, validate, true, false, NULL, info);
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

int h2_headers_prepare_outbound(const h2_header *fields, size_t n, const h2_block_expect *expect,
                                const h2_outbound_opts *opts, h2_hdr_scratch *s,
                                const h2_header **out, size_t *n_out, h2_block_info *info)
{
    const h2_header *list = fields;
    size_t count = n;
    if (opts->normalize && opts->validate) {
        /*
         * Checked as given first: a list that passes the rules has no
         * uppercase names, so when nothing else would change either, the
         * normalised list is this one and so is the result.
         */
        bool work = false;
        int rv = check_block(fields, n, expect, true, true, opts->split_cookies, &work, info);
        if (rv == 0 && !work) {
            *out = fields;
            *n_out = n;
            return 0;
        }
    }
    if (opts->normalize && h2_hdr_outbound_needs_work(fields, n, opts->split_cookies)) {
        int rv = h2_hdr_normalize_outbound(fields, n, opts->split_cookies, s, &list, &count);
        if (rv != 0) {
            memset(info, 0, sizeof(*info));
            info->content_length = -1;
            return rv;
        }
    }
    *out = list;
    *n_out = count;
    return check_block(list, count, expect, opts->validate, opts->validate, false, NULL, info);
}
