/* Frame factory, event log, exchanges and split replay for connection tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "conn_helpers.h"

/* ---- buffer ------------------------------------------------------------------------ */

void h2t_buf_init(h2t_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void h2t_buf_free(h2t_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

uint8_t *h2t_buf_grow(h2t_buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap < 256 ? 256 : b->cap;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert_not_null(b->p);
        b->cap = cap;
    }
    return b->p + b->len;
}

void h2t_buf_put(h2t_buf *b, const void *p, size_t n)
{
    uint8_t *d = h2t_buf_grow(b, n);
    if (n > 0)
        memcpy(d, p, n);
    b->len += n;
}

/* ---- frame factory ------------------------------------------------------------------ */

static void put_hd(h2t_buf *b, uint32_t len, uint8_t type, uint8_t flags, uint32_t id)
{
    uint8_t h[9] = {
        (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,       type,       flags,
        (uint8_t)(id >> 24),  (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    h2t_buf_put(b, h, 9);
}

static void put_u32(h2t_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    h2t_buf_put(b, p, 4);
}

void h2t_ff_init(h2t_ff *ff)
{
    cr_assert_eq(h2_hpack_encoder_new(&ff->enc, H2_HPACK_DEFAULT_TABLE_SIZE, NULL), 0);
}

void h2t_ff_free(h2t_ff *ff)
{
    h2_hpack_encoder_free(ff->enc);
    ff->enc = NULL;
}

void h2t_ff_encode(h2t_ff *ff, const h2_header *fields, size_t n, h2t_buf *out)
{
    size_t bound = h2_hpack_encode_bound(ff->enc, fields, n);
    uint8_t *p = h2t_buf_grow(out, bound);
    size_t len = 0;
    cr_assert_eq(h2_hpack_encode(ff->enc, fields, n, p, bound, &len), 0);
    out->len += len;
}

void h2t_f_preface(h2t_buf *b)
{
    h2t_buf_put(b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
}

void h2t_f_settings(h2t_buf *b, uint8_t flags, const h2_setting *e, size_t n)
{
    put_hd(b, (uint32_t)(6 * n), 0x4, flags, 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t id[2] = {(uint8_t)(e[i].id >> 8), (uint8_t)e[i].id};
        h2t_buf_put(b, id, 2);
        put_u32(b, e[i].value);
    }
}

void h2t_f_headers_raw(h2t_buf *b, uint32_t id, uint8_t flags, const uint8_t *block, size_t len,
                       int weight, uint32_t depends_on, bool exclusive, int pad)
{
    size_t plen = len;
    if (weight > 0) {
        flags |= 0x20;
        plen += 5;
    }
    if (pad >= 0) {
        flags |= 0x8;
        plen += 1 + (size_t)pad;
    }
    put_hd(b, (uint32_t)plen, 0x1, flags, id);
    if (pad >= 0) {
        uint8_t p = (uint8_t)pad;
        h2t_buf_put(b, &p, 1);
    }
    if (weight > 0) {
        put_u32(b, depends_on | (exclusive ? 0x80000000u : 0));
        uint8_t w = (uint8_t)(weight - 1);
        h2t_buf_put(b, &w, 1);
    }
    h2t_buf_put(b, block, len);
    for (int i = 0; i < pad; i++)
        h2t_buf_put(b, "\0", 1);
}

void h2t_f_headers(h2t_ff *ff, h2t_buf *b, uint32_t id, uint8_t flags, const h2_header *fields,
                   size_t n)
{
    h2t_buf blk;
    h2t_buf_init(&blk);
    h2t_ff_encode(ff, fields, n, &blk);
    h2t_f_headers_raw(b, id, flags, blk.p, blk.len, 0, 0, false, -1);
    h2t_buf_free(&blk);
}

void h2t_f_continuation(h2t_buf *b, uint32_t id, uint8_t flags, const uint8_t *block, size_t len)
{
    put_hd(b, (uint32_t)len, 0x9, flags, id);
    h2t_buf_put(b, block, len);
}

void h2t_f_data(h2t_buf *b, uint32_t id, uint8_t flags, const void *data, size_t len, int pad)
{
    size_t plen = len + (pad >= 0 ? 1 + (size_t)pad : 0);
    put_hd(b, (uint32_t)plen, 0x0, (uint8_t)(flags | (pad >= 0 ? 0x8 : 0)), id);
    if (pad >= 0) {
        uint8_t p = (uint8_t)pad;
        h2t_buf_put(b, &p, 1);
    }
    h2t_buf_put(b, data, len);
    for (int i = 0; i < pad; i++)
        h2t_buf_put(b, "\0", 1);
}

void h2t_f_rst(h2t_buf *b, uint32_t id, uint32_t code)
{
    put_hd(b, 4, 0x3, 0, id);
    put_u32(b, code);
}

void h2t_f_ping(h2t_buf *b, uint8_t flags, const uint8_t opaque[8])
{
    put_hd(b, 8, 0x6, flags, 0);
    h2t_buf_put(b, opaque, 8);
}

void h2t_f_goaway(h2t_buf *b, uint32_t last, uint32_t code, const void *debug, size_t len)
{
    put_hd(b, (uint32_t)(8 + len), 0x7, 0, 0);
    put_u32(b, last);
    put_u32(b, code);
    h2t_buf_put(b, debug, len);
}

void h2t_f_window_update(h2t_buf *b, uint32_t id, uint32_t inc)
{
    put_hd(b, 4, 0x8, 0, id);
    put_u32(b, inc);
}

void h2t_f_priority(h2t_buf *b, uint32_t id, uint32_t depends_on, int weight, bool exclusive)
{
    put_hd(b, 5, 0x2, 0, id);
    put_u32(b, depends_on | (exclusive ? 0x80000000u : 0));
    uint8_t w = (uint8_t)(weight - 1);
    h2t_buf_put(b, &w, 1);
}

void h2t_f_push_promise(h2t_ff *ff, h2t_buf *b, uint32_t id, uint32_t promised,
                        const h2_header *fields, size_t n)
{
    h2t_buf blk;
    h2t_buf_init(&blk);
    h2t_ff_encode(ff, fields, n, &blk);
    put_hd(b, (uint32_t)(4 + blk.len), 0x5, 0x4, id);
    put_u32(b, promised);
    h2t_buf_put(b, blk.p, blk.len);
    h2t_buf_free(&blk);
}

void h2t_f_unknown(h2t_buf *b, uint8_t type, uint8_t flags, uint32_t id, const void *payload,
                   size_t len)
{
    put_hd(b, (uint32_t)len, type, flags, id);
    h2t_buf_put(b, payload, len);
}

/* ---- event log ------------------------------------------------------------------------ */

void h2t_log_init(h2t_log *l)
{
    memset(l, 0, sizeof(*l));
}

static void ev_free(h2t_ev *e)
{
    for (size_t i = 0; i < e->n_hdrs; i++) {
        free(e->hdrs[i].name);
        free(e->hdrs[i].value);
    }
    free(e->hdrs);
    free(e->data);
    free(e->origin);
}

void h2t_log_clear(h2t_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        ev_free(&l->ev[i]);
    l->n = 0;
}

void h2t_log_free(h2t_log *l)
{
    h2t_log_clear(l);
    free(l->ev);
    memset(l, 0, sizeof(*l));
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    if (n > 0)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void copy_hdrs(h2t_ev *e, const h2_header *f, size_t n)
{
    e->n_hdrs = n;
    e->hdrs = calloc(n + 1, sizeof(*e->hdrs));
    cr_assert_not_null(e->hdrs);
    for (size_t k = 0; k < n; k++) {
        const h2_header *h = &f[k];
        e->hdrs[k].name = dup_bytes(h->name, h->name_len);
        e->hdrs[k].value = dup_bytes(h->value, h->value_len);
        e->hdrs[k].name_len = h->name_len;
        e->hdrs[k].value_len = h->value_len;
        e->hdrs[k].flags = h->flags;
    }
}

void h2t_log_add(h2t_log *l, const h2_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (l->n == l->cap) {
            l->cap = l->cap == 0 ? 16 : l->cap * 2;
            l->ev = realloc(l->ev, l->cap * sizeof(*l->ev));
            cr_assert_not_null(l->ev);
        }
        const h2_event *s = &ev[i];
        h2t_ev *e = &l->ev[l->n++];
        memset(e, 0, sizeof(*e));
        e->type = s->type;
        e->stream_id = s->stream_id;
        e->stream_ended = -1;
        e->priority_updated = -1;
        switch (s->type) {
        case H2_EV_REQUEST_RECEIVED:
        case H2_EV_RESPONSE_RECEIVED:
        case H2_EV_TRAILERS_RECEIVED:
        case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
            copy_hdrs(e, s->u.headers.fields, s->u.headers.n);
            if (s->u.headers.stream_ended >= 0)
                e->stream_ended = s->u.headers.stream_ended - (int32_t)i;
            if (s->u.headers.priority_updated >= 0)
                e->priority_updated = s->u.headers.priority_updated - (int32_t)i;
            break;
        case H2_EV_DATA_RECEIVED:
            e->len = s->u.data.len;
            e->data = (uint8_t *)dup_bytes(s->u.data.data, s->u.data.len);
            e->fcl = s->u.data.flow_controlled_length;
            if (s->u.data.stream_ended >= 0)
                e->stream_ended = s->u.data.stream_ended - (int32_t)i;
            break;
        case H2_EV_WINDOW_UPDATED:
            e->window_delta = s->u.window_delta;
            break;
        case H2_EV_REMOTE_SETTINGS_CHANGED:
        case H2_EV_SETTINGS_ACKNOWLEDGED:
            cr_assert_leq(s->u.settings.n, 32);
            e->n_settings = s->u.settings.n;
            if (e->n_settings > 0)
                memcpy(e->settings, s->u.settings.changed, e->n_settings * sizeof(e->settings[0]));
            break;
        case H2_EV_PING_RECEIVED:
        case H2_EV_PING_ACK_RECEIVED:
            memcpy(e->ping, s->u.ping, 8);
            break;
        case H2_EV_STREAM_RESET:
            e->error_code = s->u.reset.error_code;
            e->remote_reset = s->u.reset.remote_reset;
            break;
        case H2_EV_PRIORITY_UPDATED:
            e->depends_on = s->u.priority.depends_on;
            e->weight = s->u.priority.weight;
            e->exclusive = s->u.priority.exclusive;
            break;
        case H2_EV_CONNECTION_TERMINATED:
            e->error_code = s->u.terminated.error_code;
            e->last_stream_id = s->u.terminated.last_stream_id;
            e->len = s->u.terminated.debug_len;
            e->data = (uint8_t *)dup_bytes(s->u.terminated.debug, s->u.terminated.debug_len);
            break;
        case H2_EV_UNKNOWN_FRAME_RECEIVED:
            e->frame_type = s->u.unknown.frame_type;
            e->flags = s->u.unknown.flags;
            e->len = s->u.unknown.len;
            e->data = (uint8_t *)dup_bytes(s->u.unknown.payload, s->u.unknown.len);
            break;
        case H2_EV_PUSHED_STREAM_RECEIVED:
            copy_hdrs(e, s->u.push.fields, s->u.push.n);
            e->parent_id = s->u.push.parent_stream_id;
            break;
        case H2_EV_ALTERNATIVE_SERVICE_AVAILABLE:
            if (s->u.altsvc.origin != NULL)
                e->origin = dup_bytes(s->u.altsvc.origin, s->u.altsvc.origin_len);
            e->origin_len = s->u.altsvc.origin_len;
            e->len = s->u.altsvc.field_value_len;
            e->data = (uint8_t *)dup_bytes(s->u.altsvc.field_value, e->len);
            break;
        case H2_EV_PRIORITY_UPDATE_RECEIVED:
            e->len = s->u.priority_update.field_value_len;
            e->data = (uint8_t *)dup_bytes(s->u.priority_update.field_value, e->len);
            e->urgency = s->u.priority_update.urgency;
            e->incremental = s->u.priority_update.incremental;
            break;
        default:
            break;
        }
    }
}

static bool ev_eq(const h2t_ev *a, const h2t_ev *b)
{
    if (a->type != b->type || a->stream_id != b->stream_id || a->n_hdrs != b->n_hdrs ||
        a->stream_ended != b->stream_ended || a->priority_updated != b->priority_updated ||
        a->len != b->len || a->fcl != b->fcl || a->window_delta != b->window_delta ||
        a->n_settings != b->n_settings || memcmp(a->ping, b->ping, 8) != 0 ||
        a->error_code != b->error_code || a->remote_reset != b->remote_reset ||
        a->depends_on != b->depends_on || a->weight != b->weight || a->exclusive != b->exclusive ||
        a->last_stream_id != b->last_stream_id || a->frame_type != b->frame_type ||
        a->flags != b->flags || a->parent_id != b->parent_id ||
        a->origin_len != b->origin_len || (a->origin == NULL) != (b->origin == NULL) ||
        a->urgency != b->urgency || a->incremental != b->incremental)
        return false;
    if (a->origin != NULL && memcmp(a->origin, b->origin, a->origin_len) != 0)
        return false;
    if (a->len > 0 && memcmp(a->data, b->data, a->len) != 0)
        return false;
    for (size_t i = 0; i < a->n_settings; i++) {
        const h2_changed_setting *x = &a->settings[i], *y = &b->settings[i];
        if (x->id != y->id || x->had_original != y->had_original || x->original != y->original ||
            x->new_value != y->new_value)
            return false;
    }
    for (size_t i = 0; i < a->n_hdrs; i++) {
        const h2t_hdr *x = &a->hdrs[i], *y = &b->hdrs[i];
        if (x->name_len != y->name_len || x->value_len != y->value_len || x->flags != y->flags ||
            memcmp(x->name, y->name, x->name_len) != 0 ||
            memcmp(x->value, y->value, x->value_len) != 0)
            return false;
    }
    return true;
}

bool h2t_log_eq(const h2t_log *a, const h2t_log *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!ev_eq(&a->ev[i], &b->ev[i]))
            return false;
    return true;
}

const char *h2t_ev_name(int type)
{
    static const char *names[] = {
        "?",
        "RequestReceived",
        "ResponseReceived",
        "TrailersReceived",
        "InformationalResponseReceived",
        "DataReceived",
        "WindowUpdated",
        "RemoteSettingsChanged",
        "SettingsAcknowledged",
        "PingReceived",
        "PingAckReceived",
        "StreamEnded",
        "StreamReset",
        "PriorityUpdated",
        "ConnectionTerminated",
        "UnknownFrameReceived",
        "PushedStreamReceived",
        "AlternativeServiceAvailable",
        "PriorityUpdateReceived",
    };
    if (type < 0 || (size_t)type >= sizeof(names) / sizeof(names[0]))
        return "?";
    return names[type];
}

void h2t_log_print(const h2t_log *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const h2t_ev *e = &l->ev[i];
        fprintf(stderr, "  [%zu] %s stream=%u len=%zu code=%u hdrs=%zu\n", i, h2t_ev_name(e->type),
                e->stream_id, e->len, e->error_code, e->n_hdrs);
    }
}

size_t h2t_log_count(const h2t_log *l, int type)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->ev[i].type == type;
    return n;
}

const h2t_ev *h2t_log_find(const h2t_log *l, int type, size_t nth)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->ev[i].type == type && nth-- == 0)
            return &l->ev[i];
    return NULL;
}

const char *h2t_ev_header(const h2t_ev *e, const char *name)
{
    for (size_t i = 0; i < e->n_hdrs; i++)
        if (strcmp(e->hdrs[i].name, name) == 0)
            return e->hdrs[i].value;
    return NULL;
}

/* ---- connections ------------------------------------------------------------------------ */

h2_conn *h2t_conn_new(h2_role role, const h2_conn_config *cfg)
{
    h2_conn_config def;
    if (cfg == NULL) {
        h2_conn_config_init(&def, role);
        cfg = &def;
    }
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, cfg), 0);
    return c;
}

int h2t_feed(h2_conn *c, const void *p, size_t n, h2t_log *log)
{
    const h2_event *ev;
    size_t n_ev;
    int rv = h2_conn_receive(c, p, n, &ev, &n_ev);
    if (log != NULL)
        h2t_log_add(log, ev, n_ev);
    return rv;
}

void h2t_take(h2_conn *c, h2t_buf *out)
{
    const uint8_t *p;
    size_t n;
    h2_conn_output_view(c, &p, &n);
    if (out != NULL && n > 0)
        h2t_buf_put(out, p, n);
    h2_conn_output_consume(c, n);
}

int h2t_transfer(h2_conn *from, h2_conn *to, h2t_log *to_log)
{
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_take(from, &b);
    int rv = h2t_feed(to, b.p, b.len, to_log);
    h2t_buf_free(&b);
    return rv;
}

void h2t_handshake(h2_conn *client, h2_conn *server)
{
    cr_assert_eq(h2_conn_initiate(client), 0);
    cr_assert_eq(h2_conn_initiate(server), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(h2t_transfer(client, server, NULL), 0);
        cr_assert_eq(h2t_transfer(server, client, NULL), 0);
    }
    cr_assert_not(h2_conn_want_write(client));
    cr_assert_not(h2_conn_want_write(server));
}

h2_conn *h2t_server_ready(const h2_conn_config *cfg)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_preface(&b);
    h2t_f_settings(&b, 0, NULL, 0);
    h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(c, NULL);
    return c;
}

h2_conn *h2t_client_ready(const h2_conn_config *cfg)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf b;
    h2t_buf_init(&b);
    h2t_f_settings(&b, 0, NULL, 0);
    h2t_f_settings(&b, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, b.p, b.len, NULL), 0);
    h2t_buf_free(&b);
    h2t_take(c, NULL);
    return c;
}

h2_conn *h2t_setup_server(void *arg)
{
    return h2t_server_ready(arg);
}

h2_conn *h2t_setup_client(void *arg)
{
    return h2t_client_ready(arg);
}

/* ---- split replay ------------------------------------------------------------------------- */

/* Feeds |in| in the pieces given by the cut points; stops after an error. */
static void run_pieces(h2t_setup_fn setup, void *arg, const uint8_t *in, size_t len,
                       const size_t *cuts, size_t n_cuts, h2t_result *r)
{
    h2t_log_init(&r->log);
    h2t_buf_init(&r->out);
    r->rv = 0;
    r->conn = setup(arg);
    size_t start = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        int rv = h2t_feed(r->conn, in + start, end - start, &r->log);
        if (rv != 0) {
            r->rv = rv;
            break;
        }
        start = end;
    }
    h2t_take(r->conn, &r->out);
}

static void compare(const h2t_result *a, const h2t_result *b, const char *how, size_t at)
{
    bool same = a->rv == b->rv && h2t_log_eq(&a->log, &b->log) && a->out.len == b->out.len &&
                (a->out.len == 0 || memcmp(a->out.p, b->out.p, a->out.len) == 0);
    if (!same) {
        fprintf(stderr, "replay mismatch (%s at %zu): rv %d vs %d, out %zu vs %zu\nwhole:\n", how,
                at, a->rv, b->rv, a->out.len, b->out.len);
        h2t_log_print(&a->log);
        fprintf(stderr, "split:\n");
        h2t_log_print(&b->log);
    }
    cr_assert(same, "split replay (%s at %zu) differs from whole feed", how, at);
}

void h2t_result_free(h2t_result *res)
{
    h2t_log_free(&res->log);
    h2t_buf_free(&res->out);
    h2_conn_free(res->conn);
    res->conn = NULL;
}

void h2t_replay(h2t_setup_fn setup, void *arg, const uint8_t *in, size_t len, h2t_result *res)
{
    run_pieces(setup, arg, in, len, NULL, 0, res);
    for (size_t k = 1; k < len; k++) {
        h2t_result r;
        run_pieces(setup, arg, in, len, &k, 1, &r);
        compare(res, &r, "split", k);
        h2t_result_free(&r);
    }
    if (len > 1) {
        size_t *cuts = malloc(len * sizeof(*cuts));
        cr_assert_not_null(cuts);
        for (size_t k = 0; k + 1 < len; k++)
            cuts[k] = k + 1;
        h2t_result r;
        run_pieces(setup, arg, in, len, cuts, len - 1, &r);
        compare(res, &r, "byte by byte", 0);
        h2t_result_free(&r);
        free(cuts);
    }
}

/* ---- output frames ----------------------------------------------------------------------------
 */

uint32_t h2t_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t h2t_parse_frames(const uint8_t *p, size_t n, h2t_frame *out, size_t max)
{
    size_t k = 0, pos = 0;
    while (pos < n) {
        cr_assert_geq(n - pos, 9, "output ends inside a frame header");
        uint32_t len = (uint32_t)p[pos] << 16 | (uint32_t)p[pos + 1] << 8 | p[pos + 2];
        cr_assert_geq(n - pos - 9, len, "output ends inside a frame");
        if (k < max) {
            out[k].len = len;
            out[k].type = p[pos + 3];
            out[k].flags = p[pos + 4];
            out[k].id = h2t_u32(p + pos + 5) & 0x7fffffffu;
            out[k].payload = p + pos + 9;
        }
        k++;
        pos += 9 + len;
    }
    return k;
}

size_t h2t_count_frames(const h2t_buf *out, uint8_t type)
{
    h2t_frame f[256];
    size_t n = h2t_parse_frames(out->p, out->len, f, 256);
    size_t c = 0;
    for (size_t i = 0; i < n && i < 256; i++)
        c += f[i].type == type;
    return c;
}

void h2t_expect_rst(const h2t_buf *out, uint32_t id, uint32_t code)
{
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out->p, out->len, f, 4), 1, "expected exactly one frame");
    cr_assert_eq(f[0].type, 0x3, "expected RST_STREAM, got type %u", f[0].type);
    cr_assert_eq(f[0].id, id);
    cr_assert_eq(h2t_u32(f[0].payload), code, "RST code %u, expected %u", h2t_u32(f[0].payload),
                 code);
}

void h2t_expect_goaway(const h2t_buf *out, uint32_t last, uint32_t code)
{
    h2t_frame f[4];
    cr_assert_eq(h2t_parse_frames(out->p, out->len, f, 4), 1, "expected exactly one frame");
    cr_assert_eq(f[0].type, 0x7, "expected GOAWAY, got type %u", f[0].type);
    cr_assert_eq(h2t_u32(f[0].payload) & 0x7fffffffu, last);
    cr_assert_eq(h2t_u32(f[0].payload + 4), code, "GOAWAY code %u, expected %u",
                 h2t_u32(f[0].payload + 4), code);
}

/* ---- pairs ---------------------------------------------------------------------------------- */

const h2_header h2t_req_get[4] = {
    H2T_HDR(":method", "GET"),
    H2T_HDR(":scheme", "https"),
    H2T_HDR(":authority", "example.com"),
    H2T_HDR(":path", "/"),
};

const h2_header h2t_req_post[4] = {
    H2T_HDR(":method", "POST"),
    H2T_HDR(":scheme", "https"),
    H2T_HDR(":authority", "example.com"),
    H2T_HDR(":path", "/upload"),
};

const h2_header h2t_resp_200[2] = {
    H2T_HDR(":status", "200"),
    H2T_HDR("server", "libh2-test"),
};

void h2t_pair_init(h2t_pair *p, const h2_conn_config *ccfg, const h2_conn_config *scfg)
{
    p->cl = h2t_conn_new(H2_ROLE_CLIENT, ccfg);
    p->sv = h2t_conn_new(H2_ROLE_SERVER, scfg);
    h2t_log_init(&p->cl_log);
    h2t_log_init(&p->sv_log);
    h2t_handshake(p->cl, p->sv);
}

void h2t_pair_free(h2t_pair *p)
{
    h2_conn_free(p->cl);
    h2_conn_free(p->sv);
    h2t_log_free(&p->cl_log);
    h2t_log_free(&p->sv_log);
}

int h2t_c2s(h2t_pair *p)
{
    h2t_log_clear(&p->sv_log);
    return h2t_transfer(p->cl, p->sv, &p->sv_log);
}

int h2t_s2c(h2t_pair *p)
{
    h2t_log_clear(&p->cl_log);
    return h2t_transfer(p->sv, p->cl, &p->cl_log);
}

int h2t_send_get(h2_conn *c, uint32_t id, bool end_stream)
{
    return h2_conn_send_headers(c, id, h2t_req_get, 4, end_stream ? H2_SEND_END_STREAM : 0, NULL);
}

h2_conn *h2t_setup_client_get(void *arg)
{
    h2_conn *c = h2t_client_ready(arg);
    cr_assert_eq(h2t_send_get(c, 1, true), 0);
    h2t_take(c, NULL);
    return c;
}

h2_conn *h2t_setup_client_post(void *arg)
{
    h2_conn *c = h2t_client_ready(arg);
    cr_assert_eq(h2_conn_send_headers(c, 1, h2t_req_post, 4, 0, NULL), 0);
    h2t_take(c, NULL);
    return c;
}

void h2t_expect_conn_error(h2t_result *res, uint32_t code)
{
    cr_assert_eq(res->rv, H2_EPROTO, "rv %d (%s), expected H2_EPROTO", res->rv,
                 h2_errname(res->rv));
    h2t_frame f[64];
    size_t n = h2t_parse_frames(res->out.p, res->out.len, f, 64);
    cr_assert_geq(n, 1);
    cr_assert_leq(n, 64);
    cr_assert_eq(f[n - 1].type, 0x7, "last frame type %u, expected GOAWAY", f[n - 1].type);
    cr_assert_eq(h2t_u32(f[n - 1].payload + 4), code, "GOAWAY code %u, expected %u",
                 h2t_u32(f[n - 1].payload + 4), code);
    h2_conn_error err = h2_conn_last_error(res->conn);
    cr_assert(err.occurred);
    cr_assert_eq(err.code, code);
    cr_assert_str_neq(err.message, "");
    cr_assert_not(h2_conn_want_read(res->conn));
    uint8_t junk[9] = {0};
    cr_assert_eq(h2t_feed(res->conn, junk, sizeof(junk), NULL), H2_ECLOSED);
    cr_assert_eq(h2_conn_output_pending(res->conn), 0);
}

void h2t_replay_ok(h2t_setup_fn setup, void *arg, const h2t_buf *in, h2t_result *res)
{
    h2t_replay(setup, arg, in->p, in->len, res);
    cr_assert_eq(res->rv, 0, "rv %d (%s)", res->rv, h2_errname(res->rv));
}

void h2t_replay_conn_error(h2t_setup_fn setup, void *arg, const h2t_buf *in, uint32_t code)
{
    h2t_result r;
    h2t_replay(setup, arg, in->p, in->len, &r);
    h2t_expect_conn_error(&r, code);
    h2t_result_free(&r);
}
