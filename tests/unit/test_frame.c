/*
 * Frame codec: serializers, round trips through the reader for every frame
 * type, and the table of malformed frames with their wire error codes.
 */
#include <criterion/criterion.h>
#include "frame_testutil.h"

static const uint8_t BLOCK[] = {0x82, 0x86, 0x84, 0x41, 0x0f, 'w', 'w', 'w', '.', 'e',
                                'x',  'a',  'm',  'p',  'l',  'e', '.', 'c', 'o', 'm'};

static bool inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;
    return q >= buf && q + n <= buf + len;
}

/*
 * Reads exactly one frame from |buf| with a fresh reader (whole slice) and
 * checks that it used every byte. Then checks that every two-call split and
 * byte-by-byte feeding give the same frame.
 */
static void read_one_mfs(const uint8_t *buf, size_t len, h2_frame *f, uint32_t mfs)
{
    h2_frame_reader r;
    h2_frame_reader_init(&r, NULL);
    r.max_frame_size = mfs;
    size_t used = 0;
    uint32_t we = 0xdead;
    int rv = h2_frame_reader_next(&r, buf, len, &used, f, &we);
    cr_assert_eq(rv, 1, "rv=%d wire=%u", rv, we);
    cr_assert_eq(used, len);
    cr_assert_eq(r.buf_len, 0);
    cr_assert_null(r.buf, "a whole frame must not touch the reassembly buffer");
    h2_frame_reader_free(&r);

    char whole[DESC_MAX];
    frame_describe(f, whole, sizeof(whole));
    if (len > 2000)
        return; /* large frames get their split test in the reader suite */
    feed_result res;
    for (size_t cut = 0; cut <= len; cut++) {
        feed_chunks(buf, len, &cut, 1, mfs, &res);
        cr_assert_eq(res.final_rv, 0, "split at %zu", cut);
        cr_assert_eq(res.n_frames, 1, "split at %zu", cut);
        cr_assert_str_eq(res.desc[0], whole, "split at %zu", cut);
    }
    feed_bytewise(buf, len, mfs, &res);
    cr_assert_eq(res.n_frames, 1);
    cr_assert_str_eq(res.desc[0], whole);
}

static void read_one(const uint8_t *buf, size_t len, h2_frame *f)
{
    read_one_mfs(buf, len, f, H2_DEFAULT_MAX_FRAME_SIZE);
}

TestSuite(frame_hd, .timeout = 60);
TestSuite(frame_pack, .timeout = 60);
TestSuite(frame_roundtrip, .timeout = 60);
TestSuite(frame_malformed, .timeout = 60);

/* ---- header ------------------------------------------------------------ */

Test(frame_hd, pack_unpack_and_reserved_bit)
{
    uint8_t b[9];
    h2_frame_hd_pack(b, 0x123456, 0x7, 0xab, 0xffffffffu);
    static const uint8_t want[9] = {0x12, 0x34, 0x56, 0x07, 0xab, 0x7f, 0xff, 0xff, 0xff};
    cr_assert_arr_eq(b, want, 9, "reserved bit must be written as 0");
    b[5] = 0xff; /* set the reserved bit on the wire */
    h2_frame_hd hd;
    h2_frame_hd_unpack(&hd, b);
    cr_assert_eq(hd.length, 0x123456);
    cr_assert_eq(hd.type, 7);
    cr_assert_eq(hd.flags, 0xab);
    cr_assert_eq(hd.stream_id, 0x7fffffffu);
}

Test(frame_hd, check_hd_limits)
{
    h2_frame_hd hd = {16384, H2_FRAME_DATA, 0, 1};
    cr_assert_eq(h2_frame_check_hd(&hd, 16384), H2_NO_ERROR);
    hd.length = 16385;
    cr_assert_eq(h2_frame_check_hd(&hd, 16384), H2_FRAME_SIZE_ERROR);
    cr_assert_eq(h2_frame_check_hd(&hd, 16385), H2_NO_ERROR);
    hd.type = 0xee;
    hd.stream_id = 0;
    cr_assert_eq(h2_frame_check_hd(&hd, 16384), H2_FRAME_SIZE_ERROR);
    hd.length = 0;
    cr_assert_eq(h2_frame_check_hd(&hd, 16384), H2_NO_ERROR);
}

/* ---- serializers: exact bytes -------------------------------------------------- */

Test(frame_pack, settings_exact_bytes)
{
    h2_settings_entry e[2] = {{H2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                              {H2_SETTINGS_INITIAL_WINDOW_SIZE, 0x7fffffff}};
    uint8_t b[32];
    size_t n = h2_frame_pack_settings(b, 0, e, 2);
    static const uint8_t want[] = {0, 0, 12, 4,   0, 0, 0,    0,    0,    0,   3,
                                   0, 0, 0,  100, 0, 4, 0x7f, 0xff, 0xff, 0xff};
    cr_assert_eq(n, sizeof(want));
    cr_assert_eq(n, h2_frame_settings_len(2));
    cr_assert_arr_eq(b, want, n);
    n = h2_frame_pack_settings(b, H2_FLAG_ACK, NULL, 0);
    static const uint8_t ack[] = {0, 0, 0, 4, 1, 0, 0, 0, 0};
    cr_assert_eq(n, 9);
    cr_assert_arr_eq(b, ack, 9);
}

Test(frame_pack, fixed_frames_exact_bytes)
{
    uint8_t b[32];
    h2_priority_spec ps = {0x80000003u, 256, true}; /* reserved bit in dep is dropped */
    cr_assert_eq(h2_frame_pack_priority(b, 5, &ps), H2_FRAME_PRIORITY_LEN);
    static const uint8_t prio[] = {0, 0, 5, 2, 0, 0, 0, 0, 5, 0x80, 0, 0, 3, 255};
    cr_assert_arr_eq(b, prio, sizeof(prio));

    cr_assert_eq(h2_frame_pack_rst_stream(b, 3, H2_CANCEL), H2_FRAME_RST_STREAM_LEN);
    static const uint8_t rst[] = {0, 0, 4, 3, 0, 0, 0, 0, 3, 0, 0, 0, 8};
    cr_assert_arr_eq(b, rst, sizeof(rst));

    cr_assert_eq(h2_frame_pack_window_update(b, 0, 0xffffffffu), H2_FRAME_WINDOW_UPDATE_LEN);
    static const uint8_t wu[] = {0, 0, 4, 8, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
    cr_assert_arr_eq(b, wu, sizeof(wu));

    const uint8_t op[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_eq(h2_frame_pack_ping(b, H2_FLAG_ACK, op), H2_FRAME_PING_LEN);
    static const uint8_t ping[] = {0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_arr_eq(b, ping, sizeof(ping));

    cr_assert_eq(h2_frame_pack_goaway(b, 0x80000007u, H2_PROTOCOL_ERROR, (const uint8_t *)"hi", 2),
                 h2_frame_goaway_len(2));
    static const uint8_t ga[] = {0, 0, 10, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 'h', 'i'};
    cr_assert_arr_eq(b, ga, sizeof(ga));
}

Test(frame_pack, padded_data_exact_bytes)
{
    uint8_t b[32];
    memset(b, 0xaa, sizeof(b));
    size_t n = h2_frame_pack_data(b, 1, H2_FLAG_END_STREAM, (const uint8_t *)"abc", 3, 4);
    static const uint8_t want[] = {0, 0, 8, 0, 9, 0, 0, 0, 1, 4, 'a', 'b', 'c', 0, 0, 0, 0};
    cr_assert_eq(n, sizeof(want));
    cr_assert_eq(n, h2_frame_data_len(3, 4));
    cr_assert_arr_eq(b, want, n, "padding must be zeros, PADDED set");
    cr_assert_eq(b[n], 0xaa, "nothing written past the frame");
}

Test(frame_pack, flags_follow_arguments)
{
    uint8_t b[64];
    /* PADDED passed by the caller but pad_len -1: cleared. */
    h2_frame_pack_data(b, 1, H2_FLAG_PADDED | H2_FLAG_END_STREAM, NULL, 0, -1);
    cr_assert_eq(b[4], H2_FLAG_END_STREAM);
    /* PRIORITY passed without a spec: cleared; a spec sets it. */
    h2_frame_pack_headers(b, 1, H2_FLAG_PRIORITY | H2_FLAG_END_HEADERS, NULL, BLOCK, 3, -1);
    cr_assert_eq(b[4], H2_FLAG_END_HEADERS);
    h2_priority_spec ps = {0, 16, false};
    h2_frame_pack_headers(b, 1, H2_FLAG_END_HEADERS, &ps, BLOCK, 3, 0);
    cr_assert_eq(b[4], H2_FLAG_END_HEADERS | H2_FLAG_PRIORITY | H2_FLAG_PADDED);
    h2_frame_pack_push_promise(b, 1, H2_FLAG_PADDED, 2, BLOCK, 3, -1);
    cr_assert_eq(b[4], 0);
}

Test(frame_pack, invalid_arguments_write_nothing)
{
    uint8_t b[64];
    memset(b, 0x55, sizeof(b));
    cr_assert_eq(h2_frame_pack_data(b, 1, 0, BLOCK, 3, 256), 0);
    cr_assert_eq(h2_frame_pack_data(b, 1, 0, BLOCK, 3, -2), 0);
    cr_assert_eq(h2_frame_pack_headers(b, 1, 0, NULL, BLOCK, 3, 300), 0);
    cr_assert_eq(h2_frame_pack_push_promise(b, 1, 0, 2, BLOCK, 3, -5), 0);
    cr_assert_eq(h2_frame_pack_data(b, 1, 0, BLOCK, H2_MAX_FRAME_SIZE_LIMIT + 1, -1), 0);
    cr_assert_eq(h2_frame_pack_data(b, 1, 0, BLOCK, H2_MAX_FRAME_SIZE_LIMIT, 0), 0);
    cr_assert_eq(h2_frame_pack_altsvc(b, 0, BLOCK, 65536, BLOCK, 0), 0);
    cr_assert_eq(h2_frame_pack_goaway(b, 0, 0, BLOCK, H2_MAX_FRAME_SIZE_LIMIT - 7), 0);
    cr_assert_eq(h2_frame_pack_priority_update(b, 1, BLOCK, H2_MAX_FRAME_SIZE_LIMIT - 3), 0);
    cr_assert_eq(h2_frame_pack_unknown(b, 0x20, 0, 0, BLOCK, H2_MAX_FRAME_SIZE_LIMIT + 1), 0);
    cr_assert_eq(h2_frame_pack_settings(b, 0, NULL, H2_MAX_FRAME_SIZE_LIMIT / 6 + 1), 0);
    for (size_t i = 0; i < sizeof(b); i++)
        cr_assert_eq(b[i], 0x55);
}

Test(frame_pack, weight_is_clamped)
{
    uint8_t b[16];
    h2_priority_spec ps = {1, 0, false};
    h2_frame_pack_priority(b, 3, &ps);
    cr_assert_eq(b[13], 0, "weight 0 -> 1 on the wire as 0");
    ps.weight = 999;
    h2_frame_pack_priority(b, 3, &ps);
    cr_assert_eq(b[13], 255);
}

/* ---- round trips --------------------------------------------------------- */

Test(frame_roundtrip, data_plain_and_empty)
{
    uint8_t b[64];
    h2_frame f;
    size_t n = h2_frame_pack_data(b, 7, H2_FLAG_END_STREAM, BLOCK, sizeof(BLOCK), -1);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_DATA);
    cr_assert_eq(f.hd.flags, H2_FLAG_END_STREAM);
    cr_assert_eq(f.hd.stream_id, 7);
    cr_assert_eq(f.hd.length, sizeof(BLOCK));
    cr_assert_eq(f.pad_len, 0);
    cr_assert_eq(f.u.data.len, sizeof(BLOCK));
    cr_assert_arr_eq(f.u.data.data, BLOCK, sizeof(BLOCK));
    cr_assert_eq(f.u.data.data, b + 9, "zero copy: view into the slice");

    n = h2_frame_pack_data(b, 1, 0, NULL, 0, -1);
    cr_assert_eq(n, 9);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.length, 0);
    cr_assert_eq(f.u.data.len, 0);
}

Test(frame_roundtrip, data_padded)
{
    uint8_t b[400];
    h2_frame f;
    int pads[] = {0, 1, 17, 255};
    for (size_t i = 0; i < 4; i++) {
        size_t n = h2_frame_pack_data(b, 3, 0, BLOCK, 5, pads[i]);
        cr_assert_eq(n, h2_frame_data_len(5, pads[i]));
        read_one(b, n, &f);
        cr_assert_eq(f.hd.flags, H2_FLAG_PADDED);
        cr_assert_eq(f.hd.length, 5u + 1u + (unsigned)pads[i]);
        cr_assert_eq(f.pad_len, pads[i]);
        cr_assert_eq(f.u.data.len, 5);
        cr_assert_eq(f.u.data.data, b + 10);
        cr_assert_arr_eq(f.u.data.data, BLOCK, 5);
    }
    /* Empty data with maximum padding (pad = payload - 1) is legal. */
    size_t n = h2_frame_pack_data(b, 3, 0, NULL, 0, 255);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.length, 256);
    cr_assert_eq(f.pad_len, 255);
    cr_assert_eq(f.u.data.len, 0);
}

Test(frame_roundtrip, headers_all_variants)
{
    uint8_t b[400];
    h2_frame f;
    h2_priority_spec ps = {0x1234, 201, true};
    for (int with_prio = 0; with_prio < 2; with_prio++) {
        for (int pad = -1; pad <= 40; pad += 41) {
            size_t n = h2_frame_pack_headers(b, 0x7fffffff, H2_FLAG_END_HEADERS,
                                             with_prio ? &ps : NULL, BLOCK, sizeof(BLOCK), pad);
            cr_assert_eq(n, h2_frame_headers_len(with_prio, sizeof(BLOCK), pad));
            read_one(b, n, &f);
            cr_assert_eq(f.hd.type, H2_FRAME_HEADERS);
            cr_assert_eq(f.hd.stream_id, 0x7fffffff);
            cr_assert_eq(f.u.headers.has_priority, with_prio);
            cr_assert_eq(f.pad_len, pad < 0 ? 0 : pad);
            if (with_prio) {
                cr_assert_eq(f.u.headers.priority.depends_on, 0x1234);
                cr_assert_eq(f.u.headers.priority.weight, 201);
                cr_assert(f.u.headers.priority.exclusive);
            }
            cr_assert_eq(f.u.headers.block_len, sizeof(BLOCK));
            cr_assert_arr_eq(f.u.headers.block, BLOCK, sizeof(BLOCK));
            cr_assert(inside(f.u.headers.block, f.u.headers.block_len, b, n));
        }
    }
}

Test(frame_roundtrip, headers_empty_block_max_padding)
{
    /* RFC 9113 6.2: padding may fill all that follows the fixed fields. */
    uint8_t b[400];
    h2_frame f;
    h2_priority_spec ps = {0, 16, false};
    size_t n = h2_frame_pack_headers(b, 1, 0, &ps, NULL, 0, 255);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.length, 1 + 5 + 255);
    cr_assert_eq(f.pad_len, 255);
    cr_assert_eq(f.u.headers.block_len, 0);
    cr_assert_eq(f.u.headers.priority.weight, 16);
}

Test(frame_roundtrip, priority)
{
    uint8_t b[16];
    h2_frame f;
    h2_priority_spec ps = {0x7fffffff, 1, false};
    size_t n = h2_frame_pack_priority(b, 9, &ps);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_PRIORITY);
    cr_assert_eq(f.hd.stream_id, 9);
    cr_assert_eq(f.u.priority.depends_on, 0x7fffffff);
    cr_assert_eq(f.u.priority.weight, 1);
    cr_assert_not(f.u.priority.exclusive);
}

Test(frame_roundtrip, rst_stream)
{
    uint8_t b[16];
    h2_frame f;
    size_t n = h2_frame_pack_rst_stream(b, 11, 0xdeadbeefu);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_RST_STREAM);
    cr_assert_eq(f.hd.stream_id, 11);
    cr_assert_eq(f.u.rst_error_code, 0xdeadbeefu, "unknown codes pass through");
}

Test(frame_roundtrip, settings_entries_and_ack)
{
    h2_settings_entry e[8] = {{1, 4096},      {2, 0},           {3, 100}, {4, 65535},
                              {5, 16777215u}, {6, 0xffffffffu}, {8, 1},   {0xabcd, 42}};
    uint8_t b[64];
    h2_frame f;
    size_t n = h2_frame_pack_settings(b, 0, e, 8);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_SETTINGS);
    cr_assert_eq(f.hd.stream_id, 0);
    cr_assert_eq(f.u.settings.n, 8);
    cr_assert_eq(f.u.settings.raw, b + 9);
    for (size_t i = 0; i < 8; i++) {
        h2_settings_entry g = h2_frame_settings_entry(&f, i);
        cr_assert_eq(g.id, e[i].id, "entry %zu", i);
        cr_assert_eq(g.value, e[i].value, "entry %zu", i);
    }
    n = h2_frame_pack_settings(b, H2_FLAG_ACK, NULL, 0);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.flags, H2_FLAG_ACK);
    cr_assert_eq(f.u.settings.n, 0);
}

Test(frame_roundtrip, push_promise_plain_and_padded)
{
    uint8_t b[400];
    h2_frame f;
    size_t n = h2_frame_pack_push_promise(b, 1, H2_FLAG_END_HEADERS, 2, BLOCK, sizeof(BLOCK), -1);
    cr_assert_eq(n, h2_frame_push_promise_len(sizeof(BLOCK), -1));
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_PUSH_PROMISE);
    cr_assert_eq(f.u.push_promise.promised_stream_id, 2);
    cr_assert_eq(f.u.push_promise.block_len, sizeof(BLOCK));
    cr_assert_eq(f.u.push_promise.block, b + 13);

    n = h2_frame_pack_push_promise(b, 3, 0, 0xfffffffeu, BLOCK, 4, 9);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.flags, H2_FLAG_PADDED);
    cr_assert_eq(f.pad_len, 9);
    cr_assert_eq(f.u.push_promise.promised_stream_id, 0x7ffffffe);
    cr_assert_eq(f.u.push_promise.block_len, 4);
    cr_assert_arr_eq(f.u.push_promise.block, BLOCK, 4);

    /* Empty fragment, padding fills the rest. */
    n = h2_frame_pack_push_promise(b, 3, 0, 4, NULL, 0, 200);
    read_one(b, n, &f);
    cr_assert_eq(f.u.push_promise.block_len, 0);
    cr_assert_eq(f.pad_len, 200);
}

Test(frame_roundtrip, ping)
{
    uint8_t b[32];
    h2_frame f;
    const uint8_t op[8] = {0xff, 0, 1, 2, 3, 4, 5, 0xfe};
    size_t n = h2_frame_pack_ping(b, 0, op);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_PING);
    cr_assert_eq(f.hd.flags, 0);
    cr_assert_arr_eq(f.u.ping, op, 8);
}

Test(frame_roundtrip, goaway_with_and_without_debug)
{
    uint8_t b[64];
    h2_frame f;
    size_t n = h2_frame_pack_goaway(b, 0x7fffffff, H2_ENHANCE_YOUR_CALM, NULL, 0);
    cr_assert_eq(n, 17);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_GOAWAY);
    cr_assert_eq(f.u.goaway.last_stream_id, 0x7fffffff);
    cr_assert_eq(f.u.goaway.error_code, H2_ENHANCE_YOUR_CALM);
    cr_assert_eq(f.u.goaway.debug_len, 0);
    n = h2_frame_pack_goaway(b, 5, 0x1234, BLOCK, sizeof(BLOCK));
    read_one(b, n, &f);
    cr_assert_eq(f.u.goaway.debug_len, sizeof(BLOCK));
    cr_assert_eq(f.u.goaway.debug, b + 17);
    cr_assert_arr_eq(f.u.goaway.debug, BLOCK, sizeof(BLOCK));
}

Test(frame_roundtrip, window_update_zero_and_max)
{
    uint8_t b[16];
    h2_frame f;
    size_t n = h2_frame_pack_window_update(b, 0, H2_MAX_WINDOW);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_WINDOW_UPDATE);
    cr_assert_eq(f.hd.stream_id, 0);
    cr_assert_eq(f.u.window_increment, H2_MAX_WINDOW);
    /* Zero is not a parse error, on the connection or on a stream. */
    n = h2_frame_pack_window_update(b, 5, 0);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.stream_id, 5);
    cr_assert_eq(f.u.window_increment, 0);
    /* Reserved bit of the increment is masked on read. */
    b[9] = 0x80;
    read_one(b, n, &f);
    cr_assert_eq(f.u.window_increment, 0);
}

Test(frame_roundtrip, continuation)
{
    uint8_t b[64];
    h2_frame f;
    size_t n = h2_frame_pack_continuation(b, 3, H2_FLAG_END_HEADERS, BLOCK, 7);
    cr_assert_eq(n, h2_frame_continuation_len(7));
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_CONTINUATION);
    cr_assert_eq(f.hd.flags, H2_FLAG_END_HEADERS);
    cr_assert_eq(f.u.continuation.block_len, 7);
    cr_assert_eq(f.u.continuation.block, b + 9);
    n = h2_frame_pack_continuation(b, 3, 0, NULL, 0);
    read_one(b, n, &f);
    cr_assert_eq(f.u.continuation.block_len, 0);
}

Test(frame_roundtrip, altsvc_stream0_and_stream)
{
    uint8_t b[128];
    h2_frame f;
    const char *origin = "https://example.com";
    const char *fv = "h2=\"alt.example.com:443\"; ma=60";
    size_t n = h2_frame_pack_altsvc(b, 0, (const uint8_t *)origin, strlen(origin),
                                    (const uint8_t *)fv, strlen(fv));
    cr_assert_eq(n, h2_frame_altsvc_len(strlen(origin), strlen(fv)));
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_ALTSVC);
    cr_assert_eq(f.hd.stream_id, 0);
    cr_assert_eq(f.u.altsvc.origin_len, strlen(origin));
    cr_assert_arr_eq(f.u.altsvc.origin, origin, strlen(origin));
    cr_assert_eq(f.u.altsvc.field_value_len, strlen(fv));
    cr_assert_arr_eq(f.u.altsvc.field_value, fv, strlen(fv));
    cr_assert_eq(f.u.altsvc.origin, b + 11);

    n = h2_frame_pack_altsvc(b, 3, NULL, 0, (const uint8_t *)fv, strlen(fv));
    read_one(b, n, &f);
    cr_assert_eq(f.hd.stream_id, 3);
    cr_assert_eq(f.u.altsvc.origin_len, 0);
    cr_assert_eq(f.u.altsvc.field_value_len, strlen(fv));

    n = h2_frame_pack_altsvc(b, 0, NULL, 0, NULL, 0); /* minimal: 2 bytes */
    read_one(b, n, &f);
    cr_assert_eq(f.hd.length, 2);
    cr_assert_eq(f.u.altsvc.field_value_len, 0);
}

Test(frame_roundtrip, priority_update)
{
    uint8_t b[64];
    h2_frame f;
    const char *fv = "u=1, i";
    size_t n = h2_frame_pack_priority_update(b, 0x80000005u, (const uint8_t *)fv, strlen(fv));
    cr_assert_eq(n, h2_frame_priority_update_len(strlen(fv)));
    read_one(b, n, &f);
    cr_assert_eq(f.hd.type, H2_FRAME_PRIORITY_UPDATE);
    cr_assert_eq(f.hd.stream_id, 0);
    cr_assert_eq(f.u.priority_update.prioritized_stream_id, 5);
    cr_assert_eq(f.u.priority_update.field_value_len, strlen(fv));
    cr_assert_arr_eq(f.u.priority_update.field_value, fv, strlen(fv));
    n = h2_frame_pack_priority_update(b, 1, NULL, 0);
    read_one(b, n, &f);
    cr_assert_eq(f.u.priority_update.field_value_len, 0);
}

Test(frame_roundtrip, unknown_types_pass_through)
{
    uint8_t b[64];
    h2_frame f;
    size_t count = 0;
    for (unsigned t = 0xb; t <= 0xff; t++) {
        if (t == H2_FRAME_PRIORITY_UPDATE)
            continue;
        uint32_t sid = (t & 1u) ? 0 : t; /* any stream, 0 included */
        size_t plen = t % 8;
        size_t n = h2_frame_pack_unknown(b, (uint8_t)t, (uint8_t)~t, sid, BLOCK, plen);
        cr_assert_eq(n, h2_frame_unknown_len(plen));
        h2_frame_reader r;
        h2_frame_reader_init(&r, NULL);
        size_t used;
        uint32_t we;
        cr_assert_eq(h2_frame_reader_next(&r, b, n, &used, &f, &we), 1, "type %u", t);
        cr_assert_eq(used, n);
        cr_assert_eq(f.hd.type, t);
        cr_assert_eq(f.hd.flags, (uint8_t)~t, "raw flags kept");
        cr_assert_eq(f.hd.stream_id, sid);
        cr_assert_eq(f.u.unknown.len, plen);
        cr_assert_eq(f.u.unknown.payload, b + 9);
        cr_assert_arr_eq(f.u.unknown.payload, BLOCK, plen);
        h2_frame_reader_free(&r);
        count++;
    }
    cr_assert_eq(count, 244);
    /* One unknown type also through every split. */
    size_t n = h2_frame_pack_unknown(b, 0xfa, 0xff, 0x7fffffff, BLOCK, sizeof(BLOCK));
    read_one(b, n, &f);
    cr_assert_eq(f.u.unknown.len, sizeof(BLOCK));
}

Test(frame_roundtrip, max_length_frames)
{
    size_t plen = H2_DEFAULT_MAX_FRAME_SIZE;
    uint8_t *payload = malloc(plen);
    for (size_t i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    uint8_t *b = malloc(plen + 64);
    h2_frame f;
    size_t n = h2_frame_pack_data(b, 1, 0, payload, plen, -1);
    cr_assert_eq(n, plen + 9);
    read_one(b, n, &f);
    cr_assert_eq(f.u.data.len, plen);
    cr_assert_arr_eq(f.u.data.data, payload, plen);
    /* Padded to exactly the maximum. */
    n = h2_frame_pack_data(b, 1, 0, payload, plen - 256, 255);
    cr_assert_eq(n, plen + 9);
    read_one(b, n, &f);
    cr_assert_eq(f.u.data.len, plen - 256);
    /* One byte more is rejected at the default limit. */
    n = h2_frame_pack_data(b, 1, 0, payload, plen - 1, 1);
    cr_assert_eq(n, plen + 1 + 9);
    feed_result res;
    feed_whole(b, n, H2_DEFAULT_MAX_FRAME_SIZE, &res);
    cr_assert_eq(res.final_rv, H2_EFRAME);
    cr_assert_eq(res.wire_error, H2_FRAME_SIZE_ERROR);
    free(b);

    /* The protocol maximum (2^24 - 1) with a raised limit. */
    size_t big = H2_MAX_FRAME_SIZE_LIMIT;
    uint8_t *bb = malloc(big + 9);
    uint8_t *src = malloc(big);
    memset(src, 0x5a, big);
    n = h2_frame_pack_unknown(bb, 0x42, 0, 1, src, big);
    cr_assert_eq(n, big + 9);
    read_one_mfs(bb, n, &f, H2_MAX_FRAME_SIZE_LIMIT);
    cr_assert_eq(f.hd.length, big);
    cr_assert_eq(f.u.unknown.len, big);
    cr_assert_eq(f.u.unknown.payload[big - 1], 0x5a);
    n = h2_frame_pack_continuation(bb, 1, 0, src, big);
    read_one_mfs(bb, n, &f, H2_MAX_FRAME_SIZE_LIMIT);
    cr_assert_eq(f.u.continuation.block_len, big);
    free(src);
    free(bb);
    free(payload);
}

Test(frame_roundtrip, undefined_flags_ignored)
{
    uint8_t b[64];
    h2_frame f;
    const uint8_t op[8] = {0};
    h2_frame_pack_ping(b, 0xfe, op);
    read_one(b, H2_FRAME_PING_LEN, &f);
    cr_assert_eq(f.hd.flags, 0xfe);
    /* SETTINGS with every flag but ACK: entries still read. */
    h2_settings_entry e = {4, 1000};
    size_t n = h2_frame_pack_settings(b, 0xfe, &e, 1);
    read_one(b, n, &f);
    cr_assert_eq(f.u.settings.n, 1);
    /* DATA with all flags but PADDED. */
    n = h2_frame_pack_data(b, 1, 0xf7, BLOCK, 4, -1);
    read_one(b, n, &f);
    cr_assert_eq(f.hd.flags, 0xf7);
    cr_assert_eq(f.u.data.len, 4);
    /* GOAWAY, RST_STREAM, WINDOW_UPDATE, PRIORITY with flags. */
    n = h2_frame_pack_rst_stream(b, 1, 0);
    b[4] = 0xff;
    read_one(b, n, &f);
    cr_assert_eq(f.u.rst_error_code, 0);
}

/* ---- malformed frames ---------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    uint8_t bytes[40];
    size_t len;
    uint32_t error;
    bool needs_payload; /* a payload rule, not visible from the header */
} bad_case;

/* Rejected from the 9-byte header alone (before any payload is read)? */
static bool header_detectable(const bad_case *c)
{
    h2_frame_hd hd;
    h2_frame_hd_unpack(&hd, c->bytes);
    return h2_frame_check_hd(&hd, H2_DEFAULT_MAX_FRAME_SIZE) != H2_NO_ERROR;
}

/* Header bytes: length (3), type, flags, stream id (4). */
#define HD(len, type, flags, sid)                                                                  \
    (len) >> 16 & 0xff, (len) >> 8 & 0xff, ((len)&0xff), (type), (flags), (sid) >> 24 & 0xff,      \
        (sid) >> 16 & 0xff, (sid) >> 8 & 0xff, ((sid)&0xff)

#define PE H2_PROTOCOL_ERROR
#define FSE H2_FRAME_SIZE_ERROR

static const bad_case bad_cases[] = {
    /* stream-id rules */
    {"DATA on stream 0", {HD(1, 0x0, 0, 0), 'x'}, 10, PE},
    {"DATA on stream 0 with reserved bit", {HD(0, 0x0, 0, 0x80000000u)}, 9, PE},
    {"HEADERS on stream 0", {HD(1, 0x1, 4, 0), 0x82}, 10, PE},
    {"PRIORITY on stream 0", {HD(5, 0x2, 0, 0), 0, 0, 0, 1, 15}, 14, PE},
    {"RST_STREAM on stream 0", {HD(4, 0x3, 0, 0), 0, 0, 0, 8}, 13, PE},
    {"PUSH_PROMISE on stream 0", {HD(4, 0x5, 4, 0), 0, 0, 0, 2}, 13, PE},
    {"CONTINUATION on stream 0", {HD(1, 0x9, 4, 0), 0x82}, 10, PE},
    {"SETTINGS on stream 1", {HD(0, 0x4, 0, 1)}, 9, PE},
    {"SETTINGS ACK on stream 1", {HD(0, 0x4, 1, 1)}, 9, PE},
    {"PING on stream 1", {HD(8, 0x6, 0, 1), 0, 0, 0, 0, 0, 0, 0, 0}, 17, PE},
    {"GOAWAY on stream 3", {HD(8, 0x7, 0, 3), 0, 0, 0, 0, 0, 0, 0, 0}, 17, PE},
    {"PRIORITY_UPDATE on stream 1", {HD(4, 0x10, 0, 1), 0, 0, 0, 1}, 13, PE},
    /* fixed and minimum lengths */
    {"PRIORITY length 4", {HD(4, 0x2, 0, 1), 0, 0, 0, 0}, 13, FSE},
    {"PRIORITY length 6", {HD(6, 0x2, 0, 1), 0, 0, 0, 0, 0, 0}, 15, FSE},
    {"RST_STREAM length 3", {HD(3, 0x3, 0, 1), 0, 0, 0}, 12, FSE},
    {"RST_STREAM length 5", {HD(5, 0x3, 0, 1), 0, 0, 0, 0, 0}, 14, FSE},
    {"SETTINGS ACK with payload", {HD(6, 0x4, 1, 0), 0, 4, 0, 0, 0, 1}, 15, FSE},
    {"SETTINGS length 5", {HD(5, 0x4, 0, 0), 0, 4, 0, 0, 0}, 14, FSE},
    {"SETTINGS length 7", {HD(7, 0x4, 0, 0), 0, 4, 0, 0, 0, 1, 0}, 16, FSE},
    {"PING length 7", {HD(7, 0x6, 0, 0), 0, 0, 0, 0, 0, 0, 0}, 16, FSE},
    {"PING length 9", {HD(9, 0x6, 1, 0), 0, 0, 0, 0, 0, 0, 0, 0, 0}, 18, FSE},
    {"PING length 0", {HD(0, 0x6, 0, 0)}, 9, FSE},
    {"GOAWAY length 7", {HD(7, 0x7, 0, 0), 0, 0, 0, 0, 0, 0, 0}, 16, FSE},
    {"GOAWAY length 0", {HD(0, 0x7, 0, 0)}, 9, FSE},
    {"WINDOW_UPDATE length 3", {HD(3, 0x8, 0, 0), 0, 0, 1}, 12, FSE},
    {"WINDOW_UPDATE length 5 on a stream", {HD(5, 0x8, 0, 1), 0, 0, 0, 1, 0}, 14, FSE},
    {"PUSH_PROMISE length 3", {HD(3, 0x5, 4, 1), 0, 0, 2}, 12, FSE},
    {"PUSH_PROMISE PADDED length 4", {HD(4, 0x5, 0xc, 1), 0, 0, 0, 2}, 13, FSE},
    {"ALTSVC length 0", {HD(0, 0xa, 0, 0)}, 9, FSE},
    {"ALTSVC length 1", {HD(1, 0xa, 0, 0), 0}, 10, FSE},
    {"ALTSVC origin past the end", {HD(4, 0xa, 0, 0), 0, 3, 'a', 'b'}, 13, FSE, true},
    {"ALTSVC origin length 65535", {HD(2, 0xa, 0, 1), 0xff, 0xff}, 11, FSE, true},
    {"PRIORITY_UPDATE length 3", {HD(3, 0x10, 0, 0), 0, 0, 1}, 12, FSE},
    {"PRIORITY_UPDATE length 0", {HD(0, 0x10, 0, 0)}, 9, FSE},
    /* padding */
    {"DATA PADDED empty", {HD(0, 0x0, 0x8, 1)}, 9, FSE},
    {"HEADERS PADDED empty", {HD(0, 0x1, 0xc, 1)}, 9, FSE},
    {"DATA pad length = payload length", {HD(3, 0x0, 0x8, 1), 3, 0, 0}, 12, PE, true},
    {"DATA pad length > payload length", {HD(1, 0x0, 0x8, 1), 200}, 10, PE, true},
    {"HEADERS pad past the end", {HD(3, 0x1, 0xc, 1), 3, 0x82, 0}, 12, PE, true},
    {"HEADERS PRIORITY length 4", {HD(4, 0x1, 0x24, 1), 0, 0, 0, 0}, 13, FSE},
    {"HEADERS PADDED|PRIORITY length 5", {HD(5, 0x1, 0x2c, 1), 0, 0, 0, 0, 0}, 14, FSE},
    {"HEADERS PADDED|PRIORITY pad past", {HD(6, 0x1, 0x2c, 1), 1, 0, 0, 0, 0, 15}, 15, PE, true},
    {"PUSH_PROMISE pad past the end", {HD(6, 0x5, 0xc, 1), 2, 0, 0, 0, 2, 0}, 15, PE, true},
    /* payload values */
    {"PUSH_PROMISE promised 0", {HD(4, 0x5, 4, 1), 0, 0, 0, 0}, 13, PE, true},
    {"PUSH_PROMISE promised odd", {HD(4, 0x5, 4, 1), 0, 0, 0, 3}, 13, PE, true},
    {"PUSH_PROMISE promised 0 with reserved", {HD(4, 0x5, 4, 1), 0x80, 0, 0, 0}, 13, PE, true},
    {"PRIORITY_UPDATE prioritized 0", {HD(4, 0x10, 0, 0), 0x80, 0, 0, 0}, 13, PE, true},
    /* size limit, every type */
    {"DATA over max_frame_size", {HD(16385, 0x0, 0, 1)}, 9, FSE},
    {"SETTINGS over max_frame_size", {HD(16386, 0x4, 0, 0)}, 9, FSE},
    {"unknown type over max_frame_size", {HD(0xffffff, 0xee, 0, 0)}, 9, FSE},
    {"CONTINUATION over max_frame_size", {HD(0x100000, 0x9, 0, 1)}, 9, FSE},
};

Test(frame_malformed, table_whole_split_bytewise)
{
    size_t n_cases = sizeof(bad_cases) / sizeof(bad_cases[0]);
    cr_assert_geq(n_cases, 50);
    for (size_t i = 0; i < n_cases; i++) {
        const bad_case *c = &bad_cases[i];
        feed_result res;
        feed_whole(c->bytes, c->len, H2_DEFAULT_MAX_FRAME_SIZE, &res);
        cr_expect_eq(res.final_rv, H2_EFRAME, "%s: rv %d", c->name, res.final_rv);
        cr_expect_eq(res.wire_error, c->error, "%s: wire error %u, want %u", c->name,
                     res.wire_error, c->error);
        cr_expect_eq(res.n_frames, 0, "%s", c->name);
        for (size_t cut = 0; cut <= c->len; cut++) {
            feed_chunks(c->bytes, c->len, &cut, 1, H2_DEFAULT_MAX_FRAME_SIZE, &res);
            cr_expect_eq(res.final_rv, H2_EFRAME, "%s split %zu", c->name, cut);
            cr_expect_eq(res.wire_error, c->error, "%s split %zu", c->name, cut);
        }
        feed_bytewise(c->bytes, c->len, H2_DEFAULT_MAX_FRAME_SIZE, &res);
        cr_expect_eq(res.final_rv, H2_EFRAME, "%s bytewise", c->name);
        cr_expect_eq(res.wire_error, c->error, "%s bytewise", c->name);
    }
}

Test(frame_malformed, header_rules_fire_before_the_payload)
{
    /* Every stream-id and length rule must fire from the header alone. */
    size_t n_cases = sizeof(bad_cases) / sizeof(bad_cases[0]);
    size_t n_hd = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const bad_case *c = &bad_cases[i];
        if (c->needs_payload) {
            cr_expect_not(header_detectable(c), "%s needs the payload", c->name);
            continue;
        }
        cr_expect(header_detectable(c), "%s must be caught from the header", c->name);
        n_hd++;
        feed_result res;
        feed_whole(c->bytes, H2_FRAME_HEADER_LEN, H2_DEFAULT_MAX_FRAME_SIZE, &res);
        cr_expect_eq(res.final_rv, H2_EFRAME, "%s: header only", c->name);
        cr_expect_eq(res.wire_error, c->error, "%s: header only", c->name);
    }
    cr_assert_geq(n_hd, 40);
}

Test(frame_malformed, parse_payload_alone_rejects_bad_lengths)
{
    /* Without h2_frame_check_hd(), the payload parser still never over-reads. */
    static const uint8_t z[16] = {0};
    static const struct {
        uint8_t type, flags;
        uint32_t len, err;
    } c[] = {
        {H2_FRAME_PRIORITY, 0, 4, FSE},      {H2_FRAME_RST_STREAM, 0, 3, FSE},
        {H2_FRAME_PING, 0, 7, FSE},          {H2_FRAME_GOAWAY, 0, 7, FSE},
        {H2_FRAME_WINDOW_UPDATE, 0, 2, FSE}, {H2_FRAME_SETTINGS, 0, 4, FSE},
        {H2_FRAME_SETTINGS, 1, 6, FSE},      {H2_FRAME_DATA, 8, 0, FSE},
        {H2_FRAME_HEADERS, 8, 0, FSE},       {H2_FRAME_HEADERS, 0x20, 4, FSE},
        {H2_FRAME_PUSH_PROMISE, 0, 3, FSE},  {H2_FRAME_PUSH_PROMISE, 8, 0, FSE},
        {H2_FRAME_ALTSVC, 0, 1, FSE},        {H2_FRAME_PRIORITY_UPDATE, 0, 3, FSE},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        h2_frame_hd hd = {c[i].len, c[i].type, c[i].flags, 1};
        h2_frame f;
        cr_expect_eq(h2_frame_parse_payload(&f, &hd, z), c[i].err, "case %zu (type %u)", i,
                     c[i].type);
    }
}

Test(frame_malformed, edge_cases_that_are_valid)
{
    /* Each of these sits right next to a rule and must parse. */
    static const bad_case ok[] = {
        {"DATA pad = payload - 1", {HD(3, 0x0, 0x8, 1), 2, 0, 0}, 12, 0},
        {"HEADERS pad fills the rest", {HD(3, 0x1, 0xc, 1), 2, 0, 0}, 12, 0},
        {"HEADERS PADDED|PRIORITY length 6 pad 0", {HD(6, 0x1, 0x2c, 1), 0, 0, 0, 0, 0, 15}, 15, 0},
        {"PUSH_PROMISE PADDED length 5", {HD(5, 0x5, 0xc, 1), 0, 0, 0, 0, 2}, 14, 0},
        {"WINDOW_UPDATE increment 0 on stream 0", {HD(4, 0x8, 0, 0), 0, 0, 0, 0}, 13, 0},
        {"ALTSVC origin fills the payload", {HD(4, 0xa, 0, 0), 0, 2, 'a', 'b'}, 13, 0},
        {"PRIORITY_UPDATE on stream 0", {HD(4, 0x10, 0, 0), 0, 0, 0, 9}, 13, 0},
        {"unknown type on stream 0 empty", {HD(0, 0x0b, 0xff, 0)}, 9, 0},
        {"SETTINGS ACK empty", {HD(0, 0x4, 0xff, 0)}, 9, 0},
        {"GOAWAY with reserved bits",
         {HD(8, 0x7, 0, 0), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
         17,
         0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        feed_result res;
        feed_whole(ok[i].bytes, ok[i].len, H2_DEFAULT_MAX_FRAME_SIZE, &res);
        cr_expect_eq(res.final_rv, 0, "%s: rv %d wire %u", ok[i].name, res.final_rv,
                     res.wire_error);
        cr_expect_eq(res.n_frames, 1, "%s", ok[i].name);
    }
}
