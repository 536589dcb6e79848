/*
 * The libh2 connection core on a libuv TCP handle: reads go to
 * h2_conn_receive(), output goes to uv_write() with high- and low-water
 * marks on the bytes in flight (see uvconn.h).
 */
#include "libuv/uvconn.h"

#include <stdlib.h>
#include <string.h>

/* One uv_write() and its bytes, copied out of the core. */
typedef struct uvconn_write {
    uv_write_t req;
    uvconn *c;
    size_t len;
    uint8_t data[];
} uvconn_write;

static void on_closed(uv_handle_t *h)
{
    uvconn *c = h->data;
    h2_conn_free(c->conn);
    c->conn = NULL;
    c->ops->on_closed(c);
}

void uvconn_close(uvconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void uvconn_end(uvconn *c)
{
    c->ending = true;
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

bool uvconn_has_room(const uvconn *c)
{
    return !c->closing && !c->ending &&
           c->in_flight + h2_conn_output_pending(c->conn) < c->high_water;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    uvconn *c = h->data;
    *buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Starts or stops reading according to the marks. */
static void apply_marks(uvconn *c)
{
    if (c->closing || c->ending || !c->started)
        return;
    if (c->reading && c->in_flight >= c->high_water) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        c->pauses++;
        if (c->ops->on_pause != NULL)
            c->ops->on_pause(c, true);
    } else if (!c->reading && c->in_flight <= c->low_water) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            uvconn_close(c);
            return;
        }
        c->reading = true;
        if (c->ops->on_pause != NULL)
            c->ops->on_pause(c, false);
    }
}

static void on_written(uv_write_t *req, int status)
{
    uvconn_write *w = (uvconn_write *)req;
    uvconn *c = w->c;
    c->in_flight -= w->len;
    if (status == 0)
        c->bytes_out += w->len;
    free(w);
    if (c->closing)
        return; /* cancelled by uv_close(): the close callback follows */
    if (status < 0) {
        uvconn_close(c);
        return;
    }
    if (!c->ending && c->ops->on_room != NULL)
        c->ops->on_room(c);
    uvconn_flush(c);
}

/* Copies up to UVCONN_WRITE_MAX queued bytes into one uv_write(). */
static int write_some(uvconn *c, size_t pending)
{
    size_t len = pending < UVCONN_WRITE_MAX ? pending : UVCONN_WRITE_MAX;
    uvconn_write *w = malloc(sizeof(*w) + len);
    if (w == NULL)
        return -1;
    w->c = c;
    w->len = h2_conn_data_to_send(c->conn, w->data, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        return -1;
    }
    c->in_flight += w->len;
    if (c->in_flight > c->max_in_flight)
        c->max_in_flight = c->in_flight;
    return 0;
}

int uvconn_flush(uvconn *c)
{
    if (c->closing)
        return -1;
    if (!c->started)
        return 0; /* not connected yet: uvconn_start() flushes */
    size_t pending;
    while ((pending = h2_conn_output_pending(c->conn)) > 0) {
        if (write_some(c, pending) != 0) {
            uvconn_close(c);
            return -1;
        }
    }
    /* Over: a GOAWAY exchanged with no stream left, or uvconn_end(). */
    if (!h2_conn_want_read(c->conn) && !c->ending)
        uvconn_end(c);
    if (c->ending && c->in_flight == 0) {
        uvconn_close(c);
        return -1;
    }
    apply_marks(c);
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    uvconn *c = s->data;
    if (nread == 0)
        return; /* EAGAIN */
    if (nread < 0) {
        uvconn_close(c); /* UV_EOF or a socket error */
        return;
    }
    c->bytes_in += (uint64_t)nread;
    const h2_event *ev;
    size_t n = 0;
    int rc = h2_conn_receive(c->conn, (const uint8_t *)buf->base, (size_t)nread, &ev, &n);
    if (rc != 0 && rc != H2_EPROTO) {
        uvconn_close(c); /* H2_ENOMEM and other fatal errors */
        return;
    }
    if (n > 0 && c->ops->on_events != NULL)
        c->ops->on_events(c, ev, n);
    h2_conn_release_events(c->conn);
    if (c->closing)
        return;
    if (rc == H2_EPROTO)
        uvconn_end(c); /* the GOAWAY is queued: flush it, then close */
    else if (c->ops->on_room != NULL)
        c->ops->on_room(c);
    uvconn_flush(c);
}

int uvconn_init(uvconn *c, uv_loop_t *loop, const h2_conn_config *cfg, const uvconn_ops *ops,
                void *user)
{
    memset(c, 0, offsetof(uvconn, rbuf));
    c->ops = ops;
    c->user = user;
    c->high_water = UVCONN_HIGH_WATER;
    c->low_water = UVCONN_LOW_WATER;
    int rc = h2_conn_new(&c->conn, cfg);
    if (rc == 0 && (rc = h2_conn_initiate(c->conn)) != 0)
        h2_conn_free(c->conn);
    if (rc != 0)
        return rc;
    if ((rc = uv_tcp_init(loop, &c->tcp)) != 0) {
        h2_conn_free(c->conn);
        return rc;
    }
    c->tcp.data = c;
    return 0;
}

int uvconn_start(uvconn *c)
{
    c->started = true;
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0)
        return rc;
    c->reading = true;
    return uvconn_flush(c);
}
