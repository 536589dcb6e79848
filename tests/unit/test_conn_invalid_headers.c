/* Header blocks that break RFC 9113 8.2/8.3 rules, at the connection level. */
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

#define MAXF 8

struct bad_block {
    const char *names[MAXF];
    const char *values[MAXF];
};

/* Request blocks that a validating server must reject. */
static struct bad_block bad_requests[] = {
    {{":method", ":scheme", ":authority", ":path", "Upper"}, {"GET", "https", "a", "/", "x"}},
    {{":method", ":scheme", ":authority", ":path", "x"}, {"GET", "https", "a", "/", "a\r\nb"}},
    {{":method", ":scheme", ":authority", ":path", "x"}, {"GET", "https", "a", "/", " lead"}},
    {{":method", ":scheme", ":authority", ":path", "x"}, {"GET", "https", "a", "/", "trail "}},
    {{":method", ":scheme", ":authority", ":path", "x"}, {"GET", "https", "a", "/", "nul\0"}},
    {{":method", ":scheme", ":authority", ":path", "connection"},
     {"GET", "https", "a", "/", "close"}},
    {{":method", ":scheme", ":authority", ":path", "keep-alive"}, {"GET", "https", "a", "/", "1"}},
    {{":method", ":scheme", ":authority", ":path", "transfer-encoding"},
     {"GET", "https", "a", "/", "chunked"}},
    {{":method", ":scheme", ":authority", ":path", "upgrade"}, {"GET", "https", "a", "/", "h2c"}},
    {{":method", ":scheme", ":authority", ":path", "te"}, {"GET", "https", "a", "/", "gzip"}},
    {{":method", ":scheme", ":authority", ":path", ":path"}, {"GET", "https", "a", "/", "/"}},
    {{":method", ":scheme", ":authority", "x", ":path"}, {"GET", "https", "a", "1", "/"}},
    {{":method", ":scheme", ":authority", ":path", ":foo"}, {"GET", "https", "a", "/", "1"}},
    {{":method", ":scheme", ":authority", ":path", ":status"}, {"GET", "https", "a", "/", "200"}},
    {{":scheme", ":authority", ":path"}, {"https", "a", "/"}},
    {{":method", ":authority", ":path"}, {"GET", "a", "/"}},
    {{":method", ":scheme", ":authority"}, {"GET", "https", "a"}},
    {{":method", ":scheme", ":authority", ":path"}, {"GET", "https", "a", ""}},
    {{":method", ":scheme", ":path"}, {"GET", "https", "/"}},
    {{":method", ":scheme", ":authority", ":path", "host"}, {"GET", "https", "a", "/", "b"}},
    {{":method", ":scheme", ":path", "host", "host"}, {"GET", "https", "/", "a", "a"}},
    {{":method", ":authority", ":scheme", ":path"}, {"CONNECT", "a:443", "https", "/"}},
    {{":method", ":scheme", ":authority", ":path", ":protocol"},
     {"GET", "https", "a", "/", "websocket"}},
    {{":method", ":scheme", ":authority", ":path", "na me"}, {"GET", "https", "a", "/", "1"}},
    {{":method", ":scheme", ":authority", ":path", ""}, {"GET", "https", "a", "/", "1"}},
};

static size_t block_fields(const struct bad_block *b, h2_header *out)
{
    size_t n = 0;
    while (n < MAXF && b->names[n] != NULL) {
        out[n].name = (const uint8_t *)b->names[n];
        out[n].name_len = strlen(b->names[n]);
        out[n].value = (const uint8_t *)b->values[n];
        out[n].value_len = strlen(b->values[n]);
        /* a value ending in "\0" carries that NUL */
        if (strcmp(b->values[n], "nul") == 0)
            out[n].value_len = 4;
        out[n].flags = 0;
        n++;
    }
    return n;
}

static int block_index[H2T_N(bad_requests)];

static int *indexes(void)
{
    for (size_t i = 0; i < H2T_N(bad_requests); i++)
        block_index[i] = (int)i;
    return block_index;
}

ParameterizedTestParameters(conn_invalid_headers, rejected_requests)
{
    return cr_make_param_array(int, indexes(), H2T_N(bad_requests));
}

ParameterizedTest(int *idx, conn_invalid_headers, rejected_requests)
{
    const struct bad_block *b = &bad_requests[*idx];
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2_header f[MAXF];
    size_t n = block_fields(b, f);
    h2t_f_headers(&ff, &in, 1, 0x5, f, n);
    /* a valid request after it still works: HPACK stayed in sync */
    h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    cr_assert_eq(r.log.ev[0].stream_id, 3);
    h2t_result_free(&r);

    /* with validation off the same block is delivered */
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.validate_inbound_headers = false;
    h2t_replay_ok(h2t_setup_server, &cfg, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_eq(h2t_log_count(&r.log, H2_EV_REQUEST_RECEIVED), 2);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

ParameterizedTestParameters(conn_invalid_headers, refused_on_send)
{
    return cr_make_param_array(int, indexes(), H2T_N(bad_requests));
}

ParameterizedTest(int *idx, conn_invalid_headers, refused_on_send)
{
    const struct bad_block *b = &bad_requests[*idx];
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.normalize_outbound_headers = false;
    h2_conn *c = h2t_client_ready(&cfg);
    h2_header f[MAXF];
    size_t n = block_fields(b, f);
    cr_assert_eq(h2_conn_send_headers(c, 1, f, n, H2_SEND_END_STREAM, NULL), H2_EHEADER);
    cr_assert_eq(h2_conn_output_pending(c), 0);
    cr_assert_eq(h2_conn_open_outbound_streams(c), 0);
    cr_assert_eq(h2_conn_next_stream_id(c), 1);
    /* the encoder is untouched: a good request still decodes on a fresh peer */
    cr_assert_eq(h2t_send_get(c, 1, true), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    h2_conn *s = h2t_server_ready(NULL);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(s, out.p, out.len, &log), 0);
    cr_assert_eq(log.n, 2);
    cr_assert_eq(log.ev[0].type, H2_EV_REQUEST_RECEIVED);
    h2t_log_free(&log);
    h2t_buf_free(&out);
    h2_conn_free(s);
    h2_conn_free(c);
}

Test(conn_invalid_headers, te_trailers_allowed)
{
    static const h2_header h[] = {
        H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"),     H2T_HDR("te", "trailers"),
    };
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, h, 5);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.out.len, 0);
    cr_assert_str_eq(h2t_ev_header(&r.log.ev[0], "te"), "trailers");
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_invalid_headers, pseudo_header_in_trailers)
{
    static const h2_header tr[] = {H2T_HDR(":path", "/")};
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x4, h2t_req_post, 4);
    h2t_f_headers(&ff, &in, 1, 0x5, tr, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    cr_assert_eq(r.log.n, 2);
    cr_assert_eq(r.log.ev[1].type, H2_EV_STREAM_RESET);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_invalid_headers, response_without_status)
{
    static const h2_header resp[] = {H2T_HDR("server", "x")};
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, resp, 1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_invalid_headers, response_with_request_pseudo_headers)
{
    static const h2_header resp[] = {H2T_HDR(":status", "200"), H2T_HDR(":method", "GET")};
    h2t_ff ff;
    h2t_ff_init(&ff);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_headers(&ff, &in, 1, 0x5, resp, 2);
    h2t_result r;
    h2t_replay_ok(h2t_setup_client_get, NULL, &in, &r);
    h2t_expect_rst(&r.out, 1, H2_PROTOCOL_ERROR);
    h2t_result_free(&r);
    h2t_buf_free(&in);
    h2t_ff_free(&ff);
}

Test(conn_invalid_headers, outbound_connection_headers_dropped_when_normalizing)
{
    static const h2_header h[] = {
        H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),    H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"),     H2T_HDR("connection", "close"), H2T_HDR("keep-alive", "5"),
        H2T_HDR("x-ok", "1"),
    };
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h, 7, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(p.sv_log.ev[0].n_hdrs, 5);
    cr_assert_null(h2t_ev_header(&p.sv_log.ev[0], "connection"));
    cr_assert_str_eq(h2t_ev_header(&p.sv_log.ev[0], "x-ok"), "1");
    h2t_pair_free(&p);
}

Test(conn_invalid_headers, outbound_uppercase_lowered_when_normalizing)
{
    static const h2_header h[] = {
        H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"),     H2T_HDR("X-Custom", "v"),
    };
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h, 5, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_str_eq(h2t_ev_header(&p.sv_log.ev[0], "x-custom"), "v");
    h2t_pair_free(&p);
}

Test(conn_invalid_headers, outbound_validation_off_sends_anything)
{
    static const h2_header h[] = {
        H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"),     H2T_HDR("Bad Name", "v"),
    };
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.validate_outbound_headers = false;
    cfg.normalize_outbound_headers = false;
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.validate_inbound_headers = false;
    h2t_pair p;
    h2t_pair_init(&p, &cfg, &scfg);
    cr_assert_eq(h2_conn_send_headers(p.cl, 1, h, 5, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_str_eq(h2t_ev_header(&p.sv_log.ev[0], "Bad Name"), "v");
    h2t_pair_free(&p);
}

/* HPACK integer with an |prefix|-bit prefix and the given first-byte flags. */
static void put_int(h2t_buf *b, uint8_t flags, int prefix, size_t v)
{
    size_t max = ((size_t)1 << prefix) - 1;
    if (v < max) {
        uint8_t c = (uint8_t)(flags | v);
        h2t_buf_put(b, &c, 1);
        return;
    }
    uint8_t c = (uint8_t)(flags | max);
    h2t_buf_put(b, &c, 1);
    v -= max;
    while (v >= 128) {
        c = (uint8_t)(0x80 | (v & 0x7f));
        h2t_buf_put(b, &c, 1);
        v >>= 7;
    }
    c = (uint8_t)v;
    h2t_buf_put(b, &c, 1);
}

/* A request block whose list size is |refs| + 1 times a 4000-byte entry. */
static void bomb_block(h2t_buf *blk, int refs)
{
    static char val[4000];
    memset(val, 'a', sizeof(val));
    h2t_buf_put(blk,
                "\x82\x87\x84\x01\x01"
                "a",
                6);           /* GET, https, /, :authority a */
    put_int(blk, 0x40, 6, 0); /* literal, incremental indexing, new name */
    put_int(blk, 0, 7, 6);
    h2t_buf_put(blk, "x-bomb", 6);
    put_int(blk, 0, 7, sizeof(val));
    h2t_buf_put(blk, val, sizeof(val));
    for (int i = 0; i < refs; i++)
        h2t_buf_put(blk, "\xbe", 1);
}

Test(conn_invalid_headers, hpack_bomb_is_enhance_your_calm)
{
    h2t_buf in, blk;
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
    bomb_block(&blk, 20);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
    h2t_replay_conn_error(h2t_setup_server, NULL, &in, H2_ENHANCE_YOUR_CALM);
    h2t_buf_free(&blk);
    h2t_buf_free(&in);
}

Test(conn_invalid_headers, header_list_under_limit_is_fine)
{
    h2t_buf in, blk;
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
    /* 16 x 4038 = 64608 bytes, plus the pseudo-headers: still under 65536 */
    bomb_block(&blk, 14);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
    h2t_result r;
    h2t_replay_ok(h2t_setup_server, NULL, &in, &r);
    cr_assert_eq(r.log.ev[0].n_hdrs, 19);
    h2t_result_free(&r);
    h2t_buf_free(&blk);
    h2t_buf_free(&in);
}

Test(conn_invalid_headers, lower_local_limit_after_ack)
{
    h2t_buf in, blk;
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
    bomb_block(&blk, 0);
    h2_conn *c = h2t_server_ready(NULL);
    h2_setting e = {H2_SETTING_MAX_HEADER_LIST_SIZE, 1000};
    cr_assert_eq(h2_conn_update_settings(c, &e, 1), 0);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
    /* not yet acknowledged: accepted */
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf_free(&in);
    h2t_f_settings(&in, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf_free(&in);
    h2t_buf_free(&blk);
    h2t_buf_put(&blk,
                "\x82\x87\x84\x01\x01"
                "a\xbe",
                7); /* refers to the 4000-byte entry */
    h2t_f_headers_raw(&in, 3, 0x5, blk.p, blk.len, 0, 0, false, -1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(c).code, H2_ENHANCE_YOUR_CALM);
    h2t_buf_free(&blk);
    h2t_buf_free(&in);
    h2_conn_free(c);
}
