/*
 * Header-block rules, normalisation: inbound cookie joining, outbound
 * normalisation and validation, and the scratch arena.
 */
#include "test_headers_util.h"

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
