/*
 * h2client: the connection's events (see fetch_internal.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "client/fetch_internal.h"
#include "client/net.h"

/* ------------------------------------------------------------------------ */
/* Receiving                                                                  */
/* ------------------------------------------------------------------------ */

static void log_fields(const fetch *f, const h2_svc_event *ev, const char *what)
{
    if (!f->opts->verbose)
        return;
    fprintf(stderr, "< HEADERS stream %" PRIu32 " (%s)%s\n", ev->stream_id, what,
            ev->end_stream ? ", END_STREAM" : "");
    for (size_t i = 0; i < ev->n_fields; i++) {
        const h2_header *h = &ev->fields[i];
        fprintf(stderr, "<   %.*s: %.*s\n", (int)h->name_len, (const char *)h->name,
                (int)h->value_len, (const char *)h->value);
    }
}

/* The :status of a response block (validated by the core: three digits). */
static int status_of(const h2_svc_event *ev)
{
    for (size_t i = 0; i < ev->n_fields; i++) {
        const h2_header *h = &ev->fields[i];
        if (h->name_len == 7 && memcmp(h->name, ":status", 7) == 0 && h->value_len == 3) {
            int s = 0;
            for (size_t k = 0; k < 3; k++)
                s = s * 10 + (h->value[k] - '0');
            return s;
        }
    }
    return 0;
}

static void on_response(fetch *f, const h2_svc_event *ev)
{
    log_fields(f, ev, "response");
    request *r = fetch_by_stream(f, ev->stream_id);
    if (r == NULL || r->state == REQ_DONE)
        return;
    r->status = status_of(ev);
    if (output_open(&f->out, req_index(f, r)) != 0) {
        req_fail(f, r, true, "%s", output_error(&f->out, req_index(f, r)));
        return;
    }
    if (ev->end_stream)
        req_complete(f, r);
}

static void on_data(fetch *f, const h2_svc_event *ev)
{
    fetch_log(f, "< DATA stream %" PRIu32 ": %zu bytes%s", ev->stream_id, ev->len,
              ev->end_stream ? ", END_STREAM" : "");
    request *r = fetch_by_stream(f, ev->stream_id);
    if (r == NULL || r->state == REQ_DONE)
        return;
    r->body_bytes += ev->len;
    size_t i = req_index(f, r);
    if (output_write(&f->out, i, ev->data, ev->len) != 0) {
        req_fail(f, r, true, "%s", output_error(&f->out, i));
        return;
    }
    if (ev->end_stream)
        req_complete(f, r);
}

/*
 * A refused stream was not processed: sends the request again on a new
 * stream, which the service holds back while the server's
 * MAX_CONCURRENT_STREAMS is reached. False when it should fail instead.
 */
static bool retry(fetch *f, request *r)
{
    if (r->status != 0 || r->body_bytes > 0 || r->retries >= MAX_RETRIES || f->close_sent ||
        f->aborted || f->closed)
        return false;
    r->retries++;
    fetch_log(f, "* stream %" PRIu32 " was refused: sending the request again (%u)", r->stream_id,
              r->retries);
    r->state = REQ_QUEUED;
    r->stream_id = 0;
    req_submit_more(f);
    return true;
}

static void on_reset(fetch *f, const h2_svc_event *ev)
{
    char buf[16];
    const char *name = fetch_code_name(ev->error_code, buf, sizeof(buf));
    if (ev->remote)
        fetch_log(f, "< RST_STREAM stream %" PRIu32 ": %s", ev->stream_id, name);
    else
        fetch_log(f, "* stream %" PRIu32 " closed by this end: %s", ev->stream_id, name);
    request *r = fetch_by_stream(f, ev->stream_id);
    if (r == NULL || r->state == REQ_DONE)
        return;
    if (ev->remote && ev->error_code == H2_REFUSED_STREAM && retry(f, r))
        return;
    if (ev->remote && r->retries > 0)
        req_fail(f, r, false, "stream reset by the server (%s, after %u retries)", name,
                 r->retries);
    else if (ev->remote)
        req_fail(f, r, false, "stream reset by the server (%s)", name);
    else
        req_fail(f, r, false, "stream reset: the server broke the protocol on it (%s)", name);
}

/* The server's GOAWAY: streams above its last id were not processed. */
static void on_goaway(fetch *f, const h2_svc_event *ev)
{
    char buf[16];
    const char *name = fetch_code_name(ev->error_code, buf, sizeof(buf));
    fetch_log(f, "< GOAWAY: %s, last stream %" PRIu32 "%s%.*s", name, ev->last_stream_id,
              ev->len > 0 ? ", debug: " : "", (int)ev->len, (const char *)ev->data);
    f->goaway = true;
    /* After a graceful GOAWAY the unprocessed requests may go again on a new connection. */
    bool again = ev->error_code == H2_NO_ERROR && f->reconnects < MAX_RECONNECTS && !f->aborted;
    size_t queued = 0;
    for (size_t i = 0; i < f->opts->n_urls; i++) {
        request *r = &f->reqs[i];
        if (r->state == REQ_DONE || (r->stream_id != 0 && r->stream_id <= ev->last_stream_id))
            continue;
        if (again && r->status == 0 && r->body_bytes == 0) {
            r->state = REQ_QUEUED;
            r->stream_id = 0;
            queued++;
        } else {
            req_fail(f, r, false, "not processed: the server is shutting the connection down (%s)",
                     name);
        }
    }
    if (queued > 0)
        fetch_log(f, "* %zu request(s) not processed: they go again on a new connection", queued);
    if (ev->error_code != H2_NO_ERROR)
        fetch_set_error(f, "the server closed the connection with %s%s%.*s", name,
                        ev->len > 0 ? ": " : "", (int)ev->len, (const char *)ev->data);
}

static void on_command_failed(fetch *f, const h2_svc_event *ev)
{
    fetch_log(f, "* command %d on stream %" PRIu32 " failed: %s", ev->command, ev->stream_id,
              h2_strerror(ev->error));
    request *r = fetch_by_tag(f, ev->user);
    switch (ev->command) {
    case H2_SVC_CMD_HEADERS:
        if (r != NULL && r->state == REQ_WAITING) {
            req_fail(f, r, false, "could not send the request: %s", h2_strerror(ev->error));
            req_submit_more(f);
        }
        break;
    case H2_SVC_CMD_DATA:
    case H2_SVC_CMD_END_STREAM:
        /* Not when it names an earlier stream of a request sent again. */
        if (r != NULL && r->stream_id == ev->stream_id)
            req_fail(f, r, true, "could not send the request body: %s", h2_strerror(ev->error));
        break;
    case H2_SVC_CMD_ATTACH:
        fetch_set_error(f, "could not start the connection: %s", h2_strerror(ev->error));
        break;
    default:
        /* Resets and the closing GOAWAY may fail once the connection is gone. */
        break;
    }
}

/* What a service timer that ended the connection means for this client. */
static const char *timer_reason(int timer)
{
    switch (timer) {
    case H2_SVC_TIMER_IDLE:
        return "the connection was idle too long";
    case H2_SVC_TIMER_SETTINGS:
        return "the server did not acknowledge our SETTINGS in time (GOAWAY SETTINGS_TIMEOUT sent)";
    case H2_SVC_TIMER_HEADER:
        return "the server did not complete a header block in time (GOAWAY PROTOCOL_ERROR sent)";
    case H2_SVC_TIMER_CLOSE:
        return "the connection did not finish in time after GOAWAY";
    case H2_SVC_TIMER_WRITE:
        return "the server stopped reading what we send";
    case H2_SVC_TIMER_FLOW:
        return "the server kept its flow-control window shut on our request body";
    case H2_SVC_TIMER_PREFACE:
        return "the server sent no SETTINGS in time (GOAWAY PROTOCOL_ERROR sent)";
    default:
        return "a connection timer expired";
    }
}

static const char *close_reason(const h2_svc_event *ev, bool heard, char *buf, size_t size)
{
    char cb[16];
    switch (ev->reason) {
    case H2_SVC_CLOSE_GRACEFUL:
        return "the connection was closed";
    case H2_SVC_CLOSE_PEER_EOF:
        if (ev->sys_errno != 0)
            snprintf(buf, size, "the server closed the connection (%s)", strerror(ev->sys_errno));
        else
            snprintf(buf, size, "the server closed the connection");
        return buf;
    case H2_SVC_CLOSE_PROTOCOL:
        /* H2_EPROTO says no more than the reason itself; other codes name the rule. */
        snprintf(buf, size, "the server broke the HTTP/2 protocol%s%s%s (GOAWAY %s sent)",
                 ev->error != H2_EPROTO ? ": " : "",
                 ev->error != H2_EPROTO ? h2_strerror(ev->error) : "",
                 heard ? "" : " before any response; is it an HTTP/2 server?",
                 fetch_code_name(ev->error_code, cb, sizeof(cb)));
        return buf;
    case H2_SVC_CLOSE_IO:
        snprintf(buf, size, "connection failed: %s",
                 ev->sys_errno != 0 ? strerror(ev->sys_errno) : h2_strerror(ev->error));
        return buf;
    case H2_SVC_CLOSE_ABORTED:
        return "the connection was aborted";
    case H2_SVC_CLOSE_NOMEM:
        return "out of memory";
    case H2_SVC_CLOSE_TIMEOUT:
        return timer_reason(ev->timer);
    default:
        return "the connection was shut down";
    }
}

static void on_closed(fetch *f, const h2_svc_event *ev)
{
    char buf[256];
    const char *why = close_reason(ev, f->heard, buf, sizeof(buf));
    fetch_log(f, "* connection closed: %s", why);
    fetch_log(
        f, "* connection totals: %" PRIu64 " bytes in, %" PRIu64 " bytes out, %" PRIu64 " streams",
        ev->stats.bytes_in, ev->stats.bytes_out, ev->stats.streams_opened);
    f->closed = true;
    bool again = false;
    if (f->goaway && !f->aborted && ev->reason != H2_SVC_CLOSE_PROTOCOL &&
        ev->reason != H2_SVC_CLOSE_IO && ev->reason != H2_SVC_CLOSE_NOMEM &&
        ev->reason != H2_SVC_CLOSE_TIMEOUT) {
        for (size_t i = 0; i < f->opts->n_urls; i++)
            again = again || f->reqs[i].state == REQ_QUEUED;
    }
    /* Requests kept for a new connection stay queued; the others end here. */
    for (size_t i = 0; i < f->opts->n_urls; i++) {
        request *r = &f->reqs[i];
        if (r->state != REQ_DONE && !(again && r->state == REQ_QUEUED))
            req_fail(f, r, false, "%s", why);
    }
    f->reconnect = again;
    /* A failure of the connection itself is an error even when every response was complete. */
    if (ev->reason == H2_SVC_CLOSE_PROTOCOL || ev->reason == H2_SVC_CLOSE_IO ||
        ev->reason == H2_SVC_CLOSE_NOMEM ||
        (ev->reason == H2_SVC_CLOSE_TIMEOUT && ev->timer != H2_SVC_TIMER_IDLE &&
         ev->timer != H2_SVC_TIMER_CLOSE))
        fetch_set_error(f, "%s", why);
}

/* -v: the preface, with the SETTINGS values h2_conn_initiate() sends. */
static void log_settings(const fetch *f)
{
    const h2_conn_config *c = &f->settings;
    fetch_log(f, "> connection preface");
    fetch_log(f,
              "> SETTINGS: HEADER_TABLE_SIZE=%" PRIu32 " ENABLE_PUSH=%" PRIu32
              " INITIAL_WINDOW_SIZE=%" PRIu32 " MAX_FRAME_SIZE=%" PRIu32
              " MAX_CONCURRENT_STREAMS=%" PRIu32 " MAX_HEADER_LIST_SIZE=%" PRIu32,
              c->header_table_size, c->enable_push, c->initial_window_size, c->max_frame_size,
              c->max_concurrent_streams, c->max_header_list_size);
    if (c->connection_window_size > 65535)
        fetch_log(f, "> WINDOW_UPDATE stream 0: +%" PRIu32, c->connection_window_size - 65535);
}

/* -v: a SETTINGS frame the server sent, or the ACK of ours. */
static void log_remote_settings(const fetch *f, const h2_svc_event *ev, bool ack)
{
    static const char *const names[] = {"",
                                        "HEADER_TABLE_SIZE",
                                        "ENABLE_PUSH",
                                        "MAX_CONCURRENT_STREAMS",
                                        "INITIAL_WINDOW_SIZE",
                                        "MAX_FRAME_SIZE",
                                        "MAX_HEADER_LIST_SIZE",
                                        "",
                                        "ENABLE_CONNECT_PROTOCOL",
                                        "NO_RFC7540_PRIORITIES"};
    if (!f->opts->verbose)
        return;
    char line[512];
    size_t n = 0;
    line[0] = '\0';
    for (size_t i = 0; i < ev->n_settings && n < sizeof(line) - 64; i++) {
        uint16_t id = ev->settings[i].id;
        const char *name = id < sizeof(names) / sizeof(names[0]) ? names[id] : "";
        int w = name[0] != '\0' ? snprintf(line + n, sizeof(line) - n, " %s=%" PRIu32, name,
                                           ev->settings[i].new_value)
                                : snprintf(line + n, sizeof(line) - n, " 0x%x=%" PRIu32, id,
                                           ev->settings[i].new_value);
        if (w > 0)
            n += (size_t)w;
    }
    if (ack) {
        fetch_log(f, "< SETTINGS ACK (ours in force:%s)", n > 0 ? line : " no change");
    } else {
        fetch_log(f, "< SETTINGS:%s", n > 0 ? line : " (no change)");
        fetch_log(f, "> SETTINGS ACK");
    }
}

/* -v: a PING right after the preface shows the round-trip time. */
static void send_ping(fetch *f)
{
    static const uint8_t opaque[8] = {'h', '2', 'c', 'l', 'i', 'e', 'n', 't'};
    if (!f->opts->verbose || h2_svc_ping(f->svc, f->conn, opaque, 0) != 0)
        return;
    f->ping_sent = now_ms();
    f->ping_pending = true;
    fetch_log(f, "> PING");
}

void fetch_on_event(fetch *f, const h2_svc_event *ev)
{
    request *r;
    if (ev->type < H2_SVC_EV_ATTACHED)
        f->heard = true; /* a core event: something the server sent */
    switch (ev->type) {
    case H2_SVC_EV_ATTACHED:
        log_settings(f);
        send_ping(f);
        break;
    case H2_SVC_EV_STREAM_OPENED:
        req_opened(f, ev);
        break;
    case H2_EV_INFORMATIONAL_RESPONSE_RECEIVED:
        log_fields(f, ev, "informational");
        break;
    case H2_EV_RESPONSE_RECEIVED:
        on_response(f, ev);
        break;
    case H2_EV_TRAILERS_RECEIVED:
        log_fields(f, ev, "trailers");
        r = fetch_by_stream(f, ev->stream_id);
        if (r != NULL && ev->end_stream)
            req_complete(f, r);
        break;
    case H2_EV_DATA_RECEIVED:
        on_data(f, ev);
        break;
    case H2_EV_STREAM_RESET:
        on_reset(f, ev);
        break;
    case H2_EV_PING_ACK_RECEIVED:
        f->ping_pending = false;
        fetch_log(f, "< PING ACK: round trip %" PRId64 " ms", now_ms() - f->ping_sent);
        break;
    case H2_EV_REMOTE_SETTINGS_CHANGED:
        log_remote_settings(f, ev, false);
        break;
    case H2_EV_SETTINGS_ACKNOWLEDGED:
        log_remote_settings(f, ev, true);
        break;
    case H2_EV_PING_RECEIVED:
        fetch_log(f, "< PING");
        fetch_log(f, "> PING ACK");
        break;
    case H2_EV_WINDOW_UPDATED:
        fetch_log(f, "< WINDOW_UPDATE stream %" PRIu32 ": +%" PRIu32, ev->stream_id,
                  ev->window_delta);
        break;
    case H2_EV_CONNECTION_TERMINATED:
        on_goaway(f, ev);
        break;
    case H2_SVC_EV_COMMAND_FAILED:
        on_command_failed(f, ev);
        break;
    case H2_SVC_EV_CLOSED:
        on_closed(f, ev);
        break;
    default:
        break;
    }
}
