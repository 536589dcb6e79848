/*
 * The libh2 connection core driven on a libuv TCP handle, with write
 * backpressure. Shared by uv_h2server and uv_h2client.
 *
 *   uv_read_cb --> h2_conn_receive() --> ops->on_events() --> ops->on_room()
 *   h2_conn_data_to_send() --> uv_write() --> on_written --> ops->on_room()
 *
 * Every byte the core queues is copied into a write request and handed to
 * uv_write(). |in_flight| counts the bytes handed over whose write has not
 * completed. When it reaches |high_water| the handle stops reading
 * (uv_read_stop()): the peer then meets TCP backpressure, and the core
 * produces no replies (PING or SETTINGS ACKs) we would have to buffer.
 * Reading starts again once |in_flight| is down to |low_water|.
 * Applications produce DATA only while uvconn_has_room() is true, and
 * continue from ops->on_room(), so what a connection buffers stays near
 * |high_water| plus one write.
 *
 * Single-threaded: every call runs on the loop's thread.
 */
#ifndef H2_EXAMPLES_UVCONN_H
#define H2_EXAMPLES_UVCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "h2/h2.h"

/* Largest single write handed to uv_write() (bytes copied out of the core at once). */
#define UVCONN_WRITE_MAX (64u * 1024)
/* Defaults for the marks. */
#define UVCONN_HIGH_WATER (256u * 1024)
#define UVCONN_LOW_WATER (64u * 1024)

typedef struct uvconn uvconn;

/* Callbacks of a connection; any may be NULL except on_closed. */
typedef struct uvconn_ops {
    /* The events of one h2_conn_receive(); they, and the bytes they point
     * to, are valid during the call only. */
    void (*on_events)(uvconn *c, const h2_event *ev, size_t n);
    /* There may be room for more output: after every receive and after
     * every completed write. Queue DATA while uvconn_has_room(). */
    void (*on_room)(uvconn *c);
    /* The handle is closed and the core freed: release the memory that
     * holds |c|. Called once. */
    void (*on_closed)(uvconn *c);
    /* Reading stopped (|paused| true) or started again because of the
     * marks; for logs. */
    void (*on_pause)(uvconn *c, bool paused);
} uvconn_ops;

struct uvconn {
    uv_tcp_t tcp; /* the transport; tcp.data points back to this struct */
    h2_conn *conn;
    const uvconn_ops *ops;
    void *user;
    size_t high_water, low_water;
    size_t in_flight;     /* bytes given to uv_write() whose write has not completed */
    size_t max_in_flight; /* the most |in_flight| ever reached */
    uint64_t pauses;      /* times reading stopped because of |in_flight| */
    uint64_t bytes_in, bytes_out;
    bool reading; /* uv_read_start() in force */
    bool started; /* uvconn_start() was called */
    bool ending;  /* nothing more is read: close once the output is written */
    bool closing; /* uv_close() was called */
    uint8_t rbuf[16384];
};

/*
 * Initialises |c| on |loop|: the TCP handle (uv_tcp_init()) and the core
 * (h2_conn_new() with |cfg|, then h2_conn_initiate(): the preface is
 * queued). |ops| must outlive the connection. On success the handle must
 * be closed with uvconn_close(), and ops->on_closed() then frees |c|.
 * Returns 0, a libuv error (< 0, from uv_tcp_init) or an H2_E... code; on
 * failure nothing needs closing.
 */
int uvconn_init(uvconn *c, uv_loop_t *loop, const h2_conn_config *cfg, const uvconn_ops *ops,
                void *user);

/* The handle is connected (accepted, or uv_tcp_connect() done): start reading, send the preface. */
int uvconn_start(uvconn *c);

/*
 * Hands everything the core queued to uv_write(), then applies the marks
 * (stop or resume reading) and closes the connection when it is over.
 * Call it after queuing anything outside the callbacks (they flush by
 * themselves when they return). Returns 0, or -1 when the connection is
 * closing.
 */
int uvconn_flush(uvconn *c);

/* True while more DATA may be queued: bytes in flight plus queued below high_water. */
bool uvconn_has_room(const uvconn *c);

/*
 * Ends the connection once what is queued has been written: nothing more
 * is read. For after h2_conn_close() (GOAWAY) or a protocol error.
 */
void uvconn_end(uvconn *c);

/* Closes the handle now (queued output is dropped). Safe to call twice. */
void uvconn_close(uvconn *c);

#endif
