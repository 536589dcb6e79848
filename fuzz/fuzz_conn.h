/*
 * Helpers for the connection fuzz targets: a table of response or request
 * bodies still to send, output draining, payload release counting and a
 * digest of an events array (to check that sending calls made while
 * handling events leave those events intact).
 */
#ifndef H2_FUZZ_CONN_H
#define H2_FUZZ_CONN_H

#include <string.h>
#include "core/frame.h"
#include "h2/conn.h"
#include "fuzz_util.h"

#define FUZZ_MAX_BODIES 32
#define FUZZ_BODY_MAX 70000u

/* The bytes every body is cut from (any content will do). */
static uint8_t fuzz_body_bytes[FUZZ_BODY_MAX];

typedef struct fuzz_body {
    uint32_t id;        /* 0: free slot */
    size_t left;        /* bytes still to send */
    bool trailers;      /* end with a trailers block instead of END_STREAM on DATA */
} fuzz_body;

typedef struct fuzz_conn {
    h2_conn *conn;
    fuzz_body bodies[FUZZ_MAX_BODIES];
    bool by_ref;             /* queue DATA with h2_conn_send_data_ref() */
    unsigned long refs;      /* successful h2_conn_send_data_ref() calls with a release */
    unsigned long releases;  /* release callbacks seen */
    bool dead;               /* H2_ENOMEM seen: only free is allowed */
    unsigned drains;
    /* Checks the bytes taken from the output: whole, well-formed frames. */
    h2_frame_reader out_reader;
    size_t preface_left;     /* client: bytes of the preface still to skip */
} fuzz_conn;

/* Call once the connection exists; |client| when it sends the preface. */
static inline void fuzz_out_init(fuzz_conn *fc, bool client)
{
    h2_frame_reader_init(&fc->out_reader, NULL);
    fc->out_reader.max_frame_size = H2_MAX_FRAME_SIZE_LIMIT;
    fc->preface_left = client ? H2_CLIENT_PREFACE_LEN : 0;
}

static inline void fuzz_out_free(fuzz_conn *fc)
{
    h2_frame_reader_free(&fc->out_reader);
}

/* Every byte the connection gives out must belong to a valid frame. */
static inline void fuzz_out_check(fuzz_conn *fc, const uint8_t *p, size_t len)
{
    while (fc->preface_left > 0 && len > 0) {
        size_t i = H2_CLIENT_PREFACE_LEN - fc->preface_left;
        FUZZ_CHECK(p[0] == (uint8_t)H2_CLIENT_PREFACE[i]);
        fc->preface_left--;
        p++;
        len--;
    }
    while (len > 0) {
        size_t used = 0;
        h2_frame f;
        uint32_t werr = 0;
        int rv = h2_frame_reader_next(&fc->out_reader, p, len, &used, &f, &werr);
        FUZZ_CHECK(rv == 0 || rv == 1);
        p += used;
        len -= used;
        if (rv == 0)
            break;
        FUZZ_CHECK(f.hd.type != H2_FRAME_DATA || f.hd.stream_id != 0);
    }
}

static void fuzz_release(void *user, const uint8_t *data, size_t len)
{
    fuzz_conn *fc = user;
    FUZZ_CHECK(data >= fuzz_body_bytes && data + len <= fuzz_body_bytes + FUZZ_BODY_MAX);
    fc->releases++;
}

static inline void fuzz_note(fuzz_conn *fc, int rv)
{
    if (rv == H2_ENOMEM)
        fc->dead = true;
}

static inline void fuzz_body_add(fuzz_conn *fc, uint32_t id, size_t len, bool trailers)
{
    for (int i = 0; i < FUZZ_MAX_BODIES; i++) {
        if (fc->bodies[i].id == 0) {
            fc->bodies[i].id = id;
            fc->bodies[i].left = len;
            fc->bodies[i].trailers = trailers;
            return;
        }
    }
    /* Table full: end the stream at once. */
    fuzz_note(fc, h2_conn_end_stream(fc->conn, id));
}

static inline void fuzz_body_drop(fuzz_conn *fc, uint32_t id)
{
    for (int i = 0; i < FUZZ_MAX_BODIES; i++)
        if (fc->bodies[i].id == id)
            fc->bodies[i].id = 0;
}

/* Sends what the windows allow of every pending body. */
static inline void fuzz_bodies_flush(fuzz_conn *fc)
{
    static const h2_header trailers[] = {
        {(const uint8_t *)"x-checksum", 10, (const uint8_t *)"0", 1, 0},
    };
    for (int i = 0; i < FUZZ_MAX_BODIES && !fc->dead; i++) {
        fuzz_body *b = &fc->bodies[i];
        while (b->id != 0 && !fc->dead) {
            int32_t win = 0;
            if (h2_conn_send_window(fc->conn, b->id, &win) != 0) {
                b->id = 0;
                break;
            }
            size_t n = b->left;
            uint32_t maxf = h2_conn_max_outbound_frame_size(fc->conn);
            if (n > maxf)
                n = maxf;
            if (win <= 0 && n > 0)
                break;
            if (win > 0 && n > (size_t)win)
                n = (size_t)win;
            bool last = n == b->left;
            uint32_t flags = (last && !b->trailers) ? H2_SEND_END_STREAM : 0u;
            const uint8_t *p = fuzz_body_bytes + (FUZZ_BODY_MAX - b->left);
            int rv;
            if (fc->by_ref) {
                rv = h2_conn_send_data_ref(fc->conn, b->id, p, n, flags, -1, fuzz_release, fc);
                if (rv == 0)
                    fc->refs++;
            } else {
                int pad = -1;
                if (n + 3 <= maxf && win > 0 && n + 3 <= (size_t)win)
                    pad = (int)(n & 3u) - 1;
                rv = h2_conn_send_data(fc->conn, b->id, p, n, flags, pad);
            }
            fuzz_note(fc, rv);
            if (rv != 0) {
                if (rv != H2_ENOBUFS && rv != H2_EFLOW_CONTROL)
                    b->id = 0;
                break;
            }
            b->left -= n;
            if (last) {
                if (b->trailers)
                    fuzz_note(fc, h2_conn_send_headers(fc->conn, b->id, trailers, 1,
                                                       H2_SEND_END_STREAM, NULL));
                b->id = 0;
            }
        }
    }
}

/* Takes queued output, all of it or (|partial|) only part of it. */
static inline void fuzz_drain(fuzz_conn *fc, bool partial)
{
    fc->drains++;
    if (fc->drains % 3 == 0) {
        uint8_t buf[4096];
        size_t cap = partial ? 100 : sizeof buf;
        size_t got;
        do {
            got = h2_conn_data_to_send(fc->conn, buf, cap);
            fuzz_out_check(fc, buf, got);
        } while (got == cap && !partial);
        return;
    }
    if (fc->drains % 3 == 1) {
        const uint8_t *p;
        size_t len;
        for (;;) {
            h2_conn_output_view(fc->conn, &p, &len);
            if (len == 0)
                break;
            size_t take = partial ? len / 2 + 1 : len;
            fuzz_out_check(fc, p, take);
            h2_conn_output_consume(fc->conn, take);
            if (partial)
                break;
        }
        return;
    }
    for (;;) {
        struct iovec iov[8];
        int n = h2_conn_output_iov(fc->conn, iov, 8);
        FUZZ_CHECK(n >= 0 && n <= 8);
        if (n == 0)
            break;
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(iov[i].iov_len > 0);
            total += iov[i].iov_len;
        }
        size_t take = partial ? total / 2 + 1 : total;
        size_t left = take;
        for (int i = 0; i < n && left > 0; i++) {
            size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
            fuzz_out_check(fc, iov[i].iov_base, k);
            left -= k;
        }
        if (partial) {
            h2_conn_output_consume(fc->conn, take);
            break;
        }
        h2_conn_output_consume(fc->conn, total);
    }
}

static inline void fuzz_digest_fields(fuzz_digest *d, const h2_header *f, size_t n)
{
    fuzz_digest_u64(d, n);
    for (size_t i = 0; i < n; i++) {
        fuzz_digest_bytes(d, f[i].name, f[i].name_len);
        fuzz_digest_u64(d, f[i].name_len);
        fuzz_digest_bytes(d, f[i].value, f[i].value_len);
        fuzz_digest_u64(d, f[i].value_len);
        fuzz_digest_u64(d, f[i].flags);
    }
}

/* Adds the events to |dp|: what they say, not how they are grouped or linked. */
static inline void fuzz_events_digest_into(fuzz_digest *dp, const h2_event *ev, size_t n)
{
    fuzz_digest d = *dp;
    for (size_t i = 0; i < n; i++) {
        fuzz_digest_u64(&d, (uint64_t)ev[i].type);
        fuzz_digest_u64(&d, ev[i].stream_id);
        switch (ev[i].type) {
        case H2_EV_REQUEST_RECEIVED:
        case H2_EV_RESPONSE_RECEIVED:
        case H2_EV_TRAILERS_RECEIVED:
        case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
            fuzz_digest_fields(&d, ev[i].u.headers.fields, ev[i].u.headers.n);
            fuzz_digest_u64(&d, ev[i].u.headers.stream_ended >= 0);
            break;
        case H2_EV_PUSHED_STREAM_RECEIVED:
            fuzz_digest_fields(&d, ev[i].u.push.fields, ev[i].u.push.n);
            fuzz_digest_u64(&d, ev[i].u.push.parent_stream_id);
            break;
        case H2_EV_REMOTE_SETTINGS_CHANGED:
        case H2_EV_SETTINGS_ACKNOWLEDGED:
            fuzz_digest_u64(&d, ev[i].u.settings.n);
            for (size_t k = 0; k < ev[i].u.settings.n; k++) {
                const h2_changed_setting *c = &ev[i].u.settings.changed[k];
                fuzz_digest_u64(&d, c->id);
                fuzz_digest_u64(&d, c->new_value);
            }
            break;
        case H2_EV_DATA_RECEIVED:
            fuzz_digest_bytes(&d, ev[i].u.data.data, ev[i].u.data.len);
            fuzz_digest_u64(&d, ev[i].u.data.flow_controlled_length);
            FUZZ_CHECK(ev[i].u.data.flow_controlled_length >= ev[i].u.data.len);
            break;
        case H2_EV_CONNECTION_TERMINATED:
            fuzz_digest_bytes(&d, ev[i].u.terminated.debug, ev[i].u.terminated.debug_len);
            fuzz_digest_u64(&d, ev[i].u.terminated.error_code);
            fuzz_digest_u64(&d, ev[i].u.terminated.last_stream_id);
            break;
        case H2_EV_WINDOW_UPDATED:
            fuzz_digest_u64(&d, ev[i].u.window_delta);
            break;
        case H2_EV_PING_RECEIVED:
        case H2_EV_PING_ACK_RECEIVED:
            fuzz_digest_bytes(&d, ev[i].u.ping, 8);
            break;
        case H2_EV_STREAM_RESET:
            fuzz_digest_u64(&d, ev[i].u.reset.error_code);
            fuzz_digest_u64(&d, ev[i].u.reset.remote_reset);
            break;
        case H2_EV_PRIORITY_UPDATED:
            fuzz_digest_u64(&d, ev[i].u.priority.depends_on);
            fuzz_digest_u64(&d, ev[i].u.priority.weight);
            fuzz_digest_u64(&d, ev[i].u.priority.exclusive);
            break;
        case H2_EV_ALTERNATIVE_SERVICE_AVAILABLE:
            fuzz_digest_bytes(&d, ev[i].u.altsvc.origin, ev[i].u.altsvc.origin_len);
            fuzz_digest_bytes(&d, ev[i].u.altsvc.field_value, ev[i].u.altsvc.field_value_len);
            break;
        case H2_EV_PRIORITY_UPDATE_RECEIVED:
            fuzz_digest_bytes(&d, ev[i].u.priority_update.field_value,
                              ev[i].u.priority_update.field_value_len);
            break;
        case H2_EV_UNKNOWN_FRAME_RECEIVED:
            fuzz_digest_bytes(&d, ev[i].u.unknown.payload, ev[i].u.unknown.len);
            break;
        default:
            break;
        }
    }
    *dp = d;
}

/* Digest of the connection-owned parts of the events. */
static inline uint64_t fuzz_events_digest(const h2_event *ev, size_t n)
{
    fuzz_digest d;
    fuzz_digest_init(&d);
    fuzz_events_digest_into(&d, ev, n);
    return d.h;
}

/*
 * Feeds |len| bytes to |conn| (initiated, output not taken yet) cut by
 * |mode|, stopping at the first error, and takes the output only at the
 * end. Returns a digest of every event, the first non-zero return code and
 * the output bytes: any cutting of the same bytes must give the same one.
 */
static inline uint64_t fuzz_passive_run(h2_conn *conn, const uint8_t *p, size_t len, unsigned mode)
{
    fuzz_digest d;
    fuzz_digest_init(&d);
    fuzz_split split;
    fuzz_split_init(&split, mode);
    size_t off = 0;
    int rv = 0;
    while (off < len) {
        size_t c = fuzz_split_next(&split, len - off);
        const h2_event *ev = NULL;
        size_t n = 0;
        rv = h2_conn_receive(conn, p + off, c, &ev, &n);
        fuzz_events_digest_into(&d, ev, n);
        off += c;
        if (rv != 0)
            break;
    }
    fuzz_digest_u64(&d, (uint64_t)(int64_t)rv);
    uint8_t buf[4096];
    size_t got;
    while ((got = h2_conn_data_to_send(conn, buf, sizeof buf)) > 0)
        fuzz_digest_bytes(&d, buf, got);
    return d.h;
}

/* Checks the related-event links of an events array. */
static inline void fuzz_check_links(const h2_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t link = -1;
        switch (ev[i].type) {
        case H2_EV_REQUEST_RECEIVED:
        case H2_EV_RESPONSE_RECEIVED:
        case H2_EV_TRAILERS_RECEIVED:
        case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
            link = ev[i].u.headers.stream_ended;
            if (ev[i].u.headers.priority_updated >= 0) {
                FUZZ_CHECK((size_t)ev[i].u.headers.priority_updated < n);
                FUZZ_CHECK(ev[ev[i].u.headers.priority_updated].type == H2_EV_PRIORITY_UPDATED);
            }
            break;
        case H2_EV_DATA_RECEIVED:
            link = ev[i].u.data.stream_ended;
            break;
        default:
            break;
        }
        if (link >= 0) {
            FUZZ_CHECK((size_t)link < n && (size_t)link > i);
            FUZZ_CHECK(ev[link].type == H2_EV_STREAM_ENDED);
            FUZZ_CHECK(ev[link].stream_id == ev[i].stream_id);
        }
    }
}

#endif /* H2_FUZZ_CONN_H */
