/*
 * Header-block rules, inbound: h2's invalid blocks, classification,
 * CONNECT and extended CONNECT, character rules (RFC 9113 8.2.1) and
 * content-length parsing.
 */
#include "test_headers_util.h"

/* ======================================================================== */
/* h2's invalid inbound blocks                                               */
/* ======================================================================== */

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
            cr_assert_str_eq(info.error, "Invalid :status: must be 3 digits from 100 to 999");
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
    expect_err(f, 2, &REQ, "CONNECT request without :authority");
}

Test(connect, ordinary_connect_without_authority)
{
    h2_header f[] = {HD(":method", "CONNECT")};
    expect_err(f, 1, &REQ, "CONNECT request without :authority");
}

Test(connect, ordinary_connect_with_authority_and_host)
{
    h2_header f[] = {HD(":method", "CONNECT"), HD(":authority", "example.com:443"),
                     HD("host", "example.com:443")};
    expect_ok(f, 3, &REQ);
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
    /* Lengths 1..40 cover the byte, 4-byte, 8-byte and 16-byte scanning paths. */
    uint8_t name[40];
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
    uint8_t v[40];
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
