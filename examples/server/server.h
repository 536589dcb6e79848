/*
 * h2server internals shared by its files.
 *
 *   main.c      options, start-up, signals, shutdown
 *   acceptor.c  the accepting thread: listening sockets, protocol sniffing
 *               on the cleartext port, HTTP/1.1 answers, h2c upgrades,
 *               TLS connections handed to the service
 *   conn.c      per-connection state, the connection registry, the
 *               event callback and the command outbox
 *   respond.c   answering requests: static files, the built-in page,
 *               POST /echo, error pages, the request log
 *   cache.c     the per-worker cache of small files
 *   files.c     mapping request paths to files under --root
 *   http1.c     HTTP/1.1 request heads and response heads
 *   grpc.c      the gRPC echo service (/h2server.Echo/...) and its
 *               deadlines (on each connection's user timer)
 *   linger.c    the cleartext transport whose close lingers (linger.h)
 *
 * Threads: the main thread runs the acceptor; the service's worker threads
 * run every connection callback. A connection's state (srv_conn and its
 * streams) is touched only by the worker that owns the connection (event
 * callbacks and payload release callbacks both run there), except the
 * registry links, which are guarded by srv_server.lock.
 */
#ifndef H2SERVER_SERVER_H
#define H2SERVER_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "h2/service.h"

typedef struct srv_conn srv_conn;

/* |user| tags of the wake-ups h2server asks the service for. */
enum {
    SRV_WAKE_OUTBOX = 1, /* H2_SVC_EV_USER: retry the outbox (conn.c) */
    SRV_WAKE_GRPC,       /* H2_SVC_EV_TIMER: gRPC deadlines (grpc.c) */
};

/* The server: read-only after start-up except the fields under |lock|. */
typedef struct srv_server {
    h2_svc *svc;
    int root_fd;     /* --root opened as a directory, or -1 */
    char *root_path; /* its canonical path (malloc), or NULL */
    bool verbose;    /* -v: one line per request on stderr */
    SSL_CTX *tls;    /* --tls-port: the server context, or NULL */

    pthread_mutex_t lock;
    pthread_cond_t idle;   /* signalled when |n_conns| drops to 0 */
    srv_conn *conns;       /* live connections (registry), under |lock| */
    size_t n_conns;        /* under |lock| */
} srv_server;

/* ---- conn.c ---- */

/* The HTTP/1.1 request an h2c upgrade answers on stream 1. */
typedef struct srv_upgrade {
    const char *settings; /* HTTP2-Settings value */
    size_t settings_len;
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    uint8_t *body; /* the request's body (malloc'ed; srv_conn_attach takes it), or NULL */
    size_t body_len;
} srv_upgrade;

/* Sets up the registry. Returns 0 or -1 (errno). */
int srv_server_init(srv_server *srv);

/* Frees what srv_server_init() made (after h2_svc_free()). */
void srv_server_cleanup(srv_server *srv);

/*
 * Hands the connected socket |fd| to the service as an HTTP/2 connection.
 * |transport| may be NULL (plain socket); |up| is non-NULL for an h2c
 * upgrade whose 101 response was already written; its |body| is taken over
 * (and freed) whatever the outcome. Returns 0 (the service owns |fd| and
 * the transport) or an H2_E... code (the caller keeps both).
 */
int srv_conn_attach(srv_server *srv, int fd, const h2_svc_transport *transport,
                    const srv_upgrade *up);

/* Callback for events about connections the service no longer knows. */
void srv_orphan_event(void *user, h2_svc_event *ev);

/* Sends GOAWAY to every live connection (graceful close). */
void srv_conns_close_all(srv_server *srv);

/* The ids of the live connections (malloc'd, the caller frees it; NULL when none). */
h2_svc_conn_id *srv_conns_ids(srv_server *srv, size_t *n);

/* Waits until no connection is live or |timeout_ms| passed; true when none is. */
bool srv_conns_wait(srv_server *srv, int timeout_ms);

/* ---- respond.c (worker threads) ---- */

typedef struct srv_stream srv_stream;

/*
 * A request arrived on |stream_id|: |fields| (NULL for an upgraded request)
 * and its method and path. |end_stream|: the request has no body.
 */
void srv_respond(srv_conn *c, uint32_t stream_id, const char *method, size_t method_len,
                 const char *path, size_t path_len, const h2_header *fields, size_t n,
                 bool end_stream);

/*
 * The request of an h2c upgrade on stream 1, with its body (|body| malloc'ed
 * or NULL; taken over and freed).
 */
void srv_respond_upgraded(srv_conn *c, const char *method, const char *path, uint8_t *body,
                          size_t body_len);

/* The page served at "/" without --root. */
extern const char srv_builtin_page[];

/* DATA of a request: consumed (echoed or released). */
void srv_request_data(srv_conn *c, h2_svc_event *ev);

/* Trailers of a request (they end it). */
void srv_request_end(srv_conn *c, uint32_t stream_id);

/* The stream was reset, or a command on it failed: stop working on it. */
void srv_stream_dead(srv_conn *c, uint32_t stream_id);

/* The connection closed: every stream is dead. */
void srv_streams_closed(srv_conn *c);

/* ---- grpc.c (worker threads) ---- */

typedef struct srv_grpc_call srv_grpc_call;

/* True when the request is a gRPC call: POST with content-type
 * application/grpc, application/grpc+... or application/grpc;... */
bool srv_grpc_wanted(const char *method, size_t method_len, const h2_header *fields, size_t n);

/* Starts the gRPC call on |stream_id| (answers unknown methods at once). */
void srv_grpc_start(srv_conn *c, uint32_t stream_id, const char *path, size_t path_len,
                    const h2_header *fields, size_t n, bool end_stream);

/* DATA, or the end of the request (trailers), of a gRPC call: true when
 * |stream_id| is one (then |ev| was taken), false to let respond.c have it. */
bool srv_grpc_data(srv_conn *c, h2_svc_event *ev);
bool srv_grpc_end(srv_conn *c, uint32_t stream_id);

/* The stream was reset or failed, or the connection closed. */
void srv_grpc_dead(srv_conn *c, uint32_t stream_id);
void srv_grpc_closed(srv_conn *c);

/* Any event of the connection: ends the calls whose grpc-timeout passed. */
void srv_grpc_tick(srv_conn *c);

/* ---- files.c ---- */

/*
 * Opens the file named by the request path |path| (|len| bytes, query and
 * fragment ignored) under the root |srv->root_fd|. "/" and paths ending in
 * "/" name index.html; a directory names its index.html. Returns 200 with
 * |*fd| (the caller closes it), |*size| and |*type| (static), 400 for a
 * malformed path (bad escape, NUL), or 404 (no such regular file inside the
 * root, ".." segments, symbolic links leading outside the root).
 */
int srv_file_open(const srv_server *srv, const char *path, size_t len, int *fd, uint64_t *size,
                  const char **type);

/* ---- http1.c ---- */

/* What h2server needs from an HTTP/1.x request head. Pointers into the head. */
typedef struct h1_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor;            /* HTTP/1.<minor> */
    bool upgrade_h2c;     /* Upgrade lists "h2c" */
    bool conn_upgrade;    /* Connection lists "Upgrade" */
    const char *settings; /* HTTP2-Settings, when given exactly once */
    size_t settings_len;
    int n_settings;          /* how many HTTP2-Settings fields */
    bool has_body;           /* Content-Length above 0, or Transfer-Encoding */
    bool chunked;            /* Transfer-Encoding present (a body of unknown length) */
    bool bad_length;         /* Content-Length not a number, or given twice with two values */
    uint64_t content_length; /* Content-Length, when given */
    bool has_length;         /* Content-Length was given */
} h1_request;

/* Length of the head in |buf| up to and including CRLFCRLF, or 0 when incomplete. */
size_t h1_head_length(const char *buf, size_t len);

/* Parses the complete head |buf| (|len| bytes). Returns 0, or -1 when malformed. */
int h1_parse(const char *buf, size_t len, h1_request *req);

/*
 * Writes an HTTP/1.1 response head (status line, Content-Type when |type|
 * is not NULL, Content-Length, Connection: close) to |out| (|cap| bytes).
 * Returns its length, or 0 when it does not fit.
 */
size_t h1_response_head(char *out, size_t cap, int status, const char *type, uint64_t length);

/* The reason phrase of |status| (a few codes; "" for others). */
const char *h1_reason(int status);

/* ---- acceptor.c ---- */

typedef struct srv_listeners {
    int http_fd;   /* cleartext listener or -1 */
    int https_fd;  /* TLS listener or -1 */
    int signal_fd; /* signalfd for SIGINT and SIGTERM */
} srv_listeners;

/*
 * Runs the accepting loop on the calling thread until SIGINT or SIGTERM.
 * Closes every connection still being sniffed or answered over HTTP/1.1
 * before returning; the listening sockets stay with the caller. Returns 0, or -1 when the
 * loop itself failed.
 */
int srv_accept_loop(srv_server *srv, const srv_listeners *l);

#endif /* H2SERVER_SERVER_H */
