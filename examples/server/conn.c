/*
 * h2server: connection state, the connection registry, the event callback
 * and the command outbox.
 *
 * Events arrive through a callback on the worker thread that owns the
 * connection (h2_svc_conn_config.on_event). A static file answer needs
 * nothing but that thread: the request is read, the file opened and the
 * response posted from the callback, so a request costs no thread hop
 * beyond the service's own. A callback must not block; reading a file
 * from the page cache is the one exception this server allows itself.
 */
#include "server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Flow-control windows we offer: bounded memory per POST /echo stream and
 * per connection (request DATA is held until echoed). */
#define STREAM_WINDOW (256u * 1024u)
#define CONN_WINDOW (1024u * 1024u)
/* Output queued per cleartext connection before the service stops adding
 * frames: bodies are queued by reference, so this costs no copy, and each
 * write finds more to take than with the 64 KiB default. (Over TLS the
 * transport encrypts what it is offered before the socket takes it, and
 * the default keeps that short.) */
#define CLEAR_HIGH_WATER (256u * 1024u)

/* Attempts at attaching while the worker's command ring is full (0.5 ms apart). */
#define ATTACH_TRIES 2000u

enum { OUT_HEAD = 1, OUT_DATA, OUT_END, OUT_RESET, OUT_RESPONSE };

struct srv_out {
    srv_out *next;
    int kind;
    uint32_t stream_id;
    uint32_t flags;
    uint32_t error_code;
    srv_head head;
    const uint8_t *data;
    size_t len;
    h2_svc_release_fn release;
    void *release_user;
};

/* ------------------------------------------------------------------------ */
/* Registry                                                                  */
/* ------------------------------------------------------------------------ */

int srv_server_init(srv_server *srv)
{
    srv->conns = NULL;
    srv->n_conns = 0;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->idle, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

void srv_server_cleanup(srv_server *srv)
{
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->lock);
}

static void registry_remove(srv_conn *c)
{
    srv_server *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    if (c->reg_prev != NULL)
        c->reg_prev->reg_next = c->reg_next;
    else
        srv->conns = c->reg_next;
    if (c->reg_next != NULL)
        c->reg_next->reg_prev = c->reg_prev;
    c->reg_prev = c->reg_next = NULL;
    if (--srv->n_conns == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
}

void srv_conns_close_all(srv_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    size_t n = srv->n_conns;
    h2_svc_conn_id *ids = n > 0 ? malloc(n * sizeof(*ids)) : NULL;
    size_t k = 0;
    for (srv_conn *c = srv->conns; c != NULL && ids != NULL; c = c->reg_next)
        ids[k++] = c->reg_id;
    pthread_mutex_unlock(&srv->lock);
    for (size_t i = 0; i < k; i++) {
        /* A full command ring empties quickly: retry for a while. */
        for (int tries = 0; tries < 1000; tries++) {
            if (h2_svc_close(srv->svc, ids[i], H2_NO_ERROR, 0) != H2_EAGAIN)
                break;
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    free(ids);
}

h2_svc_conn_id *srv_conns_ids(srv_server *srv, size_t *n)
{
    pthread_mutex_lock(&srv->lock);
    size_t k = 0;
    h2_svc_conn_id *ids = srv->n_conns > 0 ? malloc(srv->n_conns * sizeof(*ids)) : NULL;
    for (srv_conn *c = srv->conns; c != NULL && ids != NULL; c = c->reg_next)
        ids[k++] = c->reg_id;
    pthread_mutex_unlock(&srv->lock);
    *n = k;
    return ids;
}

bool srv_conns_wait(srv_server *srv, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->lock);
    while (srv->n_conns > 0)
        if (pthread_cond_timedwait(&srv->idle, &srv->lock, &until) == ETIMEDOUT)
            break;
    bool none = srv->n_conns == 0;
    pthread_mutex_unlock(&srv->lock);
    return none;
}

/* ------------------------------------------------------------------------ */
/* Wake-ups for connections whose outbox waits                               */
/* ------------------------------------------------------------------------ */

/* Worker: asks the service for an event of the connection (H2_SVC_EV_USER),
 * on which the outbox is retried. From the connection's own worker the
 * request never finds the ring full; on any other failure the next event
 * of the connection retries the outbox anyway. */
static void ask_wake(srv_conn *c)
{
    if (c->wake_asked)
        return;
    if (h2_svc_notify(c->srv->svc, c->id, SRV_WAKE_OUTBOX) == 0)
        c->wake_asked = true;
}

/* ------------------------------------------------------------------------ */
/* Posting and the outbox                                                    */
/* ------------------------------------------------------------------------ */

/* The head as HEADERS (|flags|), or with |o| (OUT_RESPONSE) the head and
 * o's body in one command (h2_svc_respond(), which copies the body). */
static int submit_head(srv_conn *c, uint32_t stream_id, const srv_head *head, uint32_t flags,
                       const srv_out *o)
{
    char status[4] = {(char)('0' + head->status / 100 % 10), (char)('0' + head->status / 10 % 10),
                      (char)('0' + head->status % 10), 0};
    char length[24];
    char grpc[12];
    h2_header f[5];
    size_t n = 0;
    if (head->status != 0)
        f[n++] = (h2_header){(const uint8_t *)":status", 7, (const uint8_t *)status, 3, 0};
    const char *type = head->type_static != NULL ? head->type_static : head->type;
    if (type[0] != '\0')
        f[n++] = (h2_header){(const uint8_t *)"content-type", 12, (const uint8_t *)type,
                             strlen(type), 0};
    if (head->length >= 0) {
        /* Decimal digits, written backwards from the end of |length|. */
        size_t at = sizeof(length);
        uint64_t v = (uint64_t)head->length;
        do {
            length[--at] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        f[n++] = (h2_header){(const uint8_t *)"content-length", 14, (const uint8_t *)length + at,
                             sizeof(length) - at, 0};
    }
    if (head->grpc) {
        size_t len = (size_t)snprintf(grpc, sizeof(grpc), "%d", head->grpc_status);
        f[n++] = (h2_header){(const uint8_t *)"grpc-status", 11, (const uint8_t *)grpc, len, 0};
        if (head->grpc_message != NULL)
            f[n++] =
                (h2_header){(const uint8_t *)"grpc-message", 12,
                            (const uint8_t *)head->grpc_message, strlen(head->grpc_message), 0};
    }
    if (o != NULL)
        return h2_svc_respond(c->srv->svc, c->id, stream_id, f, n, o->data, o->len, stream_id);
    return h2_svc_submit_headers(c->srv->svc, c->id, stream_id, f, n, flags, stream_id);
}

static int submit(srv_conn *c, const srv_out *o)
{
    h2_svc *svc = c->srv->svc;
    switch (o->kind) {
    case OUT_HEAD:
        return submit_head(c, o->stream_id, &o->head, o->flags, NULL);
    case OUT_RESPONSE: {
        int rv = submit_head(c, o->stream_id, &o->head, 0, o);
        if (rv == 0 && o->release != NULL)
            o->release(o->release_user, o->data, o->len); /* copied */
        return rv;
    }
    case OUT_DATA:
        return h2_svc_send_data_ref(svc, c->id, o->stream_id, o->data, o->len, o->flags,
                                    o->stream_id, o->release, o->release_user);
    case OUT_END:
        return h2_svc_end_stream(svc, c->id, o->stream_id, o->stream_id);
    default:
        return h2_svc_reset_stream(svc, c->id, o->stream_id, o->error_code, o->stream_id);
    }
}

/* Posts |o| now, or keeps a copy in the outbox. */
static int post(srv_conn *c, const srv_out *o)
{
    if (c->closed)
        return H2_ECLOSED;
    if (c->out_head == NULL) {
        int rv = submit(c, o);
        if (rv != H2_EAGAIN)
            return rv;
    }
    srv_out *copy = malloc(sizeof(*copy));
    if (copy == NULL)
        return H2_ENOMEM;
    *copy = *o;
    copy->next = NULL;
    if (c->out_tail != NULL)
        c->out_tail->next = copy;
    else
        c->out_head = copy;
    c->out_tail = copy;
    ask_wake(c);
    return 0;
}

/* Gives up an outbox entry that could not be posted. */
static void out_fail(srv_conn *c, srv_out *o)
{
    if (o->kind != OUT_RESET)
        srv_stream_dead(c, o->stream_id);
    if (o->release != NULL)
        o->release(o->release_user, o->data, o->len);
    free(o);
}

/* Posts what waits in the outbox, in order, while the ring takes it. */
static void drain(srv_conn *c)
{
    c->wake_asked = false;
    while (c->out_head != NULL) {
        srv_out *o = c->out_head;
        int rv = c->closed ? H2_ECLOSED : submit(c, o);
        if (rv == H2_EAGAIN) {
            ask_wake(c);
            return;
        }
        c->out_head = o->next;
        if (c->out_head == NULL)
            c->out_tail = NULL;
        if (rv != 0)
            out_fail(c, o);
        else
            free(o);
    }
}

int srv_post_head(srv_conn *c, uint32_t stream_id, const srv_head *head, uint32_t flags)
{
    srv_out o = {.kind = OUT_HEAD, .stream_id = stream_id, .flags = flags, .head = *head};
    return post(c, &o);
}

int srv_post_response(srv_conn *c, uint32_t stream_id, const srv_head *head, const uint8_t *body,
                      size_t len, h2_svc_release_fn release, void *release_user)
{
    srv_out o = {.kind = OUT_RESPONSE,
                 .stream_id = stream_id,
                 .head = *head,
                 .data = body,
                 .len = len,
                 .release = release,
                 .release_user = release_user};
    return post(c, &o);
}

int srv_post_data(srv_conn *c, uint32_t stream_id, const uint8_t *data, size_t len, uint32_t flags,
                  h2_svc_release_fn release, void *release_user)
{
    srv_out o = {.kind = OUT_DATA,
                 .stream_id = stream_id,
                 .flags = flags,
                 .data = data,
                 .len = len,
                 .release = release,
                 .release_user = release_user};
    return post(c, &o);
}

int srv_post_end(srv_conn *c, uint32_t stream_id)
{
    srv_out o = {.kind = OUT_END, .stream_id = stream_id};
    return post(c, &o);
}

int srv_post_reset(srv_conn *c, uint32_t stream_id, uint32_t error_code)
{
    srv_out o = {.kind = OUT_RESET, .stream_id = stream_id, .error_code = error_code};
    return post(c, &o);
}

/* ------------------------------------------------------------------------ */
/* Connection life and events                                                */
/* ------------------------------------------------------------------------ */

void srv_conn_ref(srv_conn *c)
{
    c->refs++;
}

void srv_conn_unref(srv_conn *c)
{
    if (--c->refs > 0)
        return;
    free(c->up_method);
    free(c->up_path);
    free(c->up_body);
    free(c);
}

static const h2_header *find_field(const h2_svc_event *ev, const char *name, size_t len)
{
    for (size_t i = 0; i < ev->n_fields; i++)
        if (ev->fields[i].name_len == len && memcmp(ev->fields[i].name, name, len) == 0)
            return &ev->fields[i];
    return NULL;
}

/* PING payload of an upgraded connection, whose ACK releases stream 1's answer. */
static const uint8_t upgrade_ping[8] = {'h', '2', 'c', '-', 'r', 'e', 'q', '1'};

/* h2c: answers stream 1, the HTTP/1.1 request and its body. */
static void answer_upgrade(srv_conn *c)
{
    uint8_t *body = c->up_body;
    c->up_body = NULL;
    srv_respond_upgraded(c, c->up_method, c->up_path, body, c->up_body_len);
    free(c->up_method);
    free(c->up_path);
    c->up_method = c->up_path = NULL;
}

/* The connection's event callback (worker thread). */
static void on_event(void *user, h2_svc_event *ev)
{
    srv_conn *c = user;
    c->id = ev->conn;
    if (c->out_head != NULL && ev->type != H2_SVC_EV_CLOSED)
        drain(c);
    if (c->grpc_armed_ms != 0 && ev->type != H2_SVC_EV_CLOSED)
        srv_grpc_tick(c); /* grpc.c: deadlines (on the connection's user timer) */
    switch (ev->type) {
    case H2_SVC_EV_ATTACHED:
        if (c->up_path != NULL) {
            /* h2c: stream 1 is the HTTP/1.1 request. It is answered once
             * the client speaks HTTP/2, shown by the ACK of this PING: a
             * client may not be ready for a whole window of HTTP/2 frames
             * right behind the 101 response (curl keeps only 32 KiB). */
            if (h2_svc_ping(c->srv->svc, c->id, upgrade_ping, 0) != 0)
                answer_upgrade(c);
        }
        break;
    case H2_SVC_EV_PING_ACK_RECEIVED:
        if (c->up_path != NULL && memcmp(ev->ping, upgrade_ping, 8) == 0)
            answer_upgrade(c);
        break;
    case H2_SVC_EV_REQUEST_RECEIVED: {
        const h2_header *m = find_field(ev, ":method", 7);
        const h2_header *p = find_field(ev, ":path", 5);
        srv_respond(c, ev->stream_id, m != NULL ? (const char *)m->value : "",
                    m != NULL ? m->value_len : 0, p != NULL ? (const char *)p->value : "",
                    p != NULL ? p->value_len : 0, ev->fields, ev->n_fields, ev->end_stream);
        break;
    }
    case H2_SVC_EV_DATA_RECEIVED:
        srv_request_data(c, ev); /* takes the event */
        return;
    case H2_SVC_EV_TRAILERS_RECEIVED:
        srv_request_end(c, ev->stream_id);
        break;
    case H2_SVC_EV_STREAM_RESET:
        srv_stream_dead(c, ev->stream_id);
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        if (ev->stream_id != 0)
            srv_stream_dead(c, ev->stream_id);
        break;
    case H2_SVC_EV_CLOSED:
        c->closed = true;
        while (c->out_head != NULL) {
            srv_out *o = c->out_head;
            c->out_head = o->next;
            out_fail(c, o);
        }
        c->out_tail = NULL;
        srv_streams_closed(c);
        registry_remove(c);
        h2_svc_event_release(ev);
        srv_conn_unref(c);
        return;
    default:
        break;
    }
    h2_svc_event_release(ev);
}

void srv_orphan_event(void *user, h2_svc_event *ev)
{
    (void)user;
    h2_svc_event_release(ev);
}

int srv_conn_attach(srv_server *srv, int fd, const h2_svc_transport *transport,
                    const srv_upgrade *up)
{
    srv_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        if (up != NULL)
            free(up->body);
        return H2_ENOMEM;
    }
    c->srv = srv;
    c->refs = 1;
    if (up != NULL) {
        c->up_method = strndup(up->method, up->method_len);
        c->up_path = strndup(up->path, up->path_len);
        c->up_body = up->body; /* freed with |c| */
        c->up_body_len = up->body_len;
        if (c->up_method == NULL || c->up_path == NULL) {
            srv_conn_unref(c);
            return H2_ENOMEM;
        }
    }
    h2_svc_conn_config cfg;
    h2_svc_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.conn.initial_window_size = STREAM_WINDOW;
    /* Response heads are built here from constants, file types and the
     * request's own (validated) content type: skip the outbound checks. */
    cfg.conn.validate_outbound_headers = false;
    cfg.conn.normalize_outbound_headers = false;
    cfg.conn.connection_window_size = CONN_WINDOW;
    if (transport == NULL)
        cfg.conn.output_high_water = CLEAR_HIGH_WATER;
    cfg.on_event = on_event;
    cfg.user = c;
    cfg.transport = transport;
    if (up != NULL) {
        cfg.upgrade = true;
        cfg.upgrade_settings = up->settings;
        cfg.upgrade_settings_len = up->settings_len;
    }
    int rv;
    for (unsigned tries = 0;; tries++) {
        /* Registered under the lock, so that a CLOSED event racing with
         * this call finds the connection in the registry. */
        pthread_mutex_lock(&srv->lock);
        h2_svc_conn_id id = 0;
        rv = h2_svc_attach_fd(srv->svc, fd, &cfg, &id);
        if (rv == 0) {
            c->reg_id = id;
            c->reg_next = srv->conns;
            if (srv->conns != NULL)
                srv->conns->reg_prev = c;
            srv->conns = c;
            srv->n_conns++;
        }
        pthread_mutex_unlock(&srv->lock);
        if (rv != H2_EAGAIN || tries == ATTACH_TRIES)
            break;
        /* The worker's command ring is full: the workers are saturated, so
         * waiting here (instead of accepting more) is the right thing. */
        struct timespec pause = {0, 500000};
        nanosleep(&pause, NULL);
    }
    if (rv != 0)
        srv_conn_unref(c);
    return rv;
}
