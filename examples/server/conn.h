/*
 * h2server: one HTTP/2 connection's state and the way commands reach the
 * service.
 *
 * Every command h2server posts goes through srv_post_*(). Posting never
 * blocks: when the worker's command ring is full (H2_EAGAIN), the command
 * waits in the connection's outbox, in order, and every later command of
 * the connection queues behind it. The outbox is retried at the start of
 * each event of the connection; so that an event is sure to come, the
 * connection asks the service for one (h2_svc_notify(), answered by
 * H2_SVC_EV_USER on the worker's next turn).
 */
#ifndef H2SERVER_CONN_H
#define H2SERVER_CONN_H

#include "server/server.h"

/* A response head: status, optional content type and length; with |grpc|
 * also grpc-status and grpc-message. |status| 0 makes trailers (no
 * :status; give no type and length -1 then). */
typedef struct srv_head {
    int status;
    const char *type_static; /* a static content type, or NULL: |type| */
    char type[128];          /* "" for none */
    int64_t length;          /* -1 for none */
    bool grpc;               /* add grpc-status |grpc_status| ... */
    int grpc_status;
    const char *grpc_message; /* ... and grpc-message (static text), unless NULL */
} srv_head;

/* A command waiting in the outbox. */
typedef struct srv_out srv_out;

struct srv_conn {
    srv_server *srv;
    h2_svc_conn_id id;   /* set from the first event (worker thread) */
    unsigned refs;       /* 1 until H2_SVC_EV_CLOSED, plus one per live stream */
    bool closed;         /* H2_SVC_EV_CLOSED seen */
    bool wake_asked;     /* a wake-up (H2_SVC_EV_USER) is on its way */
    srv_stream *streams; /* responses that span several callbacks */
    srv_out *out_head, *out_tail;
    /* grpc.c: the connection's gRPC calls, and when its user timer
     * (h2_svc_set_timer()) is set for (0: not set). */
    srv_grpc_call *grpc_calls;
    uint64_t grpc_armed_ms;
    /* h2c upgrade: the HTTP/1.1 request answered on stream 1 (malloc), or NULL */
    char *up_method;
    char *up_path;
    uint8_t *up_body; /* and its body (malloc), or NULL */
    size_t up_body_len;
    /* Registry (under srv->lock). */
    h2_svc_conn_id reg_id;
    srv_conn *reg_prev, *reg_next;
};

/* Takes and drops a reference; the last one frees the connection state. */
void srv_conn_ref(srv_conn *c);
void srv_conn_unref(srv_conn *c);

/*
 * Posting. Each returns 0 when the command was queued (now, or in the
 * outbox) or an H2_E... code when it was not (then a by-reference payload
 * was not taken: the caller still owns it and its release is not called).
 * A command from the outbox that fails later calls its release callback
 * and marks its stream dead (srv_stream_dead()).
 */
int srv_post_head(srv_conn *c, uint32_t stream_id, const srv_head *head, uint32_t flags);
int srv_post_data(srv_conn *c, uint32_t stream_id, const uint8_t *data, size_t len, uint32_t flags,
                  h2_svc_release_fn release, void *release_user);
/* The head and a whole body, ending the stream, in one command
 * (h2_svc_respond()): the body is copied when the command is posted, and
 * |release| is called then. */
int srv_post_response(srv_conn *c, uint32_t stream_id, const srv_head *head, const uint8_t *body,
                      size_t len, h2_svc_release_fn release, void *release_user);
int srv_post_end(srv_conn *c, uint32_t stream_id);
int srv_post_reset(srv_conn *c, uint32_t stream_id, uint32_t error_code);

#endif /* H2SERVER_CONN_H */
