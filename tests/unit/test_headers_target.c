/*
 * Request-target rules (RFC 9113 8.3.1) on the paths the checks take for
 * speed: the common methods, and userinfo in :authority at every length
 * and position (word-wise scanning from 8 bytes on).
 */
#include "test_headers_util.h"

static int check_request(const char *method, const char *authority, h2_block_info *info)
{
    h2_header f[] = {hdr(":method", method), hdr(":scheme", "https"),
                     hdr(":authority", authority), hdr(":path", "/")};
    return check(f, 4, &REQ, true, info);
}

Test(target, userinfo_found_at_every_position)
{
    char a[41];
    for (size_t len = 1; len < sizeof(a); len++) {
        for (size_t at = 0; at < len; at++) {
            memset(a, 'a', len);
            a[len] = '\0';
            a[at] = '@';
            h2_block_info info;
            cr_assert_eq(check_request("GET", a, &info), H2_EHEADER, "len %zu at %zu", len, at);
            cr_assert_str_eq(info.error, "Invalid :authority for http(s): userinfo present");
        }
        memset(a, 'a', len);
        a[len] = '\0';
        h2_block_info info;
        cr_assert_eq(check_request("GET", a, &info), 0, "len %zu without '@'", len);
    }
}

Test(target, bytes_near_at_are_not_userinfo)
{
    /* '@' is 0x40: its neighbours and the bytes that differ in one bit pass */
    static const char *const ok[] = {"a?b.example.com:443", "aAb.example.com:443",
                                     "a`b.example.com:443", "a\xc0" "b.example.com:443"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        h2_block_info info;
        cr_assert_eq(check_request("GET", ok[i], &info), 0, "%s: %s", ok[i],
                     info.error ? info.error : "");
    }
}

Test(target, methods)
{
    static const char *const tokens[] = {"GET", "POST", "get", "GETS", "POS", "PUT", "M-SEARCH"};
    static const char *const others[] = {"GE T", "GET;", "POST/", "P\"ST", "G\x80T"};
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        h2_block_info info;
        cr_assert_eq(check_request(tokens[i], "a.example", &info), 0, "%s", tokens[i]);
    }
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        h2_block_info info;
        cr_assert_eq(check_request(others[i], "a.example", &info), H2_EHEADER, "%s", others[i]);
        cr_assert_str_eq(info.error, "Invalid :method: not a token");
    }
}
