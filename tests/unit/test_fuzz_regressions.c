/*
 * Fuzzing regressions: inputs from the seed corpora in fuzz/corpus fed to
 * the normal build, checking that each seed exercises what it was made for
 * (a seed that no longer parses would leave the fuzz targets stuck at the
 * first bytes), and the exact inputs of crashes the fuzz targets found,
 * each with the outcome the fixed code gives.
 *
 * Seed format of the connection targets: option bytes, then the peer's
 * byte stream cut into rounds by the marker "--MARK--" (fuzz/README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "h2/h2.h"
#include "support/conn_helpers.h"

#define MARK "--MARK--"
#define H2_CLIENT_PREFACE_TEXT "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define MARK_LEN 8

/* Reads fuzz/corpus/<target>/<name> whole; asserts it exists. */
static uint8_t *read_seed(const char *target, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fuzz/corpus/%s/%s", H2_SOURCE_DIR, target, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    h2t_buf b;
    h2t_buf_init(&b);
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        h2t_buf_put(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.p;
}

/* The peer's byte stream of a connection seed: |skip| option bytes off, markers removed. */
static void seed_stream(const uint8_t *seed, size_t len, size_t skip, h2t_buf *out)
{
    cr_assert_geq(len, skip);
    const uint8_t *p = seed + skip;
    len -= skip;
    while (len > 0) {
        const uint8_t *end = memmem(p, len, MARK, MARK_LEN);
        size_t round = end != NULL ? (size_t)(end - p) : len;
        h2t_buf_put(out, p, round);
        size_t step = end != NULL ? round + MARK_LEN : round;
        p += step;
        len -= step;
    }
}

/* A server that has only sent its SETTINGS and read the client preface. */
static h2_conn *setup_fresh_server(void *arg)
{
    (void)arg;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    cr_assert_eq(h2t_feed(c, H2_CLIENT_PREFACE_TEXT, 24, NULL), 0);
    h2t_take(c, NULL);
    return c;
}

/* A client that has sent its preface and the requests of the fuzz target's passive run. */
static h2_conn *setup_fresh_client(void *arg)
{
    (void)arg;
    static const h2_header get[] = {H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),
                                    H2T_HDR(":authority", "example.com"), H2T_HDR(":path", "/")};
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_conn_initiate(c), 0);
    for (uint32_t id = 1; id <= 5; id += 2)
        cr_assert_eq(h2_conn_send_headers(c, id, get, 4, id == 3 ? 0u : H2_SEND_END_STREAM, NULL),
                     0);
    h2t_take(c, NULL);
    return c;
}

static size_t data_bytes(const h2t_log *log, uint32_t stream_id)
{
    size_t total = 0;
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].type == H2_EV_DATA_RECEIVED && log->ev[i].stream_id == stream_id)
            total += log->ev[i].len;
    return total;
}

Test(fuzz_seeds, server_exchange_opens_two_requests)
{
    size_t len;
    uint8_t *seed = read_seed("server", "exchange", &len);
    h2t_buf in;
    h2t_buf_init(&in);
    seed_stream(seed, len, 2, &in);
    h2t_result res;
    h2t_replay(setup_fresh_server, NULL, in.p, in.len, &res);
    cr_assert_eq(res.rv, 0);
    cr_assert_eq(h2t_log_count(&res.log, H2_EV_REQUEST_RECEIVED), 2);
    cr_assert_eq(h2t_log_find(&res.log, H2_EV_REQUEST_RECEIVED, 0)->stream_id, 1);
    const h2t_ev *post = h2t_log_find(&res.log, H2_EV_REQUEST_RECEIVED, 1);
    cr_assert_eq(post->stream_id, 3);
    cr_assert_str_eq(h2t_ev_header(post, ":method"), "POST");
    cr_assert_str_eq(h2t_ev_header(post, ":path"), "/upload");
    /* The literal indexed into the dynamic table by stream 1's block, reused by stream 3's. */
    cr_assert_str_eq(h2t_ev_header(post, "user-agent"), "seed");
    cr_assert_eq(data_bytes(&res.log, 3), 110);
    cr_assert_eq(h2t_log_count(&res.log, H2_EV_STREAM_ENDED), 2);
    cr_assert_eq(h2t_log_count(&res.log, H2_EV_SETTINGS_ACKNOWLEDGED), 1);
    h2t_result_free(&res);
    h2t_buf_free(&in);
    free(seed);
}

Test(fuzz_seeds, client_exchange_answers_two_requests)
{
    size_t len;
    uint8_t *seed = read_seed("client", "exchange", &len);
    h2t_buf in;
    h2t_buf_init(&in);
    seed_stream(seed, len, 2, &in);
    h2t_result res;
    h2t_replay(setup_fresh_client, NULL, in.p, in.len, &res);
    cr_assert_eq(res.rv, 0);
    cr_assert_eq(h2t_log_count(&res.log, H2_EV_RESPONSE_RECEIVED), 2);
    const h2t_ev *r1 = h2t_log_find(&res.log, H2_EV_RESPONSE_RECEIVED, 0);
    cr_assert_eq(r1->stream_id, 1);
    cr_assert_str_eq(h2t_ev_header(r1, ":status"), "200");
    const h2t_ev *r3 = h2t_log_find(&res.log, H2_EV_RESPONSE_RECEIVED, 1);
    cr_assert_eq(r3->stream_id, 3);
    cr_assert_str_eq(h2t_ev_header(r3, ":status"), "204");
    cr_assert_eq(data_bytes(&res.log, 1), 11);
    h2t_result_free(&res);
    h2t_buf_free(&in);
    free(seed);
}

Test(fuzz_seeds, server_many_streams_reaches_every_request)
{
    size_t len;
    uint8_t *seed = read_seed("server", "many_streams", &len);
    h2t_buf in;
    h2t_buf_init(&in);
    seed_stream(seed, len, 2, &in);
    h2_conn *c = setup_fresh_server(NULL);
    h2t_log log;
    h2t_log_init(&log);
    cr_assert_eq(h2t_feed(c, in.p, in.len, &log), 0);
    /* Streams 1..39 and the CONTINUATION chain of 41. */
    cr_assert_eq(h2t_log_count(&log, H2_EV_REQUEST_RECEIVED), 21);
    cr_assert_eq(h2t_log_find(&log, H2_EV_REQUEST_RECEIVED, 20)->stream_id, 41);
    cr_assert_eq(h2t_log_count(&log, H2_EV_STREAM_RESET), 4);
    h2t_log_free(&log);
    h2_conn_free(c);
    h2t_buf_free(&in);
    free(seed);
}

/* Every block of an hpack seed taken from hpack-test-case decodes. */
Test(fuzz_seeds, hpack_story_blocks_decode)
{
    size_t len;
    uint8_t *seed = read_seed("hpack", "nghttp2-change-table-size_story_02", &len);
    h2_hpack_decoder *dec = NULL;
    cr_assert_eq(h2_hpack_decoder_new(&dec, NULL), 0);
    size_t pos = 1, blocks = 0, updates = 0;
    while (pos < len) {
        uint8_t op = seed[pos++];
        cr_assert_leq(pos + 2, len);
        size_t v = (size_t)seed[pos] << 8 | seed[pos + 1];
        pos += 2;
        if (op & 0x80u) {
            cr_assert_eq(h2_hpack_decoder_set_max_table_size(dec, v * 4), 0);
            updates++;
            continue;
        }
        cr_assert_leq(pos + v, len);
        const h2_header *f = NULL;
        size_t n = 0;
        cr_assert_eq(h2_hpack_decode(dec, seed + pos, v, &f, &n), 0, "block %zu", blocks);
        cr_assert_gt(n, 0);
        h2_hpack_decoder_reset_output(dec);
        pos += v;
        blocks++;
    }
    cr_assert_eq(blocks, 10);
    cr_assert_eq(updates, 2);
    h2_hpack_decoder_free(dec);
    free(seed);
}

/* The configuration of the fuzz targets' small-limits option (byte 0 bit 4). */
static h2_conn_config small_limits(h2_role role)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, role);
    cfg.header_table_size = 0;
    cfg.initial_window_size = 100;
    cfg.output_high_water = 2048;
    cfg.max_continuation_frames = 3;
    cfg.max_header_list_size = 512;
    cfg.glitch_burst = 8;
    cfg.max_queued_replies = 8;
    cfg.max_settings_entries = 4;
    cfg.max_header_fields = 8;
    cfg.max_header_fields_hard = 16;
    if (role == H2_ROLE_SERVER) {
        cfg.max_concurrent_streams = 4;
        cfg.encoder_table_cap = 256;
        cfg.reset_burst = 4;
        cfg.max_active_requests = 2;
    } else {
        cfg.max_reserved_streams = 2;
        cfg.encoder_table_cap = 0;
        cfg.assumed_peer_max_concurrent_streams = 2;
    }
    return cfg;
}

/* Feeds the seed whole to a fresh connection with the small limits; returns its stats. */
static h2_conn_stats run_abuse_seed(h2_role role, const char *name, bool hold, int *rv,
                                    h2t_log *log)
{
    size_t len;
    uint8_t *seed = read_seed(role == H2_ROLE_SERVER ? "server" : "client", name, &len);
    h2t_buf in;
    h2t_buf_init(&in);
    seed_stream(seed, len, 2, &in);
    h2_conn_config cfg = small_limits(role);
    cfg.hold_reset_requests = hold && role == H2_ROLE_SERVER;
    h2_conn *c = h2t_conn_new(role, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    if (role == H2_ROLE_SERVER) {
        cr_assert_eq(h2t_feed(c, H2_CLIENT_PREFACE_TEXT, 24, NULL), 0);
    } else {
        static const h2_header get[] = {H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"),
                                        H2T_HDR(":authority", "example.com"),
                                        H2T_HDR(":path", "/")};
        for (uint32_t id = 1; id <= 3; id += 2)
            cr_assert_eq(h2_conn_send_headers(c, id, get, 4, H2_SEND_END_STREAM, NULL), 0);
    }
    h2t_take(c, NULL);
    *rv = h2t_feed(c, in.p, in.len, log);
    if (*rv != 0)
        cr_log_info("%s: %s", name, h2_conn_last_error(c).message);
    h2_conn_stats st = {.size = sizeof(st)};
    h2_conn_get_stats(c, &st);
    h2_conn_free(c);
    h2t_buf_free(&in);
    free(seed);
    return st;
}

/* The abuse seeds reach the limit they were made for under the small limits. */
Test(fuzz_seeds, abuse_seeds_trip_their_limits)
{
    static const struct {
        h2_role role;
        const char *name;
        bool hold;
        h2_limit limit;
    } want[] = {
        {H2_ROLE_SERVER, "abuse_rapid_reset", true, H2_LIMIT_ACTIVE_REQUESTS},
        {H2_ROLE_SERVER, "abuse_ping_flood", false, H2_LIMIT_QUEUED_REPLIES},
        {H2_ROLE_SERVER, "abuse_settings_entries", false, H2_LIMIT_SETTINGS_ENTRIES},
        {H2_ROLE_SERVER, "abuse_header_fields", false, H2_LIMIT_HEADER_FIELDS},
        {H2_ROLE_SERVER, "abuse_empty_data", false, H2_LIMIT_GLITCHES},
        {H2_ROLE_CLIENT, "abuse_glitches", false, H2_LIMIT_GLITCHES},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int rv = 0;
        h2t_log log;
        h2t_log_init(&log);
        h2_conn_stats st = run_abuse_seed(want[i].role, want[i].name, want[i].hold, &rv, &log);
        for (int l = 0; l < H2_LIMIT_COUNT; l++)
            if (st.limit_exceeded[l] != 0)
                cr_log_info("%s: %s x%llu (rv %d)", want[i].name, h2_limit_name((h2_limit)l),
                            (unsigned long long)st.limit_exceeded[l], rv);
        cr_assert_gt(st.limit_exceeded[want[i].limit], 0u, "%s: %s never tripped (rv %d)",
                     want[i].name, h2_limit_name(want[i].limit), rv);
        h2t_log_free(&log);
    }
}
