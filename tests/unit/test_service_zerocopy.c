/*
 * DATA payloads leave without a copy by libh2: the worker queues them in
 * the core by reference, so a payload posted with h2_svc_send_data_ref()
 * is released only once its last byte was written to the transport (or
 * the connection ended), never while the output still points into it; a
 * copied payload's block lives as long. Checked with a client peer that
 * reads nothing until the test lets it, behind a small socket buffer.
 */
#include "test_service_util.h"

typedef struct got {
    uint64_t body; /* DATA bytes on stream 1 */
    uint64_t hash;
    bool ended;
} got;

static void on_peer(void *arg, const h2_event *ev)
{
    got *g = arg;
    if (ev->type == H2_EV_DATA_RECEIVED && ev->stream_id == 1) {
        g->body += ev->u.data.len;
        g->hash = fnv(g->hash, ev->u.data.data, ev->u.data.len);
    }
    if (ev->type == H2_EV_STREAM_ENDED && ev->stream_id == 1)
        g->ended = true;
}

/* A server connection behind a small send buffer, and a client peer that
 * sent a GET on stream 1 (read by the worker, answered by the test). */
static h2_svc_conn_id start(svc_rig *r, peer *p)
{
    h2_svc_conn_id id = svc_rig_get_on_stream1(r, p, 4096);
    cr_assert_eq(h2_svc_submit_headers(r->svc, id, 1, ok_fields, 1, 0, 0), 0);
    return id;
}

/* Reads until stream 1 ended; returns what came. */
static got read_response(peer *p)
{
    got g = {.hash = FNV0};
    int64_t end = now_ms() + 10000;
    while (!g.ended) {
        cr_assert_lt(now_ms(), end, "%llu body bytes", (unsigned long long)g.body);
        cr_assert(!p->eof, "the service closed the connection");
        peer_pump(p, 10, on_peer, &g);
    }
    return g;
}

Test(service_zerocopy, by_reference_payload_is_released_once_written)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p);
    /* Within the default windows, but far more than the socket takes. */
    enum { LEN = 60000 };
    uint8_t *body = make_body(LEN, 7);
    released rel;
    atomic_init(&rel.count, 0);
    atomic_init(&rel.bytes, 0);
    cr_assert_eq(
        h2_svc_send_data_ref(r.svc, id, 1, body, LEN, H2_SEND_END_STREAM, 1, on_release, &rel), 0);
    /* The worker took the DATA (commands run in order) and wrote what the
     * socket took: most of the payload is still to go, so it is held. */
    cr_assert_null(svc_barrier(r.svc, r.q, id));
    cr_assert_eq(atomic_load(&rel.count), 0, "released while the output still points into it");

    got g = read_response(&p);
    cr_assert_eq(g.body, (uint64_t)LEN);
    cr_assert_eq(g.hash, fnv(FNV0, body, LEN));
    int64_t end = now_ms() + 5000;
    while (atomic_load(&rel.count) == 0) {
        cr_assert_lt(now_ms(), end, "never released");
        cr_assert_null(svc_barrier(r.svc, r.q, id));
    }
    cr_assert_eq(atomic_load(&rel.count), 1);
    cr_assert_eq(atomic_load(&rel.bytes), (size_t)LEN);
    peer_free(&p);
    svc_rig_free(&r);
    free(body);
}

Test(service_zerocopy, copied_payload_arrives_whole_behind_a_full_socket)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p);
    enum { LEN = 60000 };
    uint8_t *body = make_body(LEN, 9);
    cr_assert_eq(h2_svc_send_data(r.svc, id, 1, body, LEN, H2_SEND_END_STREAM, 1), 0);
    /* The caller's buffer may change at once: the service holds a copy. */
    uint64_t want = fnv(FNV0, body, LEN);
    memset(body, 0xee, LEN);
    cr_assert_null(svc_barrier(r.svc, r.q, id));
    got g = read_response(&p);
    cr_assert_eq(g.body, (uint64_t)LEN);
    cr_assert_eq(g.hash, want);
    peer_free(&p);
    svc_rig_free(&r);
    free(body);
}

Test(service_zerocopy, connection_end_releases_a_payload_the_output_held)
{
    svc_rig r;
    peer p;
    h2_svc_conn_id id = start(&r, &p);
    enum { LEN = 60000 };
    uint8_t *body = make_body(LEN, 11);
    released rel;
    atomic_init(&rel.count, 0);
    atomic_init(&rel.bytes, 0);
    cr_assert_eq(
        h2_svc_send_data_ref(r.svc, id, 1, body, LEN, H2_SEND_END_STREAM, 5, on_release, &rel), 0);
    cr_assert_null(svc_barrier(r.svc, r.q, id));
    cr_assert_eq(atomic_load(&rel.count), 0);
    /* Aborted while the frames sit in the output: the payload comes back
     * once, and the command is answered before CLOSED. */
    cr_assert_eq(h2_svc_abort(r.svc, id, 0), 0);
    bool failed = false;
    for (;;) {
        h2_svc_event *ev = next_event(r.q, 5000);
        cr_assert_not_null(ev, "no CLOSED");
        if (ev->type == H2_SVC_EV_COMMAND_FAILED) {
            cr_assert_eq(ev->command, H2_SVC_CMD_DATA);
            cr_assert_eq(ev->user, 5u);
            failed = true;
        }
        bool closed = ev->type == H2_SVC_EV_CLOSED;
        h2_svc_event_release(ev);
        if (closed)
            break;
    }
    cr_assert(failed, "the held DATA was not answered before CLOSED");
    cr_assert_eq(atomic_load(&rel.count), 1);
    cr_assert_eq(atomic_load(&rel.bytes), (size_t)LEN);
    peer_free(&p);
    svc_rig_free(&r);
    free(body);
}
