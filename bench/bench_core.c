/*
 * Connection core: libh2's h2_conn against libnghttp2's session, both ends
 * of the connection in one process, bytes moved between them by memcpy
 * through a "wire" buffer (no sockets).
 *
 * Throughput workload: a client issues N GET requests with at most C
 * streams open at once; the server answers each with a 200 response and a
 * B-byte body. Every body byte is checked by the client against a pattern
 * derived from the stream id; the server checks :path and the header count,
 * the client checks :status. libh2's server sends bodies by reference
 * (h2_conn_send_data_ref) and its output is gathered into the wire buffer
 * from h2_conn_output_iov() the way writev() takes it; nghttp2's read
 * callback copies the body into its frame buffer and nghttp2_session_mem_send
 * output is copied into the wire buffer. Both ends advertise INITIAL_WINDOW_SIZE
 * 2^31-1 and MAX_CONCURRENT_STREAMS 1000 and raise the connection window to
 * 2^31-1. The client hands every received DATA chunk back to flow control
 * (h2_conn_ack_data for libh2; nghttp2 does the same itself by default).
 * One sample runs one connection from creation to the last response; rounds
 * alternate libh2 and nghttp2, and medians are reported.
 *
 *   core-small: N=200000, C=100, B=16
 *   core-large: N=20000,  C=10,  B=65536
 *
 * Memory: allocations of the SERVER side are counted through the libraries'
 * allocator hooks (h2_mem, nghttp2_mem), each block as
 * malloc_usable_size() + one size word of malloc's own header.
 *
 *   conn-memory:   bytes per idle server connection after the preface and
 *                  the SETTINGS exchange in both directions (ACKs done),
 *                  averaged over 10000 connections; the RSS growth over those
 *                  connections (/proc/self/statm) is printed for information.
 *   stream-memory: bytes per open stream on one server connection holding
 *                  1000 received requests (headers received, no response),
 *                  measured as a server holds them: after the receive call
 *                  that delivered them and after the application handled
 *                  the events (libh2: h2_conn_release_events), with the
 *                  1000 streams still open awaiting responses. The bytes
 *                  held right after that receive call returned, before the
 *                  events were handled, are printed for information.
 *
 * usage: bench_core [--requests N] [--concurrency C] [--body B] [--rounds R]
 *                   [--only ours|nghttp2] [--wire BYTES]
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "h2/h2.h"

#define WINDOW_MAX 2147483647u
#define MAX_STREAMS 1000u
#define PATTERN_PERIOD 251u
#define MEM_CONNS 10000u
#define MEM_STREAMS 1000u
#define DEFAULT_WIRE 65536u

enum impl { OURS = 0, NGHTTP2 = 1 };
static const char *const impl_name[] = {"libh2", "nghttp2"};

/* ------------------------------------------------------------------------ */
/* The messages                                                              */
/* ------------------------------------------------------------------------ */

#define S(x) (const uint8_t *)(x), sizeof(x) - 1

static const char req_path[] = "/static/app/main.js?v=12345";

static const h2_header req_fields[] = {
    {S(":method"), S("GET"), 0},
    {S(":scheme"), S("https"), 0},
    {S(":authority"), S("www.example.com"), 0},
    {S(":path"), S("/static/app/main.js?v=12345"), 0},
    {S("user-agent"),
     S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36"),
     0},
    {S("accept"),
     S("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
       "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
     0},
    {S("accept-encoding"), S("gzip, deflate, br"), 0},
    {S("accept-language"), S("en-US,en;q=0.9"), 0},
    {S("cookie"), S("session=abcdef0123456789; theme=dark"), 0},
};
#define N_REQ_FIELDS (sizeof(req_fields) / sizeof(req_fields[0]))

static const h2_header resp_fields[] = {
    {S(":status"), S("200"), 0},
    {S("content-type"), S("application/javascript"), 0},
    {S("server"), S("h2bench/1.0"), 0},
    {S("cache-control"), S("public, max-age=31536000, immutable"), 0},
};
#define N_RESP_FIELDS (sizeof(resp_fields) / sizeof(resp_fields[0]))

/* The same fields for nghttp2, built once from the tables above. */
static nghttp2_nv req_nv[N_REQ_FIELDS];
static nghttp2_nv resp_nv[N_RESP_FIELDS];

static void build_nv(nghttp2_nv *nv, const h2_header *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nv[i].name = (uint8_t *)(uintptr_t)f[i].name;
        nv[i].namelen = f[i].name_len;
        nv[i].value = (uint8_t *)(uintptr_t)f[i].value;
        nv[i].valuelen = f[i].value_len;
        /* The arrays are static: let nghttp2 skip its copy, its fastest use. */
        nv[i].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    }
}

static int field_is(const uint8_t *name, size_t name_len, const char *want)
{
    size_t n = strlen(want);
    return name_len == n && memcmp(name, want, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Body pattern                                                              */
/* ------------------------------------------------------------------------ */

/* pattern[k] depends on k % PATTERN_PERIOD; stream s's body starts at
 * pattern + body_base(s), so body byte i is pattern[body_base(s) + i]. */
static uint8_t *pattern;

static size_t body_base(uint32_t stream_id)
{
    return (size_t)stream_id * 7u % PATTERN_PERIOD;
}

static int make_pattern(size_t body)
{
    pattern = malloc(PATTERN_PERIOD + body + 1);
    if (pattern == NULL) {
        return -1;
    }
    for (size_t k = 0; k < PATTERN_PERIOD + body + 1; k++) {
        pattern[k] = (uint8_t)((k % PATTERN_PERIOD) * 73u + 11u);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* One run: shared state of both ends                                        */
/* ------------------------------------------------------------------------ */

/* Live bytes and blocks of a counting allocator (see "Memory" below). */
typedef struct counter {
    long long bytes;
    long long blocks;
} counter;

enum { ST_REQ_OK = 1, ST_STATUS_OK = 2, ST_HDR_SENT = 4, ST_DONE = 8 };

typedef struct stream_state {
    uint32_t got;   /* client: body bytes received and checked */
    uint32_t sent;  /* server: body bytes sent */
    uint16_t nreq;  /* server: request fields seen */
    uint16_t flags; /* ST_* */
} stream_state;

typedef struct run {
    size_t requests, concurrency, body;
    size_t wire_cap;
    uint8_t *wire;
    bool respond; /* false: the server only collects requests */

    stream_state *st; /* indexed by (client stream id - 1) / 2 */
    size_t n_st;
    uint32_t *queue; /* server: streams waiting for (the rest of) a response */
    size_t qhead, qtail;

    size_t issued, completed, inflight, requests_seen;
    size_t bytes_moved;
    char err[200];

    h2_conn *cli, *srv;
    nghttp2_session *ncli, *nsrv;

    /* stream-memory: the server's counted bytes, and their largest value
     * seen right after a receive call returned (events not yet released) */
    const counter *probe;
    long long held_max;
} run;

/* Records the first error of a run; returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(run *r, const char *fmt, ...)
{
    if (r->err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, sizeof(r->err), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static stream_state *stream_of(run *r, int32_t id)
{
    if (id <= 0 || id % 2 == 0 || (size_t)(id - 1) / 2 >= r->n_st) {
        return NULL;
    }
    return &r->st[(id - 1) / 2];
}

static void run_reset(run *r)
{
    memset(r->st, 0, r->n_st * sizeof(*r->st));
    r->qhead = r->qtail = 0;
    r->issued = r->completed = r->inflight = r->requests_seen = 0;
    r->bytes_moved = 0;
    r->err[0] = '\0';
}

/* Server side: one request header field (the same check for both libraries). */
static int server_field(run *r, stream_state *s, const uint8_t *name, size_t name_len,
                        const uint8_t *value, size_t value_len)
{
    s->nreq++;
    if (field_is(name, name_len, ":path")) {
        if (value_len != sizeof(req_path) - 1 || memcmp(value, req_path, value_len) != 0) {
            return fail(r, "server: wrong :path");
        }
        s->flags |= ST_REQ_OK;
    }
    return 0;
}

static int server_request_done(run *r, int32_t id, stream_state *s)
{
    if (s->nreq != N_REQ_FIELDS || !(s->flags & ST_REQ_OK)) {
        return fail(r, "server: stream %d: bad request (%u fields)", id, s->nreq);
    }
    r->requests_seen++;
    return 0;
}

/* Client side: one response header field. */
static void client_field(stream_state *s, const uint8_t *name, size_t name_len,
                         const uint8_t *value, size_t value_len)
{
    if (field_is(name, name_len, ":status") && value_len == 3 && memcmp(value, "200", 3) == 0) {
        s->flags |= ST_STATUS_OK;
    }
}

static int client_body(run *r, int32_t id, const uint8_t *data, size_t len)
{
    stream_state *s = stream_of(r, id);
    if (s == NULL) {
        return fail(r, "client: DATA on unknown stream %d", id);
    }
    if (s->got + len > r->body ||
        memcmp(data, pattern + body_base((uint32_t)id) + s->got, len) != 0) {
        return fail(r, "client: stream %d: wrong body bytes at %u", id, s->got);
    }
    s->got += (uint32_t)len;
    return 0;
}

static int client_stream_done(run *r, int32_t id)
{
    stream_state *s = stream_of(r, id);
    if (s == NULL || (s->flags & ST_DONE)) {
        return fail(r, "client: unexpected end of stream %d", id);
    }
    if (!(s->flags & ST_STATUS_OK) || s->got != r->body) {
        return fail(r, "client: stream %d ended with status %s and %u of %zu body bytes", id,
                    s->flags & ST_STATUS_OK ? "200" : "missing", s->got, r->body);
    }
    s->flags |= ST_DONE;
    r->completed++;
    r->inflight--;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* libh2                                                                     */
/* ------------------------------------------------------------------------ */

static void ours_config(h2_conn_config *cfg, h2_role role, const h2_mem *mem)
{
    h2_conn_config_init(cfg, role);
    cfg->initial_window_size = WINDOW_MAX;
    cfg->max_concurrent_streams = MAX_STREAMS;
    cfg->connection_window_size = WINDOW_MAX;
    cfg->mem = mem;
}

static int ours_server_events(run *r, const h2_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const h2_event *e = &ev[i];
        switch (e->type) {
        case H2_EV_REQUEST_RECEIVED: {
            stream_state *s = stream_of(r, (int32_t)e->stream_id);
            if (s == NULL) {
                return fail(r, "server: request on unexpected stream %u", e->stream_id);
            }
            for (size_t k = 0; k < e->u.headers.n; k++) {
                const h2_header *f = &e->u.headers.fields[k];
                if (server_field(r, s, f->name, f->name_len, f->value, f->value_len) != 0) {
                    return -1;
                }
            }
            if (server_request_done(r, (int32_t)e->stream_id, s) != 0) {
                return -1;
            }
            break;
        }
        case H2_EV_STREAM_ENDED:
            if (r->respond) {
                r->queue[r->qtail++] = e->stream_id;
            }
            break;
        case H2_EV_DATA_RECEIVED:
        case H2_EV_TRAILERS_RECEIVED:
        case H2_EV_STREAM_RESET:
        case H2_EV_CONNECTION_TERMINATED:
            return fail(r, "server: unexpected event %d on stream %u", e->type, e->stream_id);
        default:
            break;
        }
    }
    return 0;
}

static int ours_client_events(run *r, const h2_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const h2_event *e = &ev[i];
        switch (e->type) {
        case H2_EV_RESPONSE_RECEIVED: {
            stream_state *s = stream_of(r, (int32_t)e->stream_id);
            if (s == NULL) {
                return fail(r, "client: response on unknown stream %u", e->stream_id);
            }
            for (size_t k = 0; k < e->u.headers.n; k++) {
                const h2_header *f = &e->u.headers.fields[k];
                client_field(s, f->name, f->name_len, f->value, f->value_len);
            }
            break;
        }
        case H2_EV_DATA_RECEIVED: {
            if (client_body(r, (int32_t)e->stream_id, e->u.data.data, e->u.data.len) != 0) {
                return -1;
            }
            int rc = h2_conn_ack_data(r->cli, e->stream_id, e->u.data.flow_controlled_length);
            if (rc != 0) {
                return fail(r, "client: h2_conn_ack_data: %s", h2_strerror(rc));
            }
            break;
        }
        case H2_EV_STREAM_ENDED:
            if (client_stream_done(r, (int32_t)e->stream_id) != 0) {
                return -1;
            }
            break;
        case H2_EV_STREAM_RESET:
        case H2_EV_CONNECTION_TERMINATED:
        case H2_EV_TRAILERS_RECEIVED:
        case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
            return fail(r, "client: unexpected event %d on stream %u", e->type, e->stream_id);
        default:
            break;
        }
    }
    return 0;
}

#define WIRE_IOV 64

/*
 * Copies up to one wire buffer of |c|'s output into the wire the way
 * writev() would take it: the iovecs from h2_conn_output_iov() (frame bytes
 * in the connection's buffer, bodies by reference) gathered once, then
 * consumed. Returns the bytes moved.
 */
static size_t ours_gather(run *r, h2_conn *c)
{
    struct iovec iov[WIRE_IOV];
    size_t fill = 0;
    while (fill < r->wire_cap) {
        int n = h2_conn_output_iov(c, iov, WIRE_IOV);
        if (n <= 0) {
            break;
        }
        size_t took = 0;
        for (int i = 0; i < n && fill < r->wire_cap; i++) {
            size_t k = iov[i].iov_len;
            if (k > r->wire_cap - fill) {
                k = r->wire_cap - fill;
            }
            memcpy(r->wire + fill, iov[i].iov_base, k);
            fill += k;
            took += k;
        }
        h2_conn_output_consume(c, took);
    }
    return fill;
}

/* Moves everything |from| has queued to |to|, one wire buffer at a time. */
static int ours_xfer(run *r, h2_conn *from, h2_conn *to)
{
    for (;;) {
        size_t n = ours_gather(r, from);
        if (n == 0) {
            return 0;
        }
        r->bytes_moved += n;
        const h2_event *ev;
        size_t n_ev;
        int rc = h2_conn_receive(to, r->wire, n, &ev, &n_ev);
        if (rc != 0) {
            h2_conn_error ce = h2_conn_last_error(to);
            return fail(r, "%s: h2_conn_receive: %s (%s)", to == r->srv ? "server" : "client",
                        h2_strerror(rc), ce.message);
        }
        if (to == r->srv && r->probe != NULL && r->probe->bytes > r->held_max) {
            r->held_max = r->probe->bytes;
        }
        rc = to == r->srv ? ours_server_events(r, ev, n_ev) : ours_client_events(r, ev, n_ev);
        if (rc != 0) {
            return rc;
        }
        /* Handled: the events' memory can go (a burst does not stay allocated). */
        h2_conn_release_events(to);
    }
}

static int ours_issue(run *r, size_t *issued)
{
    while (r->inflight < r->concurrency && r->issued < r->requests) {
        int64_t id = h2_conn_next_stream_id(r->cli);
        if (id < 0) {
            return fail(r, "client: h2_conn_next_stream_id: %s", h2_strerror((int)id));
        }
        int rc = h2_conn_send_headers(r->cli, (uint32_t)id, req_fields, N_REQ_FIELDS,
                                      H2_SEND_END_STREAM, NULL);
        if (rc == H2_ENOBUFS || rc == H2_ETOO_MANY_STREAMS) {
            break;
        }
        if (rc != 0) {
            return fail(r, "client: h2_conn_send_headers: %s", h2_strerror(rc));
        }
        r->issued++;
        r->inflight++;
        (*issued)++;
    }
    return 0;
}

/* Server: sends as much of the queued responses as the output allows. */
static int ours_produce(run *r, size_t *produced)
{
    size_t max_frame = h2_conn_max_outbound_frame_size(r->srv);
    while (r->qhead < r->qtail) {
        uint32_t id = r->queue[r->qhead];
        stream_state *s = stream_of(r, (int32_t)id);
        int rc;
        if (!(s->flags & ST_HDR_SENT)) {
            rc = h2_conn_send_headers(r->srv, id, resp_fields, N_RESP_FIELDS,
                                      r->body == 0 ? H2_SEND_END_STREAM : 0, NULL);
            if (rc == H2_ENOBUFS) {
                return 0;
            }
            if (rc != 0) {
                return fail(r, "server: h2_conn_send_headers: %s", h2_strerror(rc));
            }
            s->flags |= ST_HDR_SENT;
            (*produced)++;
        }
        while (s->sent < r->body) {
            size_t chunk = r->body - s->sent;
            if (chunk > max_frame) {
                chunk = max_frame;
            }
            /* The body is sent by reference: the pattern outlives the run. */
            const uint8_t *p = pattern + body_base(id) + s->sent;
            rc = h2_conn_send_data_ref(r->srv, id, p, chunk,
                                       s->sent + chunk == r->body ? H2_SEND_END_STREAM : 0, -1,
                                       NULL, NULL);
            if (rc == H2_EFLOW_CONTROL) {
                int32_t win = 0;
                h2_conn_send_window(r->srv, id, &win);
                if (win <= 0) {
                    return 0; /* wait for WINDOW_UPDATE */
                }
                chunk = (size_t)win;
                rc = h2_conn_send_data_ref(r->srv, id, p, chunk, 0, -1, NULL, NULL);
            }
            if (rc == H2_ENOBUFS) {
                return 0;
            }
            if (rc != 0) {
                return fail(r, "server: h2_conn_send_data: %s", h2_strerror(rc));
            }
            s->sent += (uint32_t)chunk;
            (*produced)++;
        }
        r->qhead++;
    }
    return 0;
}

static int ours_open(run *r, const h2_mem *srv_mem)
{
    h2_conn_config cc, sc;
    ours_config(&cc, H2_ROLE_CLIENT, NULL);
    ours_config(&sc, H2_ROLE_SERVER, srv_mem);
    int rc = h2_conn_new(&r->cli, &cc);
    if (rc == 0) {
        rc = h2_conn_new(&r->srv, &sc);
    }
    if (rc == 0) {
        rc = h2_conn_initiate(r->cli);
    }
    if (rc == 0) {
        rc = h2_conn_initiate(r->srv);
    }
    if (rc != 0) {
        return fail(r, "libh2: connection set-up: %s", h2_strerror(rc));
    }
    return 0;
}

static void ours_close(run *r)
{
    h2_conn_free(r->cli);
    h2_conn_free(r->srv);
    r->cli = r->srv = NULL;
}

/* Both directions until neither side has anything to send. */
static int ours_settle(run *r)
{
    for (int i = 0; i < 8; i++) {
        size_t before = r->bytes_moved;
        if (ours_xfer(r, r->cli, r->srv) != 0 || ours_xfer(r, r->srv, r->cli) != 0) {
            return -1;
        }
        if (r->bytes_moved == before) {
            return 0;
        }
    }
    return fail(r, "libh2: handshake does not settle");
}

static int ours_workload(run *r)
{
    if (ours_open(r, NULL) != 0) {
        return -1;
    }
    int rc = 0;
    while (rc == 0 && r->completed < r->requests) {
        size_t before = r->bytes_moved, issued = 0, produced = 0;
        rc = ours_issue(r, &issued);
        if (rc == 0) {
            rc = ours_xfer(r, r->cli, r->srv);
        }
        if (rc == 0) {
            rc = ours_produce(r, &produced);
        }
        if (rc == 0) {
            rc = ours_xfer(r, r->srv, r->cli);
        }
        if (rc == 0 && r->bytes_moved == before && issued == 0 && produced == 0) {
            rc =
                fail(r, "libh2: no progress after %zu of %zu responses", r->completed, r->requests);
        }
    }
    ours_close(r);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* nghttp2                                                                   */
/* ------------------------------------------------------------------------ */

static ssize_t ng_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)session;
    (void)source;
    run *r = user_data;
    stream_state *s = stream_of(r, stream_id);
    if (s == NULL) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    size_t n = r->body - s->sent;
    if (n > length) {
        n = length;
    }
    memcpy(buf, pattern + body_base((uint32_t)stream_id) + s->sent, n);
    s->sent += (uint32_t)n;
    if (s->sent == r->body) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static int ng_srv_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                            const uint8_t *name, size_t namelen, const uint8_t *value,
                            size_t valuelen, uint8_t flags, void *user_data)
{
    (void)session;
    (void)flags;
    run *r = user_data;
    stream_state *s = stream_of(r, frame->hd.stream_id);
    if (s == NULL) {
        fail(r, "server: request on unexpected stream %d", frame->hd.stream_id);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (server_field(r, s, name, namelen, value, valuelen) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int ng_srv_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
                                void *user_data)
{
    run *r = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    int32_t id = frame->hd.stream_id;
    stream_state *s = stream_of(r, id);
    if (s == NULL || server_request_done(r, id, s) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (r->respond && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        nghttp2_data_provider prd;
        prd.source.ptr = NULL;
        prd.read_callback = ng_read_body;
        int rc = nghttp2_submit_response(session, id, resp_nv, N_RESP_FIELDS,
                                         r->body == 0 ? NULL : &prd);
        if (rc != 0) {
            fail(r, "server: nghttp2_submit_response: %s", nghttp2_strerror(rc));
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
    }
    return 0;
}

static int ng_cli_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                            const uint8_t *name, size_t namelen, const uint8_t *value,
                            size_t valuelen, uint8_t flags, void *user_data)
{
    (void)session;
    (void)flags;
    run *r = user_data;
    stream_state *s = stream_of(r, frame->hd.stream_id);
    if (s == NULL) {
        fail(r, "client: response on unknown stream %d", frame->hd.stream_id);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    client_field(s, name, namelen, value, valuelen);
    return 0;
}

static int ng_cli_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                          const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    return client_body(user_data, stream_id, data, len) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int ng_cli_on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)session;
    run *r = user_data;
    if (error_code != NGHTTP2_NO_ERROR) {
        fail(r, "client: stream %d closed with error %u", stream_id, error_code);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return client_stream_done(r, stream_id) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static nghttp2_session_callbacks *ng_srv_cbs, *ng_cli_cbs;

static int ng_callbacks(void)
{
    if (nghttp2_session_callbacks_new(&ng_srv_cbs) != 0 ||
        nghttp2_session_callbacks_new(&ng_cli_cbs) != 0) {
        return -1;
    }
    nghttp2_session_callbacks_set_on_header_callback(ng_srv_cbs, ng_srv_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(ng_srv_cbs, ng_srv_on_frame_recv);
    nghttp2_session_callbacks_set_on_header_callback(ng_cli_cbs, ng_cli_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(ng_cli_cbs, ng_cli_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(ng_cli_cbs, ng_cli_on_close);
    return 0;
}

static int ng_settings(run *r, nghttp2_session *s)
{
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW_MAX},
    };
    int rc = nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 2);
    if (rc == 0) {
        rc = nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, (int32_t)WINDOW_MAX);
    }
    if (rc != 0) {
        return fail(r, "nghttp2: settings: %s", nghttp2_strerror(rc));
    }
    return 0;
}

static int ng_open(run *r, nghttp2_mem *srv_mem)
{
    int rc = nghttp2_session_client_new(&r->ncli, ng_cli_cbs, r);
    if (rc == 0) {
        rc = nghttp2_session_server_new3(&r->nsrv, ng_srv_cbs, r, NULL, srv_mem);
    }
    if (rc != 0) {
        return fail(r, "nghttp2: session set-up: %s", nghttp2_strerror(rc));
    }
    if (ng_settings(r, r->ncli) != 0 || ng_settings(r, r->nsrv) != 0) {
        return -1;
    }
    return 0;
}

static void ng_close(run *r)
{
    nghttp2_session_del(r->ncli);
    nghttp2_session_del(r->nsrv);
    r->ncli = r->nsrv = NULL;
}

static int ng_deliver(run *r, nghttp2_session *to, size_t len)
{
    r->bytes_moved += len;
    ssize_t rc = nghttp2_session_mem_recv(to, r->wire, len);
    if (to == r->nsrv && r->probe != NULL && r->probe->bytes > r->held_max) {
        r->held_max = r->probe->bytes;
    }
    if (rc < 0 || (size_t)rc != len) {
        return fail(r, "%s: nghttp2_session_mem_recv: %s", to == r->nsrv ? "server" : "client",
                    rc < 0 ? nghttp2_strerror((int)rc) : "short read");
    }
    return 0;
}

/* Moves everything |from| has to send to |to|, one wire buffer at a time. */
static int ng_xfer(run *r, nghttp2_session *from, nghttp2_session *to)
{
    size_t fill = 0;
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(from, &p);
        if (n < 0) {
            return fail(r, "nghttp2_session_mem_send: %s", nghttp2_strerror((int)n));
        }
        if (n == 0) {
            break;
        }
        size_t left = (size_t)n;
        while (left > 0) {
            size_t k = r->wire_cap - fill;
            if (k > left) {
                k = left;
            }
            memcpy(r->wire + fill, p, k);
            fill += k;
            p += k;
            left -= k;
            if (fill == r->wire_cap) {
                if (ng_deliver(r, to, fill) != 0) {
                    return -1;
                }
                fill = 0;
            }
        }
    }
    return fill > 0 ? ng_deliver(r, to, fill) : 0;
}

static int ng_issue(run *r, size_t *issued)
{
    while (r->inflight < r->concurrency && r->issued < r->requests) {
        int32_t id = nghttp2_submit_request(r->ncli, NULL, req_nv, N_REQ_FIELDS, NULL, NULL);
        if (id < 0) {
            return fail(r, "client: nghttp2_submit_request: %s", nghttp2_strerror(id));
        }
        r->issued++;
        r->inflight++;
        (*issued)++;
    }
    return 0;
}

static int ng_settle(run *r)
{
    for (int i = 0; i < 8; i++) {
        size_t before = r->bytes_moved;
        if (ng_xfer(r, r->ncli, r->nsrv) != 0 || ng_xfer(r, r->nsrv, r->ncli) != 0) {
            return -1;
        }
        if (r->bytes_moved == before) {
            return 0;
        }
    }
    return fail(r, "nghttp2: handshake does not settle");
}

static int ng_workload(run *r)
{
    if (ng_open(r, NULL) != 0) {
        ng_close(r);
        return -1;
    }
    int rc = 0;
    while (rc == 0 && r->completed < r->requests) {
        size_t before = r->bytes_moved, issued = 0;
        rc = ng_issue(r, &issued);
        if (rc == 0) {
            rc = ng_xfer(r, r->ncli, r->nsrv);
        }
        if (rc == 0) {
            rc = ng_xfer(r, r->nsrv, r->ncli);
        }
        if (rc == 0 && r->bytes_moved == before && issued == 0) {
            rc = fail(r, "nghttp2: no progress after %zu of %zu responses", r->completed,
                      r->requests);
        }
    }
    ng_close(r);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Throughput                                                                */
/* ------------------------------------------------------------------------ */

static double clock_sec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double tmp[1000];
    memcpy(tmp, v, (size_t)n * sizeof(*v));
    qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static int run_init(run *r, size_t requests, size_t concurrency, size_t body, size_t wire_cap)
{
    memset(r, 0, sizeof(*r));
    r->requests = requests;
    r->concurrency = concurrency;
    r->body = body;
    r->wire_cap = wire_cap;
    r->respond = true;
    r->n_st = requests;
    r->st = calloc(requests, sizeof(*r->st));
    r->queue = calloc(requests, sizeof(*r->queue));
    r->wire = malloc(wire_cap);
    return r->st != NULL && r->queue != NULL && r->wire != NULL ? 0 : -1;
}

static void run_free(run *r)
{
    free(r->st);
    free(r->queue);
    free(r->wire);
}

/* Checks that every stream finished exactly as expected. */
static int run_check(run *r, enum impl who)
{
    if (r->completed != r->requests || r->requests_seen != r->requests) {
        return fail(r, "%s: %zu requests seen, %zu responses completed, %zu expected",
                    impl_name[who], r->requests_seen, r->completed, r->requests);
    }
    for (size_t i = 0; i < r->n_st; i++) {
        const stream_state *s = &r->st[i];
        if (!(s->flags & ST_DONE) || s->got != r->body || s->sent != r->body) {
            return fail(r, "%s: stream %zu incomplete", impl_name[who], 2 * i + 1);
        }
    }
    return 0;
}

typedef struct workload {
    const char *name;
    size_t requests, concurrency, body;
    double med[2];
} workload;

static int bench_workload(workload *w, int rounds, const bool use[2], size_t wire_cap)
{
    run r;
    double samples[2][1000];
    if (run_init(&r, w->requests, w->concurrency, w->body, wire_cap) != 0 ||
        make_pattern(w->body) != 0) {
        fprintf(stderr, "bench_core: out of memory\n");
        run_free(&r);
        return -1;
    }
    printf("%s: %zu requests, %zu concurrent streams, %zu-byte bodies, %zu-byte wire buffer\n"
           "  (req/s = requests per second of CPU time of the one thread running both ends)\n",
           w->name, w->requests, w->concurrency, w->body, wire_cap);
    int rv = 0;
    for (int round = 0; round < rounds && rv == 0; round++) {
        printf("  round %d:", round + 1);
        for (int k = 0; k < 2 && rv == 0; k++) {
            enum impl who = (round + k) % 2 == 0 ? OURS : NGHTTP2;
            if (!use[who]) {
                continue;
            }
            run_reset(&r);
            double w0 = clock_sec(CLOCK_MONOTONIC), c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
            int rc = who == OURS ? ours_workload(&r) : ng_workload(&r);
            double dt = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
            double wall = clock_sec(CLOCK_MONOTONIC) - w0;
            if (rc == 0) {
                rc = run_check(&r, who);
            }
            if (rc != 0) {
                fprintf(stderr, "\nbench_core: %s %s failed: %s\n", w->name, impl_name[who],
                        r.err[0] ? r.err : "(no detail)");
                rv = -1;
                break;
            }
            samples[who][round] = (double)w->requests / dt;
            printf("  %s %.0f req/s (cpu %.3f s, wall %.3f s)", impl_name[who], samples[who][round],
                   dt, wall);
        }
        printf("\n");
        fflush(stdout);
    }
    if (rv == 0) {
        for (int who = OURS; who <= NGHTTP2; who++) {
            w->med[who] = use[who] ? median(samples[who], rounds) : 0;
        }
    }
    run_free(&r);
    free(pattern);
    pattern = NULL;
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

static size_t block_bytes(void *p)
{
    /* The usable size plus glibc's size word in front of the block. */
    return p == NULL ? 0 : malloc_usable_size(p) + sizeof(size_t);
}

static void count_add(counter *c, void *p)
{
    if (p != NULL) {
        c->bytes += (long long)block_bytes(p);
        c->blocks++;
    }
}

static void count_sub(counter *c, void *p)
{
    if (p != NULL) {
        c->bytes -= (long long)block_bytes(p);
        c->blocks--;
    }
}

static void *cnt_malloc(size_t size, void *ud)
{
    void *p = malloc(size);
    count_add(ud, p);
    return p;
}

static void *cnt_calloc(size_t nmemb, size_t size, void *ud)
{
    void *p = calloc(nmemb, size);
    count_add(ud, p);
    return p;
}

static void *cnt_realloc(void *ptr, size_t size, void *ud)
{
    size_t old = block_bytes(ptr);
    void *p = realloc(ptr, size);
    if (p != NULL || size == 0) {
        counter *c = ud;
        if (ptr != NULL) {
            c->bytes -= (long long)old;
            c->blocks--;
        }
        count_add(c, p);
    }
    return p;
}

static void cnt_free(void *ptr, void *ud)
{
    count_sub(ud, ptr);
    free(ptr);
}

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

typedef struct mem_result {
    double counted; /* bytes per connection or stream */
    double blocks;
    double rss;
    double held; /* stream-memory: bytes per stream right after the receive calls */
} mem_result;

/* conn-memory: MEM_CONNS idle server connections, each after a full handshake. */
static int conn_memory(enum impl who, mem_result *out, size_t wire_cap)
{
    counter c = {0, 0};
    h2_mem hm = {&c, cnt_malloc, cnt_realloc, cnt_free};
    nghttp2_mem nm = {&c, cnt_malloc, cnt_free, cnt_calloc, cnt_realloc};
    h2_conn **ours = calloc(MEM_CONNS, sizeof(*ours));
    nghttp2_session **ng = calloc(MEM_CONNS, sizeof(*ng));
    run r;
    if (ours == NULL || ng == NULL || run_init(&r, 1, 1, 0, wire_cap) != 0) {
        fprintf(stderr, "bench_core: out of memory\n");
        free(ours);
        free(ng);
        run_free(&r);
        return -1;
    }
    malloc_trim(0);
    long rss0 = rss_bytes();
    int rv = 0;
    size_t made = 0;
    for (; made < MEM_CONNS && rv == 0; made++) {
        run_reset(&r);
        if (who == OURS) {
            rv = ours_open(&r, &hm);
            if (rv == 0) {
                rv = ours_settle(&r);
            }
            if (rv == 0 && (h2_conn_want_write(r.srv) || h2_conn_want_write(r.cli))) {
                rv = fail(&r, "libh2: output left after the handshake");
            }
            ours[made] = r.srv;
            r.srv = NULL;
            h2_conn_free(r.cli);
        } else {
            rv = ng_open(&r, &nm);
            if (rv == 0) {
                rv = ng_settle(&r);
            }
            ng[made] = r.nsrv;
            r.nsrv = NULL;
            nghttp2_session_del(r.ncli);
        }
    }
    long rss1 = rss_bytes();
    if (rv != 0) {
        fprintf(stderr, "bench_core: conn-memory %s failed: %s\n", impl_name[who], r.err);
    } else {
        out->counted = (double)c.bytes / MEM_CONNS;
        out->blocks = (double)c.blocks / MEM_CONNS;
        out->rss = (double)(rss1 - rss0) / MEM_CONNS;
    }
    for (size_t i = 0; i < made; i++) {
        h2_conn_free(ours[i]);
        nghttp2_session_del(ng[i]);
    }
    if (rv == 0 && (c.bytes != 0 || c.blocks != 0)) {
        fprintf(stderr, "bench_core: conn-memory %s: %lld bytes in %lld blocks not freed\n",
                impl_name[who], c.bytes, c.blocks);
        rv = -1;
    }
    free(ours);
    free(ng);
    run_free(&r);
    malloc_trim(0);
    return rv;
}

/*
 * stream-memory: one server connection holding MEM_STREAMS received requests.
 * |burst|: the client sends all requests and they travel in wire-buffer
 * transfers (one read delivers many requests); otherwise each request is
 * delivered by its own transfer (requests trickling in one read at a time).
 */
static int stream_memory(enum impl who, mem_result *out, size_t wire_cap, bool burst)
{
    counter c = {0, 0};
    h2_mem hm = {&c, cnt_malloc, cnt_realloc, cnt_free};
    nghttp2_mem nm = {&c, cnt_malloc, cnt_free, cnt_calloc, cnt_realloc};
    run r;
    if (run_init(&r, MEM_STREAMS, MEM_STREAMS, 0, wire_cap) != 0) {
        fprintf(stderr, "bench_core: out of memory\n");
        run_free(&r);
        return -1;
    }
    r.respond = false;
    long long base = 0, base_blocks = 0;
    size_t issued = 0;
    int rv;
    if (who == OURS) {
        rv = ours_open(&r, &hm);
        if (rv == 0) {
            rv = ours_settle(&r);
        }
        base = c.bytes;
        base_blocks = c.blocks;
        r.probe = &c;
        r.held_max = c.bytes;
        for (size_t i = 0; rv == 0 && i < MEM_STREAMS; i = burst ? MEM_STREAMS : i + 1) {
            r.concurrency = burst ? MEM_STREAMS : i + 1;
            rv = ours_issue(&r, &issued);
            if (rv == 0) {
                rv = ours_settle(&r);
            }
        }
        if (rv == 0 && h2_conn_open_inbound_streams(r.srv) != MEM_STREAMS) {
            rv = fail(&r, "libh2: %zu streams open on the server",
                      h2_conn_open_inbound_streams(r.srv));
        }
    } else {
        rv = ng_open(&r, &nm);
        if (rv == 0) {
            rv = ng_settle(&r);
        }
        base = c.bytes;
        base_blocks = c.blocks;
        r.probe = &c;
        r.held_max = c.bytes;
        for (size_t i = 0; rv == 0 && i < MEM_STREAMS; i = burst ? MEM_STREAMS : i + 1) {
            r.concurrency = burst ? MEM_STREAMS : i + 1;
            rv = ng_issue(&r, &issued);
            if (rv == 0) {
                rv = ng_settle(&r);
            }
        }
        for (int32_t id = 1; rv == 0 && id < 2 * (int32_t)MEM_STREAMS; id += 2) {
            if (nghttp2_session_find_stream(r.nsrv, id) == NULL) {
                rv = fail(&r, "nghttp2: stream %d not open on the server", id);
            }
        }
    }
    if (rv == 0 && (issued != MEM_STREAMS || r.requests_seen != MEM_STREAMS)) {
        rv = fail(&r, "%s: %zu requests sent, %zu received", impl_name[who], issued,
                  r.requests_seen);
    }
    if (rv == 0) {
        out->counted = (double)(c.bytes - base) / MEM_STREAMS;
        out->blocks = (double)(c.blocks - base_blocks) / MEM_STREAMS;
        out->rss = 0;
        out->held = (double)(r.held_max - base) / MEM_STREAMS;
    } else {
        fprintf(stderr, "bench_core: stream-memory %s failed: %s\n", impl_name[who], r.err);
    }
    if (who == OURS) {
        ours_close(&r);
    } else {
        ng_close(&r);
    }
    run_free(&r);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_core [--requests N] [--concurrency C] [--body B] [--rounds R]\n"
            "                  [--only ours|nghttp2] [--wire BYTES]\n"
            "  Without --requests/--concurrency/--body: core-small (200000, 100, 16) and\n"
            "  core-large (20000, 10, 65536). With any of them: one workload, core-custom,\n"
            "  defaults filled from core-small. Memory figures are always measured.\n"
            "  --rounds R   timed rounds, alternating the libraries (default 5); medians\n"
            "  --only X     measure only libh2 (ours) or only nghttp2; no RESULT lines\n"
            "  --wire BYTES bytes moved per transfer between the ends (default %u)\n",
            DEFAULT_WIRE);
}

static int parse_size(const char *arg, const char *flag, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno != 0 || *end != '\0' || arg[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "bench_core: %s takes a number in %zu..%zu\n", flag, lo, hi);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static void print_mem_line(const char *name, const mem_result *m, const bool use[2])
{
    if (use[OURS] && use[NGHTTP2]) {
        printf("RESULT %s ours=%.0f nghttp2=%.0f better=%.2f\n", name, m[OURS].counted,
               m[NGHTTP2].counted, m[NGHTTP2].counted / m[OURS].counted);
    }
}

int main(int argc, char **argv)
{
    size_t requests = 200000, concurrency = 100, body = 16, rounds = 5, wire = DEFAULT_WIRE;
    bool custom = false, use[2] = {true, true};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *flag = argv[i], *arg = argv[++i];
        int rc = 0;
        if (strcmp(flag, "--requests") == 0) {
            rc = parse_size(arg, flag, 1, 100000000, &requests);
            custom = true;
        } else if (strcmp(flag, "--concurrency") == 0) {
            rc = parse_size(arg, flag, 1, MAX_STREAMS, &concurrency);
            custom = true;
        } else if (strcmp(flag, "--body") == 0) {
            rc = parse_size(arg, flag, 0, 1u << 30, &body);
            custom = true;
        } else if (strcmp(flag, "--rounds") == 0) {
            rc = parse_size(arg, flag, 1, 1000, &rounds);
        } else if (strcmp(flag, "--wire") == 0) {
            rc = parse_size(arg, flag, 64, 1u << 26, &wire);
        } else if (strcmp(flag, "--only") == 0) {
            if (strcmp(arg, "ours") == 0) {
                use[NGHTTP2] = false;
            } else if (strcmp(arg, "nghttp2") == 0) {
                use[OURS] = false;
            } else {
                fprintf(stderr, "bench_core: --only takes ours or nghttp2\n");
                rc = -1;
            }
        } else {
            usage(stderr);
            return 2;
        }
        if (rc != 0) {
            return 2;
        }
    }
    build_nv(req_nv, req_fields, N_REQ_FIELDS);
    build_nv(resp_nv, resp_fields, N_RESP_FIELDS);
    if (ng_callbacks() != 0) {
        fprintf(stderr, "bench_core: out of memory\n");
        return 1;
    }

    workload wl[2] = {
        {"core-small", 200000, 100, 16, {0, 0}},
        {"core-large", 20000, 10, 65536, {0, 0}},
    };
    size_t n_wl = 2;
    if (custom) {
        wl[0] = (workload){"core-custom", requests, concurrency, body, {0, 0}};
        n_wl = 1;
    }
    int rv = 0;
    for (size_t i = 0; i < n_wl && rv == 0; i++) {
        rv = bench_workload(&wl[i], (int)rounds, use, wire);
        printf("\n");
    }

    mem_result conn_mem[2] = {{0, 0, 0}, {0, 0, 0}}, stream_mem[2] = {{0, 0, 0}, {0, 0, 0}};
    mem_result trickle_mem[2] = {{0, 0, 0}, {0, 0, 0}};
    for (int who = OURS; who <= NGHTTP2 && rv == 0; who++) {
        if (use[who]) {
            rv = conn_memory((enum impl)who, &conn_mem[who], wire);
            if (rv == 0) {
                rv = stream_memory((enum impl)who, &stream_mem[who], wire, true);
            }
            if (rv == 0) {
                rv = stream_memory((enum impl)who, &trickle_mem[who], wire, false);
            }
        }
    }
    if (rv == 0) {
        printf("%-12s %-8s %9s %10s %8s %8s %14s\n", "workload", "impl", "requests", "body",
               "streams", "rounds", "median req/s");
        for (size_t i = 0; i < n_wl; i++) {
            for (int who = OURS; who <= NGHTTP2; who++) {
                if (use[who]) {
                    printf("%-12s %-8s %9zu %10zu %8zu %8zu %14.0f\n", wl[i].name, impl_name[who],
                           wl[i].requests, wl[i].body, wl[i].concurrency, rounds, wl[i].med[who]);
                }
            }
        }
        printf("\n%-14s %-8s %14s %12s %16s\n", "memory", "impl", "counted bytes", "blocks",
               "RSS delta bytes");
        for (int who = OURS; who <= NGHTTP2; who++) {
            if (use[who]) {
                printf("%-14s %-8s %14.1f %12.2f %16.0f\n", "per idle conn", impl_name[who],
                       conn_mem[who].counted, conn_mem[who].blocks, conn_mem[who].rss);
            }
        }
        for (int who = OURS; who <= NGHTTP2; who++) {
            if (use[who]) {
                printf("%-14s %-8s %14.1f %12.2f %16s\n", "per stream", impl_name[who],
                       stream_mem[who].counted, stream_mem[who].blocks, "-");
            }
        }
        for (int who = OURS; who <= NGHTTP2; who++) {
            if (use[who]) {
                printf("%-14s %-8s %14.1f %12s %16s\n", "per stream (h)", impl_name[who],
                       stream_mem[who].held, "-", "-");
            }
        }
        for (int who = OURS; who <= NGHTTP2; who++) {
            if (use[who]) {
                printf("%-14s %-8s %14.1f %12.2f %16s\n", "per stream (1)", impl_name[who],
                       trickle_mem[who].counted, trickle_mem[who].blocks, "-");
            }
        }
        printf("(counted: allocator-hook bytes incl. malloc's per-block header, server side only;\n"
               " idle conn: %u connections after the SETTINGS exchange;\n"
               " per stream: %u requests received in %zu-byte transfers (the burst arrives in\n"
               "   one receive call), after the server handled the events (libh2:\n"
               "   h2_conn_release_events), the %u streams still open awaiting responses;\n"
               " per stream (h): the same burst, held during the receive call: right after it\n"
               "   returned, before the events were handled and released, for information;\n"
               " per stream (1): one request per transfer, after handling, for information)\n\n",
               MEM_CONNS, MEM_STREAMS, wire, MEM_STREAMS);
        if (use[OURS] && use[NGHTTP2]) {
            for (size_t i = 0; i < n_wl; i++) {
                printf("RESULT %s ours=%.0f nghttp2=%.0f better=%.2f\n", wl[i].name,
                       wl[i].med[OURS], wl[i].med[NGHTTP2], wl[i].med[OURS] / wl[i].med[NGHTTP2]);
            }
            print_mem_line("conn-memory", conn_mem, use);
            print_mem_line("stream-memory", stream_mem, use);
        }
    }
    nghttp2_session_callbacks_del(ng_srv_cbs);
    nghttp2_session_callbacks_del(ng_cli_cbs);
    return rv == 0 ? 0 : 1;
}
