/*
 * RFC 9218 priority field values: a Structured Fields Dictionary parser
 * (RFC 8941 section 4.2.2) that keeps only the members u and i, and the
 * matching serializer.
 */
#include <string.h>
#include "h2/priority.h"

/* Parser state over one field value; |p| walks from |v| to |end|. */
typedef struct sf_in {
    const uint8_t *p, *end;
} sf_in;

/* The last value seen for a member we care about. */
typedef enum sf_kind { SF_NONE = 0, SF_INT, SF_BOOL, SF_OTHER } sf_kind;

typedef struct sf_item {
    sf_kind kind;
    int64_t ival; /* SF_INT */
    bool bval;    /* SF_BOOL */
} sf_item;

static bool at_end(const sf_in *in)
{
    return in->p >= in->end;
}

static int peek(const sf_in *in)
{
    return at_end(in) ? -1 : *in->p;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_lcalpha(int c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_alpha(int c)
{
    return is_lcalpha(c) || (c >= 'A' && c <= 'Z');
}

/* RFC 9110 tchar. */
static bool is_tchar(int c)
{
    if (is_alpha(c) || is_digit(c))
        return true;
    return c > 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_sp(sf_in *in)
{
    while (peek(in) == ' ')
        in->p++;
}

static void skip_ows(sf_in *in)
{
    while (peek(in) == ' ' || peek(in) == '\t')
        in->p++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) */
static bool parse_key(sf_in *in, const uint8_t **key, size_t *len)
{
    int c = peek(in);
    if (!is_lcalpha(c) && c != '*')
        return false;
    const uint8_t *start = in->p;
    while (!at_end(in)) {
        c = *in->p;
        if (!is_lcalpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.' && c != '*')
            break;
        in->p++;
    }
    *key = start;
    *len = (size_t)(in->p - start);
    return true;
}

/* Integer or Decimal (RFC 8941 4.2.4). */
static bool parse_number(sf_in *in, sf_item *out)
{
    bool neg = false;
    if (peek(in) == '-') {
        neg = true;
        in->p++;
    }
    if (!is_digit(peek(in)))
        return false;
    int64_t v = 0;
    size_t digits = 0;
    while (is_digit(peek(in))) {
        if (++digits > 15)
            return false;
        v = v * 10 + (*in->p - '0');
        in->p++;
    }
    if (peek(in) != '.') {
        out->kind = SF_INT;
        out->ival = neg ? -v : v;
        return true;
    }
    if (digits > 12)
        return false;
    in->p++;
    size_t frac = 0;
    while (is_digit(peek(in))) {
        if (++frac > 3)
            return false;
        in->p++;
    }
    if (frac == 0)
        return false;
    out->kind = SF_OTHER;
    return true;
}

/* sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE */
static bool parse_string(sf_in *in)
{
    in->p++;
    while (!at_end(in)) {
        int c = *in->p++;
        if (c == '\\') {
            c = peek(in);
            if (c != '"' && c != '\\')
                return false;
            in->p++;
        } else if (c == '"') {
            return true;
        } else if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return false;
}

/* sf-token: ( ALPHA / "*" ) *( tchar / ":" / "/" ) */
static void parse_token(sf_in *in)
{
    in->p++;
    while (!at_end(in) && (is_tchar(*in->p) || *in->p == ':' || *in->p == '/'))
        in->p++;
}

/* sf-binary: ":" *(base64) ":" */
static bool parse_binary(sf_in *in)
{
    in->p++;
    while (!at_end(in)) {
        int c = *in->p++;
        if (c == ':')
            return true;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '/' && c != '=')
            return false;
    }
    return false;
}

static bool parse_bare_item(sf_in *in, sf_item *out)
{
    int c = peek(in);
    out->kind = SF_OTHER;
    if (c == '-' || is_digit(c))
        return parse_number(in, out);
    if (c == '"')
        return parse_string(in);
    if (c == '*' || is_alpha(c)) {
        parse_token(in);
        return true;
    }
    if (c == ':')
        return parse_binary(in);
    if (c == '?') {
        in->p++;
        c = peek(in);
        if (c != '0' && c != '1')
            return false;
        in->p++;
        out->kind = SF_BOOL;
        out->bval = c == '1';
        return true;
    }
    return false;
}

/* *( ";" *SP key [ "=" bare-item ] ): parsed, then ignored. */
static bool parse_params(sf_in *in)
{
    while (peek(in) == ';') {
        in->p++;
        skip_sp(in);
        const uint8_t *k;
        size_t kl;
        if (!parse_key(in, &k, &kl))
            return false;
        if (peek(in) == '=') {
            in->p++;
            sf_item ignored;
            if (!parse_bare_item(in, &ignored))
                return false;
        }
    }
    return true;
}

/* inner-list: "(" *SP [ sf-item *( 1*SP sf-item ) *SP ] ")" parameters */
static bool parse_inner_list(sf_in *in)
{
    in->p++;
    for (;;) {
        skip_sp(in);
        if (peek(in) == ')') {
            in->p++;
            return parse_params(in);
        }
        sf_item ignored;
        if (!parse_bare_item(in, &ignored) || !parse_params(in))
            return false;
        int c = peek(in);
        if (c != ' ' && c != ')')
            return false;
    }
}

/* member value after "=": an item (with parameters) or an inner list */
static bool parse_member_value(sf_in *in, sf_item *out)
{
    if (peek(in) == '(') {
        out->kind = SF_OTHER;
        return parse_inner_list(in);
    }
    return parse_bare_item(in, out) && parse_params(in);
}

/* Parses one dictionary, updating |*u| and |*i| with the last u / i members. */
static bool parse_dictionary(sf_in *in, sf_item *u, sf_item *i)
{
    skip_sp(in);
    while (!at_end(in)) {
        const uint8_t *key;
        size_t klen;
        if (!parse_key(in, &key, &klen))
            return false;
        sf_item val = {.kind = SF_BOOL, .bval = true};
        if (peek(in) == '=') {
            in->p++;
            if (!parse_member_value(in, &val))
                return false;
        } else if (!parse_params(in)) {
            return false;
        }
        if (klen == 1 && key[0] == 'u')
            *u = val;
        else if (klen == 1 && key[0] == 'i')
            *i = val;
        skip_ows(in);
        if (at_end(in))
            return true;
        if (*in->p != ',')
            return false;
        in->p++;
        skip_ows(in);
        if (at_end(in))
            return false; /* trailing comma */
    }
    return true;
}

void h2_priority_init(h2_priority *p)
{
    p->urgency = H2_PRIORITY_DEFAULT_URGENCY;
    p->incremental = false;
}

static void apply(const sf_item *u, const sf_item *i, h2_priority *out)
{
    h2_priority_init(out);
    if (u->kind == SF_INT && u->ival >= 0 && u->ival <= (int64_t)H2_PRIORITY_MAX_URGENCY)
        out->urgency = (uint8_t)u->ival;
    if (i->kind == SF_BOOL)
        out->incremental = i->bval;
}

/* Strips trailing spaces (leading ones are skipped by the parser). */
static sf_in make_input(const uint8_t *v, size_t len)
{
    while (len > 0 && v[len - 1] == ' ')
        len--;
    sf_in in = {v, v + len};
    return in;
}

int h2_priority_parse(const uint8_t *v, size_t len, h2_priority *out)
{
    if (out == NULL || (v == NULL && len > 0))
        return H2_EINVAL;
    sf_item u = {0}, i = {0};
    sf_in in = make_input(v, len);
    if (len > 0 && !parse_dictionary(&in, &u, &i)) {
        h2_priority_init(out);
        return H2_EHEADER;
    }
    apply(&u, &i, out);
    return 0;
}

static bool is_priority_name(const h2_header *h)
{
    return h->name_len == 8 && memcmp(h->name, "priority", 8) == 0;
}

int h2_priority_from_headers(const h2_header *fields, size_t n, h2_priority *out)
{
    if (out == NULL || (fields == NULL && n > 0))
        return H2_EINVAL;
    size_t lines = 0;
    for (size_t k = 0; k < n; k++) {
        if (!is_priority_name(&fields[k]))
            continue;
        if (fields[k].value == NULL && fields[k].value_len > 0)
            return H2_EINVAL;
        lines++;
    }
    /*
     * Parsing each line as a continuation of one dictionary is the same as
     * parsing the lines joined with ", ", where an empty line next to
     * others leaves an empty list member: an error.
     */
    sf_item u = {0}, i = {0};
    bool first = true;
    for (size_t k = 0; k < n; k++) {
        if (!is_priority_name(&fields[k]))
            continue;
        sf_in in = make_input(fields[k].value, fields[k].value_len);
        if (!first)
            skip_ows(&in);
        first = false;
        skip_sp(&in);
        bool ok = at_end(&in) ? lines == 1 : parse_dictionary(&in, &u, &i);
        if (!ok) {
            h2_priority_init(out);
            return H2_EHEADER;
        }
    }
    apply(&u, &i, out);
    return 0;
}

int h2_priority_format(const h2_priority *p, char *out, size_t cap)
{
    if (p == NULL || out == NULL || p->urgency > H2_PRIORITY_MAX_URGENCY)
        return H2_EINVAL;
    char tmp[9];
    size_t n = 0;
    if (p->urgency != H2_PRIORITY_DEFAULT_URGENCY) {
        tmp[n++] = 'u';
        tmp[n++] = '=';
        tmp[n++] = (char)('0' + p->urgency);
    }
    if (p->incremental) {
        if (n > 0) {
            tmp[n++] = ',';
            tmp[n++] = ' ';
        }
        tmp[n++] = 'i';
    }
    if (cap < n + 1)
        return H2_ENOBUFS;
    memcpy(out, tmp, n);
    out[n] = '\0';
    return (int)n;
}
