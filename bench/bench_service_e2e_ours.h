/*
 * End-to-end part, libh2's side: a server service and a client service of
 * 1 worker each, events handled by callbacks on the workers (included by
 * bench/bench_service_e2e.h only; every function is static).
 */
#ifndef BENCH_SERVICE_E2E_OURS_H
#define BENCH_SERVICE_E2E_OURS_H

#include "bench_service_e2e_run.h"

/* ------------------------------------------------------------------------ */
/* libh2: two services                                                       */
/* ------------------------------------------------------------------------ */

/* Server service callback (server worker thread); |user| is the run. */
static void ours_srv_event(void *user, h2_svc_event *ev)
{
    e2e_run *r = user;
    bool stopping = atomic_load_explicit(&r->stopping, memory_order_relaxed);
    switch (ev->type) {
    case H2_EV_REQUEST_RECEIVED: {
        bool method = false, path = false;
        for (size_t i = 0; i < ev->n_fields; i++) {
            const h2_header *f = &ev->fields[i];
            if (bytes_are(f->name, f->name_len, ":method"))
                method = bytes_are(f->value, f->value_len, "GET");
            else if (bytes_are(f->name, f->name_len, ":path"))
                path = bytes_are(f->value, f->value_len, e2e_path);
        }
        if (!method || !path || !ev->end_stream) {
            bench_fail(&r->err, "server: bad request on stream %u", ev->stream_id);
            e2e_abort(r);
            break;
        }
        /* Head and body in one command (the body copied, as nghttp2's data
         * provider copies it); an empty body ends the stream with the
         * headers, as nghttp2 does. */
        int rc = h2_svc_respond(r->ssrv, ev->conn, ev->stream_id, e2e_resp_fields, E2E_N_RESP,
                                e2e_body, r->p.body, 0);
        if (rc != 0) {
            bench_fail(&r->err, "server: posting the response: %s", h2_strerror(rc));
            e2e_abort(r);
        }
        break;
    }
    case H2_SVC_EV_ATTACHED:
        break;
    default:
        if (!stopping) {
            bench_fail(&r->err, "server: unexpected event %d (stream %u, error %d, reason %d)",
                       ev->type, ev->stream_id, ev->error, ev->reason);
            e2e_abort(r);
        }
        break;
    }
    h2_svc_event_release(ev);
}

static int ours_issue(e2e_client *c)
{
    e2e_run *r = c->run;
    int rc = h2_svc_submit_headers(r->scli, c->id, 0, e2e_req_fields, E2E_N_REQ, H2_SEND_END_STREAM,
                                   c->issued);
    if (rc != 0) {
        bench_fail(&r->err, "client: h2_svc_submit_headers: %s", h2_strerror(rc));
        e2e_abort(r);
        return -1;
    }
    return 0;
}

/* Client service callback (client worker thread); |user| is the connection. */
static void ours_cli_event(void *user, h2_svc_event *ev)
{
    e2e_client *c = user;
    e2e_run *r = c->run;
    bool stopping = atomic_load_explicit(&r->stopping, memory_order_relaxed);
    switch (ev->type) {
    case H2_SVC_EV_ATTACHED:
        atomic_fetch_add(&r->attached, 1);
        break;
    case H2_EV_PING_ACK_RECEIVED:
        atomic_fetch_add(&r->ready, 1);
        break;
    case H2_SVC_EV_STREAM_OPENED:
        break;
    case H2_EV_RESPONSE_RECEIVED: {
        e2e_stream *st = e2e_stream_of(c, ev->stream_id);
        if (st == NULL) {
            bench_fail(&r->err, "client: response on unknown stream %u", ev->stream_id);
            e2e_abort(r);
            break;
        }
        for (size_t i = 0; i < ev->n_fields; i++) {
            const h2_header *f = &ev->fields[i];
            if (bytes_are(f->name, f->name_len, ":status"))
                st->status_ok = bytes_are(f->value, f->value_len, "200");
        }
        if (ev->end_stream && e2e_complete(c, ev->stream_id)) {
            c->issued++;
            ours_issue(c);
        }
        break;
    }
    case H2_EV_DATA_RECEIVED: {
        e2e_stream *st = e2e_stream_of(c, ev->stream_id);
        if (st == NULL) {
            bench_fail(&r->err, "client: DATA on unknown stream %u", ev->stream_id);
            e2e_abort(r);
            break;
        }
        if (e2e_body_chunk(c, st, ev->stream_id, ev->data, ev->len) != 0)
            break;
        if (ev->end_stream && e2e_complete(c, ev->stream_id)) {
            c->issued++;
            ours_issue(c);
        }
        break;
    }
    default:
        if (!stopping) {
            bench_fail(&r->err, "client: unexpected event %d (stream %u, error %d, reason %d)",
                       ev->type, ev->stream_id, ev->error, ev->reason);
            e2e_abort(r);
        }
        break;
    }
    /* Releasing a DATA event acknowledges it for flow control. */
    h2_svc_event_release(ev);
}

static int ours_services(e2e_run *r)
{
    h2_svc_config sc;
    h2_svc_config_init(&sc);
    sc.workers = 1;
    int rc = h2_svc_new(&r->ssrv, &sc);
    if (rc == 0)
        rc = h2_svc_new(&r->scli, &sc);
    if (rc != 0)
        return bench_fail(&r->err, "h2_svc_new: %s", h2_strerror(rc));
    for (unsigned i = 0; i < r->p.conns; i++) {
        h2_svc_conn_config cc;
        h2_svc_conn_config_init(&cc, H2_ROLE_SERVER);
        cc.on_event = ours_srv_event;
        cc.user = r;
        h2_svc_conn_id id;
        rc = h2_svc_attach_fd(r->ssrv, r->srv_fd[i], &cc, &id);
        if (rc != 0)
            return bench_fail(&r->err, "attach (server): %s", h2_strerror(rc));
        r->srv_fd[i] = -1; /* the service owns it */

        h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
        cc.on_event = ours_cli_event;
        cc.user = &r->cli[i];
        rc = h2_svc_attach_fd(r->scli, r->cli_fd[i], &cc, &r->cli[i].id);
        if (rc != 0)
            return bench_fail(&r->err, "attach (client): %s", h2_strerror(rc));
        r->cli_fd[i] = -1;
    }
    return 0;
}

/* One libh2 sample: requests per second, or -1. */
static double ours_e2e_sample(e2e_run *r, double *cpu_us)
{
    double rate = -1;
    if (e2e_sockets(r) != 0 || ours_services(r) != 0)
        goto out;
    if (e2e_wait_count(r, &r->attached, r->p.conns, "client connections attached") != 0)
        goto out;
    static const uint8_t opaque[8] = {'h', '2', 'b', 'e', 'n', 'c', 'h', 0};
    for (unsigned i = 0; i < r->p.conns; i++) {
        int rc = h2_svc_ping(r->scli, r->cli[i].id, opaque, 0);
        if (rc != 0) {
            bench_fail(&r->err, "h2_svc_ping: %s", h2_strerror(rc));
            goto out;
        }
    }
    if (e2e_wait_count(r, &r->ready, r->p.conns, "PING answered") != 0)
        goto out;

    struct timespec cpu0, cpu1;
    /* Every connection's first M requests are counted as issued before the
     * first is posted: the client worker updates the counts from then on. */
    for (unsigned i = 0; i < r->p.conns; i++) {
        e2e_client *c = &r->cli[i];
        c->issued = c->quota < r->p.streams ? c->quota : r->p.streams;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    for (unsigned i = 0; i < r->p.conns; i++) {
        e2e_client *c = &r->cli[i];
        uint32_t n = c->quota < r->p.streams ? c->quota : r->p.streams;
        for (uint32_t k = 0; k < n; k++) {
            int rc = h2_svc_submit_headers(r->scli, c->id, 0, e2e_req_fields, E2E_N_REQ,
                                           H2_SEND_END_STREAM, k);
            if (rc != 0) {
                bench_fail(&r->err, "client: h2_svc_submit_headers: %s", h2_strerror(rc));
                goto out;
            }
        }
    }
    if (e2e_wait_done(r) != 0)
        goto out;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    rate = (double)r->p.requests / elapsed_s(&r->start, &r->end);
    *cpu_us = elapsed_s(&cpu0, &cpu1) * 1e6 / (double)r->p.requests;
out:
    atomic_store(&r->stopping, 1);
    h2_svc_free(r->scli);
    h2_svc_free(r->ssrv);
    r->scli = r->ssrv = NULL;
    e2e_close_sockets(r);
    return rate;
}

#endif /* BENCH_SERVICE_E2E_OURS_H */
