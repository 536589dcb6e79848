/*
 * The frame trace hook (h2_conn_config.trace): through a client/server
 * exchange, each side's trace of sent frames is exactly the frames parsed
 * from its output bytes, and the other side's trace of received frames is
 * the same list; input split anywhere gives the same trace.
 */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"
#include "support/testmem.h"

TestSuite(conn_trace);

typedef struct rec {
    int dir;
    uint8_t type, flags;
    uint32_t id, len;
    bool has_payload;
    uint8_t *payload; /* copy */
} rec;

typedef struct trace_log {
    rec r[512];
    size_t n;
} trace_log;

static void on_trace(void *user, const h2_frame_trace *f)
{
    trace_log *l = user;
    cr_assert_lt(l->n, 512);
    rec *r = &l->r[l->n++];
    r->dir = f->direction;
    r->type = f->type;
    r->flags = f->flags;
    r->id = f->stream_id;
    r->len = f->length;
    r->has_payload = f->payload != NULL;
    r->payload = NULL;
    if (f->payload != NULL) {
        r->payload = malloc(f->length);
        memcpy(r->payload, f->payload, f->length);
    }
}

static void log_clear(trace_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->r[i].payload);
    l->n = 0;
}

/* The entries of |l| in direction |dir|, in order. */
static size_t select_dir(const trace_log *l, int dir, const rec **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i].dir == dir && k < max)
            out[k++] = &l->r[i];
    return k;
}

/* Asserts that the |dir| entries of |l| are exactly the frames in |wire|. */
static void expect_frames(const trace_log *l, int dir, const h2t_buf *wire, size_t skip,
                          size_t *n_unsplit)
{
    static h2t_frame f[512];
    static const rec *r[512];
    size_t nf = h2t_parse_frames(wire->p + skip, wire->len - skip, f, 512);
    size_t nr = select_dir(l, dir, r, 512);
    cr_assert_eq(nr, nf, "traced %zu frames, the wire has %zu", nr, nf);
    *n_unsplit = 0;
    for (size_t i = 0; i < nf; i++) {
        cr_assert_eq(r[i]->type, f[i].type, "frame %zu", i);
        cr_assert_eq(r[i]->flags, f[i].flags, "frame %zu", i);
        cr_assert_eq(r[i]->id, f[i].id, "frame %zu", i);
        cr_assert_eq(r[i]->len, f[i].len, "frame %zu", i);
        if (f[i].len == 0) {
            cr_assert_not(r[i]->has_payload);
        } else if (r[i]->has_payload) {
            cr_assert(memcmp(r[i]->payload, f[i].payload, f[i].len) == 0, "frame %zu", i);
            (*n_unsplit)++;
        }
    }
}

typedef struct side {
    h2_conn *c;
    trace_log log;
    h2t_buf wire; /* every byte it sent */
} side;

/* Moves |a|'s output to |b|; asserts |b| accepts it. */
static void move(side *a, side *b)
{
    h2t_buf tmp;
    h2t_buf_init(&tmp);
    while (h2_conn_output_pending(a->c) > 0) /* one segment at a time */
        h2t_take(a->c, &tmp);
    h2t_buf_put(&a->wire, tmp.p, tmp.len);
    cr_assert_eq(h2t_feed(b->c, tmp.p, tmp.len, NULL), 0);
    h2t_buf_free(&tmp);
}

static void side_init(side *s, h2_role role, const h2_conn_config *base)
{
    h2_conn_config cfg;
    if (base != NULL)
        cfg = *base;
    else
        h2_conn_config_init(&cfg, role);
    s->log.n = 0;
    cfg.trace = on_trace;
    cfg.trace_user = &s->log;
    s->c = h2t_conn_new(role, &cfg);
    h2t_buf_init(&s->wire);
}

static void side_free(side *s)
{
    h2_conn_free(s->c);
    log_clear(&s->log);
    h2t_buf_free(&s->wire);
}

static void release_none(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    (void)data;
    (void)len;
}

static const h2_header push_req[] = {
    H2_HDR(":method", "GET"),
    H2_HDR(":scheme", "https"),
    H2_HDR(":authority", "example.com"),
    H2_HDR(":path", "/pushed"),
};

Test(conn_trace, exchange_matches_the_wire)
{
    static side cl, sv;
    h2_conn_config sc;
    h2_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.connection_window_size = 1u << 20; /* a WINDOW_UPDATE in the preface */
    side_init(&cl, H2_ROLE_CLIENT, NULL);
    side_init(&sv, H2_ROLE_SERVER, &sc);
    cr_assert_eq(h2_conn_initiate(cl.c), 0);
    cr_assert_eq(h2_conn_initiate(sv.c), 0);
    move(&cl, &sv);
    move(&sv, &cl);
    move(&cl, &sv);

    /* a request with a body in several frames, a ping, new settings */
    static uint8_t body[40000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 13);
    cr_assert_eq(h2_conn_send_headers(cl.c, 1, h2t_req_post, 4, 0, NULL), 0);
    size_t taken;
    cr_assert_eq(h2_conn_send_body(cl.c, 1, body, sizeof(body), true, &taken), 0);
    cr_assert_eq(taken, sizeof(body));
    cr_assert_eq(h2_conn_ping(cl.c, (const uint8_t *)"12345678"), 0);
    h2_setting st = {H2_SETTING_MAX_CONCURRENT_STREAMS, 50};
    cr_assert_eq(h2_conn_update_settings(cl.c, &st, 1), 0);
    cr_assert_eq(h2_conn_prioritize(cl.c, 7, NULL), 0);
    move(&cl, &sv);

    /* a response with padded DATA by reference (not contiguous), plain DATA
     * by reference, a push, a window update, a reset and a GOAWAY */
    cr_assert_eq(h2_conn_ack_data(sv.c, 1, sizeof(body)), 0);
    cr_assert_eq(h2_conn_push_stream(sv.c, 1, 2, push_req, 4), 0);
    cr_assert_eq(h2_conn_send_headers(sv.c, 1, h2t_resp_200, 2, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_data_ref(sv.c, 1, body, 1000, 0, 7, release_none, NULL), 0);
    cr_assert_eq(h2_conn_send_data_ref(sv.c, 1, body, 2000, 0, -1, release_none, NULL), 0);
    cr_assert_eq(h2_conn_send_data(sv.c, 1, body, 10, H2_SEND_END_STREAM, 3), 0);
    cr_assert_eq(h2_conn_reset_stream(sv.c, 2, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_close(sv.c, H2_NO_ERROR, (const uint8_t *)"bye", 3, -1), 0);
    move(&sv, &cl);
    move(&cl, &sv);

    size_t unsplit;
    /* the client's sent frames are its output (after the preface) and the server's input */
    expect_frames(&cl.log, H2_TRACE_SENT, &cl.wire, 24, &unsplit);
    expect_frames(&sv.log, H2_TRACE_RECEIVED, &cl.wire, 24, &unsplit);
    /* the server's likewise; only the padded DATA by reference has no payload pointer */
    size_t n_sv = h2t_parse_frames(sv.wire.p, sv.wire.len, NULL, 0);
    size_t n_nonempty = 0;
    static h2t_frame f[512];
    h2t_parse_frames(sv.wire.p, sv.wire.len, f, 512);
    for (size_t i = 0; i < n_sv; i++)
        n_nonempty += f[i].len > 0;
    expect_frames(&sv.log, H2_TRACE_SENT, &sv.wire, 0, &unsplit);
    cr_assert_eq(unsplit, n_nonempty - 1);
    expect_frames(&cl.log, H2_TRACE_RECEIVED, &sv.wire, 0, &unsplit);
    cr_assert_eq(unsplit, n_nonempty);
    /* the kinds of frames seen: everything above went through the hook */
    bool seen[16] = {false};
    for (size_t i = 0; i < cl.log.n; i++)
        if (cl.log.r[i].type < 16)
            seen[cl.log.r[i].type] = true;
    for (int t = 0; t <= 8; t++)
        cr_assert(seen[t], "no frame of type %d traced", t);
    side_free(&cl);
    side_free(&sv);
}

/* ---- split input -------------------------------------------------------------------- */

static trace_log split_log;

static h2_conn *traced_server(void)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.trace = on_trace;
    cfg.trace_user = &split_log;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    return c;
}

static void client_input(h2t_buf *in)
{
    h2t_ff ff;
    h2t_ff_init(&ff);
    static uint8_t data[5000];
    memset(data, 'x', sizeof(data));
    h2t_f_preface(in);
    h2_setting s = {H2_SETTING_INITIAL_WINDOW_SIZE, 100000};
    h2t_f_settings(in, 0, &s, 1);
    h2t_f_settings(in, 1 /* ACK */, NULL, 0);
    h2t_f_headers(&ff, in, 1, 0x4 /* END_HEADERS */, h2t_req_post, 4);
    h2t_f_data(in, 1, 0, data, sizeof(data), -1);
    h2t_f_data(in, 1, 0, data, 100, 20);
    h2t_f_ping(in, 0, (const uint8_t *)"abcdefgh");
    h2t_f_window_update(in, 0, 1000);
    h2t_f_priority(in, 3, 0, 32, false);
    h2t_f_unknown(in, 0x42, 0x5, 1, "opaque", 6);
    h2t_f_data(in, 1, 0x1, data, 0, -1);
    h2t_f_headers(&ff, in, 3, 0x5, h2t_req_get, 4);
    h2t_f_rst(in, 3, H2_CANCEL);
    h2t_ff_free(&ff);
}

static bool logs_equal(const trace_log *a, const trace_log *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        if (x->dir != y->dir || x->type != y->type || x->flags != y->flags || x->id != y->id ||
            x->len != y->len || x->has_payload != y->has_payload)
            return false;
        if (x->has_payload && memcmp(x->payload, y->payload, x->len) != 0)
            return false;
    }
    return true;
}

static void feed_split(const h2t_buf *in, size_t step)
{
    h2_conn *c = traced_server();
    for (size_t off = 0; off < in->len; off += step) {
        size_t n = in->len - off < step ? in->len - off : step;
        cr_assert_eq(h2t_feed(c, in->p + off, n, NULL), 0);
    }
    h2_conn_free(c);
}

static void feed_at(const h2t_buf *in, size_t cut)
{
    h2_conn *c = traced_server();
    cr_assert_eq(h2t_feed(c, in->p, cut, NULL), 0);
    cr_assert_eq(h2t_feed(c, in->p + cut, in->len - cut, NULL), 0);
    h2_conn_free(c);
}

Test(conn_trace, split_input_gives_the_same_trace)
{
    h2t_buf in;
    h2t_buf_init(&in);
    client_input(&in);
    static trace_log whole;
    split_log.n = 0;
    feed_split(&in, in.len);
    whole = split_log; /* takes the payload copies */
    split_log.n = 0;
    /* the received frames are the input's */
    size_t unsplit;
    expect_frames(&whole, H2_TRACE_RECEIVED, &in, 24, &unsplit);
    static const rec *sent[512];
    /* our SETTINGS and the automatic replies (SETTINGS ACK, PING ACK) are traced too */
    cr_assert_eq(select_dir(&whole, H2_TRACE_SENT, sent, 512), 3);
    cr_assert_eq(sent[0]->type, 0x4);
    cr_assert_eq(sent[0]->flags, 0);
    cr_assert_eq(sent[1]->type, 0x4);
    cr_assert_eq(sent[1]->flags, 0x1);
    cr_assert_eq(sent[2]->type, 0x6);
    cr_assert_eq(sent[2]->flags, 0x1);
    cr_assert(memcmp(sent[2]->payload, "abcdefgh", 8) == 0);

    feed_split(&in, 1);
    cr_assert(logs_equal(&whole, &split_log), "byte by byte");
    log_clear(&split_log);
    for (size_t cut = 1; cut < in.len; cut += 7) {
        feed_at(&in, cut);
        cr_assert(logs_equal(&whole, &split_log), "split at %zu", cut);
        log_clear(&split_log);
    }
    log_clear(&whole);
    h2t_buf_free(&in);
}

Test(conn_trace, unset_hook_is_never_called)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    h2t_pair_free(&p);
}

/* With a hook, h2_conn_new() allocates the tracer: every allocation failure is clean. */
static void count_calls(void *user, const h2_frame_trace *f)
{
    (void)f;
    (*(size_t *)user)++;
}

Test(conn_trace, out_of_memory_on_new)
{
    size_t calls = 0;
    for (size_t fail = 1; fail < 10; fail++) {
        testmem tm;
        testmem_init(&tm);
        tm.fail_at = fail;
        h2_conn_config cfg;
        h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
        cfg.mem = &tm.mem;
        cfg.trace = count_calls;
        cfg.trace_user = &calls;
        h2_conn *c = NULL;
        int rv = h2_conn_new(&c, &cfg);
        if (rv == 0) {
            rv = h2_conn_initiate(c);
            h2_conn_free(c);
        }
        cr_assert(rv == 0 || rv == H2_ENOMEM);
        cr_assert_eq(tm.live_blocks, 0, "leak when allocation %zu fails", fail);
    }
    cr_assert_gt(calls, 0);
}
