/*
 * uv_h2server: an HTTP/2 server (cleartext, prior knowledge) that drives
 * the libh2 connection core directly on libuv TCP handles, on one thread.
 *
 * Usage
 *   uv_h2server [--host ADDR] [--port N] [--big BYTES] [--high BYTES]
 *               [--low BYTES] [-v]
 *
 *   --port N      port to listen on (default 8080; 0 picks a free port);
 *                 "listening http ADDR:PORT" is printed on stdout
 *   --big BYTES   size of the /big body (default 4 MiB)
 *   --high, --low the write marks: a connection stops reading while this
 *                 many bytes handed to uv_write() have not been written
 *                 (default 256 KiB), and reads again at --low (64 KiB)
 *   -v            one line per request, and one per read pause and
 *                 resume, on stderr
 *
 * Resources: see routes.h. GET /stats answers with this server's
 * buffering counters, one "name value" line each: connections, in_flight
 * (bytes in flight now, over every connection), max_in_flight (the most
 * one connection ever had in flight), read_pauses, high_water, low_water.
 *
 * SIGINT or SIGTERM: GOAWAY to every client, every handle is closed and
 * the server exits with 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libuv/routes.h"
#include "libuv/uvconn.h"

/* One request and its response. */
typedef struct stream {
    struct stream *next;
    uint32_t id;
    route rt;
    bool request_done; /* END_STREAM received */
    bool responding;   /* response headers sent; body pending */
    bool too_big;      /* /echo body over ROUTE_ECHO_MAX */
    uint8_t *body;     /* response body (owned), unless generated */
    size_t len, cap;   /* body length (or generated length), allocated bytes */
    size_t off;        /* body bytes already queued */
    uint32_t gen;      /* generator state of /big */
} stream;

typedef struct server server;

/* One client connection. */
typedef struct sconn {
    uvconn io; /* first: a uvconn pointer is an sconn pointer */
    server *srv;
    stream *streams;
    struct sconn *prev, *next;
} sconn;

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    sconn *conns;
    size_t n_conns;
    size_t big_size, high_water, low_water;
    size_t closed_max_in_flight; /* max_in_flight of connections already closed */
    uint64_t closed_pauses;
    bool verbose;
    bool stopping;
};

/* ---- streams ---------------------------------------------------------------- */

static stream *stream_find(sconn *sc, uint32_t id)
{
    for (stream *s = sc->streams; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static void stream_drop(sconn *sc, uint32_t id)
{
    for (stream **p = &sc->streams; *p != NULL; p = &(*p)->next) {
        if ((*p)->id == id) {
            stream *s = *p;
            *p = s->next;
            free(s->body);
            free(s);
            return;
        }
    }
}

/* Appends to the stream's body buffer; false when memory ran out. */
static bool body_append(stream *s, const uint8_t *data, size_t len)
{
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *p = realloc(s->body, cap);
        if (p == NULL)
            return false;
        s->body = p;
        s->cap = cap;
    }
    memcpy(s->body + s->len, data, len);
    s->len += len;
    return true;
}

/* ---- responses ----------------------------------------------------------------- */

static void server_stats_text(server *srv, stream *s);

/* Sends the response head; the body follows from pump(). */
static void respond(sconn *sc, stream *s)
{
    h2_conn *conn = sc->io.conn;
    int status = 200;
    const char *type = "text/plain";
    switch (s->rt.kind) {
    case ROUTE_INDEX:
        type = "text/html";
        s->len = 0;
        body_append(s, (const uint8_t *)ROUTE_PAGE, strlen(ROUTE_PAGE));
        break;
    case ROUTE_BIG:
        type = "application/octet-stream";
        s->len = sc->srv->big_size;
        s->gen = ROUTE_PATTERN_SEED;
        break;
    case ROUTE_ECHO:
        type = "application/octet-stream";
        if (s->too_big) {
            status = 413;
            s->len = 0;
        }
        break;
    case ROUTE_STATS:
        server_stats_text(sc->srv, s);
        break;
    case ROUTE_BAD_METHOD:
        status = 405;
        break;
    case ROUTE_NOT_FOUND:
        status = 404;
        break;
    }
    if (s->body == NULL && s->rt.kind != ROUTE_BIG)
        s->len = 0;
    route_head head;
    route_head_make(&head, status, type, (long long)s->len);
    bool empty = s->rt.head || s->len == 0;
    int rc = h2_conn_send_headers(conn, s->id, head.fields, head.n, empty ? H2_SEND_END_STREAM : 0,
                                  NULL);
    if (sc->srv->verbose)
        fprintf(stderr, "%s %s %d %zu\n", s->rt.method, s->rt.path, status,
                s->rt.head ? 0 : s->len);
    if (rc != 0) {
        h2_conn_reset_stream(conn, s->id, H2_INTERNAL_ERROR);
        stream_drop(sc, s->id);
    } else if (empty) {
        stream_drop(sc, s->id);
    } else {
        s->responding = true;
    }
}

/*
 * Queues one DATA frame of |s| within the flow-control windows. Returns 1
 * when a frame was queued, 0 when the windows are closed, -1 when the
 * stream is done (finished or failed) and was dropped.
 */
static int send_chunk(sconn *sc, stream *s)
{
    h2_conn *conn = sc->io.conn;
    int32_t window = 0;
    if (h2_conn_send_window(conn, s->id, &window) != 0) {
        stream_drop(sc, s->id);
        return -1;
    }
    size_t chunk = s->len - s->off;
    uint32_t max_frame = h2_conn_max_outbound_frame_size(conn);
    uint8_t buf[16384];
    if (chunk > max_frame)
        chunk = max_frame;
    if (chunk > sizeof(buf))
        chunk = sizeof(buf);
    if (window <= 0)
        return 0;
    if (chunk > (size_t)window)
        chunk = (size_t)window;
    const uint8_t *data = s->body + s->off;
    if (s->rt.kind == ROUTE_BIG) {
        route_pattern_fill(&s->gen, buf, chunk);
        data = buf;
    }
    bool last = s->off + chunk == s->len;
    int rc = h2_conn_send_data(conn, s->id, data, chunk, last ? H2_SEND_END_STREAM : 0, -1);
    if (rc != 0 || last) {
        if (rc != 0)
            h2_conn_reset_stream(conn, s->id, H2_INTERNAL_ERROR);
        stream_drop(sc, s->id);
        return -1;
    }
    s->off += chunk;
    return 1;
}

/* Queues response DATA, one frame per stream in turn, while the connection has room. */
static void pump(uvconn *c)
{
    sconn *sc = (sconn *)c;
    bool progress = true;
    while (progress && uvconn_has_room(c)) {
        progress = false;
        stream *next;
        for (stream *s = sc->streams; s != NULL && uvconn_has_room(c); s = next) {
            next = s->next;
            if (!s->responding)
                continue;
            int rc = send_chunk(sc, s);
            if (rc != 0)
                progress = true;
            /* Hand each frame to uv_write() at once: the core's own output
             * mark (64 KiB) stays far away, and so does H2_ENOBUFS. */
            if (rc > 0 && uvconn_flush(c) != 0)
                return;
        }
    }
}

/* ---- events ------------------------------------------------------------------ */

static void on_request(sconn *sc, const h2_event *ev, bool ended)
{
    stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        h2_conn_reset_stream(sc->io.conn, ev->stream_id, H2_INTERNAL_ERROR);
        return;
    }
    s->id = ev->stream_id;
    route_parse(&s->rt, ev->u.headers.fields, ev->u.headers.n);
    s->next = sc->streams;
    sc->streams = s;
    s->request_done = ended;
    if (ended)
        respond(sc, s);
}

static void on_data(sconn *sc, const h2_event *ev)
{
    stream *s = stream_find(sc, ev->stream_id);
    if (s != NULL && !s->responding && s->rt.kind == ROUTE_ECHO && !s->too_big) {
        if (s->len + ev->u.data.len > ROUTE_ECHO_MAX ||
            !body_append(s, ev->u.data.data, ev->u.data.len))
            s->too_big = true;
    }
    /* The bytes are used (copied or dropped): give the window back. */
    h2_conn_ack_data(sc->io.conn, ev->stream_id, ev->u.data.flow_controlled_length);
}

static void on_events(uvconn *c, const h2_event *ev, size_t n)
{
    sconn *sc = (sconn *)c;
    for (size_t i = 0; i < n; i++) {
        switch (ev[i].type) {
        case H2_EV_REQUEST_RECEIVED:
            on_request(sc, &ev[i], ev[i].u.headers.stream_ended >= 0);
            break;
        case H2_EV_DATA_RECEIVED:
            on_data(sc, &ev[i]);
            break;
        case H2_EV_STREAM_ENDED: {
            stream *s = stream_find(sc, ev[i].stream_id);
            if (s != NULL && !s->request_done) {
                s->request_done = true;
                respond(sc, s);
            }
            break;
        }
        case H2_EV_STREAM_RESET:
            stream_drop(sc, ev[i].stream_id);
            break;
        default:
            break;
        }
    }
}

/* ---- connections ---------------------------------------------------------------- */

static void on_conn_closed(uvconn *c)
{
    sconn *sc = (sconn *)c;
    server *srv = sc->srv;
    while (sc->streams != NULL)
        stream_drop(sc, sc->streams->id);
    if (c->max_in_flight > srv->closed_max_in_flight)
        srv->closed_max_in_flight = c->max_in_flight;
    srv->closed_pauses += c->pauses;
    if (sc->prev != NULL)
        sc->prev->next = sc->next;
    else
        srv->conns = sc->next;
    if (sc->next != NULL)
        sc->next->prev = sc->prev;
    srv->n_conns--;
    free(sc);
}

static void on_pause(uvconn *c, bool paused)
{
    if (((sconn *)c)->srv->verbose)
        fprintf(stderr, "read %s: %zu bytes in flight\n", paused ? "paused" : "resumed",
                c->in_flight);
}

static const uvconn_ops conn_ops = {on_events, pump, on_conn_closed, on_pause};

static void server_stats_text(server *srv, stream *s)
{
    size_t in_flight = 0, max_in_flight = srv->closed_max_in_flight;
    uint64_t pauses = srv->closed_pauses;
    for (sconn *sc = srv->conns; sc != NULL; sc = sc->next) {
        in_flight += sc->io.in_flight;
        pauses += sc->io.pauses;
        if (sc->io.max_in_flight > max_in_flight)
            max_in_flight = sc->io.max_in_flight;
    }
    char text[512];
    int len = snprintf(text, sizeof(text),
                       "connections %zu\nin_flight %zu\nmax_in_flight %zu\nread_pauses %llu\n"
                       "high_water %zu\nlow_water %zu\n",
                       srv->n_conns, in_flight, max_in_flight, (unsigned long long)pauses,
                       srv->high_water, srv->low_water);
    s->len = 0;
    body_append(s, (const uint8_t *)text, (size_t)len);
}

static void on_connection(uv_stream_t *listener, int status)
{
    server *srv = listener->data;
    if (status < 0 || srv->stopping)
        return;
    sconn *sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    if (uvconn_init(&sc->io, srv->loop, &cfg, &conn_ops, srv) != 0) {
        free(sc);
        return;
    }
    sc->srv = srv;
    sc->io.high_water = srv->high_water;
    sc->io.low_water = srv->low_water;
    sc->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = sc;
    srv->conns = sc;
    srv->n_conns++;
    if (uv_accept(listener, (uv_stream_t *)&sc->io.tcp) != 0 || uvconn_start(&sc->io) < 0)
        uvconn_close(&sc->io);
}

/* ---- start and stop ---------------------------------------------------------------- */

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    server *srv = sig->data;
    if (srv->stopping)
        return;
    srv->stopping = true;
    uv_close((uv_handle_t *)&srv->listener, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    for (sconn *sc = srv->conns, *next; sc != NULL; sc = next) {
        next = sc->next;
        /* uv_write() tries at once: the GOAWAY leaves before the handle closes. */
        h2_conn_close(sc->io.conn, H2_NO_ERROR, NULL, 0, -1);
        if (uvconn_flush(&sc->io) == 0)
            uvconn_close(&sc->io);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: uv_h2server [--host ADDR] [--port N] [--big BYTES] [--high BYTES] "
                    "[--low BYTES] [-v]\n");
    return 2;
}

static int parse_args(server *srv, int argc, char **argv, const char **host, int *port)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-v") == 0) {
            srv->verbose = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        char *end = NULL;
        unsigned long long n = strtoull(v, &end, 10);
        bool num = end != v && *end == '\0';
        if (strcmp(a, "--host") == 0)
            *host = v;
        else if (strcmp(a, "--port") == 0 && num && n < 65536)
            *port = (int)n;
        else if (strcmp(a, "--big") == 0 && num)
            srv->big_size = (size_t)n;
        else if (strcmp(a, "--high") == 0 && num && n > 0)
            srv->high_water = (size_t)n;
        else if (strcmp(a, "--low") == 0 && num)
            srv->low_water = (size_t)n;
        else
            return -1;
    }
    return srv->low_water < srv->high_water ? 0 : -1;
}

static int listen_on(server *srv, const char *host, int port)
{
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (rc == 0)
        rc = uv_tcp_init(srv->loop, &srv->listener);
    if (rc != 0) {
        fprintf(stderr, "uv_h2server: bad address %s\n", host);
        return -1;
    }
    srv->listener.data = srv;
    if ((rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0)) == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
    int len = sizeof(addr);
    if (rc == 0)
        rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&addr, &len);
    if (rc != 0) {
        fprintf(stderr, "uv_h2server: listen on %s:%d: %s\n", host, port, uv_strerror(rc));
        return -1;
    }
    char name[64];
    uv_ip_name((const struct sockaddr *)&addr, name, sizeof(name));
    int bound = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&addr)->sin_port);
    printf("listening http %s:%d\n", name, bound);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    server srv = {
        .big_size = ROUTE_BIG_SIZE, .high_water = UVCONN_HIGH_WATER, .low_water = UVCONN_LOW_WATER};
    const char *host = "127.0.0.1";
    int port = 8080;
    if (parse_args(&srv, argc, argv, &host, &port) != 0)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    srv.loop = uv_default_loop();
    if (listen_on(&srv, host, port) != 0)
        return 1;
    uv_signal_init(srv.loop, &srv.sigterm);
    uv_signal_init(srv.loop, &srv.sigint);
    srv.sigterm.data = srv.sigint.data = &srv;
    uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv.sigint, on_signal, SIGINT);
    uv_run(srv.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(srv.loop);
    if (rc != 0)
        fprintf(stderr, "uv_h2server: uv_loop_close: %s\n", uv_strerror(rc));
    return rc == 0 ? 0 : 1;
}
