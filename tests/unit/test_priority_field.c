/* RFC 9218 priority field values: parser, header-list helper, formatter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static int parse(const char *v, h2_priority *p)
{
    p->urgency = 99;
    p->incremental = true;
    return h2_priority_parse((const uint8_t *)v, strlen(v), p);
}

static void expect(const char *v, int rv, unsigned u, bool i)
{
    h2_priority p;
    cr_assert_eq(parse(v, &p), rv, "\"%s\": rv", v);
    cr_assert_eq(p.urgency, u, "\"%s\": urgency %u", v, p.urgency);
    cr_assert_eq(p.incremental, i, "\"%s\": incremental", v);
}

Test(priority_field, empty_is_defaults)
{
    expect("", 0, 3, false);
    expect("   ", 0, 3, false);
}

Test(priority_field, urgency_values)
{
    for (unsigned u = 0; u <= 7; u++) {
        char v[8];
        snprintf(v, sizeof v, "u=%u", u);
        expect(v, 0, u, false);
    }
}

Test(priority_field, incremental_forms)
{
    expect("i", 0, 3, true);
    expect("i=?1", 0, 3, true);
    expect("i=?0", 0, 3, false);
    expect("u=5, i", 0, 5, true);
    expect("i, u=1", 0, 1, true);
}

Test(priority_field, out_of_range_and_wrong_types_ignored)
{
    expect("u=8", 0, 3, false);
    expect("u=-1", 0, 3, false);
    expect("u=1.5", 0, 3, false);
    expect("u=?1", 0, 3, false);
    expect("u=\"1\"", 0, 3, false);
    expect("u=abc", 0, 3, false);
    expect("i=1", 0, 3, false);
    expect("i=\"yes\"", 0, 3, false);
    expect("u=(1 2)", 0, 3, false);
}

Test(priority_field, unknown_keys_and_params_ignored)
{
    expect("x=1, u=2", 0, 2, false);
    expect("u=2;a=1;b, visible, i;q=?0", 0, 2, true);
    expect("*foo=:aGVsbG8=:, u=6", 0, 6, false);
    expect("a=(\"x\" y;z=1 2.5);p, u=0", 0, 0, false);
    expect("k=\"esc\\\"aped\\\\\", u=4", 0, 4, false);
}

Test(priority_field, last_member_wins)
{
    expect("u=1, u=6", 0, 6, false);
    expect("u=1, u=9", 0, 3, false); /* the last value is out of range */
    expect("i, i=?0", 0, 3, false);
}

Test(priority_field, whitespace_rules)
{
    expect("  u=2  ", 0, 2, false);
    expect("u=2,i", 0, 2, true);
    expect("u=2 ,\ti", 0, 2, true);
    expect("u = 2", H2_EHEADER, 3, false);
    expect("u= 2", H2_EHEADER, 3, false);
}

Test(priority_field, malformed_gives_defaults)
{
    const char *bad[] = {
        "u=2,",     "u=2,,i",     ",u=2",    "U=2",        "u=2 i",
        "u=",       "u=-",        "u=1.",    "u=1.2345",   "u=1234567890123456",
        "u=\"open", "u=\"\x01\"", "u=:abc",  "u=?2",       "1=u",
        "u=(1",     "u=2;",       "u=2;A=1", "u=\"a\\b\"", "u=@1",
        "i=?",      "u=2 ;a",
    };
    for (size_t k = 0; k < H2T_N(bad); k++)
        expect(bad[k], H2_EHEADER, 3, false);
}

Test(priority_field, decimal_and_big_integers_are_valid_but_ignored)
{
    expect("u=123456789012345", 0, 3, false);
    expect("u=123456789012.123", 0, 3, false);
    expect("u=-0", 0, 0, false);
}

Test(priority_field, bad_arguments)
{
    h2_priority p = {1, true};
    cr_assert_eq(h2_priority_parse(NULL, 1, &p), H2_EINVAL);
    cr_assert_eq(p.urgency, 1);
    cr_assert_eq(h2_priority_parse((const uint8_t *)"u=1", 3, NULL), H2_EINVAL);
    cr_assert_eq(h2_priority_parse(NULL, 0, &p), 0);
    cr_assert_eq(p.urgency, 3);
}

Test(priority_field, every_prefix_parses_without_reading_past_it)
{
    const char *v = "u=5;q=\"x\", i=?1, k=(a b);c=:YQ==:, z=1.25";
    size_t n = strlen(v);
    for (size_t len = 0; len <= n; len++) {
        char *copy = malloc(len > 0 ? len : 1);
        memcpy(copy, v, len);
        h2_priority p;
        int rv = h2_priority_parse((const uint8_t *)copy, len, &p);
        cr_assert(rv == 0 || rv == H2_EHEADER);
        if (rv == H2_EHEADER)
            cr_assert(p.urgency == 3 && !p.incremental);
        free(copy);
    }
    expect(v, 0, 5, true);
}

Test(priority_field, from_headers)
{
    h2_header f[] = {
        H2T_HDR(":method", "GET"),
        H2T_HDR("priority", "u=1"),
        H2T_HDR("x-other", "u=7"),
        H2T_HDR("priority", "i"),
    };
    h2_priority p;
    cr_assert_eq(h2_priority_from_headers(f, 4, &p), 0);
    cr_assert_eq(p.urgency, 1);
    cr_assert(p.incremental);
    cr_assert_eq(h2_priority_from_headers(f, 1, &p), 0);
    cr_assert_eq(p.urgency, 3);
    cr_assert(!p.incremental);
}

Test(priority_field, from_headers_later_line_overrides_and_errors)
{
    h2_header f[] = {H2T_HDR("priority", "u=1, i"), H2T_HDR("priority", "u=6")};
    h2_priority p;
    cr_assert_eq(h2_priority_from_headers(f, 2, &p), 0);
    cr_assert_eq(p.urgency, 6);
    cr_assert(p.incremental);
    h2_header g[] = {H2T_HDR("priority", "u=1"), H2T_HDR("priority", "")};
    cr_assert_eq(h2_priority_from_headers(g, 2, &p), H2_EHEADER);
    cr_assert_eq(p.urgency, 3);
    h2_header h[] = {H2T_HDR("priority", "u=1"), H2T_HDR("priority", "u=2,")};
    cr_assert_eq(h2_priority_from_headers(h, 2, &p), H2_EHEADER);
    h2_header one_empty[] = {H2T_HDR("priority", "")};
    cr_assert_eq(h2_priority_from_headers(one_empty, 1, &p), 0);
    cr_assert_eq(h2_priority_from_headers(NULL, 1, &p), H2_EINVAL);
}

Test(priority_field, format)
{
    char buf[16];
    h2_priority p = {3, false};
    cr_assert_eq(h2_priority_format(&p, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "");
    p.urgency = 0;
    cr_assert_eq(h2_priority_format(&p, buf, sizeof buf), 3);
    cr_assert_str_eq(buf, "u=0");
    p.incremental = true;
    cr_assert_eq(h2_priority_format(&p, buf, sizeof buf), 6);
    cr_assert_str_eq(buf, "u=0, i");
    p.urgency = 3;
    cr_assert_eq(h2_priority_format(&p, buf, sizeof buf), 1);
    cr_assert_str_eq(buf, "i");
    p.urgency = 0;
    cr_assert_eq(h2_priority_format(&p, buf, 6), H2_ENOBUFS);
    cr_assert_eq(h2_priority_format(&p, buf, 7), 6);
    p.urgency = 8;
    cr_assert_eq(h2_priority_format(&p, buf, sizeof buf), H2_EINVAL);
}

Test(priority_field, format_parse_round_trip)
{
    for (unsigned u = 0; u <= 7; u++) {
        for (int i = 0; i < 2; i++) {
            h2_priority p = {(uint8_t)u, i != 0}, q;
            char buf[16];
            int n = h2_priority_format(&p, buf, sizeof buf);
            cr_assert_geq(n, 0);
            cr_assert_eq(h2_priority_parse((const uint8_t *)buf, (size_t)n, &q), 0);
            cr_assert_eq(q.urgency, u);
            cr_assert_eq(q.incremental, i != 0);
        }
    }
}
