/* Header indexing: never-indexed fields survive a round trip, sensitive fields. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

static uint32_t flags_of(const h2t_ev *e, const char *name)
{
    for (size_t i = 0; i < e->n_hdrs; i++)
        if (strcmp(e->hdrs[i].name, name) == 0)
            return e->hdrs[i].flags;
    cr_assert_fail("no header %s", name);
    return 0;
}

static h2t_ev *request(h2t_pair *p, const h2_header *h, size_t n)
{
    cr_assert_eq(h2_conn_send_headers(p->cl, 1, h, n, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_c2s(p), 0);
    cr_assert_eq(p->sv_log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    return &p->sv_log.ev[0];
}

#define REQ4                                                                                       \
    H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),            \
        H2T_HDR(":path", "/")

Test(conn_indexing, never_index_flag_survives)
{
    static const h2_header h[] = {REQ4, H2T_HDR_NI("x-secret", "s3cr3t"), H2T_HDR("x-plain", "p")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2t_ev *e = request(&p, h, 6);
    cr_assert(flags_of(e, "x-secret") & H2_HEADER_NEVER_INDEX);
    cr_assert_not(flags_of(e, "x-plain") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, authorization_is_never_indexed)
{
    static const h2_header h[] = {REQ4, H2T_HDR("authorization", "Bearer abc")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2t_ev *e = request(&p, h, 5);
    cr_assert(flags_of(e, "authorization") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, proxy_authorization_is_never_indexed)
{
    static const h2_header h[] = {REQ4, H2T_HDR("proxy-authorization", "Basic xyz")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2t_ev *e = request(&p, h, 5);
    cr_assert(flags_of(e, "proxy-authorization") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, short_cookie_is_never_indexed)
{
    static const h2_header h[] = {REQ4, H2T_HDR("cookie", "a=0123456789abcdefg")};
    h2t_pair p;
    h2_conn_config scfg; /* no cookie joining: see how the field was sent */
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.normalize_inbound_headers = false;
    h2t_pair_init(&p, NULL, &scfg);
    h2t_ev *e = request(&p, h, 5);
    cr_assert(flags_of(e, "cookie") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, long_cookie_is_indexable)
{
    static const h2_header h[] = {REQ4, H2T_HDR("cookie", "a=0123456789abcdefgh")};
    h2t_pair p;
    h2_conn_config scfg; /* no cookie joining: see how the field was sent */
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.normalize_inbound_headers = false;
    h2t_pair_init(&p, NULL, &scfg);
    h2t_ev *e = request(&p, h, 5);
    cr_assert_not(flags_of(e, "cookie") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, substring_names_are_not_sensitive)
{
    static const h2_header h[] = {REQ4, H2T_HDR("cook", "1"), H2T_HDR("x-authorization", "1")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2t_ev *e = request(&p, h, 6);
    cr_assert_not(flags_of(e, "cook") & H2_HEADER_NEVER_INDEX);
    cr_assert_not(flags_of(e, "x-authorization") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, normalisation_off_keeps_user_flags_only)
{
    static const h2_header h[] = {REQ4, H2T_HDR("authorization", "Bearer abc"),
                                  H2T_HDR_NI("x-k", "v")};
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.normalize_outbound_headers = false;
    h2t_pair p;
    h2t_pair_init(&p, &cfg, NULL);
    h2t_ev *e = request(&p, h, 6);
    cr_assert_not(flags_of(e, "authorization") & H2_HEADER_NEVER_INDEX);
    cr_assert(flags_of(e, "x-k") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, response_and_trailers_keep_flags)
{
    static const h2_header resp[] = {H2T_HDR(":status", "200"), H2T_HDR_NI("set-cookie", "id=1")};
    static const h2_header tr[] = {H2T_HDR_NI("x-sig", "abc")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    request(&p, h2t_req_get, 4);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, resp, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, tr, 1, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert(flags_of(&p.cl_log.ev[0], "set-cookie") & H2_HEADER_NEVER_INDEX);
    cr_assert(flags_of(&p.cl_log.ev[1], "x-sig") & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, received_cookies_are_joined)
{
    static const h2_header h[] = {REQ4, H2T_HDR("cookie", "a=1"), H2T_HDR("x", "y"),
                                  H2T_HDR("cookie", "b=2")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    h2t_ev *e = request(&p, h, 7);
    cr_assert_eq(e->n_hdrs, 6);
    cr_assert_str_eq(e->hdrs[5].name, "cookie");
    cr_assert_str_eq(e->hdrs[5].value, "a=1; b=2");
    cr_assert(e->hdrs[5].flags & H2_HEADER_NEVER_INDEX);
    h2t_pair_free(&p);
}

Test(conn_indexing, received_cookies_not_joined_without_normalisation)
{
    static const h2_header h[] = {REQ4, H2T_HDR("cookie", "a=1"), H2T_HDR("cookie", "b=2")};
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.normalize_inbound_headers = false;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &scfg);
    h2t_ev *e = request(&p, h, 6);
    cr_assert_eq(e->n_hdrs, 6);
    h2t_pair_free(&p);
}

Test(conn_indexing, split_outbound_cookies)
{
    static const h2_header h[] = {REQ4, H2T_HDR("cookie", "a=1; b=2; c=3")};
    h2_conn_config ccfg;
    h2_conn_config_init(&ccfg, H2_ROLE_CLIENT);
    ccfg.split_outbound_cookies = true;
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.normalize_inbound_headers = false;
    h2t_pair p;
    h2t_pair_init(&p, &ccfg, &scfg);
    h2t_ev *e = request(&p, h, 5);
    cr_assert_eq(e->n_hdrs, 7);
    cr_assert_str_eq(e->hdrs[4].value, "a=1");
    cr_assert_str_eq(e->hdrs[6].value, "c=3");
    h2t_pair_free(&p);
}

Test(conn_indexing, hpack_context_shared_across_streams)
{
    static const h2_header h[] = {REQ4, H2T_HDR("x-repeated", "the same long value each time")};
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h, 5, H2_SEND_END_STREAM, NULL), 0);
    size_t first = h2_conn_output_pending(p.cl);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h, 5, H2_SEND_END_STREAM, NULL), 0);
    size_t second = h2_conn_output_pending(p.cl);
    cr_assert_lt(second, first);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_str_eq(h2t_ev_header(&p.sv_log.ev[0], "x-repeated"), "the same long value each time");
    h2t_pair_free(&p);
}
