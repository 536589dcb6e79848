/* Connection life cycle, output queue, queries and frame writers. */
#include <string.h>
#include "core/abi.h"
#include "core/conn_internal.h"
#include "core/hpack_limits.h"
#include "core/mem.h"

/* Smallest chunk of the per-receive-call arena. */
#define CONN_ARENA_CHUNK 512u

int h2_conn_new(h2_conn **out, const h2_conn_config *cfg)
{
    h2_conn_config imported;
    if (out == NULL || h2_conn_config_import(&imported, cfg) != 0)
        return H2_EINVAL;
    cfg = &imported;
    bool server = cfg->role == H2_ROLE_SERVER;
    if ((cfg->role != H2_ROLE_CLIENT && !server) ||
        h2_settings_check(H2_SETTING_ENABLE_PUSH, cfg->enable_push, server) != H2_NO_ERROR ||
        h2_settings_check(H2_SETTING_INITIAL_WINDOW_SIZE, cfg->initial_window_size, false) ||
        h2_settings_check(H2_SETTING_MAX_FRAME_SIZE, cfg->max_frame_size, false) ||
        h2_settings_check(H2_SETTING_ENABLE_CONNECT_PROTOCOL, cfg->enable_connect_protocol,
                          false) ||
        h2_settings_check(H2_SETTING_NO_RFC7540_PRIORITIES, cfg->no_rfc7540_priorities, false) ||
        cfg->connection_window_size < 65535 || cfg->connection_window_size > H2_MAX_WINDOW_SIZE ||
        cfg->max_continuation_frames == 0)
        return H2_EINVAL;
    const h2_mem *mem = h2_mem_or_default(cfg->mem);
    h2_conn *c = h2_mem_calloc(mem, 1, sizeof(*c));
    if (c == NULL)
        return H2_ENOMEM;
    c->mem = mem;
    c->cfg = *cfg;
    c->cfg.mem = NULL;
    h2_settings_defaults(&c->local);
    h2_settings_put(&c->local, H2_SETTING_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams);
    h2_settings_put(&c->local, H2_SETTING_MAX_HEADER_LIST_SIZE, cfg->max_header_list_size);
    /* Our ENABLE_PUSH only gates PUSH_PROMISE, which a peer can send only
     * after reading our SETTINGS: in force at once. */
    h2_settings_put(&c->local, H2_SETTING_ENABLE_PUSH, cfg->enable_push);
    h2_settings_defaults(&c->remote);
    h2_settings_pending_init(&c->pending);
    c->send_window = 65535;
    h2_recv_window_init(&c->recv_window, 65535);
    h2_obuf_init(&c->out);
    h2_conn_reader_init(c);
    h2_arena_init(&c->arena, CONN_ARENA_CHUNK);
    h2_hdr_scratch_init(&c->scratch, c->mem);
    h2_hdr_scratch_init(&c->scratch_in, c->mem);
    h2_stream_set_init(&c->streams, cfg->max_closed_streams);
    c->err.message = "";
    if (h2_conn_trace_init(c) != 0) {
        h2_conn_free(c);
        return H2_ENOMEM;
    }
    *out = c;
    return 0;
}

void h2_conn_free(h2_conn *c)
{
    if (c == NULL)
        return;
    const h2_mem *mem = c->mem;
    h2_hpack_encoder_free(c->enc);
    h2_hpack_decoder_free(c->dec);
    if (c->out.segs != NULL)
        h2_mem_free(mem, c->out.segs->tap); /* the frame tracer (conn_trace.c) */
    h2_obuf_free(&c->out, mem);
    h2_frame_reader_free(&c->reader);
    h2_mem_free(mem, c->hb.buf);
    h2_mem_free(mem, c->ev);
    h2_arena_free(&c->arena, mem);
    h2_hdr_scratch_free(&c->scratch);
    h2_hdr_scratch_free(&c->scratch_in);
    h2_settings_pending_free(&c->pending, mem);
    h2_stream_set_free(&c->streams, mem);
    h2_conn_slots_free(c);
    h2_mem_free(mem, c);
}

int h2_conn_ensure_encoder(h2_conn *c)
{
    if (c->enc != NULL)
        return 0;
    h2_hpack_encoder *enc;
    if (h2_hpack_encoder_new(&enc, c->cfg.encoder_table_cap, c->mem) != 0)
        return H2_ENOMEM;
    uint32_t peer = h2_settings_get(&c->remote, H2_SETTING_HEADER_TABLE_SIZE);
    if (peer != H2_HPACK_DEFAULT_TABLE_SIZE &&
        h2_hpack_encoder_set_peer_max_table_size(enc, peer)) {
        h2_hpack_encoder_free(enc);
        return H2_ENOMEM;
    }
    c->enc = enc;
    return 0;
}

int h2_conn_ensure_decoder(h2_conn *c)
{
    if (c->dec != NULL)
        return 0;
    h2_hpack_decoder *dec;
    if (h2_hpack_decoder_new(&dec, c->mem) != 0)
        return H2_ENOMEM;
    uint32_t table = h2_settings_get(&c->local, H2_SETTING_HEADER_TABLE_SIZE);
    if (table != H2_HPACK_DEFAULT_TABLE_SIZE && h2_hpack_decoder_set_max_table_size(dec, table)) {
        h2_hpack_decoder_free(dec);
        return H2_ENOMEM;
    }
    c->dec = dec;
    h2_conn_decoder_limits(c);
    return 0;
}

void h2_conn_decoder_limits(h2_conn *c)
{
    if (c->dec == NULL)
        return;
    uint32_t list = h2_settings_get(&c->local, H2_SETTING_MAX_HEADER_LIST_SIZE);
    uint32_t field = h2_conn_max_field_size(c);
    h2_hpack_decoder_set_limits(c->dec, list == H2_SETTING_UNSET ? 0 : list,
                                field == H2_SETTING_UNSET ? 0 : field);
    uint32_t hard = h2_conn_max_fields_hard(c);
    h2_hpack_decoder_set_max_fields(c->dec, hard == UINT32_MAX ? 0 : hard);
}

/* ---- frame writers ------------------------------------------------------ */

int h2_conn_write_rst(h2_conn *c, uint32_t id, uint32_t code)
{
    if (h2_obuf_reserve(&c->out, c->mem, 13) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_rst_stream(h2_obuf_tail(&c->out), id, code));
    c->stats.frames_sent++;
    c->stats.resets_sent++;
    return 0;
}

int h2_conn_write_window_update(h2_conn *c, uint32_t id, uint32_t inc)
{
    if (h2_obuf_reserve(&c->out, c->mem, 13) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_window_update(h2_obuf_tail(&c->out), id, inc));
    c->stats.frames_sent++;
    return 0;
}

int h2_conn_write_goaway(h2_conn *c, uint32_t last_id, uint32_t code, const uint8_t *debug,
                         size_t len)
{
    if (len > H2_DEFAULT_MAX_FRAME_SIZE - 8 || h2_obuf_reserve(&c->out, c->mem, 17 + len) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_goaway(h2_obuf_tail(&c->out), last_id, code, debug, len));
    c->stats.frames_sent++;
    return 0;
}

int h2_conn_write_settings(h2_conn *c, uint8_t flags, const h2_setting *e, size_t n)
{
    if (h2_obuf_reserve(&c->out, c->mem, 9 + 6 * n) != 0)
        return H2_ENOMEM;
    uint8_t *p = h2_obuf_tail(&c->out);
    h2_frame_hd_pack(p, (uint32_t)(6 * n), H2_FRAME_SETTINGS, flags, 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + 9 + 6 * i;
        q[0] = (uint8_t)(e[i].id >> 8);
        q[1] = (uint8_t)e[i].id;
        q[2] = (uint8_t)(e[i].value >> 24);
        q[3] = (uint8_t)(e[i].value >> 16);
        q[4] = (uint8_t)(e[i].value >> 8);
        q[5] = (uint8_t)e[i].value;
    }
    h2_obuf_commit(&c->out, 9 + 6 * n);
    c->stats.frames_sent++;
    return 0;
}

int h2_conn_write_ping(h2_conn *c, uint8_t flags, const uint8_t opaque[8])
{
    if (h2_obuf_reserve(&c->out, c->mem, 17) != 0)
        return H2_ENOMEM;
    h2_obuf_commit(&c->out, h2_frame_pack_ping(h2_obuf_tail(&c->out), flags, opaque));
    c->stats.frames_sent++;
    return 0;
}

/* ---- state helpers ------------------------------------------------------- */

void h2_conn_close_stream(h2_conn *c, h2_stream *s, h2_closed_how how)
{
    if (s->flags & H2_SF_OUTBOUND) {
        c->n_outbound--;
    } else {
        c->n_inbound--;
        if (c->n_slots > 0)
            h2_conn_slot_on_close(c, s->id, how);
    }
    h2_stream_close(&c->streams, c->mem, s, how);
}

int h2_conn_fail(h2_conn *c, uint32_t code, const char *message)
{
    return h2_conn_fail_debug(c, code, message, NULL);
}

int h2_conn_fail_debug(h2_conn *c, uint32_t code, const char *message, const char *debug)
{
    c->flags |= H2_CF_ERROR;
    c->stats.connection_errors++;
    c->err.occurred = true;
    c->err.code = code;
    c->err.message = message;
    c->err.last_stream_id = c->highest_inbound;
    c->hb.active = false;
    size_t dlen = debug != NULL ? strlen(debug) : 0;
    if (h2_conn_write_goaway(c, c->highest_inbound, code, (const uint8_t *)debug, dlen) != 0)
        return H2_ENOMEM;
    c->flags |= H2_CF_GOAWAY_SENT;
    c->goaway_sent_last = c->highest_inbound;
    return H2_EPROTO;
}

h2_event *h2_conn_push_event(h2_conn *c, int type, uint32_t stream_id)
{
    if (c->n_ev == c->cap_ev) {
        if (c->cap_ev > UINT32_MAX / 2)
            return NULL;
        uint32_t cap = c->cap_ev == 0 ? 8 : c->cap_ev * 2;
        h2_event *ev = h2_mem_realloc(c->mem, c->ev, (size_t)cap * sizeof(*ev));
        if (ev == NULL)
            return NULL;
        c->ev = ev;
        c->cap_ev = cap;
    }
    h2_event *e = &c->ev[c->n_ev++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->stream_id = stream_id;
    return e;
}

/* ---- preface -------------------------------------------------------------- */

int h2_conn_initiate(h2_conn *c)
{
    if (c == NULL)
        return H2_EINVAL;
    if (c->flags & H2_CF_INITIATED)
        return H2_ESTATE;
    const h2_conn_config *cfg = &c->cfg;
    h2_setting e[8] = {
        {H2_SETTING_HEADER_TABLE_SIZE, cfg->header_table_size},
        {H2_SETTING_ENABLE_PUSH, cfg->enable_push},
        {H2_SETTING_INITIAL_WINDOW_SIZE, cfg->initial_window_size},
        {H2_SETTING_MAX_FRAME_SIZE, cfg->max_frame_size},
        {H2_SETTING_ENABLE_CONNECT_PROTOCOL, cfg->enable_connect_protocol},
        {H2_SETTING_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams},
        {H2_SETTING_MAX_HEADER_LIST_SIZE, cfg->max_header_list_size},
        {H2_SETTING_NO_RFC7540_PRIORITIES, 1},
    };
    /* h2's seven settings, in h2's order; NO_RFC7540_PRIORITIES only when set. */
    size_t n_e = cfg->no_rfc7540_priorities ? 8 : 7;
    uint32_t conn_inc = cfg->connection_window_size - 65535;
    size_t need =
        9 + 6 * n_e + (h2_conn_is_client(c) ? H2_CLIENT_PREFACE_LEN : 0) + (conn_inc > 0 ? 13 : 0);
    if (h2_obuf_reserve(&c->out, c->mem, need) != 0)
        return H2_ENOMEM;
    int rv = h2_settings_pending_push(&c->pending, c->mem, e, n_e);
    if (rv != 0)
        return rv;
    if (h2_conn_is_client(c)) {
        memcpy(h2_obuf_tail(&c->out), H2_CLIENT_PREFACE, H2_CLIENT_PREFACE_LEN);
        h2_obuf_commit(&c->out, H2_CLIENT_PREFACE_LEN);
    }
    (void)h2_conn_write_settings(c, 0, e, n_e);
    if (conn_inc > 0) {
        (void)h2_conn_write_window_update(c, 0, conn_inc);
        (void)h2_recv_window_open(&c->recv_window, conn_inc);
    }
    c->flags |= H2_CF_INITIATED;
    return 0;
}

int64_t h2_conn_next_stream_id(const h2_conn *c)
{
    uint32_t next;
    if (c->highest_outbound == 0)
        next = h2_conn_is_client(c) ? 1 : 2;
    else
        next = c->highest_outbound + 2;
    if (next > H2_MAX_STREAM_ID)
        return H2_ENOSTREAMID;
    return next;
}

/* ---- output ---------------------------------------------------------------- */

size_t h2_conn_data_to_send(h2_conn *c, uint8_t *out, size_t cap)
{
    size_t n = h2_obuf_peek(&c->out, out, cap);
    if (n > 0)
        h2_obuf_consume(&c->out, n);
    c->stats.bytes_sent += n;
    return n;
}

void h2_conn_output_view(const h2_conn *c, const uint8_t **data, size_t *len)
{
    h2_obuf_front(&c->out, data, len);
}

int h2_conn_output_iov(const h2_conn *c, struct iovec *iov, int max)
{
    if (c == NULL || (iov == NULL && max > 0))
        return H2_EINVAL;
    if (max <= 0)
        return 0;
    return (int)h2_obuf_iov(&c->out, iov, (size_t)max);
}

void h2_conn_output_consume(h2_conn *c, size_t n)
{
    size_t pending = h2_obuf_pending(&c->out);
    c->stats.bytes_sent += n < pending ? n : pending;
    h2_obuf_consume(&c->out, n);
}

void h2_conn_clear_output(h2_conn *c)
{
    h2_obuf_clear(&c->out);
}

size_t h2_conn_output_pending(const h2_conn *c)
{
    return h2_obuf_pending(&c->out);
}

/* ---- per-receive memory ------------------------------------------------------ */

/* Events an event array keeps across a trim (5 KiB; its capacities are powers of two). */
#define EVENTS_RETAIN 128u

void h2_conn_begin_receive(h2_conn *c)
{
    c->n_ev = 0;
    if (c->cap_ev > EVENTS_RETAIN) {
        /* Shrinking in place; if even that fails, keep the larger array. */
        h2_event *ev = h2_mem_realloc(c->mem, c->ev, EVENTS_RETAIN * sizeof(*ev));
        if (ev != NULL) {
            c->ev = ev;
            c->cap_ev = EVENTS_RETAIN;
        }
    }
    h2_arena_trim(&c->arena, c->mem);
    h2_hdr_scratch_trim(&c->scratch_in, H2_ARENA_RETAIN);
    h2_hpack_decoder_trim_output(c->dec);
}

void h2_conn_release_events(h2_conn *c)
{
    if (c != NULL)
        h2_conn_begin_receive(c);
}

bool h2_conn_want_read(const h2_conn *c)
{
    if (c->flags & H2_CF_ERROR)
        return false;
    if ((c->flags & (H2_CF_GOAWAY_SENT | H2_CF_GOAWAY_RECV)) && c->n_inbound + c->n_outbound == 0)
        return false;
    return true;
}

bool h2_conn_want_write(const h2_conn *c)
{
    return h2_obuf_pending(&c->out) > 0;
}

h2_conn_error h2_conn_last_error(const h2_conn *c)
{
    return c->err;
}

/* ---- queries ----------------------------------------------------------------- */

int h2_conn_find_stream(const h2_conn *c, uint32_t id, h2_stream **s)
{
    *s = h2_stream_get(&c->streams, id);
    if (*s != NULL)
        return 0;
    if (id == 0 || id > H2_MAX_STREAM_ID)
        return H2_ENOSTREAM;
    uint32_t highest = h2_conn_is_ours(c, id) ? c->highest_outbound : c->highest_inbound;
    return id <= highest ? H2_ESTREAM_CLOSED : H2_ENOSTREAM;
}

int h2_conn_send_window(const h2_conn *c, uint32_t id, int32_t *window)
{
    if (id == 0) {
        *window = c->send_window;
        return 0;
    }
    h2_stream *s;
    int rv = h2_conn_find_stream(c, id, &s);
    if (rv != 0)
        return rv;
    *window = s->send_window < c->send_window ? s->send_window : c->send_window;
    return 0;
}

int h2_conn_recv_window(const h2_conn *c, uint32_t id, int32_t *window)
{
    if (id == 0) {
        *window = c->recv_window.current;
        return 0;
    }
    h2_stream *s;
    int rv = h2_conn_find_stream(c, id, &s);
    if (rv != 0)
        return rv;
    *window = s->recv.current < c->recv_window.current ? s->recv.current : c->recv_window.current;
    return 0;
}

uint32_t h2_conn_max_outbound_frame_size(const h2_conn *c)
{
    return h2_settings_get(&c->remote, H2_SETTING_MAX_FRAME_SIZE);
}

size_t h2_conn_open_inbound_streams(const h2_conn *c)
{
    return c->n_inbound;
}

size_t h2_conn_open_outbound_streams(const h2_conn *c)
{
    return c->n_outbound;
}

bool h2_conn_header_block_pending(const h2_conn *c)
{
    return c->hb.active;
}

size_t h2_conn_settings_unacked(const h2_conn *c)
{
    return c->pending.n_frames;
}

uint32_t h2_conn_setting(const h2_conn *c, bool remote, uint16_t id)
{
    return h2_settings_get(remote ? &c->remote : &c->local, id);
}
