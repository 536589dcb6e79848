/*
 * Request-target rules of RFC 9113 section 8.3.1 beyond h2's rule set: the
 * syntax of :method and :scheme, and for http and https URIs the form of
 * :path and the absence of userinfo in :authority. A request that breaks
 * one is malformed (section 8.1.1).
 */
#include <string.h>
#include "core/headers.h"

static const char ERR_METHOD_FORMAT[] = "Invalid :method: not a token";
static const char ERR_SCHEME_FORMAT[] = "Invalid :scheme: not a URI scheme";
static const char ERR_PATH_FORM[] = "Invalid :path for http(s): neither absolute nor * for OPTIONS";
static const char ERR_AUTHORITY_USERINFO[] = "Invalid :authority for http(s): userinfo present";

static bool is_alpha(uint8_t b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

static bool is_digit(uint8_t b)
{
    return b >= '0' && b <= '9';
}

/* tchar of RFC 9110 section 5.6.2 (ALPHA, DIGIT and !#$%&'*+-.^_`|~), one
 * bit per ASCII byte; a method is a token (section 9.1). */
static const uint32_t TCHAR_BITS[4] = {0x00000000u, 0x03ff6cfau, 0xc7fffffeu, 0x57ffffffu};

static bool is_token(const uint8_t *v, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = v[i];
        if (b >= 128 || ((TCHAR_BITS[b >> 5] >> (b & 31)) & 1u) == 0)
            return false;
    }
    return true;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 section 3.1). */
static bool is_scheme(const uint8_t *v, size_t len)
{
    if (len == 0 || !is_alpha(v[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        uint8_t b = v[i];
        if (!is_alpha(b) && !is_digit(b) && b != '+' && b != '-' && b != '.')
            return false;
    }
    return true;
}

/* "http" or "https" in any case (schemes are case-insensitive). */
static bool is_http_scheme(const uint8_t *v, size_t len)
{
    static const char w[5] = {'h', 't', 't', 'p', 's'};
    if (len != 4 && len != 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((v[i] | 0x20) != w[i])
            return false;
    }
    return true;
}

/* The methods most requests use, tokens as such: no byte tests. */
static bool is_common_method(const uint8_t *v, size_t len)
{
    return (len == 3 && memcmp(v, "GET", 3) == 0) || (len == 4 && memcmp(v, "POST", 4) == 0);
}

/* Some byte of |w| is '@'. */
static bool word_has_at(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    w ^= ones * '@';
    return ((w - ones) & ~w & highs) != 0;
}

/* Whether |v| holds '@': word-wise (the last word overlapping) from 8 bytes on. */
static bool has_at(const uint8_t *v, size_t len)
{
    uint64_t w;
    if (len < 8)
        return len > 0 && memchr(v, '@', len) != NULL;
    for (size_t i = 0; i + 8 < len; i += 8) {
        memcpy(&w, v + i, sizeof(w));
        if (word_has_at(w))
            return true;
    }
    memcpy(&w, v + len - 8, sizeof(w));
    return word_has_at(w);
}

const char *h2_headers_target_error(const h2_header *method, const h2_header *scheme,
                                    const h2_header *path, const h2_header *authority)
{
    if (!is_common_method(method->value, method->value_len) &&
        !is_token(method->value, method->value_len))
        return ERR_METHOD_FORMAT;
    if (scheme == NULL)
        return NULL;
    /* "https" and "http" as such are valid http(s) schemes: no byte tests. */
    bool common = (scheme->value_len == 5 && memcmp(scheme->value, "https", 5) == 0) ||
                  (scheme->value_len == 4 && memcmp(scheme->value, "http", 4) == 0);
    if (!common && !is_scheme(scheme->value, scheme->value_len))
        return ERR_SCHEME_FORMAT;
    if (!common && !is_http_scheme(scheme->value, scheme->value_len))
        return NULL;
    if (path != NULL && path->value_len > 0) {
        bool asterisk = path->value_len == 1 && path->value[0] == '*';
        bool options = method->value_len == 7 && memcmp(method->value, "OPTIONS", 7) == 0;
        if (asterisk ? !options : path->value[0] != '/')
            return ERR_PATH_FORM;
    }
    if (authority != NULL && has_at(authority->value, authority->value_len))
        return ERR_AUTHORITY_USERINFO;
    return NULL;
}
