/*
 * Fuzz target: a client connection that sent requests, fed arbitrary
 * server bytes.
 *
 * Input: two option bytes, then the server's bytes (its SETTINGS first, as
 * a real server would send).
 *   byte 0 bits 0-3: how each round is cut into receive calls (fuzz_split)
 *   byte 0 bit 4:    small limits (header table 0, initial window 100,
 *                    output high-water 2048, max_continuation_frames 3,
 *                    max_header_list_size 512, max_reserved_streams 2,
 *                    glitch burst 8, 8 queued replies, 4 SETTINGS entries,
 *                    8/16 header fields, 2 streams before the server's
 *                    SETTINGS)
 *   byte 0 bit 5:    the allocator fails from call (u16 + 1) on (two more bytes)
 *   byte 0 bit 6:    request bodies queued by reference
 *   byte 0 bit 7:    push disabled (ENABLE_PUSH 0)
 *   byte 1: behaviour: bit 0 reset pushed streams, bit 1 a new request per
 *           round, bit 2 PRIORITY and PRIORITY_UPDATE frames, bit 3 request
 *           trailers, bit 4 a PING per round, bit 5 reset stream 5 after the
 *           first round, bit 6 take the output only in part, bit 7 GOAWAY at
 *           the end
 *   The rest is cut into rounds at "--MARK--".
 *
 * Checks: as fuzz_server.
 */
#include <stdlib.h>
#include <string.h>
#include "h2/conn.h"
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MARK[] = "--MARK--";
#define MARK_LEN (sizeof MARK - 1)

#define HDR(n, v) {(const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0}

typedef struct client {
    fuzz_conn fc;
    uint8_t behaviour;
    bool proto_error;
    unsigned rounds;
} client;

static void request(client *c, bool body)
{
    static const h2_header get[] = {HDR(":method", "GET"), HDR(":scheme", "https"),
                                    HDR(":authority", "example.com"), HDR(":path", "/"),
                                    HDR("user-agent", "libh2-fuzz"),
                                    {(const uint8_t *)"cookie", 6, (const uint8_t *)"a=1; b=2", 8,
                                     0}};
    static const h2_header post[] = {HDR(":method", "POST"), HDR(":scheme", "https"),
                                     HDR(":authority", "example.com"), HDR(":path", "/upload"),
                                     HDR("content-type", "application/octet-stream")};
    fuzz_conn *fc = &c->fc;
    int64_t id = h2_conn_next_stream_id(fc->conn);
    if (id < 0)
        return;
    h2_priority_args prio = {.weight = 32, .depends_on = 0, .exclusive = false};
    int rv;
    if (body) {
        rv = h2_conn_send_headers(fc->conn, (uint32_t)id, post, 5, 0,
                                  (c->behaviour & 4u) ? &prio : NULL);
        if (rv == 0)
            fuzz_body_add(fc, (uint32_t)id, 20000, (c->behaviour & 8u) != 0);
    } else {
        rv = h2_conn_send_headers(fc->conn, (uint32_t)id, get, 6, H2_SEND_END_STREAM, NULL);
    }
    fuzz_note(fc, rv);
    if (rv == 0 && (c->behaviour & 4u)) {
        fuzz_note(fc, h2_conn_prioritize(fc->conn, (uint32_t)id + 2, &prio));
        fuzz_note(fc, h2_conn_send_priority_update(fc->conn, (uint32_t)id,
                                                   (const uint8_t *)"u=1, i", 6));
    }
}

static void handle(client *c, const h2_event *ev, size_t n)
{
    fuzz_conn *fc = &c->fc;
    for (size_t i = 0; i < n && !fc->dead; i++) {
        const h2_event *e = &ev[i];
        switch (e->type) {
        case H2_EV_DATA_RECEIVED:
            fuzz_note(fc, h2_conn_ack_data(fc->conn, e->stream_id,
                                           e->u.data.flow_controlled_length));
            break;
        case H2_EV_PUSHED_STREAM_RECEIVED:
            if (c->behaviour & 1u)
                fuzz_note(fc, h2_conn_reset_stream(fc->conn, e->stream_id, 0x8));
            break;
        case H2_EV_STREAM_RESET:
            fuzz_body_drop(fc, e->stream_id);
            break;
        case H2_EV_WINDOW_UPDATED:
        case H2_EV_REMOTE_SETTINGS_CHANGED:
            fuzz_bodies_flush(fc);
            break;
        default:
            break;
        }
    }
}

static void receive(client *c, const uint8_t *p, size_t len)
{
    fuzz_conn *fc = &c->fc;
    const h2_event *ev = NULL;
    size_t n = 0;
    int rv = h2_conn_receive(fc->conn, p, len, &ev, &n);
    fuzz_note(fc, rv);
    if (c->proto_error)
        FUZZ_CHECK(rv == H2_ECLOSED);
    if (rv == H2_EPROTO) {
        c->proto_error = true;
        FUZZ_CHECK(h2_conn_last_error(fc->conn).occurred);
        FUZZ_CHECK(!h2_conn_want_read(fc->conn));
    }
    FUZZ_CHECK(rv == 0 || rv == H2_EPROTO || rv == H2_ECLOSED || rv == H2_ENOMEM);
    FUZZ_CHECK(n == 0 || ev != NULL);
    if (fc->dead)
        return;
    fuzz_check_links(ev, n);
    uint64_t before = fuzz_events_digest(ev, n);
    handle(c, ev, n);
    if (!fc->dead) {
        FUZZ_CHECK(fuzz_events_digest(ev, n) == before);
        fuzz_bodies_flush(fc);
    }
    fuzz_drain(fc, (c->behaviour & 0x40u) != 0);
}

/* The requests the passive client sends before it listens. */
static void passive_requests(h2_conn *conn)
{
    static const h2_header get[] = {HDR(":method", "GET"), HDR(":scheme", "https"),
                                    HDR(":authority", "example.com"), HDR(":path", "/")};
    for (uint32_t id = 1; id <= 5; id += 2)
        FUZZ_CHECK(h2_conn_send_headers(conn, id, get, 4, id == 3 ? 0u : H2_SEND_END_STREAM,
                                        NULL) == 0);
}

/* The input without its round markers: the byte stream the peer sent. */
static uint8_t *strip_marks(const uint8_t *p, size_t len, size_t *out_len)
{
    uint8_t *buf = malloc(len ? len : 1);
    FUZZ_CHECK(buf != NULL);
    size_t n = 0;
    while (len > 0) {
        const uint8_t *end = memmem(p, len, MARK, MARK_LEN);
        size_t round = end ? (size_t)(end - p) : len;
        memcpy(buf + n, p, round);
        n += round;
        size_t skip = end ? round + MARK_LEN : round;
        p += skip;
        len -= skip;
    }
    *out_len = n;
    return buf;
}

/*
 * A connection that only listens (no answers, output taken at the end)
 * sees the same events, errors and output whether the stream comes whole
 * or cut up.
 */
static void check_split_invariance(const h2_conn_config *cfg, const uint8_t *p, size_t len,
                                   unsigned mode)
{
    uint64_t digest[2];
    for (int pass = 0; pass < 2; pass++) {
        h2_conn *conn = NULL;
        FUZZ_CHECK(h2_conn_new(&conn, cfg) == 0);
        FUZZ_CHECK(h2_conn_initiate(conn) == 0);
        passive_requests(conn);
        digest[pass] = fuzz_passive_run(conn, p, len, pass == 0 ? 0u : (mode < 2 ? 1u : mode));
        h2_conn_free(conn);
    }
    FUZZ_CHECK(digest[0] == digest[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t opt = fuzz_u8(&in);
    client c;
    memset(&c, 0, sizeof c);
    c.behaviour = fuzz_u8(&in);
    fuzz_alloc fa;
    h2_mem mem = fuzz_alloc_mem(&fa, (opt & 0x20u) ? (unsigned long)fuzz_u16(&in) + 1u : 0u);

    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.mem = &mem;
    if (opt & 0x10u) {
        cfg.header_table_size = 0;
        cfg.initial_window_size = 100;
        cfg.output_high_water = 2048;
        cfg.max_continuation_frames = 3;
        cfg.max_header_list_size = 512;
        cfg.max_reserved_streams = 2;
        cfg.encoder_table_cap = 0;
        /* Abuse limits low enough for short inputs to trip them. */
        cfg.glitch_burst = 8;
        cfg.max_queued_replies = 8;
        cfg.max_settings_entries = 4;
        cfg.max_header_fields = 8;
        cfg.max_header_fields_hard = 16;
        cfg.assumed_peer_max_concurrent_streams = 2;
    }
    if (opt & 0x80u)
        cfg.enable_push = 0;
    c.fc.by_ref = (opt & 0x40u) != 0;
    if (h2_conn_new(&c.fc.conn, &cfg) != 0)
        return 0;
    fuzz_conn *fc = &c.fc;
    fuzz_out_init(fc, true);
    fuzz_note(fc, h2_conn_initiate(fc->conn));
    if (!fc->dead) {
        request(&c, false);
        request(&c, true);
        request(&c, false);
        fuzz_bodies_flush(fc);
        fuzz_drain(fc, false);
    }

    const uint8_t *stream = in.p;
    size_t stream_len = in.len;
    fuzz_split split;
    fuzz_split_init(&split, opt & 15u);
    while (in.len > 0 && !fc->dead) {
        const uint8_t *end = memmem(in.p, in.len, MARK, MARK_LEN);
        size_t round = end ? (size_t)(end - in.p) : in.len;
        size_t off = 0;
        while (off < round && !fc->dead) {
            size_t n = fuzz_split_next(&split, round - off);
            receive(&c, in.p + off, n);
            off += n;
        }
        size_t skip = end ? round + MARK_LEN : round;
        in.p += skip;
        in.len -= skip;
        if (fc->dead)
            break;
        c.rounds++;
        if (c.behaviour & 2u)
            request(&c, (c.rounds & 1u) != 0);
        if ((c.behaviour & 0x10u) && !fc->dead) {
            uint8_t opaque[8] = {'p', 'i', 'n', 'g', 0, 0, 0, (uint8_t)c.rounds};
            fuzz_note(fc, h2_conn_ping(fc->conn, opaque));
        }
        if ((c.behaviour & 0x20u) && c.rounds == 1 && !fc->dead) {
            fuzz_note(fc, h2_conn_reset_stream(fc->conn, 5, 0x8));
            fuzz_body_drop(fc, 5);
        }
        if (!fc->dead) {
            fuzz_bodies_flush(fc);
            fuzz_drain(fc, false);
        }
    }
    if (!fc->dead && (c.behaviour & 0x80u)) {
        fuzz_note(fc, h2_conn_close(fc->conn, 0, NULL, 0, -1));
        fuzz_drain(fc, false);
    }
    (void)h2_conn_open_inbound_streams(fc->conn);
    (void)h2_conn_open_outbound_streams(fc->conn);
    (void)h2_conn_header_block_pending(fc->conn);
    /* A connection whose reader left part of the output: thrown away, the
     * payloads queued by reference are released here. */
    if (c.behaviour & 0x40u)
        h2_conn_clear_output(fc->conn);
    h2_conn_free(fc->conn);
    fuzz_out_free(fc);
    FUZZ_CHECK(fc->releases == fc->refs);

    /* Request slots come back when events are released, which a passive
     * run does only between receive calls: no concurrency limit there. */
    cfg.mem = NULL;
    cfg.max_concurrent_streams = UINT32_MAX;
    cfg.assumed_peer_max_concurrent_streams = 0; /* the passive client opens 3 streams */
    size_t raw_len = 0;
    uint8_t *raw = strip_marks(stream, stream_len, &raw_len);
    check_split_invariance(&cfg, raw, raw_len, opt & 15u);
    free(raw);
    return 0;
}
