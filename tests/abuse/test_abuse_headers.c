/*
 * Header abuse (SECURITY.md rows 6, 10, 11, 12, 17): empty fields, the
 * CONTINUATION flood, HPACK bombs, table-size abuse and large header lists.
 * Raw HPACK blocks are built by hand so that the exact frame and field at
 * which a limit trips is known.
 */
#include <stdio.h>
#include "abuse/abuse_util.h"

static h2t_ff ff;
static h2t_buf in, blk;

static void setup(void)
{
    h2t_ff_init(&ff);
    h2t_buf_init(&in);
    h2t_buf_init(&blk);
}

static void teardown(void)
{
    h2t_buf_free(&in);
    h2t_buf_free(&blk);
    h2t_ff_free(&ff);
}

TestSuite(abuse_headers, .init = setup, .fini = teardown);

/* The four request pseudo-fields from the static table: GET https / (authority literal). */
static void request_start(h2t_buf *b)
{
    static const uint8_t start[] = {0x82, 0x87, 0x84, 0x01, 0x01, 'a'};
    h2t_buf_put(b, start, sizeof(start));
}

/* A literal field without indexing, new name: |name| = |value|. */
static void literal(h2t_buf *b, const char *name, size_t vlen, char fill)
{
    size_t nlen = strlen(name);
    uint8_t h[2] = {0x00, (uint8_t)nlen};
    h2t_buf_put(b, h, 2);
    h2t_buf_put(b, name, nlen);
    /* value length as an HPACK integer with a 7-bit prefix */
    uint8_t len[6];
    size_t k = 0;
    if (vlen < 127) {
        len[k++] = (uint8_t)vlen;
    } else {
        len[k++] = 127;
        size_t v = vlen - 127;
        while (v >= 128) {
            len[k++] = (uint8_t)(v % 128 + 128);
            v /= 128;
        }
        len[k++] = (uint8_t)v;
    }
    h2t_buf_put(b, len, k);
    uint8_t *p = h2t_buf_grow(b, vlen);
    memset(p, fill, vlen);
    b->len += vlen;
}

static h2_conn *server(testmem *tm, h2_conn_config *cfg0)
{
    h2_conn_config cfg = cfg0 != NULL ? *cfg0 : ab_server_cfg(NULL);
    if (tm != NULL)
        cfg.mem = &tm->mem;
    return h2t_server_ready(&cfg);
}

/* Feeds |in| whole and byte by byte to fresh servers; returns the trace of the byte run. */
static void feed_both(h2_conn_config *cfg, ab_trace *whole, ab_trace *bytes, h2t_buf *out_whole)
{
    for (size_t step = 0; step < 2; step++) {
        h2_conn *c = server(NULL, cfg);
        ab_trace *t = step == 0 ? whole : bytes;
        ab_trace_init(t);
        ab_feed(c, in.p, in.len, step, t);
        if (step == 0 && out_whole != NULL)
            h2t_take(c, out_whole);
        h2_conn_free(c);
    }
}

/* ---- row 10: CONTINUATION flood ------------------------------------------------- */

/* HEADERS + 8 CONTINUATIONs are accepted; the 9th CONTINUATION ends the
 * connection, whole and byte by byte (count complete frames only). */
Test(abuse_headers, row10_ninth_continuation)
{
    request_start(&blk);
    h2_conn_config cfg = ab_server_cfg(NULL);
    /* accepted: 8 CONTINUATIONs, the last one ends the block */
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, 1, 0, 0, false, -1);
    for (size_t i = 0; i < 7; i++)
        h2t_f_continuation(&in, 1, 0, blk.p + 1 + i, i < 5 ? 1 : 0);
    h2t_f_continuation(&in, 1, 0x4, blk.p + 6, blk.len - 6);
    ab_trace tw, tb;
    feed_both(&cfg, &tw, &tb, NULL);
    cr_assert_eq(tw.rv, 0);
    cr_assert_eq(tb.rv, 0);
    cr_assert_eq(tw.requests, 1);
    cr_assert_eq(tb.requests, 1);
    /* the 9th CONTINUATION, even empty, is one too many */
    h2t_buf_free(&in);
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, 1, 0, 0, false, -1);
    for (int i = 0; i < 8; i++)
        h2t_f_continuation(&in, 1, 0, NULL, 0);
    size_t before_last = in.len;
    h2t_f_continuation(&in, 1, 0x4, blk.p + 1, blk.len - 1);
    h2t_buf out;
    h2t_buf_init(&out);
    feed_both(&cfg, &tw, &tb, &out);
    cr_assert_eq(tw.rv, H2_EPROTO);
    cr_assert_eq(tb.rv, H2_EPROTO);
    cr_assert_eq(tw.last_limit, H2_LIMIT_CONTINUATION_FRAMES);
    cr_assert_eq(tb.last_limit, H2_LIMIT_CONTINUATION_FRAMES);
    /* byte by byte, it trips on the last byte of the 9th CONTINUATION: one
     * call per byte up to the end of the input */
    cr_assert_eq(tb.calls, in.len, "calls %zu, before %zu", tb.calls, before_last);
    ab_expect_goaway_debug(&out, H2_ENHANCE_YOUR_CALM, "continuation_frames");
    h2t_buf_free(&out);
}

/* HEADERS + 1 MiB of CONTINUATION junk: cut off by the encoded-block cap
 * (144 KiB by default) with memory bounded by it. */
Test(abuse_headers, row10_continuation_bytes_capped)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_continuation_frames = 1000; /* let the byte cap act */
    testmem tm;
    testmem_init(&tm);
    h2_conn *c = server(&tm, &cfg);
    uint8_t junk[16384];
    memset(junk, 0xff, sizeof(junk));
    h2t_f_headers_raw(&in, 1, 0x1, junk, sizeof(junk), 0, 0, false, -1);
    for (int i = 0; i < 63; i++)
        h2t_f_continuation(&in, 1, 0, junk, sizeof(junk));
    ab_trace t;
    ab_trace_init(&t);
    /* fed in 16 KiB pieces as from a socket */
    cr_assert_eq(ab_feed(c, in.p, in.len, 16384, &t), H2_EPROTO);
    cr_assert_eq(t.last_limit, H2_LIMIT_HEADER_BLOCK_SIZE);
    /* 2 * 64 KiB + 16 KiB = 147456 bytes: the 10th frame is too many */
    cr_assert_eq(ab_stats(c).frames_received, 2 + 10);
    cr_assert_lt(tm.peak_bytes, 400 * 1024, "peak %zu", tm.peak_bytes);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    ab_expect_goaway_debug(&out, H2_ENHANCE_YOUR_CALM, "header_block_size");
    h2t_buf_free(&out);
    h2_conn_free(c);
}

/* ---- row 11: HPACK bomb -------------------------------------------------------------- */

/* A 4000-byte entry in the dynamic table, then |refs| one-byte references to it. */
static void bomb(size_t refs)
{
    h2t_buf_free(&blk);
    request_start(&blk);
    static const uint8_t add[] = {0x40, 0x01, 'x'};
    h2t_buf_put(&blk, add, sizeof(add));
    uint8_t len[3] = {0x7f, (uint8_t)((4000 - 127) % 128 + 128), (uint8_t)((4000 - 127) / 128)};
    h2t_buf_put(&blk, len, 3);
    uint8_t *p = h2t_buf_grow(&blk, 4000);
    memset(p, 'v', 4000);
    blk.len += 4000;
    for (size_t i = 0; i < refs; i++) {
        uint8_t r = 0xbe; /* index 62: the newest dynamic entry */
        h2t_buf_put(&blk, &r, 1);
    }
}

/* 2000 references would decode to 8 MB: past the list size at the 16th
 * field nothing more is kept, and the 1001st field ends the connection. */
Test(abuse_headers, row11_hpack_bomb_2000)
{
    bomb(2000);
    (void)0;
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
    testmem tm;
    testmem_init(&tm);
    h2_conn *c = server(&tm, NULL);
    size_t base = tm.live_bytes;
    ab_trace t;
    ab_trace_init(&t);
    cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), H2_EPROTO);
    /* the hard field count (1000) comes first, as every field is counted */
    cr_assert_eq(t.last_limit, H2_LIMIT_HEADER_FIELDS_HARD);
    cr_assert_eq(t.requests, 0);
    cr_assert_lt(tm.peak_bytes - base, 1024 * 1024, "grew %zu", tm.peak_bytes - base);
    h2_conn_free(c);
}

/* With a list size that allows it, 1000 fields pass the hard limit and 1001
 * do not: GOAWAY(COMPRESSION_ERROR), decoding stops at once. */
Test(abuse_headers, row11_hard_field_count)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_header_list_size = 16u << 20;
    cfg.max_header_block_size = 1u << 20;
    cfg.max_continuation_frames = 100;
    cfg.max_header_fields = 2000; /* soft limit out of the way */
    for (int k = 0; k < 2; k++) {
        h2t_buf_free(&blk);
        h2t_buf_free(&in);
        /* request_start gives 4 fields, the literal 1: 995 or 996 references */
        bomb(k == 0 ? 995 : 996);
        h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
        ab_trace tw, tb;
        h2t_buf out;
        h2t_buf_init(&out);
        feed_both(&cfg, &tw, &tb, &out);
        if (k == 0) {
            cr_assert_eq(tw.rv, 0, "%d", tw.last_limit);
            cr_assert_eq(tw.requests, 1);
            cr_assert_eq(tb.requests, 1);
        } else {
            cr_assert_eq(tw.rv, H2_EPROTO);
            cr_assert_eq(tb.rv, H2_EPROTO);
            cr_assert_eq(tw.last_limit, H2_LIMIT_HEADER_FIELDS_HARD);
            ab_expect_goaway_debug(&out, H2_COMPRESSION_ERROR, "header_fields_hard");
        }
        h2t_buf_free(&out);
    }
}

/* Row 11/17 soft limit: 100 fields pass, 101 reset the stream (and the
 * connection lives on; the HPACK state stays in sync). */
Test(abuse_headers, row17_soft_field_count)
{
    for (int k = 0; k < 2; k++) {
        h2t_buf_free(&blk);
        h2t_buf_free(&in);
        request_start(&blk);
        for (int i = 0; i < 96 + k; i++) {
            char name[16];
            snprintf(name, sizeof(name), "x-f%d", i);
            literal(&blk, name, 3, 'v');
        }
        h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
        h2t_ff_free(&ff);
        h2t_ff_init(&ff);
        h2t_f_headers(&ff, &in, 3, 0x5, h2t_req_get, 4);
        h2t_result res;
        h2t_replay(h2t_setup_server, NULL, in.p, in.len, &res);
        cr_assert_eq(res.rv, 0, "%s", h2_conn_last_error(res.conn).message);
        size_t req = h2t_log_count(&res.log, H2_EV_REQUEST_RECEIVED);
        h2_conn_stats s = ab_stats(res.conn);
        if (k == 0) {
            cr_assert_eq(req, 2);
            cr_assert_eq(res.out.len, 0);
        } else {
            cr_assert_eq(req, 1); /* only stream 3 */
            h2t_expect_rst(&res.out, 1, H2_ENHANCE_YOUR_CALM);
            cr_assert_eq(s.limit_exceeded[H2_LIMIT_HEADER_FIELDS], 1);
            cr_assert_eq(h2t_log_count(&res.log, H2_EV_LIMIT_EXCEEDED), 1);
            cr_assert_eq(h2t_log_find(&res.log, H2_EV_LIMIT_EXCEEDED, 0)->stream_id, 1);
            cr_assert_eq(s.glitches, 1);
        }
        h2t_result_free(&res);
    }
}

/* Row 17: one 70 KiB cookie is over the field and list size: GOAWAY. */
Test(abuse_headers, row17_single_huge_field)
{
    request_start(&blk);
    literal(&blk, "cookie", 70 * 1024, 'c');
    h2t_f_headers_raw(&in, 1, 0x1, blk.p, 16384, 0, 0, false, -1);
    size_t pos = 16384;
    while (pos < blk.len) {
        size_t n = blk.len - pos < 16384 ? blk.len - pos : 16384;
        h2t_f_continuation(&in, 1, pos + n == blk.len ? 0x4 : 0, blk.p + pos, n);
        pos += n;
    }
    ab_trace tw, tb;
    h2t_buf out;
    h2t_buf_init(&out);
    h2_conn_config cfg = ab_server_cfg(NULL);
    feed_both(&cfg, &tw, &tb, &out);
    cr_assert_eq(tw.rv, H2_EPROTO);
    cr_assert_eq(tb.rv, H2_EPROTO);
    cr_assert_eq(tw.last_limit, H2_LIMIT_HEADER_FIELD_SIZE);
    ab_expect_goaway_debug(&out, H2_ENHANCE_YOUR_CALM, "header_field_size");
    h2t_buf_free(&out);
}

/* Row 17: a separate field-size cap below the list size. */
Test(abuse_headers, row17_field_size_configurable)
{
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_header_field_size = 1000;
    for (int k = 0; k < 2; k++) {
        h2t_buf_free(&blk);
        h2t_buf_free(&in);
        request_start(&blk);
        literal(&blk, "x-big", 1000 + (size_t)k, 'b');
        h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
        ab_trace tw, tb;
        feed_both(&cfg, &tw, &tb, NULL);
        cr_assert_eq(tw.rv, k == 0 ? 0 : H2_EPROTO);
        cr_assert_eq(tb.rv, k == 0 ? 0 : H2_EPROTO);
        if (k == 1)
            cr_assert_eq(tb.last_limit, H2_LIMIT_HEADER_FIELD_SIZE);
    }
}

/* ---- row 6: empty names ------------------------------------------------------------------ */

/* Empty-name requests: 1000 requests with |fields| fields `00 00 00`
 * (literal, empty name, empty value). Each is rejected, no request reaches
 * the application, memory returns to where it was. */
static void empty_fields(int fields, uint32_t code)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn *c = server(&tm, NULL);
    size_t live = 0;
    for (uint32_t r = 0; r < 1000; r++) {
        h2t_buf_free(&blk);
        h2t_buf_free(&in);
        request_start(&blk);
        for (int i = 0; i < fields; i++) {
            static const uint8_t empty[] = {0x00, 0x00, 0x00};
            h2t_buf_put(&blk, empty, 3);
        }
        h2t_f_headers_raw(&in, 1 + 2 * r, 0x5, blk.p, blk.len, 0, 0, false, -1);
        ab_trace t;
        ab_trace_init(&t);
        cr_assert_eq(ab_feed(c, in.p, in.len, 0, &t), 0);
        cr_assert_eq(t.requests, 0);
        h2t_buf out;
        h2t_buf_init(&out);
        h2t_take(c, &out);
        h2t_expect_rst(&out, 1 + 2 * r, code);
        h2t_buf_free(&out);
        h2_conn_release_events(c);
        if (r == 10)
            live = tm.live_bytes;
    }
    /* the closed-stream record may grow by a few bytes per 4 streams */
    cr_assert_leq(tm.live_bytes, live + 1024, "%zu > %zu", tm.live_bytes, live);
    cr_assert_eq(ab_stats(c).glitches, 1000);
    h2_conn_free(c);
}

/* Row 6: 50 empty fields: a malformed request, RST_STREAM(PROTOCOL_ERROR). */
Test(abuse_headers, row6_empty_fields)
{
    empty_fields(50, H2_PROTOCOL_ERROR);
}

/* Row 6 as in the table: 1000 empty fields per request, past the soft
 * field count: RST_STREAM(ENHANCE_YOUR_CALM). */
Test(abuse_headers, row6_thousand_empty_fields)
{
    empty_fields(996, H2_ENHANCE_YOUR_CALM);
}

/* ---- row 12: HPACK table size ------------------------------------------------------------- */

Test(abuse_headers, row12_table_size_update_above_ours)
{
    static const uint8_t upd[] = {0x3f, 0xe1, 0x7f}; /* size update 16384 */
    h2t_buf_put(&blk, upd, sizeof(upd));
    request_start(&blk);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
    ab_trace tw, tb;
    h2t_buf out;
    h2t_buf_init(&out);
    h2_conn_config cfg = ab_server_cfg(NULL);
    feed_both(&cfg, &tw, &tb, &out);
    cr_assert_eq(tw.rv, H2_EPROTO);
    cr_assert_eq(tb.rv, H2_EPROTO);
    cr_assert_eq(tw.last_limit, H2_LIMIT_HPACK_TABLE_SIZE);
    ab_expect_goaway_debug(&out, H2_COMPRESSION_ERROR, "hpack_table_size");
    h2t_buf_free(&out);
}

/* The peer advertises a huge table; our encoder stays at 4096. */
Test(abuse_headers, row12_encoder_table_capped)
{
    h2_conn *c = h2t_server_ready(NULL);
    h2_setting e = {H2_SETTING_HEADER_TABLE_SIZE, 0xffffffffu};
    h2t_f_settings(&in, 0, &e, 1);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_buf_free(&in);
    h2t_take(c, NULL);
    /* 1000 responses with unique large headers; the client's decoder would
     * need a larger table than 4096 if our encoder grew */
    h2_hpack_decoder *dec;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t id = 1 + 2 * i;
        h2t_buf_free(&in);
        h2t_f_headers(&ff, &in, id, 0x5, h2t_req_get, 4);
        cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0, "%u: %s", i,
                     h2_conn_last_error(c).message);
        char v[600];
        memset(v, 'a' + (int)(i % 26), sizeof(v) - 1);
        v[sizeof(v) - 1] = 0;
        snprintf(v, 12, "%u-", i);
        v[strlen(v)] = 'z';
        h2_header resp[2] = {H2T_HDR(":status", "200"),
                             {(const uint8_t *)"x-unique", 8, (const uint8_t *)v, 599, 0}};
        cr_assert_eq(h2_conn_send_headers(c, id, resp, 2, H2_SEND_END_STREAM, NULL), 0);
        h2t_buf out;
        h2t_buf_init(&out);
        h2t_take(c, &out);
        static h2t_frame fr[8];
        size_t nf = h2t_parse_frames(out.p, out.len, fr, 8);
        cr_assert_eq(nf, 1);
        const h2_header *f;
        size_t n;
        /* a decoder limited to 4096 decodes everything */
        cr_assert_eq(h2_hpack_decode(dec, fr[0].payload, fr[0].len, &f, &n), 0);
        cr_assert_leq(h2_hpack_decoder_table_size(dec), 4096);
        h2_hpack_decoder_reset_output(dec);
        h2t_buf_free(&out);
    }
    h2_hpack_decoder_free(dec);
    h2_conn_free(c);
}

/* 200 references: past MAX_HEADER_LIST_SIZE (64 KiB) but under the field
 * counts: GOAWAY(ENHANCE_YOUR_CALM, "header_list_size"). */
Test(abuse_headers, row11_hpack_bomb_200)
{
    bomb(200);
    h2t_f_headers_raw(&in, 1, 0x5, blk.p, blk.len, 0, 0, false, -1);
    h2_conn_config cfg = ab_server_cfg(NULL);
    cfg.max_header_fields = 1000;
    ab_trace tw, tb;
    h2t_buf out;
    h2t_buf_init(&out);
    feed_both(&cfg, &tw, &tb, &out);
    cr_assert_eq(tw.rv, H2_EPROTO);
    cr_assert_eq(tb.rv, H2_EPROTO);
    cr_assert_eq(tw.last_limit, H2_LIMIT_HEADER_LIST_SIZE);
    ab_expect_goaway_debug(&out, H2_ENHANCE_YOUR_CALM, "header_list_size");
    h2t_buf_free(&out);
}
