/*
 * uv_h2client: fetches one URL over cleartext HTTP/2 (prior knowledge)
 * with the libh2 connection core driven on a libuv TCP handle, and writes
 * the response body to stdout.
 *
 * Usage
 *   uv_h2client [-v] [-t SECONDS] [-d DATA] http://HOST:PORT/PATH
 *
 *   -d DATA   POST DATA as the request body (otherwise GET)
 *   -t SECONDS  give up after this long (default 60; 0: never)
 *   -v        the response status and fields on stderr
 *
 * Exit status: 0 for a complete 2xx or 3xx response, 3 for a complete
 * response with another status, 1 when the exchange failed (connection
 * refused, reset stream, protocol error, truncated body, timeout), 2 for
 * bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libuv/uvconn.h"

typedef struct client {
    uvconn io; /* first: a uvconn pointer is a client pointer */
    uv_connect_t connect;
    uv_timer_t timer; /* the -t deadline */
    const char *authority, *path, *data;
    size_t data_len, data_off;
    uint32_t stream_id;
    int status;
    bool request_sent, ended, failed, verbose;
    char error[160];
} client;

static void fail(client *cl, const char *msg)
{
    if (!cl->failed)
        snprintf(cl->error, sizeof(cl->error), "%s", msg);
    cl->failed = true;
    uvconn_close(&cl->io);
}

static h2_header field(const char *name, const char *value)
{
    h2_header f = {(const uint8_t *)name, strlen(name), (const uint8_t *)value, strlen(value), 0};
    return f;
}

static void send_request(client *cl)
{
    h2_conn *conn = cl->io.conn;
    int64_t id = h2_conn_next_stream_id(conn);
    const h2_header fields[] = {
        field(":method", cl->data != NULL ? "POST" : "GET"),
        field(":scheme", "http"),
        field(":authority", cl->authority),
        field(":path", cl->path),
        field("user-agent", "uv_h2client"),
    };
    uint32_t flags = cl->data == NULL ? H2_SEND_END_STREAM : 0;
    if (id < 0 || h2_conn_send_headers(conn, (uint32_t)id, fields, 5, flags, NULL) != 0) {
        fail(cl, "the request could not be sent");
        return;
    }
    cl->stream_id = (uint32_t)id;
    cl->request_sent = true;
}

/* Sends the request body within the windows while the connection has room. */
static void on_room(uvconn *c)
{
    client *cl = (client *)c;
    while (cl->data != NULL && cl->data_off < cl->data_len && uvconn_has_room(c)) {
        size_t taken = 0;
        int rc = h2_conn_send_body(c->conn, cl->stream_id, (const uint8_t *)cl->data + cl->data_off,
                                   cl->data_len - cl->data_off, true, &taken);
        if (rc != 0 && rc != H2_ENOBUFS) {
            fail(cl, "the request body could not be sent");
            return;
        }
        cl->data_off += taken;
        if (uvconn_flush(c) != 0 || taken == 0)
            return;
    }
    if (cl->data != NULL && cl->data_len == 0 && cl->data_off == 0) {
        cl->data_off = 1; /* an empty body: END_STREAM alone, once */
        h2_conn_end_stream(c->conn, cl->stream_id);
    }
}

static void on_response(client *cl, const h2_event *ev)
{
    for (size_t i = 0; i < ev->u.headers.n; i++) {
        const h2_header *f = &ev->u.headers.fields[i];
        if (f->name_len == 7 && memcmp(f->name, ":status", 7) == 0 && f->value_len == 3)
            cl->status = (f->value[0] - '0') * 100 + (f->value[1] - '0') * 10 + (f->value[2] - '0');
        if (cl->verbose)
            fprintf(stderr, "%.*s: %.*s\n", (int)f->name_len, (const char *)f->name,
                    (int)f->value_len, (const char *)f->value);
    }
}

static void on_events(uvconn *c, const h2_event *ev, size_t n)
{
    client *cl = (client *)c;
    for (size_t i = 0; i < n && !c->closing; i++) {
        const h2_event *e = &ev[i];
        if (e->stream_id != 0 && e->stream_id != cl->stream_id)
            continue;
        switch (e->type) {
        case H2_EV_RESPONSE_RECEIVED:
            on_response(cl, e);
            break;
        case H2_EV_DATA_RECEIVED:
            /* Blocking stdout: the window is given back once the bytes are written. */
            if (fwrite(e->u.data.data, 1, e->u.data.len, stdout) != e->u.data.len) {
                fail(cl, "writing stdout failed");
                break;
            }
            h2_conn_ack_data(c->conn, e->stream_id, e->u.data.flow_controlled_length);
            break;
        case H2_EV_STREAM_ENDED:
            cl->ended = true;
            h2_conn_close(c->conn, H2_NO_ERROR, NULL, 0, -1); /* done: GOAWAY, then close */
            uvconn_end(c);
            break;
        case H2_EV_STREAM_RESET:
            fail(cl, "the server reset the stream");
            break;
        case H2_EV_CONNECTION_TERMINATED:
            if (!cl->ended)
                fail(cl, "the server sent GOAWAY before the response ended");
            break;
        default:
            break;
        }
    }
}

static void on_closed(uvconn *c)
{
    /* |client| is static in main(); the deadline goes with the connection. */
    uv_close((uv_handle_t *)&((client *)c)->timer, NULL);
}

static void on_timeout(uv_timer_t *t)
{
    fail(t->data, "timed out");
}

static const uvconn_ops client_ops = {on_events, on_room, on_closed, NULL};

static void on_connect(uv_connect_t *req, int status)
{
    client *cl = req->data;
    if (status < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "connect: %s", uv_strerror(status));
        fail(cl, msg); /* after a timeout: UV_ECANCELED, the timeout is reported */
        return;
    }
    send_request(cl);
    if (!cl->failed && uvconn_start(&cl->io) == 0)
        on_room(&cl->io);
    uvconn_flush(&cl->io);
}

/* Splits "http://HOST:PORT/PATH" into |host|, |port|, |authority| and |path|. */
static int parse_url(const char *url, char *host, size_t cap, char *port, char *authority,
                     size_t acap, const char **path)
{
    const char *p = url + strlen("http://");
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    size_t alen = strcspn(p, "/");
    if (alen == 0 || alen >= acap)
        return -1;
    memcpy(authority, p, alen);
    authority[alen] = '\0';
    *path = p[alen] == '/' ? p + alen : "/";
    const char *colon = strrchr(authority, ':');
    size_t hlen = colon != NULL ? (size_t)(colon - authority) : alen;
    if (hlen == 0 || hlen >= cap)
        return -1;
    memcpy(host, authority, hlen);
    host[hlen] = '\0';
    snprintf(port, 8, "%s", colon != NULL ? colon + 1 : "80");
    return 0;
}

static int connect_to(client *cl, uv_loop_t *loop, const char *host, const char *port)
{
    uv_getaddrinfo_t gai;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    /* No callback: resolved synchronously, before the loop runs. */
    int rc = uv_getaddrinfo(loop, &gai, NULL, host, port, &hints);
    if (rc != 0) {
        fprintf(stderr, "uv_h2client: %s: %s\n", host, uv_strerror(rc));
        return -1;
    }
    cl->connect.data = cl;
    rc = uv_tcp_connect(&cl->connect, &cl->io.tcp, gai.addrinfo->ai_addr, on_connect);
    uv_freeaddrinfo(gai.addrinfo);
    if (rc != 0) {
        fprintf(stderr, "uv_h2client: connect: %s\n", uv_strerror(rc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static client cl;
    const char *url = NULL;
    unsigned long timeout_s = 60;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            cl.verbose = true;
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            timeout_s = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            cl.data = argv[++i];
        else if (url == NULL && argv[i][0] != '-')
            url = argv[i];
        else
            url = NULL, i = argc;
    }
    char host[256], port[8], authority[300];
    if (url == NULL ||
        parse_url(url, host, sizeof(host), port, authority, sizeof(authority), &cl.path) != 0) {
        fprintf(stderr, "usage: uv_h2client [-v] [-t SECONDS] [-d DATA] http://HOST:PORT/PATH\n");
        return 2;
    }
    cl.authority = authority;
    cl.data_len = cl.data != NULL ? strlen(cl.data) : 0;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.initial_window_size = 1u << 20; /* fewer WINDOW_UPDATEs for large bodies */
    cfg.connection_window_size = 1u << 22;
    if (uvconn_init(&cl.io, loop, &cfg, &client_ops, NULL) != 0)
        return 1;
    uv_timer_init(loop, &cl.timer);
    cl.timer.data = &cl;
    if (timeout_s > 0)
        uv_timer_start(&cl.timer, on_timeout, (uint64_t)timeout_s * 1000, 0);
    if (connect_to(&cl, loop, host, port) != 0)
        uvconn_close(&cl.io);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    if (fflush(stdout) != 0 && !cl.failed)
        fail(&cl, "writing stdout failed");
    if (!cl.failed && !cl.ended)
        snprintf(cl.error, sizeof(cl.error), "the connection ended before the response");
    if (cl.failed || !cl.ended) {
        fprintf(stderr, "uv_h2client: %s\n", cl.error);
        return 1;
    }
    if (cl.verbose)
        fprintf(stderr, "status %d\n", cl.status);
    return cl.status >= 200 && cl.status < 400 ? 0 : 3;
}
