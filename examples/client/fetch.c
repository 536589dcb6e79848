/*
 * h2client: the requests over one connection (see fetch.h): connecting,
 * the event loop, the graceful close and the final report.
 *
 * The program hands its socket to a libh2 service with one worker thread.
 * That worker runs the HTTP/2 connection: it answers PING and SETTINGS,
 * sends WINDOW_UPDATEs as DATA events are released, and sends request
 * bodies as the server's windows allow. This thread posts commands
 * (requests, bodies, the final GOAWAY) and reads the connection's events
 * from a queue until the connection is closed.
 */
#include "client/fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h2/service.h"

#include "client/fetch_internal.h"
#include "client/net.h"
#include "client/tls.h"

#define PROG "h2client"

/* Receive windows we offer: large, since bodies are written as they come. */
#define STREAM_WINDOW (1u << 20)
#define CONNECTION_WINDOW (8u << 20)
/* Events read from the queue per poll, and the queue's size. */
#define EVENT_BATCH 64
#define QUEUE_CAPACITY 1024u
/* After an abort, how long to wait for the connection's last event. */
#define ABORT_GRACE_MS 2000

/* ------------------------------------------------------------------------ */
/* The connection                                                             */
/* ------------------------------------------------------------------------ */

/* Connects (and runs TLS) and hands the socket to the service. Returns 0 or -1 (conn_error set). */
static int open_connection(fetch *f)
{
    const options *o = f->opts;
    const url *u = &o->urls[0];
    char err[512];
    int fd = net_connect(u->host, u->port, f->deadline, o->verbose, err, sizeof(err));
    if (fd < 0) {
        fetch_set_error(f, "%s", err);
        return -1;
    }
    h2_svc_conn_config cfg;
    h2_svc_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.conn.enable_push = 0; /* pushed responses would have nowhere to go */
    cfg.conn.initial_window_size = STREAM_WINDOW;
    cfg.conn.connection_window_size = CONNECTION_WINDOW;
    cfg.queue = f->queue;
    cfg.trace = o->verbose; /* -v: SETTINGS, PING and WINDOW_UPDATE frames too */
    f->settings = cfg.conn; /* for the -v log of our SETTINGS */
    h2_svc_transport transport;
    tls_conn *tc = NULL;
    if (u->tls) {
        tls_options topts = {
            .host = u->host,
            .insecure = o->insecure,
            .cacert = o->cacert,
            .verbose = o->verbose,
        };
        if (tls_connect(fd, &topts, f->deadline, &tc, err, sizeof(err)) != 0) {
            fetch_set_error(f, "%s", err);
            close(fd);
            return -1;
        }
        tls_transport(tc, &transport);
        cfg.transport = &transport;
    }
    int rv;
    while ((rv = h2_svc_attach_fd(f->svc, fd, &cfg, &f->conn)) == H2_EAGAIN &&
           fetch_wait_for_room(f)) {
    }
    if (rv != 0) {
        /* Not attached: the socket and the TLS session are still ours. */
        tls_conn_free(tc);
        close(fd);
        fetch_set_error(f, "could not start the connection: %s", h2_strerror(rv));
        return -1;
    }
    f->attached = true;
    return 0;
}

/*
 * Waits up to |wait_ms| for events and handles one batch, so that the
 * caller checks the deadline between batches even when events never stop.
 */
static void handle_events(fetch *f, int wait_ms)
{
    h2_svc_event *evs[EVENT_BATCH];
    if (h2_svc_queue_wait(f->queue, wait_ms) <= 0)
        return;
    size_t n = h2_svc_queue_poll(f->queue, evs, EVENT_BATCH);
    for (size_t i = 0; i < n; i++) {
        fetch_on_event(f, evs[i]);
        /* Releasing a DATA event reopens the flow-control windows. */
        h2_svc_event_release(evs[i]);
    }
}

/*
 * A new connection for the requests a GOAWAY left unprocessed. Returns
 * true when it is up; false after failing those requests.
 */
static bool reconnect(fetch *f)
{
    f->reconnect = false;
    f->reconnects++;
    fetch_log(f, "* connecting again for the requests the server did not process");
    f->closed = f->close_sent = f->goaway = f->heard = f->ping_pending = false;
    /* Stream ids belong to the old connection; the new one counts from 1 again. */
    for (size_t i = 0; i < f->opts->n_urls; i++)
        f->reqs[i].stream_id = 0;
    if (open_connection(f) != 0) {
        f->closed = true;
        fetch_fail_unfinished(f, f->conn_error != NULL ? f->conn_error : "cannot connect again");
        return false;
    }
    req_submit_more(f);
    return true;
}

/* Runs the connection until it is closed, or the deadline (plus a grace to see it close). */
static void run(fetch *f)
{
    const options *o = f->opts;
    req_submit_more(f);
    int64_t abort_deadline = 0;
    int64_t ping_deadline = 0; /* -v: until when the GOAWAY waits for the PING ACK */
    while (!f->closed || f->reconnect) {
        if (f->reconnect && !reconnect(f))
            break;
        bool all_done = f->n_done == o->n_urls && !f->close_sent && !f->aborted;
        if (all_done && f->ping_pending && ping_deadline == 0)
            ping_deadline = now_ms() + PING_GRACE_MS;
        if (all_done && (!f->ping_pending || ms_left(ping_deadline) == 0)) {
            /* Every stream is finished: GOAWAY, then the worker closes. */
            int rv;
            while ((rv = h2_svc_close(f->svc, f->conn, H2_NO_ERROR, 0)) == H2_EAGAIN &&
                   fetch_wait_for_room(f)) {
            }
            f->close_sent = true;
            if (rv == 0)
                fetch_log(f, "> GOAWAY: NO_ERROR");
        }
        if (!f->aborted && ms_left(f->deadline) == 0) {
            char reason[64];
            snprintf(reason, sizeof(reason), "timed out (-m %g)", o->timeout);
            fetch_log(f, "* %s", reason);
            if (f->n_done < o->n_urls)
                fetch_fail_unfinished(f, reason);
            h2_svc_abort(f->svc, f->conn, 0);
            f->aborted = true;
            abort_deadline = now_ms() + ABORT_GRACE_MS;
        }
        if (f->aborted && ms_left(abort_deadline) == 0)
            break;
        int wait = ms_left(f->aborted ? abort_deadline : f->deadline);
        if (all_done && f->ping_pending && ms_left(ping_deadline) < wait)
            wait = ms_left(ping_deadline);
        handle_events(f, wait);
    }
}

/* Releases what is left in the queue (DATA events must go before the service). */
static void drain(fetch *f)
{
    h2_svc_event *evs[EVENT_BATCH];
    size_t n;
    while ((n = h2_svc_queue_poll(f->queue, evs, EVENT_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            h2_svc_event_release(evs[i]);
    }
}

/* Prints one line per failed URL, in URL order. Returns the exit status. */
static int report(fetch *f)
{
    const options *o = f->opts;
    int status = 0;
    static const char nomem[] = "failed (no memory for the message)";
    for (size_t i = 0; i < o->n_urls; i++) {
        const request *r = &f->reqs[i];
        const char *err = r->failed ? (r->error != NULL ? r->error : nomem) : NULL;
        if (err == NULL)
            err = output_error(&f->out, i);
        if (err != NULL) {
            fprintf(stderr, PROG ": %s: %s\n", o->url_texts[i], err);
            status = 1;
        }
    }
    if (f->conn_failed) {
        /* Named after the first URL: the connection serves them all. */
        const char *msg = f->conn_error != NULL ? f->conn_error : nomem;
        bool shown = false;
        for (size_t i = 0; i < o->n_urls && !shown; i++)
            shown = f->reqs[i].error != NULL && strcmp(f->reqs[i].error, msg) == 0;
        if (!shown)
            fprintf(stderr, PROG ": %s: %s\n", o->url_texts[0], msg);
        status = 1;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": %s: cannot write stdout: %s\n", o->url_texts[0], strerror(errno));
        status = 1;
    }
    return status;
}

int fetch_all(const options *opts)
{
    fetch f;
    memset(&f, 0, sizeof(f));
    f.opts = opts;
    f.deadline = now_ms() + (int64_t)(opts->timeout * 1000.0);
    f.reqs = calloc(opts->n_urls, sizeof(request));
    if (f.reqs == NULL || outputs_init(&f.out, opts->n_urls, opts->outputs) != 0) {
        free(f.reqs);
        fprintf(stderr, PROG ": %s: out of memory\n", opts->url_texts[0]);
        return 1;
    }

    h2_svc_config scfg;
    h2_svc_config_init(&scfg);
    scfg.workers = 1; /* one connection: one worker thread */
    int rv = h2_svc_queue_new(&f.queue, QUEUE_CAPACITY, NULL);
    if (rv == 0) {
        scfg.queue = f.queue; /* failures about the connection's id land here too */
        rv = h2_svc_new(&f.svc, &scfg);
    }
    if (rv != 0)
        fetch_set_error(&f, "cannot start the HTTP/2 service: %s", h2_strerror(rv));
    else if (open_connection(&f) == 0)
        run(&f);

    if (!f.attached)
        fetch_fail_unfinished(&f, f.conn_error != NULL ? f.conn_error : "no connection");
    drain(&f);
    h2_svc_free(f.svc);
    h2_svc_queue_free(f.queue);
    /* Anything cut short by the shutdown still has its body destination closed. */
    fetch_fail_unfinished(&f, "no response");

    int status = report(&f);
    for (size_t i = 0; i < opts->n_urls; i++)
        free(f.reqs[i].error);
    free(f.reqs);
    free(f.conn_error);
    outputs_free(&f.out);
    return status;
}
