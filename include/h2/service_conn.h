/*
 * libh2 service: connections. Their transports and configuration, and the
 * calls that attach them (a socket, feed mode, a listening socket) and feed
 * them. Include h2/service.h, which includes this header.
 */
#ifndef H2_SERVICE_CONN_H
#define H2_SERVICE_CONN_H

#include "h2/service.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @enum What a transport waits for after returning H2_EAGAIN. */
enum {
    H2_SVC_WANT_READ = 1u,  /* the socket becoming readable */
    H2_SVC_WANT_WRITE = 2u, /* the socket becoming writable */
};

/*
 * @struct
 *
 * A byte transport under an fd-mode connection, for example TLS. Every
 * function runs on the connection's worker thread, with |ctx| and the
 * connection's socket |fd|. The structure is copied by the attach calls;
 * |ctx| belongs to the application until |close| is called, which is
 * always called exactly once (also when attaching fails after the command
 * was queued), then the service closes |fd|.
 */
typedef struct h2_svc_transport {
    /* Reads up to |len| bytes into |buf|. Returns the count (> 0), 0 when
     * the peer closed the stream, H2_EAGAIN when nothing can be read now,
     * or H2_EINTERNAL on failure (with errno set when it means something). */
    ptrdiff_t (*read)(void *ctx, int fd, uint8_t *buf, size_t len);
    /* Writes from |iov| (|iovcnt| entries); returns the bytes taken (> 0;
     * fewer than offered is fine), H2_EAGAIN, or H2_EINTERNAL. */
    ptrdiff_t (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    /* Optional: after H2_EAGAIN from either call, which readiness the
     * transport waits for (H2_SVC_WANT_READ | H2_SVC_WANT_WRITE). NULL: a
     * read waits for readability, a write for writability. */
    unsigned (*wants)(void *ctx);
    /* Optional: true when |read| can return bytes without the socket being
     * readable (data buffered inside the transport). The worker then calls
     * |read| at once, again while this stays true and |read| returns bytes.
     * True for buffered bytes that are not yet enough to return any (part
     * of a TLS record) costs one |read| that returns H2_EAGAIN. */
    bool (*pending)(void *ctx);
    /* Called once when the connection ends, before the socket is closed. */
    void (*close)(void *ctx, int fd);
    void *ctx;
} h2_svc_transport;
/*
 * Any other return value of |read| or |writev| (another negative value, or
 * a count above what was offered) ends the connection as H2_EINTERNAL
 * would: reason H2_SVC_CLOSE_IO, |sys_errno| the errno left by the call
 * (0 for a count out of range). A read failure with errno ECONNRESET or
 * EPIPE counts as the peer closing (H2_SVC_CLOSE_PEER_EOF).
 */

/*
 * @struct Per-connection configuration: fill with
 * h2_svc_conn_config_init(), then change fields; copied by the attach calls.
 * Versioned (see the ABI policy in h2/version.h), and so is |conn| inside
 * it: the library finds the fields after |conn| from |conn.size| (they
 * start at the first pointer-aligned offset past it), so either part may
 * grow. Fields past |size| take their defaults.
 */
typedef struct h2_svc_conn_config {
    /* sizeof(h2_svc_conn_config) as the application was compiled; set by
     * h2_svc_conn_config_init(), as is |conn.size|. At least
     * H2_SVC_CONN_CONFIG_MIN_SIZE, and |conn| must fit in it. */
    size_t size;
    h2_conn_config conn;        /* the core's configuration; |mem| is ignored
                                   (the service's allocator is used) */
    h2_svc_queue *queue;        /* events go here when not NULL ... */
    h2_svc_event_fn on_event;   /* ... else to this callback; one is required */
    void *user;                 /* passed to the callbacks, and in every event */
    h2_svc_output_fn on_output; /* feed mode: required; fd mode: unused */
    int worker;                 /* the worker to use, or -1: round robin */
    /* Also deliver the connection-level events the service otherwise
     * handles by itself, for frame logs and debugging (an event each):
     * H2_SVC_EV_REMOTE_SETTINGS_CHANGED and H2_SVC_EV_SETTINGS_ACKNOWLEDGED
     * (|settings|), H2_SVC_EV_PING_RECEIVED (|ping|; the ACK is sent by the
     * core) and H2_SVC_EV_WINDOW_UPDATED (|window_delta|). Default false. */
    bool trace;
    /* Run this connection on a worker thread of its own (|worker| is then
     * ignored): the thread starts at attach and leaves once the connection
     * ended and its events were delivered, and is joined by shared worker
     * 0 (or by h2_svc_free()). The attach calls return H2_EAGAIN when
     * max_dedicated such connections are open (or not joined yet). */
    bool dedicated;

    /* fd mode: the byte transport over the socket (copied); NULL: plain
     * reads and writes on the socket. See h2_svc_transport. */
    const h2_svc_transport *transport;

    /* Bytes already read from the peer (for example after sniffing the
     * first bytes of a socket); copied, fed to the core before anything
     * read from the transport. */
    const uint8_t *initial_data;
    size_t initial_len;

    /* Server side of an h2c upgrade (RFC 7540 section 3.2): the HTTP/1.1
     * request was answered with 101 by the application, and
     * h2_conn_initiate_upgrade_server() runs with |upgrade_settings|
     * (|upgrade_settings_len| bytes, the HTTP2-Settings header value;
     * copied) instead of h2_conn_initiate(). Stream 1 is then the upgraded
     * request, half-closed by the peer; the application answers it with
     * h2_svc_submit_headers(stream 1). */
    /* Client side of an h2c upgrade: the application sent the HTTP/1.1
     * request with "Upgrade: h2c" and an HTTP2-Settings header (its value
     * from h2_settings_header_encode() of the settings in |conn|) and read
     * the 101 answer itself (bytes after the 101 go in |initial_data|).
     * h2_conn_initiate_upgrade_client() then runs instead of
     * h2_conn_initiate() (|upgrade_settings| is ignored): stream 1 is the
     * upgraded request, half-closed on our side; its response arrives as
     * H2_SVC_EV_RESPONSE_RECEIVED on stream 1 (and DATA), and the first
     * stream h2_svc_submit_headers() opens is 3. */
    bool upgrade;
    const char *upgrade_settings;
    size_t upgrade_settings_len;

    /* Timers run by the worker, in milliseconds; 0 turns one off. Each
     * ends the connection with H2_SVC_EV_CLOSED, reason
     * H2_SVC_CLOSE_TIMEOUT, |timer| naming it (h2_svc_timer) and
     * |error_code| the GOAWAY code sent (0 when none was). */
    uint32_t idle_timeout_ms;     /* no stream open, no output pending and nothing received:
                                     GOAWAY(NO_ERROR) and close. 180000 */
    uint32_t settings_timeout_ms; /* a SETTINGS frame of ours unacknowledged this long:
                                     GOAWAY(SETTINGS_TIMEOUT) and close. 10000 */
    uint32_t header_timeout_ms;   /* absolute deadline for a received header block to
                                     complete once it started (CONTINUATION frames do not
                                     re-arm it): GOAWAY(PROTOCOL_ERROR) and close (a peer
                                     that cannot finish a block in time is treated as
                                     broken). 20000 */
    uint32_t preface_timeout_ms;  /* from attach, for the peer's connection preface and
                                     first SETTINGS frame: GOAWAY(PROTOCOL_ERROR,
                                     "preface timeout") and close. 10000 */
    uint32_t close_timeout_ms;    /* after h2_svc_close() or a GOAWAY received: streams
                                     still open this long are cut (transport closed, no
                                     further GOAWAY). 30000 */
    uint32_t write_timeout_ms;    /* output pending and the transport accepted no byte
                                     this long: the transport is cut. 60000 */
    uint32_t flow_timeout_ms;     /* DATA held for the peer's flow-control windows and no
                                     byte of it sent this long, while the transport could
                                     take more (a peer that opens a stream and never
                                     grants window): GOAWAY(NO_ERROR, "flow control
                                     stall") and close. It measures useful progress:
                                     an interval in which fewer than |flow_min_rate|
                                     bytes a second went out counts as stalled, so a
                                     peer that opens its window a byte at a time is cut
                                     too. 60000 */
    uint32_t flow_min_rate;       /* the floor of the flow-control stall timer, in bytes
                                     a second: each flow_timeout_ms interval must send
                                     flow_min_rate * flow_timeout_ms / 1000 bytes of
                                     held DATA (at least 1). 256: 15 KiB per default
                                     interval; 0: any byte is progress. See
                                     "Isolation". */
    /* Manual flow control (h2's acknowledge_received_data with explicit
     * counts). false (default): releasing a DATA event acknowledges its
     * |flow_controlled_length|, and the core reopens the windows as the
     * bytes are processed. true: releasing a DATA event only frees it;
     * received bytes count as processed only when the application passes
     * them to h2_svc_ack_data(), and h2_svc_increment_window() opens a
     * window by a given amount. Until then the peer's windows stay used up,
     * and it stops sending once they are empty. Everything else a release
     * does is unchanged (a server's STREAM_RESET still frees its request
     * slot). See "Flow control". */
    bool manual_flow_control;
    /* Deliver H2_SVC_EV_STREAM_ENDED (|stream_id|) right after each headers
     * or DATA event whose |end_stream| is set, for applications that
     * handle the end of a peer's stream as an event of its own. Default
     * false: the |end_stream| flag alone tells it. */
    bool stream_ended_events;
    /* Fills the struct to its alignment (see the ABI policy in
     * h2/version.h); leave it 0. */
    uint8_t reserved_[sizeof(void *) - 2];
} h2_svc_conn_config;

/* Smallest |size| of an h2_svc_conn_config the library accepts: up to |conn.role|. */
#define H2_SVC_CONN_CONFIG_MIN_SIZE (offsetof(h2_svc_conn_config, conn) + H2_CONN_CONFIG_MIN_SIZE)

/*
 * @function Fills |cfg|, laid out as |size| bytes whose |conn| has
 * |conn_size| bytes, with the defaults for |role| (what the library knows
 * of it) and sets |cfg->size| and |cfg->conn.size|; nothing when |cfg| is
 * NULL or the layout is impossible. Call it through
 * h2_svc_conn_config_init().
 */
H2_API void h2_svc_conn_config_init_size(h2_svc_conn_config *cfg, size_t size, size_t conn_size,
                                         h2_role role);

/* @function Fills |cfg| for |role|: core defaults, no destination, worker
 * -1; sets |cfg->size| and |cfg->conn.size|. */
static inline void h2_svc_conn_config_init(h2_svc_conn_config *cfg, h2_role role)
{
    h2_svc_conn_config_init_size(cfg, sizeof(*cfg), sizeof(cfg->conn), role);
}

/*
 * @function Hands the connected socket |fd| to the service (fd mode) and
 * stores the connection's id in |*id|. The worker sends the preface and
 * reports H2_SVC_EV_ATTACHED. On success the service owns |fd| (and the
 * transport's context, see h2_svc_transport) and closes it; on failure the
 * caller keeps both and no transport function was called.
 *
 * Returns 0, H2_EINVAL (NULL argument, |fd| negative, |cfg->size| or
 * |cfg->conn.size| too small (see h2_svc_conn_config), no event destination,
 * worker index out of range, a transport without read or writev,
 * initial_data NULL with a length,
 * |conn.explicit_request_done| (the service frees request slots itself), a
 * bad core setting or HTTP2-Settings value), H2_ESETTINGS (an HTTP2-Settings
 * value out of range), H2_EAGAIN (command ring full, or |dedicated| with
 * every dedicated slot taken or the service being freed), H2_ECLOSED
 * (h2_svc_shutdown() has begun), H2_ENOMEM, or H2_EINTERNAL
 * (|dedicated|: the thread could not be created; errno tells why).
 */
H2_API int h2_svc_attach_fd(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                                h2_svc_conn_id *id);

/*
 * @function Creates a feed-mode connection (see the top of this header);
 * |cfg->on_output| is required. Returns as h2_svc_attach_fd().
 */
H2_API int h2_svc_attach_feed(h2_svc *svc, const h2_svc_conn_config *cfg,
                                  h2_svc_conn_id *id);

/*
 * @function Called on a worker thread for each connection accepted on a
 * listening socket, with the accepted socket |fd| (already non-blocking)
 * and |cfg|, a copy of the listener's configuration that the function may
 * change (for example set |transport| and |user|). The copy has the layout
 * (|size| and |conn.size|) of the configuration given to
 * h2_svc_listen(), whatever release the library is; the function must
 * not change those two. Returns 0 to attach
 * the connection, or a negative value to refuse it (the service closes
 * |fd|). It must not block.
 */
typedef int (*h2_svc_accept_fn)(void *user, int fd, h2_svc_conn_config *cfg);

/*
 * @function Accepts connections on the listening socket |fd| (bound and
 * listening; the service makes it non-blocking and owns it from now on,
 * closing it at h2_svc_free()). Each accepted socket is attached as by
 * h2_svc_attach_fd() with a copy of |cfg| (copied now), after
 * |on_accept| (may be NULL) had its say; accepted connections are spread
 * over the workers. An accepted connection that cannot be taken on (a
 * |dedicated| one while every dedicated slot is taken, a configuration the
 * accept callback made invalid, memory exhausted) is closed at once, with
 * the transport's |close|, and reported by no event. Returns 0, H2_EINVAL
 * (as h2_svc_attach_fd(), or |fd| not usable), H2_EAGAIN or H2_ENOMEM;
 * on failure the caller keeps |fd|.
 */
H2_API int h2_svc_listen(h2_svc *svc, int fd, const h2_svc_conn_config *cfg,
                             h2_svc_accept_fn on_accept, void *accept_user);

/*
 * @function Feed mode: |len| bytes received from the peer (copied). |len| 0
 * tells that the peer closed the transport. A connection that ended
 * refuses at the call (H2_ENOCONN, see "Commands"); other failures (an
 * fd-mode connection) come back as H2_SVC_EV_COMMAND_FAILED. Returns
 * H2_EAGAIN when the connection holds |feed_hold_conn_limit| fed bytes not
 * processed yet, or the worker |feed_hold_limit| (see "Isolation").
 */
H2_API int h2_svc_feed(h2_svc *svc, h2_svc_conn_id conn, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* H2_SERVICE_CONN_H */
