/*
 * Shared helpers of the header-rule tests (test_headers.c and
 * test_headers_norm.c): field literals, expectation macros, the base
 * request of h2's suite and its invalid variants.
 */
#ifndef H2_TEST_HEADERS_UTIL_H
#define H2_TEST_HEADERS_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "core/headers.h"
#include "h2/errors.h"
#include "support/testmem.h"

#define UNUSED_OK __attribute__((unused))

/* A field from two string literals (embedded NULs count). */
#define HD(n, v)                                                                                   \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0                \
    }
#define HDF(n, v, f)                                                                               \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, (f)              \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

UNUSED_OK static const h2_block_expect REQ = {.request = true};
UNUSED_OK static const h2_block_expect REQ_XC = {.request = true, .connect_protocol = true};
UNUSED_OK static const h2_block_expect RESP = {.request = false};
UNUSED_OK static const h2_block_expect AFTER_FINAL = {.request = false, .final_seen = true};

UNUSED_OK static const h2_header base_request[] = {
    HD(":authority", "example.com"),  HD(":path", "/"),
    HD(":scheme", "https"),           HD(":method", "GET"),
    HD("user-agent", "someua/0.0.1"),
};

/* Runs the inbound check and returns its result; |info| is always filled. */
UNUSED_OK static int check(const h2_header *f, size_t n, const h2_block_expect *ex, bool validate,
                           h2_block_info *info)
{
    memset(info, 0xa5, sizeof(*info));
    return h2_headers_check_inbound(f, n, ex, validate, info);
}

#define expect_ok(f, n, ex)                                                                        \
    do {                                                                                           \
        h2_block_info i_;                                                                          \
        int rv_ = check((f), (n), (ex), true, &i_);                                                \
        cr_assert_eq(rv_, 0, "rejected: %s", i_.error ? i_.error : "(null)");                      \
        cr_assert_null(i_.error);                                                                  \
    } while (0)

#define expect_err(f, n, ex, msg)                                                                  \
    do {                                                                                           \
        h2_block_info i_;                                                                          \
        int rv_ = check((f), (n), (ex), true, &i_);                                                \
        cr_assert_eq(rv_, H2_EHEADER);                                                             \
        cr_assert_not_null(i_.error);                                                              \
        cr_assert_str_eq(i_.error, (msg));                                                         \
    } while (0)

UNUSED_OK static h2_header hdr(const char *n, const char *v)
{
    h2_header h = {(const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v), 0};
    return h;
}

UNUSED_OK static bool field_is(const h2_header *h, const char *n, const char *v)
{
    return h->name_len == strlen(n) && memcmp(h->name, n, h->name_len) == 0 &&
           h->value_len == strlen(v) &&
           (h->value_len == 0 || memcmp(h->value, v, h->value_len) == 0);
}

#define assert_field(h, n, v)                                                                      \
    cr_assert(field_is((h), (n), (v)), "field is '%.*s: %.*s', expected '%s: %s'",                 \
              (int)(h)->name_len, (const char *)(h)->name, (int)(h)->value_len,                    \
              (const char *)(h)->value, (n), (v))

enum placement { APPEND, PREPEND, DROP_AUTHORITY, APPEND_TWO };

/* Strings inline: Criterion runs parameterised tests in other processes. */
typedef struct invalid_case {
    enum placement where;
    char name[32];
    size_t name_len;
    char value[32];
    size_t value_len;
    char msg[64];
} invalid_case;

#define IC(w, n, v, m)                                                                             \
    {                                                                                              \
        (w), (n), sizeof(n) - 1, (v), sizeof(v) - 1, (m)                                           \
    }

UNUSED_OK static size_t build_invalid(const invalid_case *c, h2_header *out)
{
    size_t n = 0;
    h2_header extra = {(const uint8_t *)c->name, c->name_len, (const uint8_t *)c->value,
                       c->value_len, 0};
    if (c->where == PREPEND)
        out[n++] = extra;
    for (size_t i = 0; i < COUNT(base_request); i++) {
        if (c->where == DROP_AUTHORITY && i == 0)
            continue;
        out[n++] = base_request[i];
    }
    if (c->where == APPEND || c->where == APPEND_TWO)
        out[n++] = extra;
    if (c->where == APPEND_TWO)
        out[n++] = extra;
    return n;
}

#endif
