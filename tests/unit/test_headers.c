/*
 * Header-block rules: inbound validation (h2's rule set plus RFC 9113 and
 * RFC 8441 where h2 has gaps), content-length parsing, cookie joining,
 * outbound normalisation and validation, and the scratch arena.
 */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "core/headers.h"
#include "h2/errors.h"
#include "support/testmem.h"

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

static const h2_block_expect REQ = {.request = true};
static const h2_block_expect REQ_XC = {.request = true, .connect_protocol = true};
static const h2_block_expect RESP = {.request = false};
static const h2_block_expect AFTER_FINAL = {.request = false, .final_seen = true};

static const h2_header base_request[] = {
    HD(":authority", "example.com"),  HD(":path", "/"),
    HD(":scheme", "https"),           HD(":method", "GET"),
    HD("user-agent", "someua/0.0.1"),
};

/* Runs the inbound check and returns its result; |info| is always filled. */
static int check(const h2_header *f, size_t n, const h2_block_expect *ex, bool validate,
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

static h2_header hdr(const char *n, const char *v)
{
    h2_header h = {(const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v), 0};
    return h;
}

static bool field_is(const h2_header *h, const char *n, const char *v)
{
    return h->name_len == strlen(n) && memcmp(h->name, n, h->name_len) == 0 &&
           h->value_len == strlen(v) &&
           (h->value_len == 0 || memcmp(h->value, v, h->value_len) == 0);
}

#define assert_field(h, n, v)                                                                      \
    cr_assert(field_is((h), (n), (v)), "field is '%.*s: %.*s', expected '%s: %s'",                 \
              (int)(h)->name_len, (const char *)(h)->name, (int)(h)->value_len,                    \
              (const char *)(h)->value, (n), (v))

/* ======================================================================== */
/* h2's invalid inbound blocks                                               */
/* ======================================================================== */

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

static invalid_case invalid_cases[] = {
    IC(APPEND, "Uppercase", "name", "Received uppercase header name"),
    IC(APPEND, ":late", "pseudo-header", "Received pseudo-header field out of sequence"),
    IC(PREPEND, ":path", "duplicate-pseudo-header", "Received duplicate pseudo-header field"),
    IC(APPEND, "connection", "close", "Connection-specific header field present"),
    IC(APPEND, "proxy-connection", "close", "Connection-specific header field present"),
    IC(APPEND, "keep-alive", "close", "Connection-specific header field present"),
    IC(APPEND, "transfer-encoding", "gzip", "Connection-specific header field present"),
    IC(APPEND, "upgrade", "super-protocol/1.1", "Connection-specific header field present"),
    IC(APPEND, "te", "chunked", "Invalid value for TE header"),
    IC(APPEND, "host", "notexample.com", "Request header block has mismatched :authority and host"),
    IC(APPEND, " name", "name with leading space", "Received header name with invalid character"),
    IC(APPEND, "name ", "name with trailing space", "Received header name with invalid character"),
    IC(APPEND, "name", " value with leading space",
       "Received header value surrounded by whitespace"),
    IC(APPEND, "name", "value with trailing space ",
       "Received header value surrounded by whitespace"),
    IC(APPEND, "illegal:characters", "value", "Received header name with invalid character"),
    IC(APPEND, "illegal-\r-characters", "value", "Received header name with invalid character"),
    IC(APPEND, "illegal-\n-characters", "value", "Received header name with invalid character"),
    IC(APPEND, "illegal-\0-characters", "value", "Received header name with invalid character"),
    IC(APPEND, "illegal-\x01-characters", "value", "Received header name with invalid character"),
    IC(APPEND, "illegal-characters", "some \r value",
       "Received header value with invalid character"),
    IC(APPEND, "illegal-characters", "some \n value",
       "Received header value with invalid character"),
    IC(APPEND, "illegal-characters", "some \0 value",
       "Received header value with invalid character"),
    IC(DROP_AUTHORITY, "", "", "Request header block has neither :authority nor host"),
    IC(PREPEND, ":protocol", "websocket", "Encountered connect-request-only headers"),
    IC(APPEND_TWO, "host", "example.com", "Received duplicate host header"),
};

static size_t build_invalid(const invalid_case *c, h2_header *out)
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

ParameterizedTestParameters(inbound, h2_invalid_block_rejected)
{
    return cr_make_param_array(invalid_case, invalid_cases, COUNT(invalid_cases));
}

ParameterizedTest(invalid_case *c, inbound, h2_invalid_block_rejected)
{
    h2_header f[8];
    size_t n = build_invalid(c, f);
    /* connect_protocol on, so that :protocol fails for the method, not the setting. */
    expect_err(f, n, &REQ_XC, c->msg);
}

ParameterizedTestParameters(inbound, h2_invalid_block_accepted_without_validation)
{
    return cr_make_param_array(invalid_case, invalid_cases, COUNT(invalid_cases));
}

ParameterizedTest(invalid_case *c, inbound, h2_invalid_block_accepted_without_validation)
{
    h2_header f[8];
    size_t n = build_invalid(c, f);
    h2_block_info info;
    cr_assert_eq(check(f, n, &REQ, false, &info), 0);
    cr_assert_null(info.error);
    cr_assert_eq(info.kind, H2_BLOCK_REQUEST);
    cr_assert_eq(info.content_length, -1);
}

/* ======================================================================== */
/* Valid blocks and classification                                           */
/* ======================================================================== */

Test(inbound, valid_request)
{
    h2_block_info info;
    cr_assert_eq(check(base_request, COUNT(base_request), &REQ, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_REQUEST);
    cr_assert_eq(info.status, 0);
    cr_assert_eq(info.content_length, -1);
    cr_assert_not(info.method_head);
    cr_assert_not(info.method_connect);
    cr_assert_not(info.has_protocol);
    cr_assert_null(info.error);
}

Test(inbound, head_request_flagged)
{
    h2_header f[] = {HD(":method", "HEAD"), HD(":scheme", "https"), HD(":path", "/x"),
                     HD(":authority", "a")};
    h2_block_info info;
    cr_assert_eq(check(f, COUNT(f), &REQ, true, &info), 0);
    cr_assert(info.method_head);
    /* Exact match only. */
    f[0] = hdr(":method", "head");
    cr_assert_eq(check(f, COUNT(f), &REQ, true, &info), 0);
    cr_assert_not(info.method_head);
}

Test(inbound, valid_response)
{
    h2_header f[] = {HD(":status", "200"), HD("content-type", "text/plain"),
                     HD("content-length", "15")};
    h2_block_info info;
    cr_assert_eq(check(f, COUNT(f), &RESP, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_RESPONSE);
    cr_assert_eq(info.status, 200);
    cr_assert_eq(info.content_length, 15);
}

Test(inbound, informational_responses)
{
    static const char *codes[] = {"100", "101", "103", "199"};
    static const int nums[] = {100, 101, 103, 199};
    for (size_t i = 0; i < COUNT(codes); i++) {
        h2_header f[] = {hdr(":status", codes[i])};
        h2_block_info info;
        cr_assert_eq(check(f, 1, &RESP, true, &info), 0);
        cr_assert_eq(info.kind, H2_BLOCK_INFORMATIONAL);
        cr_assert_eq(info.status, nums[i]);
    }
}

Test(inbound, informational_after_final_is_still_informational)
{
    h2_header f[] = {HD(":status", "100")};
    h2_block_info info;
    cr_assert_eq(check(f, 1, &AFTER_FINAL, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_INFORMATIONAL);
}

Test(inbound, status_200_and_600_are_responses)
{
    h2_header f[] = {HD(":status", "204")};
    h2_block_info info;
    cr_assert_eq(check(f, 1, &RESP, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_RESPONSE);
    cr_assert_eq(info.status, 204);
    f[0] = hdr(":status", "999");
    cr_assert_eq(check(f, 1, &RESP, true, &info), 0);
    cr_assert_eq(info.status, 999);
}

Test(inbound, status_must_be_three_digits)
{
    static const char *bad[] = {"1abc", "20", "2000", "20a", "099", "000", " 200", "", "+20"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        h2_header f[] = {hdr(":status", bad[i])};
        h2_block_info info;
        int rv = check(f, 1, &RESP, true, &info);
        cr_assert_eq(rv, H2_EHEADER, "accepted :status '%s'", bad[i]);
        cr_assert_eq(info.status, 0);
        cr_assert_eq(info.kind, H2_BLOCK_RESPONSE, "'%s' classified %d", bad[i], info.kind);
        if (bad[i][0] != ' ' && bad[i][0] != '\0')
            cr_assert_str_eq(info.error, "Invalid :status: must be 3 digits");
    }
}

Test(inbound, status_1abc_not_informational_without_validation)
{
    h2_header f[] = {HD(":status", "1abc")};
    h2_block_info info;
    cr_assert_eq(check(f, 1, &RESP, false, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_RESPONSE);
    cr_assert_eq(info.status, 0);
}

Test(inbound, status_after_regular_does_not_classify)
{
    h2_header f[] = {HD("x", "y"), HD(":status", "100")};
    h2_block_info info;
    cr_assert_eq(check(f, 2, &RESP, false, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_RESPONSE);
    expect_err(f, 2, &RESP, "Received pseudo-header field out of sequence");
}

Test(inbound, trailers_valid)
{
    h2_header f[] = {HD("grpc-status", "0"), HD("x-checksum", "abc")};
    h2_block_info info;
    cr_assert_eq(check(f, COUNT(f), &AFTER_FINAL, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_TRAILERS);
    cr_assert_eq(info.status, 0);
}

Test(inbound, empty_trailers_valid)
{
    h2_block_info info;
    cr_assert_eq(check(NULL, 0, &AFTER_FINAL, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_TRAILERS);
}

Test(inbound, trailers_with_pseudo_rejected)
{
    h2_header f[] = {HD(":path", "/"), HD("extra", "value")};
    h2_block_info info;
    cr_assert_eq(check(f, 2, &AFTER_FINAL, true, &info), H2_EHEADER);
    cr_assert_eq(info.kind, H2_BLOCK_TRAILERS);
    cr_assert(strstr(info.error, "pseudo-header in trailer") != NULL);
}

Test(inbound, trailers_with_final_status_rejected)
{
    h2_header f[] = {HD(":status", "200"), HD("extra", "value")};
    h2_block_info info;
    cr_assert_eq(check(f, 2, &AFTER_FINAL, true, &info), H2_EHEADER);
    cr_assert_eq(info.kind, H2_BLOCK_TRAILERS);
    cr_assert_str_eq(info.error, "Received pseudo-header in trailer");
}

Test(inbound, trailers_skip_host_and_path_rules)
{
    h2_header f[] = {HD("host", "a"), HD("host", "b")};
    expect_ok(f, 2, &AFTER_FINAL);
}

Test(inbound, response_missing_status)
{
    h2_header f[] = {HD("content-type", "text/plain")};
    expect_err(f, 1, &RESP, "Header block missing mandatory :status header");
}

Test(inbound, response_with_request_pseudo_rejected)
{
    static const char *names[] = {":method", ":scheme", ":path", ":authority", ":protocol"};
    for (size_t i = 0; i < COUNT(names); i++) {
        h2_header f[] = {HD(":status", "200"), hdr(names[i], "x")};
        expect_err(f, 2, &RESP, "Encountered request-only headers");
        f[0] = hdr(":status", "100");
        expect_err(f, 2, &RESP, "Encountered request-only headers");
    }
}

Test(inbound, response_with_host_accepted)
{
    h2_header f[] = {HD(":status", "200"), HD("host", "a"), HD("host", "b")};
    expect_ok(f, 3, &RESP);
}

Test(inbound, request_missing_method)
{
    h2_header f[] = {HD(":scheme", "https"), HD(":path", "/"), HD(":authority", "a")};
    expect_err(f, 3, &REQ, "Header block missing mandatory :method header");
}

Test(inbound, request_missing_path)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":authority", "a")};
    expect_err(f, 3, &REQ, "Header block missing mandatory :path header");
}

Test(inbound, request_missing_scheme)
{
    h2_header f[] = {HD(":method", "GET"), HD(":path", "/"), HD(":authority", "a")};
    expect_err(f, 3, &REQ, "Header block missing mandatory :scheme header");
}

Test(inbound, request_with_status_rejected)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD(":authority", "a"), HD(":status", "200")};
    expect_err(f, 5, &REQ, "Encountered response-only headers");
}

Test(inbound, request_host_only)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD("host", "example.com")};
    expect_ok(f, 4, &REQ);
}

Test(inbound, request_authority_only)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD(":authority", "example.com")};
    expect_ok(f, 4, &REQ);
}

Test(inbound, request_host_equal_to_authority)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD(":authority", "example.com"), HD("host", "example.com")};
    expect_ok(f, 5, &REQ);
}

Test(inbound, request_host_authority_mismatch)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD(":authority", "example.com"), HD("host", "example.co")};
    expect_err(f, 5, &REQ, "Request header block has mismatched :authority and host");
    /* Byte comparison: case matters. */
    f[4] = hdr("host", "EXAMPLE.com");
    expect_err(f, 5, &REQ, "Request header block has mismatched :authority and host");
}

Test(inbound, request_neither_host_nor_authority)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/")};
    expect_err(f, 3, &REQ, "Request header block has neither :authority nor host");
}

Test(inbound, push_promise_request_uses_request_rules)
{
    /* PUSH_PROMISE blocks are classified as requests by the caller. */
    h2_block_expect pp = {.request = true, .final_seen = true};
    h2_block_info info;
    cr_assert_eq(check(base_request, COUNT(base_request), &pp, true, &info), 0);
    cr_assert_eq(info.kind, H2_BLOCK_REQUEST);
}

Test(inbound, empty_path_rejected)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", ""),
                     HD(":authority", "a")};
    expect_err(f, 4, &REQ, "An empty :path header is forbidden");
    f[0] = hdr(":method", "OPTIONS");
    expect_err(f, 4, &REQ, "An empty :path header is forbidden");
}

Test(inbound, te_trailers_allowed)
{
    h2_header f[7];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("te", "trailers");
    expect_ok(f, 6, &REQ);
    f[5] = hdr("te", "TRAILERS");
    expect_ok(f, 6, &REQ);
    f[5] = hdr("te", "Trailers");
    expect_ok(f, 6, &REQ);
}

Test(inbound, te_other_values_rejected)
{
    static const char *bad[] = {"trailers, deflate", "gzip",      "",
                                "trailer",           "trailersx", "tr\xc1ilers"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        h2_header f[7];
        memcpy(f, base_request, sizeof(base_request));
        f[5] = hdr("te", bad[i]);
        expect_err(f, 6, &REQ, "Invalid value for TE header");
    }
}

Test(inbound, te_checked_in_responses_and_trailers)
{
    h2_header r[] = {HD(":status", "200"), HD("te", "gzip")};
    expect_err(r, 2, &RESP, "Invalid value for TE header");
    h2_header t[] = {HD("te", "gzip")};
    expect_err(t, 1, &AFTER_FINAL, "Invalid value for TE header");
}

Test(inbound, connection_headers_rejected_in_responses)
{
    h2_header f[] = {HD(":status", "200"), HD("transfer-encoding", "chunked")};
    expect_err(f, 2, &RESP, "Connection-specific header field present");
}

/* ---- CONNECT and extended CONNECT --------------------------------------- */

Test(connect, ordinary_connect_with_authority)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD(":authority", "example.com:443")};
    h2_block_info info;
    cr_assert_eq(check(f, 2, &REQ, true, &info), 0);
    cr_assert(info.method_connect);
    cr_assert_not(info.has_protocol);
}

Test(connect, ordinary_connect_with_host_only)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD("host", "example.com:443")};
    expect_ok(f, 2, &REQ);
}

Test(connect, ordinary_connect_without_authority)
{
    h2_header f[] = {HD(":method", "CONNECT")};
    expect_err(f, 1, &REQ, "Request header block has neither :authority nor host");
}

Test(connect, ordinary_connect_with_scheme_or_path)
{
    h2_header a[] = {HD(":method", "CONNECT"), HD(":scheme", "https"), HD(":authority", "e:1")};
    expect_err(a, 3, &REQ, "CONNECT request with :scheme or :path");
    h2_header b[] = {HD(":method", "CONNECT"), HD(":path", "/"), HD(":authority", "e:1")};
    expect_err(b, 3, &REQ, "CONNECT request with :scheme or :path");
}

Test(connect, extended_connect_accepted_when_enabled)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD(":protocol", "websocket"), HD(":scheme", "https"),
                     HD(":path", "/chat"), HD(":authority", "example.com")};
    h2_block_info info;
    cr_assert_eq(check(f, COUNT(f), &REQ_XC, true, &info), 0);
    cr_assert(info.method_connect);
    cr_assert(info.has_protocol);
}

Test(connect, extended_connect_rejected_when_not_enabled)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD(":protocol", "websocket"), HD(":scheme", "https"),
                     HD(":path", "/chat"), HD(":authority", "example.com")};
    h2_block_info info;
    cr_assert_eq(check(f, COUNT(f), &REQ, true, &info), H2_EHEADER);
    cr_assert_str_eq(info.error, ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL");
    cr_assert(info.has_protocol);
    /* Without validation it passes and is reported. */
    cr_assert_eq(check(f, COUNT(f), &REQ, false, &info), 0);
    cr_assert(info.has_protocol);
}

Test(connect, extended_connect_needs_scheme_and_path)
{
    h2_header a[] = {HD(":method", "CONNECT"), HD(":protocol", "websocket"), HD(":scheme", "https"),
                     HD(":authority", "example.com")};
    expect_err(a, 4, &REQ_XC, "Header block missing mandatory :path header");
    h2_header b[] = {HD(":method", "CONNECT"), HD(":protocol", "websocket"), HD(":path", "/"),
                     HD(":authority", "example.com")};
    expect_err(b, 4, &REQ_XC, "Header block missing mandatory :scheme header");
}

Test(connect, extended_connect_needs_authority_or_host)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD(":protocol", "websocket"), HD(":scheme", "https"),
                     HD(":path", "/")};
    expect_err(f, 4, &REQ_XC, "Request header block has neither :authority nor host");
}

Test(connect, protocol_with_other_method_rejected)
{
    h2_header f[] = {HD(":method", "GET"), HD(":protocol", "websocket"), HD(":scheme", "https"),
                     HD(":path", "/"), HD(":authority", "a")};
    expect_err(f, 5, &REQ_XC, "Encountered connect-request-only headers");
    /* Lowercase "connect" is not CONNECT. */
    f[0] = hdr(":method", "connect");
    expect_err(f, 5, &REQ_XC, "Encountered connect-request-only headers");
}

/* ---- characters and pseudo-header rules ---------------------------------- */

Test(chars, empty_name_rejected)
{
    h2_header f[7];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("", "value");
    expect_err(f, 6, &REQ, "Received header name with zero length.");
}

Test(chars, uppercase_pseudo_name)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":PATH", "/"),
                     HD(":authority", "a")};
    expect_err(f, 4, &REQ, "Received uppercase header name");
}

Test(chars, uppercase_reported_before_other_bad_bytes)
{
    h2_header f[] = {HD(":status", "200"), HD("a b-C", "v")};
    expect_err(f, 2, &RESP, "Received uppercase header name");
}

Test(chars, name_bytes_outside_visible_ascii)
{
    static const char *bad[] = {"x\x7f", "x\x80", "\xff", "a\tb", "a\x1f"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        h2_header f[] = {HD(":status", "200"), hdr(bad[i], "v")};
        expect_err(f, 2, &RESP, "Received header name with invalid character");
    }
}

Test(chars, name_punctuation_allowed)
{
    /* RFC 9113 8.2.1 forbids only controls, SP, uppercase, DEL, non-ASCII and ':'. */
    h2_header f[] = {HD(":status", "200"), HD("x-a!#$%&'*+-.^_`|~\"(),/;<=>?@[\\]{}", "v")};
    expect_ok(f, 2, &RESP);
}

Test(chars, bare_colon_is_custom_pseudo)
{
    h2_header f[] = {HD(":", "x"), HD(":status", "200")};
    expect_err(f, 2, &RESP, "Received custom pseudo-header field");
}

Test(chars, custom_pseudo_first)
{
    h2_header f[] = {HD(":late", "x"), HD(":status", "200")};
    expect_err(f, 2, &RESP, "Received custom pseudo-header field");
}

Test(chars, value_edge_whitespace)
{
    static const char *bad[] = {" ", "\t", " a", "a ", "\ta", "a\t"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        h2_header f[] = {HD(":status", "200"), hdr("x", bad[i])};
        expect_err(f, 2, &RESP, "Received header value surrounded by whitespace");
    }
    h2_header ok[] = {HD(":status", "200"), HD("x", ""), HD("y", "a b\tc")};
    expect_ok(ok, 3, &RESP);
}

Test(chars, value_other_bytes_allowed)
{
    h2_header f[] = {HD(":status", "200"), HD("x", "a\x01\x1f\x7f\x80\xff\x0b\x0c"
                                                   "b")};
    expect_ok(f, 2, &RESP);
}

Test(chars, value_bad_byte_at_every_position)
{
    /* Long values go through the word-at-a-time scan: try every offset. */
    static const char bad[] = {'\0', '\r', '\n'};
    uint8_t v[67];
    for (size_t b = 0; b < COUNT(bad); b++) {
        for (size_t pos = 0; pos < sizeof(v); pos++) {
            for (size_t i = 0; i < sizeof(v); i++)
                v[i] = (uint8_t)(i % 3 == 0 ? 0x0e : (i % 3 == 1 ? 0x80 : 'a'));
            v[pos] = (uint8_t)bad[b];
            h2_header f[] = {HD(":status", "200"), {(const uint8_t *)"x", 1, v, sizeof(v), 0}};
            h2_block_info info;
            cr_assert_eq(check(f, 2, &RESP, true, &info), H2_EHEADER, "byte %d at %zu", bad[b],
                         pos);
            cr_assert_str_eq(info.error, "Received header value with invalid character");
        }
    }
    for (size_t i = 0; i < sizeof(v); i++)
        v[i] = (uint8_t)(0x0e + i % 200);
    h2_header ok[] = {HD(":status", "200"), {(const uint8_t *)"x", 1, v, sizeof(v), 0}};
    expect_ok(ok, 2, &RESP);
}

/* Reference rule of RFC 9113 8.2.1 for a name byte after position 0. */
static bool name_byte_ok(unsigned b)
{
    return b > 0x20 && b < 0x7f && !(b >= 'A' && b <= 'Z') && b != ':';
}

Test(chars, every_name_byte_at_every_position)
{
    /* Lengths 1..20 cover the byte, 4-byte and 8-byte scanning paths. */
    uint8_t name[20];
    for (size_t len = 1; len <= sizeof(name); len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned b = 0; b < 256; b++) {
                memset(name, 'a', len);
                name[pos] = (uint8_t)b;
                h2_header f[] = {HD(":status", "200"), {name, len, (const uint8_t *)"v", 1, 0}};
                h2_block_info info;
                int rv = h2_headers_check_inbound(f, 2, &RESP, true, &info);
                bool ok = name_byte_ok(b);
                if (pos == 0 && b == ':')
                    ok = false; /* an unknown pseudo-header, rejected for another reason */
                cr_assert_eq(rv == 0, ok, "byte 0x%02x at %zu of %zu", b, pos, len);
                if (!ok && !(pos == 0 && b == ':'))
                    cr_assert_str_eq(info.error,
                                     (b >= 'A' && b <= 'Z')
                                         ? "Received uppercase header name"
                                         : "Received header name with invalid character");
            }
        }
    }
}

Test(chars, every_value_byte_at_every_position)
{
    uint8_t v[20];
    for (size_t len = 1; len <= sizeof(v); len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned b = 0; b < 256; b++) {
                memset(v, 'a', len);
                v[pos] = (uint8_t)b;
                h2_header f[] = {HD(":status", "200"), {(const uint8_t *)"x", 1, v, len, 0}};
                h2_block_info info;
                int rv = h2_headers_check_inbound(f, 2, &RESP, true, &info);
                bool bad = b == 0 || b == '\r' || b == '\n';
                bool edge_ws = (pos == 0 || pos == len - 1) && (b == ' ' || b == '\t');
                cr_assert_eq(rv == 0, !bad && !edge_ws, "byte 0x%02x at %zu of %zu", b, pos, len);
            }
        }
    }
}

Test(chars, first_failing_field_wins)
{
    h2_header f[8];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("te", "gzip");
    f[6] = hdr("connection", "close");
    expect_err(f, 7, &REQ, "Invalid value for TE header");
    f[5] = hdr("connection", "close");
    f[6] = hdr("te", "gzip");
    expect_err(f, 7, &REQ, "Connection-specific header field present");
}

Test(chars, field_rules_before_block_rules)
{
    /* Missing :scheme (block rule) and a bad value (field rule): the field rule wins. */
    h2_header f[] = {HD(":method", "GET"), HD(":path", "/"), HD(":authority", "a"), HD("x", "a\r")};
    expect_err(f, 4, &REQ, "Received header value with invalid character");
}

Test(chars, duplicate_pseudo_after_regular_reports_duplicate)
{
    h2_header f[] = {HD(":status", "200"), HD("x", "y"), HD(":status", "204")};
    expect_err(f, 3, &RESP, "Received duplicate pseudo-header field");
}

Test(chars, duplicate_host_only_in_requests)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD("host", "a"), HD("host", "a")};
    expect_err(f, 5, &REQ, "Received duplicate host header");
}

/* ======================================================================== */
/* Content-length                                                            */
/* ======================================================================== */

typedef struct cl_case {
    char v[8];
    size_t len;
} cl_case;

#define CL(s)                                                                                      \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

static cl_case bad_lengths[] = {
    CL(""),       CL("15a"), CL(" 15"), CL("+15"),  CL("-15"), CL("1e2"),      CL("0xF"),
    CL("15,000"), CL("\0"),  CL("1 5"), CL("\t15"), CL("15 "), CL("\xd9\xa3"), CL("0x10"),
};

ParameterizedTestParameters(content_length, malformed_rejected)
{
    return cr_make_param_array(cl_case, bad_lengths, COUNT(bad_lengths));
}

ParameterizedTest(cl_case *c, content_length, malformed_rejected)
{
    cr_assert_eq(h2_parse_content_length((const uint8_t *)c->v, c->len), -1);
    h2_header f[] = {HD(":status", "200"),
                     {(const uint8_t *)"content-length", 14, (const uint8_t *)c->v, c->len, 0}};
    h2_block_info info;
    /* Parsed and rejected with or without validation. */
    for (int validate = 0; validate < 2; validate++) {
        cr_assert_eq(check(f, 2, &RESP, validate, &info), H2_EHEADER);
        cr_assert_str_eq(info.error, "Invalid content-length header");
        cr_assert_eq(info.content_length, -1);
    }
}

Test(content_length, five_thousand_digits_rejected)
{
    char *v = malloc(5000);
    cr_assert_not_null(v);
    memset(v, '9', 5000);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)v, 5000), -1);
    /* Leading zeros are fine as long as the value fits. */
    memset(v, '0', 4999);
    v[4999] = '7';
    cr_assert_eq(h2_parse_content_length((const uint8_t *)v, 5000), 7);
    memset(v, '1', 5000);
    h2_header f[] = {HD(":status", "200"),
                     {(const uint8_t *)"content-length", 14, (const uint8_t *)v, 5000, 0}};
    h2_block_info info;
    cr_assert_eq(check(f, 2, &RESP, false, &info), H2_EHEADER);
    cr_assert_str_eq(info.error, "Invalid content-length header");
    free(v);
}

Test(content_length, valid_values)
{
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"0", 1), 0);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"15", 2), 15);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"000015", 6), 15);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"9223372036854775807", 19), INT64_MAX);
}

Test(content_length, overflow_rejected)
{
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"9223372036854775808", 19), -1);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"9223372036854775810", 19), -1);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"18446744073709551616", 20), -1);
    cr_assert_eq(h2_parse_content_length((const uint8_t *)"99999999999999999999", 20), -1);
}

Test(content_length, equal_duplicates_accepted)
{
    h2_header f[] = {HD(":status", "200"), HD("content-length", "15"), HD("content-length", "15"),
                     HD("content-length", "015")};
    h2_block_info info;
    cr_assert_eq(check(f, COUNT(f), &RESP, true, &info), 0);
    cr_assert_eq(info.content_length, 15);
}

Test(content_length, conflicting_duplicates_rejected)
{
    h2_header f[] = {HD(":status", "200"), HD("content-length", "15"), HD("content-length", "16")};
    h2_block_info info;
    for (int validate = 0; validate < 2; validate++) {
        cr_assert_eq(check(f, COUNT(f), &RESP, validate, &info), H2_EHEADER);
        cr_assert_str_eq(info.error, "Conflicting content-length headers");
        cr_assert_eq(info.content_length, -1);
    }
}

Test(content_length, first_error_wins)
{
    h2_header a[] = {HD(":status", "200"), HD("content-length", "x"), HD("content-length", "1"),
                     HD("content-length", "2")};
    expect_err(a, 4, &RESP, "Invalid content-length header");
    h2_header b[] = {HD(":status", "200"), HD("content-length", "1"), HD("content-length", "2"),
                     HD("content-length", "x")};
    expect_err(b, 4, &RESP, "Conflicting content-length headers");
}

Test(content_length, reported_before_field_rules)
{
    /* h2 parses content-length before it validates anything. */
    h2_header f[] = {HD(":status", "200"), HD("Upper", "x"), HD("content-length", "1x")};
    expect_err(f, 3, &RESP, "Invalid content-length header");
}

Test(content_length, parsed_in_requests_and_trailers)
{
    h2_header f[7];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("content-length", "42");
    h2_block_info info;
    cr_assert_eq(check(f, 6, &REQ, true, &info), 0);
    cr_assert_eq(info.content_length, 42);
    h2_header t[] = {HD("content-length", "7")};
    cr_assert_eq(check(t, 1, &AFTER_FINAL, true, &info), 0);
    cr_assert_eq(info.content_length, 7);
    cr_assert_eq(info.kind, H2_BLOCK_TRAILERS);
}

Test(content_length, name_must_match_exactly)
{
    h2_header f[] = {HD(":status", "200"), HD("content-lengthx", "abc"),
                     HD("Content-Length", "abc")};
    h2_block_info info;
    cr_assert_eq(check(f, 3, &RESP, false, &info), 0);
    cr_assert_eq(info.content_length, -1);
}

/* ======================================================================== */
/* Inbound normalisation: cookies                                            */
/* ======================================================================== */

Test(cookies, no_cookie_returns_input_without_allocating)
{
    testmem tm;
    testmem_init(&tm);
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, &tm.mem);
    const h2_header *out = NULL;
    size_t n = 0;
    cr_assert_eq(h2_headers_normalize_inbound(base_request, COUNT(base_request), &s, &out, &n), 0);
    cr_assert_eq(out, base_request);
    cr_assert_eq(n, COUNT(base_request));
    cr_assert_eq(tm.n_calls, 0);
    h2_hdr_scratch_free(&s);
}

Test(cookies, single_last_never_indexed_cookie_unchanged)
{
    h2_header f[] = {HD(":status", "200"), HDF("cookie", "a=1", H2_HEADER_NEVER_INDEX)};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    cr_assert_eq(h2_headers_normalize_inbound(f, 2, &s, &out, &n), 0);
    cr_assert_eq(out, f);
    cr_assert_eq(n, 2);
    cr_assert_null(s.buf);
    h2_hdr_scratch_free(&s);
}

Test(cookies, single_cookie_moved_to_end_and_never_indexed)
{
    h2_header f[] = {HD(":status", "200"), HD("cookie", "a=1"), HD("x", "y")};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    cr_assert_eq(h2_headers_normalize_inbound(f, 3, &s, &out, &n), 0);
    cr_assert_neq(out, f);
    cr_assert_eq(n, 3);
    assert_field(&out[0], ":status", "200");
    assert_field(&out[1], "x", "y");
    assert_field(&out[2], "cookie", "a=1");
    cr_assert_eq(out[2].flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(out[2].value, f[1].value); /* no copy of a lone value */
    h2_hdr_scratch_free(&s);
}

Test(cookies, single_last_cookie_gets_flag)
{
    h2_header f[] = {HD(":status", "200"), HD("cookie", "a=1")};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    cr_assert_eq(h2_headers_normalize_inbound(f, 2, &s, &out, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[1].flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(f[1].flags, 0); /* input untouched */
    h2_hdr_scratch_free(&s);
}

Test(cookies, joined_in_order_at_end)
{
    h2_header f[] = {HD(":method", "GET"), HD("cookie", "a=1"),
                     HD("x", "1"),         HDF("cookie", "b=2", H2_HEADER_NEVER_INDEX),
                     HD("cookie", "c=3"),  HD("y", "2")};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    cr_assert_eq(h2_headers_normalize_inbound(f, COUNT(f), &s, &out, &n), 0);
    cr_assert_eq(n, 4);
    assert_field(&out[0], ":method", "GET");
    assert_field(&out[1], "x", "1");
    assert_field(&out[2], "y", "2");
    assert_field(&out[3], "cookie", "a=1; b=2; c=3");
    cr_assert_eq(out[3].flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(out[0].flags, 0);
    h2_hdr_scratch_free(&s);
}

Test(cookies, empty_values_joined)
{
    h2_header f[] = {HD("cookie", ""), HD("cookie", "a"), HD("cookie", "")};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    cr_assert_eq(h2_headers_normalize_inbound(f, 3, &s, &out, &n), 0);
    cr_assert_eq(n, 1);
    assert_field(&out[0], "cookie", "; a; ");
    h2_hdr_scratch_free(&s);
}

Test(cookies, exact_name_only)
{
    h2_header f[] = {HD("Cookie", "a"), HD("cookies", "b"), HD("cookie", "c"), HD("cook", "d")};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    cr_assert_eq(h2_headers_normalize_inbound(f, 4, &s, &out, &n), 0);
    cr_assert_eq(n, 4);
    assert_field(&out[0], "Cookie", "a");
    assert_field(&out[1], "cookies", "b");
    assert_field(&out[2], "cook", "d");
    assert_field(&out[3], "cookie", "c");
    h2_hdr_scratch_free(&s);
}

Test(cookies, joined_block_then_validates)
{
    h2_header f[] = {HD(":method", "GET"), HD("cookie", "a=1"),   HD(":scheme", "https"),
                     HD(":path", "/"),     HD(":authority", "a"), HD("cookie", "b=2")};
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    const h2_header *out;
    size_t n;
    /* The cookie in the middle would put pseudo-headers out of order; h2 joins first. */
    cr_assert_eq(h2_headers_normalize_inbound(f, COUNT(f), &s, &out, &n), 0);
    expect_ok(out, n, &REQ);
    h2_hdr_scratch_free(&s);
}

Test(cookies, earlier_results_survive_growth)
{
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, NULL);
    h2_header a[] = {HD("cookie", "a=1"), HD("cookie", "b=2")};
    const h2_header *out_a;
    size_t na;
    cr_assert_eq(h2_headers_normalize_inbound(a, 2, &s, &out_a, &na), 0);
    /* Values far larger than the first chunk force new chunks. */
    size_t big = 10000;
    char *v = malloc(big);
    cr_assert_not_null(v);
    memset(v, 'v', big);
    h2_header b[40];
    for (size_t i = 0; i < COUNT(b); i++)
        b[i] = (h2_header){(const uint8_t *)"cookie", 6, (const uint8_t *)v, big, 0};
    const h2_header *out_b;
    size_t nb;
    cr_assert_eq(h2_headers_normalize_inbound(b, COUNT(b), &s, &out_b, &nb), 0);
    cr_assert_eq(nb, 1);
    cr_assert_eq(out_b[0].value_len, COUNT(b) * big + 2 * (COUNT(b) - 1));
    cr_assert_eq(out_b[0].value[big], ';');
    cr_assert_eq(out_b[0].value[out_b[0].value_len - 1], 'v');
    assert_field(&out_a[0], "cookie", "a=1; b=2");
    free(v);
    h2_hdr_scratch_free(&s);
}

typedef struct norm_arg {
    size_t big;
} norm_arg;

static int inbound_norm_scenario(testmem *tm, void *argp)
{
    norm_arg *arg = argp;
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, &tm->mem);
    char *v = malloc(arg->big);
    memset(v, 'z', arg->big);
    h2_header f[] = {HD(":status", "200"),
                     HD("cookie", "a=1"),
                     HD("cookie", "b=2"),
                     {(const uint8_t *)"cookie", 6, (const uint8_t *)v, arg->big, 0}};
    int bad = 0;
    for (int round = 0; round < 3; round++) {
        const h2_header *out = NULL;
        size_t n = 0;
        /* Round 0 fits in the first chunk; rounds 1 and 2 need new ones. */
        size_t nf = round == 0 ? 3 : 4;
        int rv = h2_headers_normalize_inbound(f, nf, &s, &out, &n);
        if (rv == H2_ENOMEM) {
            if (out != NULL)
                bad = 1;
            break;
        }
        if (rv != 0 || n != 2 || out[1].value_len != (round == 0 ? 8 : 10 + arg->big))
            bad = 1;
    }
    free(v);
    h2_hdr_scratch_free(&s);
    return bad;
}

Test(cookies, allocation_failures_clean)
{
    norm_arg arg = {3000};
    size_t calls = testmem_sweep(inbound_norm_scenario, &arg);
    cr_assert_geq(calls, 2);
}

/* ======================================================================== */
/* Outbound                                                                  */
/* ======================================================================== */

static const h2_outbound_opts NORM = {.normalize = true, .split_cookies = false, .validate = true};
static const h2_outbound_opts NORM_SPLIT = {
    .normalize = true, .split_cookies = true, .validate = true};
static const h2_outbound_opts RAW = {.normalize = false, .split_cookies = false, .validate = true};
static const h2_outbound_opts NOTHING = {
    .normalize = false, .split_cookies = true, .validate = false};

typedef struct outbound_run {
    h2_hdr_scratch s;
    testmem tm;
    const h2_header *out;
    size_t n;
    h2_block_info info;
    int rv;
} outbound_run;

static void run_out(outbound_run *r, const h2_header *f, size_t n, const h2_block_expect *ex,
                    const h2_outbound_opts *o)
{
    testmem_init(&r->tm);
    h2_hdr_scratch_init(&r->s, &r->tm.mem);
    r->out = NULL;
    r->n = 0;
    memset(&r->info, 0xa5, sizeof(r->info));
    r->rv = h2_headers_prepare_outbound(f, n, ex, o, &r->s, &r->out, &r->n, &r->info);
}

static void done_out(outbound_run *r)
{
    h2_hdr_scratch_free(&r->s);
    cr_assert_eq(r->tm.live_blocks, 0);
}

Test(outbound, unchanged_returns_input_without_allocating)
{
    outbound_run r;
    run_out(&r, base_request, COUNT(base_request), &REQ, &NORM_SPLIT);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out, base_request);
    cr_assert_eq(r.n, COUNT(base_request));
    cr_assert_eq(r.tm.n_calls, 0);
    cr_assert_eq(r.info.kind, H2_BLOCK_REQUEST);
    done_out(&r);
}

Test(outbound, long_cookie_without_separator_unchanged)
{
    h2_header f[] = {HD(":status", "200"), HD("cookie", "a-long-cookie=01234567"),
                     HDF("authorization", "x", H2_HEADER_NEVER_INDEX)};
    outbound_run r;
    run_out(&r, f, 3, &RESP, &NORM_SPLIT);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out, f);
    cr_assert_eq(r.tm.n_calls, 0);
    done_out(&r);
}

Test(outbound, names_lowercased)
{
    h2_header f[] = {HD(":status", "200"), HD("Content-Type", "text/plain"), HD("X-ABC", "V")};
    outbound_run r;
    run_out(&r, f, 3, &RESP, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_neq(r.out, f);
    cr_assert_eq(r.n, 3);
    assert_field(&r.out[0], ":status", "200");
    assert_field(&r.out[1], "content-type", "text/plain");
    assert_field(&r.out[2], "x-abc", "V");             /* values keep their case */
    assert_field(&f[1], "Content-Type", "text/plain"); /* input untouched */
    cr_assert_eq(r.out[0].name, f[0].name);            /* unchanged names not copied */
    done_out(&r);
}

Test(outbound, whitespace_stripped)
{
    h2_header f[] = {HD(":status", "200"), HD(" x-name\t", " \t value \r\n\x0b\x0c"),
                     HD("y", "   "), HD("z", "a b")};
    outbound_run r;
    run_out(&r, f, 4, &RESP, &NORM);
    cr_assert_eq(r.rv, 0, "%s", r.info.error);
    cr_assert_eq(r.n, 4);
    assert_field(&r.out[1], "x-name", "value");
    assert_field(&r.out[2], "y", "");
    assert_field(&r.out[3], "z", "a b");
    done_out(&r);
}

Test(outbound, connection_headers_dropped)
{
    h2_header f[] = {HD(":status", "200"),
                     HD("connection", "close"),
                     HD("Proxy-Connection", "x"),
                     HD(" keep-alive ", "5"),
                     HD("transfer-encoding", "chunked"),
                     HD("UPGRADE", "h2c"),
                     HD("x", "y")};
    outbound_run r;
    run_out(&r, f, COUNT(f), &RESP, &NORM);
    cr_assert_eq(r.rv, 0, "%s", r.info.error);
    cr_assert_eq(r.n, 2);
    assert_field(&r.out[0], ":status", "200");
    assert_field(&r.out[1], "x", "y");
    done_out(&r);
}

Test(outbound, te_kept)
{
    h2_header f[7];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("TE", "trailers");
    outbound_run r;
    run_out(&r, f, 6, &REQ, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.n, 6);
    assert_field(&r.out[5], "te", "trailers");
    done_out(&r);
}

Test(outbound, h2_strippable_blocks_become_base_request)
{
    static const char *names[] = {"connection", "proxy-connection", "keep-alive",
                                  "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < COUNT(names); i++) {
        h2_header f[7];
        memcpy(f, base_request, sizeof(base_request));
        f[5] = hdr(names[i], "close");
        outbound_run r;
        run_out(&r, f, 6, &REQ, &NORM);
        cr_assert_eq(r.rv, 0);
        cr_assert_eq(r.n, COUNT(base_request));
        for (size_t j = 0; j < r.n; j++)
            cr_assert_eq(r.out[j].name, base_request[j].name);
        done_out(&r);
    }
}

Test(outbound, cookie_split_when_enabled)
{
    h2_header f[] = {HD(":status", "200"), HD("cookie", "alpha=1; beta=2; gamma=3"), HD("x", "y")};
    outbound_run r;
    run_out(&r, f, 3, &RESP, &NORM_SPLIT);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.n, 5);
    assert_field(&r.out[1], "cookie", "alpha=1");
    assert_field(&r.out[2], "cookie", "beta=2");
    assert_field(&r.out[3], "cookie", "gamma=3");
    assert_field(&r.out[4], "x", "y");
    for (size_t i = 1; i <= 3; i++)
        cr_assert_eq(r.out[i].flags, H2_HEADER_NEVER_INDEX);
    done_out(&r);
}

Test(outbound, cookie_not_split_when_disabled)
{
    h2_header f[] = {HD(":status", "200"), HD("cookie", "alpha=1; beta=2; gamma=3")};
    outbound_run r;
    run_out(&r, f, 2, &RESP, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out, f);
    cr_assert_eq(r.n, 2);
    done_out(&r);
    /* Nor with normalisation off, whatever split_cookies says. */
    run_out(&r, f, 2, &RESP, &NOTHING);
    cr_assert_eq(r.out, f);
    cr_assert_eq(r.n, 2);
    done_out(&r);
}

Test(outbound, cookie_split_edge_pieces)
{
    h2_header f[] = {HD("Cookie", "a; ; b;c;  d; ")};
    outbound_run r;
    run_out(&r, f, 1, &AFTER_FINAL, &NORM_SPLIT);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.n, 5);
    assert_field(&r.out[0], "cookie", "a");
    assert_field(&r.out[1], "cookie", "");
    assert_field(&r.out[2], "cookie", "b;c");
    assert_field(&r.out[3], "cookie", "d"); /* " d" stripped */
    assert_field(&r.out[4], "cookie", "");
    done_out(&r);
}

Test(outbound, cookie_split_keeps_user_flags)
{
    h2_header f[] = {HDF("cookie", "a-very-long-cookie-value=1; b-very-long-cookie-value=2",
                         H2_HEADER_NO_INDEX)};
    outbound_run r;
    run_out(&r, f, 1, &AFTER_FINAL, &NORM_SPLIT);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.out[0].flags, H2_HEADER_NO_INDEX);
    cr_assert_eq(r.out[1].flags, H2_HEADER_NO_INDEX);
    done_out(&r);
}

Test(outbound, cookie_never_index_threshold)
{
    h2_header f[] = {HD("cookie", "0123456789012345678"), HD("cookie", "01234567890123456789")};
    cr_assert_eq(f[0].value_len, 19);
    outbound_run r;
    run_out(&r, f, 2, &AFTER_FINAL, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.out[0].flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(r.out[1].flags, 0);
    done_out(&r);
}

Test(outbound, cookie_length_counted_after_strip)
{
    /* 21 bytes with the spaces, 19 after stripping. */
    h2_header f[] = {HD("cookie", " 0123456789012345678 ")};
    outbound_run r;
    run_out(&r, f, 1, &AFTER_FINAL, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out[0].value_len, 19);
    cr_assert_eq(r.out[0].flags, H2_HEADER_NEVER_INDEX);
    done_out(&r);
}

Test(outbound, authorization_always_never_indexed)
{
    h2_header f[] = {HD(":status", "200"),
                     HD("authorization", "Basic a-rather-long-credential-value"),
                     HD("Proxy-Authorization", "x"), HD("x", "y")};
    outbound_run r;
    run_out(&r, f, 4, &RESP, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out[1].flags, H2_HEADER_NEVER_INDEX);
    assert_field(&r.out[2], "proxy-authorization", "x");
    cr_assert_eq(r.out[2].flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(r.out[3].flags, 0);
    cr_assert_eq(r.out[0].flags, 0);
    done_out(&r);
}

Test(outbound, sensitivity_needs_exact_name)
{
    h2_header f[] = {HD("cook", "a"),       HD("okie", "b"),         HD("cookies", "c"),
                     HD("set-cookie", "d"), HD("authorizatio", "e"), HD("x-authorization", "f"),
                     HD("Uppercase", "g")};
    outbound_run r;
    run_out(&r, f, COUNT(f), &AFTER_FINAL, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.n, COUNT(f));
    for (size_t i = 0; i < r.n; i++)
        cr_assert_eq(r.out[i].flags, 0, "field %zu flagged", i);
    done_out(&r);
}

Test(outbound, user_never_index_kept)
{
    h2_header f[] = {HDF("cookie", "a-cookie-longer-than-twenty-bytes", H2_HEADER_NEVER_INDEX),
                     HDF("X-Secret", "s", H2_HEADER_NEVER_INDEX)};
    outbound_run r;
    run_out(&r, f, 2, &AFTER_FINAL, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out[0].flags, H2_HEADER_NEVER_INDEX);
    assert_field(&r.out[1], "x-secret", "s");
    cr_assert_eq(r.out[1].flags, H2_HEADER_NEVER_INDEX);
    done_out(&r);
}

Test(outbound, no_normalisation_no_flags)
{
    h2_header f[] = {HD("authorization", "x"), HD("cookie", "a")};
    outbound_run r;
    run_out(&r, f, 2, &AFTER_FINAL, &RAW);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out, f);
    cr_assert_eq(r.out[0].flags, 0);
    done_out(&r);
}

Test(outbound, raw_uppercase_rejected)
{
    h2_header f[7];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("Uppercase", "name");
    outbound_run r;
    run_out(&r, f, 6, &REQ, &RAW);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Received uppercase header name");
    done_out(&r);
}

Test(outbound, raw_connection_header_rejected)
{
    h2_header f[7];
    memcpy(f, base_request, sizeof(base_request));
    f[5] = hdr("connection", "close");
    outbound_run r;
    run_out(&r, f, 6, &REQ, &RAW);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Connection-specific header field present");
    done_out(&r);
}

Test(outbound, control_bytes_in_value_rejected)
{
    static const h2_header bad[] = {HD("x", "a\rb"), HD("x", "a\nb"), HD("x", "a\0b")};
    for (size_t i = 0; i < COUNT(bad); i++) {
        h2_header f[] = {HD(":status", "200"), bad[i]};
        outbound_run r;
        /* Also with normalisation on: inner bytes are not stripped. */
        run_out(&r, f, 2, &RESP, i == 0 ? &NORM : &RAW);
        cr_assert_eq(r.rv, H2_EHEADER);
        cr_assert_str_eq(r.info.error, "Received header value with invalid character");
        done_out(&r);
    }
}

Test(outbound, empty_name_is_an_error)
{
    h2_header f[] = {HD(":status", "200"), HD("", "v")};
    outbound_run r;
    run_out(&r, f, 2, &RESP, &RAW);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Received header name with zero length.");
    done_out(&r);
    /* A name of only whitespace becomes empty after stripping. */
    h2_header g[] = {HD(":status", "200"), HD("  ", "v")};
    run_out(&r, g, 2, &RESP, &NORM);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Received header name with zero length.");
    done_out(&r);
}

Test(outbound, raw_name_with_space_rejected)
{
    h2_header f[] = {HD(":status", "200"), HD("a b", "v")};
    outbound_run r;
    run_out(&r, f, 2, &RESP, &RAW);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Received header name with invalid character");
    done_out(&r);
}

Test(outbound, h2_invalid_blocks_rejected_after_normalisation)
{
    static const struct {
        invalid_case c;
    } cases[] = {
        {IC(APPEND, ":late", "pseudo-header", "Received pseudo-header field out of sequence")},
        {IC(PREPEND, ":path", "duplicate-pseudo-header", "Received duplicate pseudo-header field")},
        {IC(APPEND, "te", "chunked", "Invalid value for TE header")},
        {IC(APPEND, "host", "notexample.com",
            "Request header block has mismatched :authority and host")},
        {IC(DROP_AUTHORITY, "", "", "Request header block has neither :authority nor host")},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        h2_header f[8];
        size_t n = build_invalid(&cases[i].c, f);
        outbound_run r;
        run_out(&r, f, n, &REQ, &NORM_SPLIT);
        cr_assert_eq(r.rv, H2_EHEADER, "case %zu accepted", i);
        cr_assert_str_eq(r.info.error, cases[i].c.msg);
        done_out(&r);
    }
}

Test(outbound, nothing_validated_when_off)
{
    h2_header f[] = {HD("Bad Name", "a\r\nb"), HD(":late", "x"), HD("content-length", "x")};
    outbound_run r;
    run_out(&r, f, 3, &REQ, &NOTHING);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.out, f);
    cr_assert_eq(r.n, 3);
    cr_assert_eq(r.info.content_length, -1);
    cr_assert_eq(r.info.kind, H2_BLOCK_REQUEST);
    done_out(&r);
}

Test(outbound, content_length_checked_when_validating)
{
    h2_header f[] = {HD(":status", "200"), HD("content-length", "10"), HD("content-length", "11")};
    outbound_run r;
    run_out(&r, f, 3, &RESP, &RAW);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Conflicting content-length headers");
    done_out(&r);
    h2_outbound_opts off = {.normalize = true, .validate = false};
    run_out(&r, f, 3, &RESP, &off);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.info.content_length, 10);
    done_out(&r);
}

Test(outbound, classification_matches_inbound)
{
    h2_header a[] = {HD(":status", "103"), HD("link", "</a>")};
    outbound_run r;
    run_out(&r, a, 2, &RESP, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.info.kind, H2_BLOCK_INFORMATIONAL);
    cr_assert_eq(r.info.status, 103);
    done_out(&r);
    h2_header t[] = {HD("grpc-status", "0")};
    run_out(&r, t, 1, &AFTER_FINAL, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert_eq(r.info.kind, H2_BLOCK_TRAILERS);
    done_out(&r);
    h2_header p[] = {HD(":status", "200")};
    run_out(&r, p, 1, &AFTER_FINAL, &NORM);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, "Received pseudo-header in trailer");
    done_out(&r);
}

Test(outbound, extended_connect_needs_peer_setting)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD(":protocol", "websocket"), HD(":scheme", "https"),
                     HD(":path", "/chat"), HD(":authority", "e")};
    outbound_run r;
    run_out(&r, f, 5, &REQ, &NORM);
    cr_assert_eq(r.rv, H2_EHEADER);
    cr_assert_str_eq(r.info.error, ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL");
    done_out(&r);
    run_out(&r, f, 5, &REQ_XC, &NORM);
    cr_assert_eq(r.rv, 0);
    cr_assert(r.info.has_protocol);
    done_out(&r);
}

Test(outbound, lowercased_block_then_validated)
{
    h2_header f[] = {HD(":method", "GET"), HD(":scheme", "https"), HD(":path", "/"),
                     HD("Host", "example.com"), HD("Accept", "*/*")};
    outbound_run r;
    run_out(&r, f, 5, &REQ, &NORM);
    cr_assert_eq(r.rv, 0, "%s", r.info.error);
    assert_field(&r.out[3], "host", "example.com");
    done_out(&r);
}

Test(outbound, every_uppercase_position_lowercased)
{
    char name[21];
    for (size_t len = 1; len < sizeof(name); len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (char c = 'A'; c <= 'Z'; c += 5) {
                memset(name, 'q', len);
                name[len] = '\0';
                name[pos] = c;
                h2_header f[] = {HD(":status", "200"), hdr(name, "v")};
                outbound_run r;
                run_out(&r, f, 2, &RESP, &NORM);
                cr_assert_eq(r.rv, 0);
                cr_assert_neq(r.out, f, "'%s' not lowercased", name);
                name[pos] = (char)(c | 0x20);
                assert_field(&r.out[1], name, "v");
                done_out(&r);
            }
        }
    }
}

typedef struct out_arg {
    size_t fields;
} out_arg;

static int outbound_scenario(testmem *tm, void *argp)
{
    out_arg *arg = argp;
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, &tm->mem);
    h2_header *f = malloc(arg->fields * sizeof(*f));
    f[0] = hdr(":status", "200");
    for (size_t i = 1; i < arg->fields; i++)
        f[i] = hdr(i % 2 ? "X-Upper-Case-Name-That-Needs-Lowering" : "cookie", "a=1; b=2");
    int bad = 0;
    for (int round = 0; round < 2; round++) {
        const h2_header *out = NULL;
        size_t n = 0;
        h2_block_info info;
        int rv =
            h2_headers_prepare_outbound(f, arg->fields, &RESP, &NORM_SPLIT, &s, &out, &n, &info);
        if (rv == H2_ENOMEM) {
            if (out != NULL)
                bad = 1;
            break;
        }
        size_t cookies = (arg->fields - 1) / 2;
        if (rv != 0 || n != arg->fields + cookies)
            bad = 1;
        else if (!field_is(&out[1], "x-upper-case-name-that-needs-lowering", "a=1; b=2"))
            bad = 1;
    }
    free(f);
    h2_hdr_scratch_free(&s);
    return bad;
}

Test(outbound, allocation_failures_clean)
{
    out_arg arg = {101};
    size_t calls = testmem_sweep(outbound_scenario, &arg);
    cr_assert_geq(calls, 2);
}

/* ======================================================================== */
/* Scratch arena                                                             */
/* ======================================================================== */

Test(scratch, alignment_and_reuse)
{
    testmem tm;
    testmem_init(&tm);
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, &tm.mem);
    uint8_t *a = h2_hdr_scratch_alloc(&s, 3);
    uint8_t *b = h2_hdr_scratch_alloc(&s, 5);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_eq((uintptr_t)b % _Alignof(max_align_t), 0);
    cr_assert_geq(b, a + 3);
    cr_assert_eq(tm.n_alloc, 1);
    h2_hdr_scratch_reset(&s);
    uint8_t *c = h2_hdr_scratch_alloc(&s, 3);
    cr_assert_eq(c, a); /* memory kept */
    cr_assert_eq(tm.n_alloc, 1);
    h2_hdr_scratch_free(&s);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(scratch, growth_keeps_old_chunks_until_reset)
{
    testmem tm;
    testmem_init(&tm);
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, &tm.mem);
    uint8_t *a = h2_hdr_scratch_alloc(&s, 100);
    memset(a, 'a', 100);
    uint8_t *b = h2_hdr_scratch_alloc(&s, 5000);
    cr_assert_not_null(b);
    memset(b, 'b', 5000);
    uint8_t *c = h2_hdr_scratch_alloc(&s, 100000);
    cr_assert_not_null(c);
    memset(c, 'c', 100000);
    cr_assert_eq(tm.live_blocks, 3);
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(a[i], 'a');
    h2_hdr_scratch_reset(&s);
    cr_assert_eq(tm.live_blocks, 1);
    /* The kept chunk is the largest: a big request fits without allocating. */
    size_t before = tm.n_calls;
    cr_assert_not_null(h2_hdr_scratch_alloc(&s, 90000));
    cr_assert_eq(tm.n_calls, before);
    h2_hdr_scratch_free(&s);
    cr_assert_eq(tm.live_blocks, 0);
    cr_assert_null(s.buf);
}

Test(scratch, failure_leaves_arena_usable)
{
    testmem tm;
    testmem_init(&tm);
    h2_hdr_scratch s;
    h2_hdr_scratch_init(&s, &tm.mem);
    uint8_t *a = h2_hdr_scratch_alloc(&s, 10);
    memcpy(a, "0123456789", 10);
    tm.fail_at = tm.n_calls + 1;
    cr_assert_null(h2_hdr_scratch_alloc(&s, 1u << 20));
    cr_assert_eq(memcmp(a, "0123456789", 10), 0);
    cr_assert_not_null(h2_hdr_scratch_alloc(&s, 10)); /* still room in the first chunk */
    cr_assert_null(h2_hdr_scratch_alloc(&s, SIZE_MAX - 8));
    h2_hdr_scratch_free(&s);
    cr_assert_eq(tm.live_blocks, 0);
    h2_hdr_scratch_free(&s); /* twice is fine */
}
