/* H2_HDR / H2_HDR_NEVER_INDEX initializers and h2_header_find(). */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static const h2_header req[] = {
    H2_HDR(":method", "GET"),
    H2_HDR(":scheme", "https"),
    H2_HDR(":authority", "example.com"),
    H2_HDR(":path", "/index"),
    H2_HDR("cookie", "a=1"),
    H2_HDR("accept", "*/*"),
    H2_HDR("cookie", "b=2"),
    H2_HDR_NEVER_INDEX("authorization", "secret"),
};

Test(header_util, macro_lengths_and_bytes)
{
    h2_header h = H2_HDR("content-type", "text/plain");
    cr_assert_eq(h.name_len, 12);
    cr_assert_eq(h.value_len, 10);
    cr_assert(memcmp(h.name, "content-type", 12) == 0);
    cr_assert(memcmp(h.value, "text/plain", 10) == 0);
    cr_assert_eq(h.flags, 0);
    h2_header e = H2_HDR("x-empty", "");
    cr_assert_eq(e.value_len, 0);
    cr_assert_not_null(e.value);
    /* an embedded NUL is part of the value */
    h2_header z = H2_HDR("x-bin", "a\0b");
    cr_assert_eq(z.value_len, 3);
    cr_assert_eq(z.value[2], 'b');
    h2_header ni = (h2_header)H2_HDR_NEVER_INDEX("authorization", "t");
    cr_assert_eq(ni.flags, H2_HEADER_NEVER_INDEX);
    cr_assert_eq(ni.name_len, 13);
}

Test(header_util, find_first_repeated_and_missing)
{
    size_t n = sizeof(req) / sizeof(req[0]);
    const h2_header *p = h2_header_find(req, n, ":path");
    cr_assert_eq(p, &req[3]);
    const h2_header *c1 = h2_header_find(req, n, "cookie");
    cr_assert_eq(c1, &req[4]);
    const h2_header *c2 = h2_header_find(c1 + 1, n - (size_t)(c1 + 1 - req), "cookie");
    cr_assert_eq(c2, &req[6]);
    cr_assert_null(h2_header_find(c2 + 1, n - (size_t)(c2 + 1 - req), "cookie"));
    cr_assert_null(h2_header_find(req, n, "x-missing"));
    /* a prefix or a longer name is not a match */
    cr_assert_null(h2_header_find(req, n, ":pat"));
    cr_assert_null(h2_header_find(req, n, ":paths"));
    /* case-sensitive: names are lowercase in HTTP/2 */
    cr_assert_null(h2_header_find(req, n, "Accept"));
    cr_assert_eq(h2_header_find(req, n, "accept"), &req[5]);
    /* the bound is respected */
    cr_assert_null(h2_header_find(req, 3, ":path"));
}

Test(header_util, find_null_and_empty)
{
    cr_assert_null(h2_header_find(NULL, 3, "a"));
    cr_assert_null(h2_header_find(req, 2, NULL));
    cr_assert_null(h2_header_find(req, 0, ":method"));
    h2_header odd[] = {H2_HDR("", "v")};
    cr_assert_eq(h2_header_find(odd, 1, ""), &odd[0]);
}

/* The macro's fields go through a real exchange and are found on the other side. */
Test(header_util, exchange_with_macro_fields)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(
        h2_conn_send_headers(p.cl, 1, req, sizeof(req) / sizeof(req[0]), H2_SEND_END_STREAM, NULL),
        0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(p.cl, &out);
    const h2_event *ev;
    size_t n_ev;
    cr_assert_eq(h2_conn_receive(p.sv, out.p, out.len, &ev, &n_ev), 0);
    cr_assert_geq(n_ev, 1);
    cr_assert_eq(ev[0].type, H2_EV_REQUEST_RECEIVED);
    const h2_header *f = ev[0].u.headers.fields;
    size_t nf = ev[0].u.headers.n;
    const h2_header *path = h2_header_find(f, nf, ":path");
    cr_assert_not_null(path);
    cr_assert_eq(path->value_len, 6);
    cr_assert(memcmp(path->value, "/index", 6) == 0);
    const h2_header *auth = h2_header_find(f, nf, "authorization");
    cr_assert_not_null(auth);
    cr_assert(auth->flags & H2_HEADER_NEVER_INDEX);
    /* the two cookie fields arrive joined (normalize_inbound_headers) */
    const h2_header *ck = h2_header_find(f, nf, "cookie");
    cr_assert_not_null(ck);
    cr_assert_null(h2_header_find(ck + 1, nf - (size_t)(ck + 1 - f), "cookie"));
    h2t_buf_free(&out);
    h2t_pair_free(&p);
}
