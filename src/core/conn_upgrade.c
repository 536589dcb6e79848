/*
 * h2c upgrade (RFC 7540 section 3.2; RFC 9113 keeps the HTTP2-Settings
 * format): the HTTP2-Settings header value (base64url of a SETTINGS
 * payload) and the two ways of starting a connection on an upgraded
 * HTTP/1.1 exchange, with stream 1 standing for the upgraded request.
 */
#include <string.h>
#include "core/conn_internal.h"
#include "core/mem.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of a base64url character, or -1. */
static int b64_val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

/* Encodes |len| bytes (a multiple of 3) as 4 characters per 3 bytes. */
static size_t b64_encode(const uint8_t *p, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = B64URL[(v >> 18) & 63];
        out[o++] = B64URL[(v >> 12) & 63];
        out[o++] = B64URL[(v >> 6) & 63];
        out[o++] = B64URL[v & 63];
    }
    return o;
}

int h2_settings_header_encode(const h2_setting *e, size_t n, char *out, size_t cap, size_t *out_len)
{
    if ((e == NULL && n > 0) || out == NULL || out_len == NULL)
        return H2_EINVAL;
    if (n > (SIZE_MAX - 1) / 8 || cap < 8 * n + 1)
        return H2_ENOBUFS;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t raw[6];
        h2_frame_put_u16(raw, e[i].id);
        h2_frame_put_u32(raw + 2, e[i].value);
        o += b64_encode(raw, 6, out + o);
    }
    out[o] = '\0';
    *out_len = o;
    return 0;
}

int h2_settings_header_decode(const char *in, size_t len, h2_setting *out, size_t cap, size_t *n)
{
    if ((in == NULL && len > 0) || (out == NULL && cap > 0) || n == NULL)
        return H2_EINVAL;
    /* 8 characters per entry: a value never needs padding, and has none */
    if (len % 8 != 0)
        return H2_EINVAL;
    if (len / 8 > cap)
        return H2_ENOBUFS;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t b = 0;
    uint8_t raw[6];
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val(in[i]);
        if (v < 0)
            return H2_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits < 8)
            continue;
        bits -= 8;
        raw[b++] = (uint8_t)(acc >> bits);
        acc &= (1u << bits) - 1u;
        if (b == 6) {
            out[count].id = h2_frame_get_u16(raw);
            out[count].value = h2_frame_get_u32(raw + 2);
            count++;
            b = 0;
        }
    }
    *n = count;
    return 0;
}

/* Stream 1 for the upgraded request; h2_stream_reserve() was called. */
static void open_stream_one(h2_conn *c)
{
    h2_stream *s = h2_stream_new(&c->streams, c->mem, 1);
    s->send_window = (int32_t)h2_settings_get(&c->remote, H2_SETTING_INITIAL_WINDOW_SIZE);
    h2_recv_window_init(&s->recv, h2_settings_get(&c->local, H2_SETTING_INITIAL_WINDOW_SIZE));
    if (h2_conn_is_client(c)) {
        /* the request went out whole over HTTP/1.1 */
        s->state = H2_SS_HALF_CLOSED_LOCAL;
        s->flags = H2_SF_OUTBOUND | H2_SF_SENT_FINAL;
        c->highest_outbound = 1;
        c->n_outbound++;
        c->stats.streams_opened_local++;
    } else {
        s->state = H2_SS_HALF_CLOSED_REMOTE;
        s->flags = H2_SF_RECV_FINAL;
        c->highest_inbound = 1;
        c->n_inbound++;
        c->stats.streams_opened_remote++;
    }
}

int h2_conn_initiate_upgrade_client(h2_conn *c, char *out, size_t cap, size_t *out_len)
{
    if (c == NULL || out == NULL || out_len == NULL || !h2_conn_is_client(c))
        return H2_EINVAL;
    if (c->flags & H2_CF_INITIATED)
        return H2_ESTATE;
    /* h2_conn_initiate() sends 7 settings: 42 payload bytes, 56 characters */
    if (cap < 8 * 7 + 1)
        return H2_ENOBUFS;
    if (h2_stream_reserve(&c->streams, c->mem) != 0)
        return H2_ENOMEM;
    int rv = h2_conn_initiate(c);
    if (rv != 0)
        return rv;
    /* the SETTINGS frame just queued is the only one awaiting its ACK */
    size_t chars;
    (void)h2_settings_header_encode(c->pending.entries, c->pending.counts[0], out, cap, &chars);
    *out_len = chars;
    open_stream_one(c);
    return 0;
}

int h2_conn_initiate_upgrade_server(h2_conn *c, const char *settings, size_t len)
{
    if (c == NULL || (settings == NULL && len > 0) || h2_conn_is_client(c))
        return H2_EINVAL;
    if (c->flags & H2_CF_INITIATED)
        return H2_ESTATE;
    h2_setting e[H2_SETTINGS_MAX_PER_FRAME];
    size_t n;
    int rv = h2_settings_header_decode(settings, len, e, H2_SETTINGS_MAX_PER_FRAME, &n);
    if (rv != 0 || n > h2_conn_max_settings_entries(c))
        return H2_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (h2_settings_check(e[i].id, e[i].value, false) != H2_NO_ERROR)
            return H2_ESETTINGS;
    /* the upgraded request holds a request slot like any other */
    if (h2_stream_reserve(&c->streams, c->mem) != 0 || h2_conn_slot_take(c, 1) != 0)
        return H2_ENOMEM;
    rv = h2_conn_initiate(c);
    if (rv != 0) {
        c->n_slots = 0;
        return rv;
    }
    /* the client's settings, in force at once (the encoder, created on
     * first use, picks up HEADER_TABLE_SIZE from them) */
    for (size_t i = 0; i < n; i++)
        h2_settings_put(&c->remote, e[i].id, e[i].value);
    open_stream_one(c);
    return 0;
}
