/*
 * Fuzz target: a server connection fed the client preface and then the
 * fuzz input, answering every request it sees so the sending paths run
 * too.
 *
 * Input: two option bytes, then the client's bytes (the preface is added by
 * the target).
 *   byte 0 bits 0-3: how each round is cut into receive calls (fuzz_split)
 *   byte 0 bit 4:    small limits (max_concurrent_streams 4, header table 0,
 *                    initial window 100, output high-water 2048,
 *                    max_continuation_frames 3, max_header_list_size 512,
 *                    glitch burst 8, reset burst 4, 8 queued replies,
 *                    4 SETTINGS entries, 8/16 header fields, 2 request
 *                    slots; bit 0 then also holds reset requests' slots)
 *   byte 0 bit 5:    the allocator fails from call (u16 + 1) on (two more bytes)
 *   byte 0 bit 6:    response bodies queued by reference
 *   byte 0 bit 7:    no inbound header validation or normalisation
 *   byte 1: behaviour: bit 0 reset every third request instead of answering,
 *           bit 1 send a 103 first, bit 2 push a resource, bit 3 trailers,
 *           bit 4 a PING per round, bit 5 new SETTINGS and an ALTSVC,
 *           bit 6 take the output only in part, bit 7 graceful GOAWAY at the end
 *   The rest is cut into rounds at the marker "--MARK--"; the output is
 *   drained after every receive call, pending bodies are sent as the
 *   windows allow.
 *
 * Checks: events stay intact while the handler sends; related-event links
 * are consistent; after H2_EPROTO every receive returns H2_ECLOSED; every
 * payload queued by reference is released exactly once.
 */
#include <stdlib.h>
#include <string.h>
#include "h2/conn.h"
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MARK[] = "--MARK--";
#define MARK_LEN (sizeof MARK - 1)

#define FUZZ_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HDR(n, v) {(const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0}

typedef struct server {
    fuzz_conn fc;
    uint8_t behaviour;
    unsigned requests;
    uint32_t next_push;
    bool proto_error;
} server;

static void answer(server *s, uint32_t id)
{
    static const h2_header early[] = {HDR(":status", "103"), HDR("link", "</a.css>; rel=preload")};
    static const h2_header resp[] = {HDR(":status", "200"), HDR("content-type", "text/plain"),
                                     HDR("server", "libh2-fuzz"),
                                     {(const uint8_t *)"set-cookie", 10,
                                      (const uint8_t *)"k=v", 3, H2_HEADER_NEVER_INDEX}};
    static const h2_header empty[] = {HDR(":status", "204")};
    static const h2_header push_req[] = {HDR(":method", "GET"), HDR(":scheme", "https"),
                                         HDR(":authority", "example.com"), HDR(":path", "/a.css")};
    fuzz_conn *fc = &s->fc;
    unsigned nth = s->requests++;

    if ((s->behaviour & 1u) && nth % 3 == 2) {
        fuzz_note(fc, h2_conn_reset_stream(fc->conn, id, nth % 2 ? 0x8u : 0x7u));
        return;
    }
    if (s->behaviour & 2u)
        fuzz_note(fc, h2_conn_send_headers(fc->conn, id, early, 2, 0, NULL));
    if ((s->behaviour & 4u) && s->next_push < 64) {
        int rv = h2_conn_push_stream(fc->conn, id, s->next_push, push_req, 4);
        fuzz_note(fc, rv);
        if (rv == 0) {
            if (h2_conn_send_headers(fc->conn, s->next_push, resp, 3, 0, NULL) == 0)
                fuzz_body_add(fc, s->next_push, 300, false);
        }
        s->next_push += 2;
    }
    if (nth % 4 == 3) {
        fuzz_note(fc, h2_conn_send_headers(fc->conn, id, empty, 1, H2_SEND_END_STREAM, NULL));
        return;
    }
    int rv = h2_conn_send_headers(fc->conn, id, resp, 4, 0, NULL);
    fuzz_note(fc, rv);
    if (rv == 0) {
        static const size_t sizes[4] = {0, 10, 5000, 69999};
        fuzz_body_add(fc, id, sizes[nth % 4], (s->behaviour & 8u) != 0);
    }
}

static void handle(server *s, const h2_event *ev, size_t n)
{
    fuzz_conn *fc = &s->fc;
    for (size_t i = 0; i < n && !fc->dead; i++) {
        const h2_event *e = &ev[i];
        switch (e->type) {
        case H2_EV_REQUEST_RECEIVED:
            answer(s, e->stream_id);
            break;
        case H2_EV_DATA_RECEIVED:
            fuzz_note(fc, h2_conn_ack_data(fc->conn, e->stream_id,
                                           e->u.data.flow_controlled_length));
            break;
        case H2_EV_STREAM_RESET:
            fuzz_body_drop(fc, e->stream_id);
            break;
        case H2_EV_WINDOW_UPDATED:
            fuzz_bodies_flush(fc);
            break;
        default:
            break;
        }
    }
}

static void receive(server *s, const uint8_t *p, size_t len)
{
    fuzz_conn *fc = &s->fc;
    const h2_event *ev = NULL;
    size_t n = 0;
    int rv = h2_conn_receive(fc->conn, p, len, &ev, &n);
    fuzz_note(fc, rv);
    if (s->proto_error)
        FUZZ_CHECK(rv == H2_ECLOSED);
    if (rv == H2_EPROTO) {
        s->proto_error = true;
        FUZZ_CHECK(h2_conn_last_error(fc->conn).occurred);
        FUZZ_CHECK(!h2_conn_want_read(fc->conn));
    }
    FUZZ_CHECK(rv == 0 || rv == H2_EPROTO || rv == H2_ECLOSED || rv == H2_ENOMEM);
    FUZZ_CHECK(n == 0 || ev != NULL);
    if (fc->dead)
        return;
    fuzz_check_links(ev, n);
    uint64_t before = fuzz_events_digest(ev, n);
    handle(s, ev, n);
    if (!fc->dead) {
        FUZZ_CHECK(fuzz_events_digest(ev, n) == before);
        fuzz_bodies_flush(fc);
    }
    if (n > 0 && (s->requests & 1u))
        h2_conn_release_events(fc->conn);
    fuzz_drain(fc, (s->behaviour & 0x40u) != 0);
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
        FUZZ_CHECK(h2_conn_receive(conn, (const uint8_t *)FUZZ_PREFACE, 24, &(const h2_event *){NULL},
                                   &(size_t){0}) == 0);
        digest[pass] = fuzz_passive_run(conn, p, len, pass == 0 ? 0u : (mode < 2 ? 1u : mode));
        h2_conn_free(conn);
    }
    FUZZ_CHECK(digest[0] == digest[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t opt = fuzz_u8(&in);
    server s;
    memset(&s, 0, sizeof s);
    s.behaviour = fuzz_u8(&in);
    s.next_push = 2;
    fuzz_alloc fa;
    h2_mem mem = fuzz_alloc_mem(&fa, (opt & 0x20u) ? (unsigned long)fuzz_u16(&in) + 1u : 0u);

    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.mem = &mem;
    if (opt & 0x10u) {
        cfg.max_concurrent_streams = 4;
        cfg.header_table_size = 0;
        cfg.initial_window_size = 100;
        cfg.output_high_water = 2048;
        cfg.max_continuation_frames = 3;
        cfg.max_header_list_size = 512;
        cfg.encoder_table_cap = 256;
        /* Abuse limits low enough for short inputs to trip them. */
        cfg.glitch_burst = 8;
        cfg.reset_burst = 4;
        cfg.max_queued_replies = 8;
        cfg.max_settings_entries = 4;
        cfg.max_header_fields = 8;
        cfg.max_header_fields_hard = 16;
        cfg.max_active_requests = 2;
        cfg.hold_reset_requests = (opt & 0x01u) != 0;
    }
    if (opt & 0x80u) {
        cfg.validate_inbound_headers = false;
        cfg.normalize_inbound_headers = false;
    }
    s.fc.by_ref = (opt & 0x40u) != 0;
    if (h2_conn_new(&s.fc.conn, &cfg) != 0)
        return 0;
    fuzz_conn *fc = &s.fc;
    fuzz_out_init(fc, false);
    fuzz_note(fc, h2_conn_initiate(fc->conn));
    if (!fc->dead) {
        fuzz_drain(fc, false);
        receive(&s, (const uint8_t *)FUZZ_PREFACE, 24);
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
            size_t c = fuzz_split_next(&split, round - off);
            receive(&s, in.p + off, c);
            off += c;
        }
        size_t skip = end ? round + MARK_LEN : round;
        in.p += skip;
        in.len -= skip;
        if (fc->dead)
            break;
        if (s.behaviour & 0x10u) {
            uint8_t opaque[8] = {'f', 'u', 'z', 'z', 0, 0, 0, (uint8_t)fc->drains};
            fuzz_note(fc, h2_conn_ping(fc->conn, opaque));
        }
        if ((s.behaviour & 0x20u) && !fc->dead) {
            h2_setting set[2] = {{H2_SETTING_INITIAL_WINDOW_SIZE, 1000u + fc->drains},
                                 {H2_SETTING_HEADER_TABLE_SIZE, 128}};
            fuzz_note(fc, h2_conn_update_settings(fc->conn, set, 2));
            fuzz_note(fc, h2_conn_advertise_alternative_service(
                              fc->conn, 0, (const uint8_t *)"https://example.com", 19,
                              (const uint8_t *)"h2=\":443\"", 9));
        }
        if (!fc->dead)
            fuzz_drain(fc, false);
    }
    if (!fc->dead && (s.behaviour & 0x80u)) {
        fuzz_note(fc, h2_conn_close(fc->conn, 0, (const uint8_t *)"bye", 3, -1));
        fuzz_drain(fc, false);
    }
    /* Queries must be safe in any state. */
    (void)h2_conn_open_inbound_streams(fc->conn);
    (void)h2_conn_open_outbound_streams(fc->conn);
    (void)h2_conn_header_block_pending(fc->conn);
    (void)h2_conn_settings_unacked(fc->conn);
    (void)h2_conn_output_pending(fc->conn);
    /* A connection whose reader left part of the output: thrown away, the
     * payloads queued by reference are released here. */
    if (s.behaviour & 0x40u)
        h2_conn_clear_output(fc->conn);
    h2_conn_free(fc->conn);
    fuzz_out_free(fc);
    FUZZ_CHECK(fc->releases == fc->refs);

    /* Request slots come back when events are released, which a passive
     * run does only between receive calls: no concurrency limit there. */
    cfg.mem = NULL;
    cfg.max_concurrent_streams = UINT32_MAX;
    cfg.max_active_requests = 0;
    cfg.hold_reset_requests = false;
    size_t raw_len = 0;
    uint8_t *raw = strip_marks(stream, stream_len, &raw_len);
    check_split_invariance(&cfg, raw, raw_len, opt & 15u);
    free(raw);
    return 0;
}
