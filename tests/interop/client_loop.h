/*
 * A minimal blocking HTTP/2 client over the libh2 connection core: GET
 * requests on one connection, every response body collected in memory. It
 * doubles as a reference for driving the client side of the core:
 *
 *     initiate -> send_headers(GET, END_STREAM) per request -> write output
 *     -> read() -> h2_conn_receive() -> collect DATA and acknowledge it
 *     (h2_conn_ack_data) -> repeat until every stream has ended
 *
 * Reads are bounded by the socket timeouts and the whole exchange by
 * CLI_DEADLINE_MS.
 */
#ifndef H2_TESTS_INTEROP_CLIENT_LOOP_H
#define H2_TESTS_INTEROP_CLIENT_LOOP_H

#include "h2/h2.h"
#include "interop_util.h"

#define CLI_DEADLINE_MS 30000

/* One GET request and its response. */
typedef struct cli_req {
    const char *path; /* in: request path */
    uint32_t id;      /* stream id, set by cli_send() */
    int status;       /* :status of the final response, 0 before it arrives */
    char length[24];  /* content-length value, "" when absent */
    uint8_t *body;    /* malloc'd response body; free with cli_req_free() */
    size_t len, cap;
    size_t data_frames; /* DATA events seen */
    size_t padding;     /* DATA padding received (flow controlled, not body) */
    char trailer[64];   /* "name: value" of the first trailer field, "" when none */
    bool sent;          /* the request is on the wire (cli_send() succeeded) */
    bool ended;         /* END_STREAM received */
} cli_req;

typedef struct cli {
    h2_conn *conn;
    int fd;
    char authority[32];
    bool settings_acked;  /* the peer acknowledged our SETTINGS */
    bool remote_settings; /* the peer's SETTINGS arrived */
    bool ping_sent, ping_acked;
    uint8_t ping[8];
    unsigned goaways;
    size_t max_open; /* most streams open at once, as the core counted them */
    unsigned waits;  /* times a request waited for the peer's concurrency limit */
    char error[200];
} cli;

static inline void cli_req_free(cli_req *r)
{
    free(r->body);
    r->body = NULL;
}

static inline int cli_fail(cli *c, const char *what, int rc)
{
    if (c->error[0] == '\0')
        snprintf(c->error, sizeof(c->error), "%s: %s", what,
                 rc < 0   ? h2_errname(rc)
                 : rc > 0 ? strerror(rc)
                          : "failed");
    return -1;
}

/* Writes every queued byte. */
static inline int cli_flush(cli *c)
{
    const uint8_t *data;
    size_t len;
    for (h2_conn_output_view(c->conn, &data, &len); len > 0;
         h2_conn_output_view(c->conn, &data, &len)) {
        if (interop_send_all(c->fd, data, len) != 0)
            return cli_fail(c, "write", errno);
        h2_conn_output_consume(c->conn, len);
    }
    return 0;
}

/* Creates the client connection on the connected socket |fd| and queues the preface. */
static inline int cli_open(cli *c, int fd, uint16_t port, const h2_conn_config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    snprintf(c->authority, sizeof(c->authority), "127.0.0.1:%u", port);
    int rc = h2_conn_new(&c->conn, cfg);
    if (rc != 0)
        return cli_fail(c, "h2_conn_new", rc);
    if ((rc = h2_conn_initiate(c->conn)) != 0)
        return cli_fail(c, "h2_conn_initiate", rc);
    return 0;
}

/*
 * Queues a GET for |r| on the next stream id. Returns 0, -1 (c->error), or
 * H2_ETOO_MANY_STREAMS when the peer's MAX_CONCURRENT_STREAMS is reached
 * (nothing changed; cli_run() retries once a stream has ended).
 */
static inline int cli_send(cli *c, cli_req *r)
{
    int64_t id = h2_conn_next_stream_id(c->conn);
    if (id < 0)
        return cli_fail(c, "h2_conn_next_stream_id", (int)id);
    const h2_header fields[] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3, 0},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"http", 4, 0},
        {(const uint8_t *)":authority", 10, (const uint8_t *)c->authority, strlen(c->authority), 0},
        {(const uint8_t *)":path", 5, (const uint8_t *)r->path, strlen(r->path), 0},
        {(const uint8_t *)"user-agent", 10, (const uint8_t *)"libh2-interop", 13, 0},
    };
    int rc = h2_conn_send_headers(c->conn, (uint32_t)id, fields, 5, H2_SEND_END_STREAM, NULL);
    if (rc == H2_ETOO_MANY_STREAMS)
        return rc;
    if (rc != 0)
        return cli_fail(c, "h2_conn_send_headers", rc);
    r->id = (uint32_t)id;
    r->sent = true;
    if (h2_conn_open_outbound_streams(c->conn) > c->max_open)
        c->max_open = h2_conn_open_outbound_streams(c->conn);
    return 0;
}

/* Queues a PING; cli_run() then also waits for its ACK. */
static inline int cli_ping(cli *c, const uint8_t opaque[8])
{
    memcpy(c->ping, opaque, 8);
    int rc = h2_conn_ping(c->conn, opaque);
    if (rc != 0)
        return cli_fail(c, "h2_conn_ping", rc);
    c->ping_sent = true;
    return 0;
}

static inline cli_req *cli_find(cli_req *reqs, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (reqs[i].sent && reqs[i].id == id)
            return &reqs[i];
    return NULL;
}

static inline int cli_on_response(cli *c, cli_req *r, const h2_event *ev)
{
    for (size_t i = 0; i < ev->u.headers.n; i++) {
        const h2_header *h = &ev->u.headers.fields[i];
        char *dst = NULL;
        char num[24];
        if (h->name_len == 7 && memcmp(h->name, ":status", 7) == 0)
            dst = num;
        else if (h->name_len == 14 && memcmp(h->name, "content-length", 14) == 0)
            dst = r->length;
        if (dst == NULL)
            continue;
        if (h->value_len >= sizeof(num))
            return cli_fail(c, "oversized :status or content-length", 0);
        memcpy(dst, h->value, h->value_len);
        dst[h->value_len] = 0;
        if (dst == num)
            r->status = atoi(num);
    }
    return 0;
}

static inline int cli_on_data(cli *c, cli_req *r, const h2_event *ev)
{
    size_t need = r->len + ev->u.data.len;
    if (need > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(r->body, cap);
        if (nb == NULL)
            return cli_fail(c, "out of memory", 0);
        r->body = nb;
        r->cap = cap;
    }
    if (ev->u.data.len > 0)
        memcpy(r->body + r->len, ev->u.data.data, ev->u.data.len);
    r->len = need;
    r->data_frames++;
    r->padding += ev->u.data.flow_controlled_length - ev->u.data.len;
    /* Consumed: let the core send WINDOW_UPDATEs when enough was processed. */
    int rc = h2_conn_ack_data(c->conn, ev->stream_id, ev->u.data.flow_controlled_length);
    return rc == 0 ? 0 : cli_fail(c, "h2_conn_ack_data", rc);
}

static inline int cli_handle(cli *c, cli_req *reqs, size_t n, const h2_event *ev, size_t n_ev)
{
    for (size_t i = 0; i < n_ev; i++) {
        cli_req *r = cli_find(reqs, n, ev[i].stream_id);
        int rc = 0;
        switch (ev[i].type) {
        case H2_EV_RESPONSE_RECEIVED:
            rc = r != NULL ? cli_on_response(c, r, &ev[i]) : cli_fail(c, "unknown stream", 0);
            break;
        case H2_EV_DATA_RECEIVED:
            rc = r != NULL ? cli_on_data(c, r, &ev[i]) : cli_fail(c, "unknown stream", 0);
            break;
        case H2_EV_TRAILERS_RECEIVED:
            if (r != NULL && ev[i].u.headers.n > 0) {
                const h2_header *h = &ev[i].u.headers.fields[0];
                snprintf(r->trailer, sizeof(r->trailer), "%.*s: %.*s", (int)h->name_len,
                         (const char *)h->name, (int)h->value_len, (const char *)h->value);
            }
            break;
        case H2_EV_STREAM_ENDED:
            if (r != NULL)
                r->ended = true;
            break;
        case H2_EV_STREAM_RESET:
            rc = cli_fail(c, "stream reset", 0);
            break;
        case H2_EV_CONNECTION_TERMINATED:
            c->goaways++;
            break;
        case H2_EV_SETTINGS_ACKNOWLEDGED:
            c->settings_acked = true;
            break;
        case H2_EV_REMOTE_SETTINGS_CHANGED:
            c->remote_settings = true;
            break;
        case H2_EV_PING_ACK_RECEIVED:
            if (!c->ping_sent || memcmp(ev[i].u.ping, c->ping, 8) != 0)
                rc = cli_fail(c, "unexpected PING ACK", 0);
            c->ping_acked = true;
            break;
        default:
            break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static inline bool cli_done(const cli *c, const cli_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!reqs[i].ended)
            return false;
    return c->settings_acked && (!c->ping_sent || c->ping_acked);
}

/*
 * Sends the requests not sent yet, in order, as far as the peer's
 * concurrency limit allows. Returns 0 or -1.
 */
static inline int cli_send_pending(cli *c, cli_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (reqs[i].sent)
            continue;
        int rc = cli_send(c, &reqs[i]);
        if (rc == H2_ETOO_MANY_STREAMS) {
            c->waits++;
            return 0;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/*
 * Sends the requests (as the peer's MAX_CONCURRENT_STREAMS allows) and reads
 * until every one has ended. Returns 0 or -1 (c->error).
 */
static inline int cli_run(cli *c, cli_req *reqs, size_t n)
{
    int64_t deadline = interop_now_ms() + CLI_DEADLINE_MS;
    uint8_t buf[16384];
    while (!cli_done(c, reqs, n)) {
        if (cli_send_pending(c, reqs, n) != 0 || cli_flush(c) != 0)
            return -1;
        if (interop_now_ms() > deadline)
            return cli_fail(c, "deadline passed", 0);
        if (!h2_conn_want_read(c->conn))
            return cli_fail(c, "connection ended early", 0);
        ssize_t got = recv(c->fd, buf, sizeof(buf), 0); /* bounded by SO_RCVTIMEO */
        if (got == 0)
            return cli_fail(c, "peer closed the connection", 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return cli_fail(c, "read", errno);
        }
        const h2_event *events = NULL;
        size_t n_events = 0;
        int rc = h2_conn_receive(c->conn, buf, (size_t)got, &events, &n_events);
        if (cli_handle(c, reqs, n, events, n_events) != 0)
            return -1;
        if (rc != 0) {
            cli_flush(c);
            return cli_fail(c, h2_conn_last_error(c->conn).message, rc);
        }
    }
    return cli_flush(c); /* WINDOW_UPDATEs and ACKs still queued */
}

/* Sends GOAWAY(NO_ERROR), flushes it and frees the connection (not the socket). */
static inline void cli_close(cli *c)
{
    if (c->conn == NULL)
        return;
    if (h2_conn_close(c->conn, H2_NO_ERROR, NULL, 0, -1) == 0)
        cli_flush(c);
    h2_conn_free(c->conn);
    c->conn = NULL;
}

#endif
