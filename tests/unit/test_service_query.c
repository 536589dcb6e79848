/*
 * State queries (h2_svc_query_state(), answered by H2_SVC_EV_STATE):
 * windows, settings in force and pending, stream ids, frame sizes and the
 * state of a stream, compared with what a core peer driven by the test
 * knows; unknown streams as the core tells them; a snapshot that outlives
 * its service; and queries from several threads at once.
 */
#include <pthread.h>
#include "test_service_util.h"

static const h2_header post_fields[] = {
    HDR(":method", "POST"),
    HDR(":scheme", "http"),
    HDR(":path", "/up"),
    HDR(":authority", "example.org"),
};

static const uint16_t known_ids[] = {
    H2_SETTING_HEADER_TABLE_SIZE,       H2_SETTING_ENABLE_PUSH,
    H2_SETTING_MAX_CONCURRENT_STREAMS,  H2_SETTING_INITIAL_WINDOW_SIZE,
    H2_SETTING_MAX_FRAME_SIZE,          H2_SETTING_MAX_HEADER_LIST_SIZE,
    H2_SETTING_ENABLE_CONNECT_PROTOCOL, H2_SETTING_NO_RFC7540_PRIORITIES,
};
#define N_KNOWN (sizeof(known_ids) / sizeof(known_ids[0]))

typedef struct seen {
    bool settings;       /* the service's SETTINGS arrived */
    int acks;            /* our SETTINGS acknowledged by the service */
    int settings_frames; /* SETTINGS frames of the service */
    uint32_t ended;      /* bit per stream id < 32 the service ended */
    size_t data;         /* DATA bytes from the service */
} seen;

static void on_peer(void *arg, const h2_event *ev)
{
    seen *s = arg;
    switch (ev->type) {
    case H2_EV_REMOTE_SETTINGS_CHANGED:
        s->settings = true;
        s->settings_frames++;
        break;
    case H2_EV_SETTINGS_ACKNOWLEDGED:
        s->acks++;
        break;
    case H2_EV_DATA_RECEIVED:
        s->data += ev->u.data.len;
        if (ev->u.data.stream_ended >= 0 && ev->stream_id < 32)
            s->ended |= 1u << ev->stream_id;
        break;
    case H2_EV_RESPONSE_RECEIVED:
    case H2_EV_TRAILERS_RECEIVED:
        if (ev->u.headers.stream_ended >= 0 && ev->stream_id < 32)
            s->ended |= 1u << ev->stream_id;
        break;
    default:
        break;
    }
}

typedef struct rig {
    svc_rig r;
    h2_svc_conn_id id;
    peer p;
    seen s;
} rig;

/* Pumps the peer until |*v| reaches |want|. */
static void peer_until_int(rig *g, const int *v, int want)
{
    int64_t end = now_ms() + 5000;
    while (*v < want) {
        cr_assert_lt(now_ms(), end);
        cr_assert(!g->p.eof, "the service closed the connection");
        peer_pump(&g->p, 10, on_peer, &g->s);
    }
}

static void peer_until_bits(rig *g, const uint32_t *v, uint32_t bits)
{
    int64_t end = now_ms() + 5000;
    while ((*v & bits) != bits) {
        cr_assert_lt(now_ms(), end);
        cr_assert(!g->p.eof, "the service closed the connection");
        peer_pump(&g->p, 10, on_peer, &g->s);
    }
}

/*
 * The service has |role| (a manual-flow connection, so releasing DATA
 * events does not move the windows), the peer the other role with |pc|
 * (NULL: defaults). Returns once the SETTINGS exchange is complete on both
 * sides: the peer has the service's SETTINGS and their ACK of its own, and
 * the service (svc_barrier: it read what the peer wrote before) has the
 * peer's SETTINGS and the ACK of its own.
 */
static void rig_start(rig *g, h2_role role, const h2_conn_config *pc)
{
    memset(g, 0, sizeof *g);
    svc_rig_start(&g->r, 256);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, role);
    sc.manual_flow_control = true;
    g->id = svc_rig_attach(&g->r, &sc);
    h2_conn_config def;
    h2_conn_config_init(&def, role == H2_ROLE_SERVER ? H2_ROLE_CLIENT : H2_ROLE_SERVER);
    peer_init_cfg(&g->p, g->r.peer_fd, pc != NULL ? pc : &def);
    cr_assert_eq(h2_conn_initiate(g->p.conn), 0);
    peer_flush(&g->p);
    peer_until_int(g, &g->s.acks, 1);
    cr_assert(g->s.settings);
    cr_assert_null(svc_barrier(g->r.svc, g->r.q, g->id));
}

static void rig_free(rig *g)
{
    svc_rig_free(&g->r);
    peer_free(&g->p);
}

/* Queries |stream| and waits for the answer (owned by the caller). */
static h2_svc_event *query(rig *g, uint32_t stream)
{
    static uint64_t tag = 0x51a7e000u;
    tag++;
    cr_assert_eq(h2_svc_query_state(g->r.svc, g->id, stream, tag), 0);
    h2_svc_event *ev = wait_event(g->r.q, H2_SVC_EV_STATE, 5000);
    cr_assert_not_null(ev, "no STATE answer");
    cr_assert_eq(ev->user, tag);
    cr_assert_eq(ev->stream_id, stream);
    cr_assert_eq(ev->conn, g->id);
    cr_assert_not_null(ev->state);
    cr_assert_eq(ev->state->size, sizeof(h2_svc_conn_state));
    cr_assert_eq(ev->state->stream_id, stream);
    return ev;
}

static uint32_t setting_of(const h2_setting *list, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].id == id)
            return list[i].value;
    cr_assert_fail("setting %u not listed", id);
    return 0;
}

/* Takes DATA events (released) until |want| flow-controlled bytes arrived. */
static void take_data(rig *g, size_t want, bool *ended)
{
    size_t got = 0;
    while (got < want || (ended != NULL && !*ended)) {
        h2_svc_event *ev = next_event(g->r.q, 5000);
        cr_assert_not_null(ev, "DATA missing: %zu of %zu bytes", got, want);
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED);
        if (ev->type == H2_SVC_EV_DATA_RECEIVED) {
            got += ev->flow_controlled_length;
            if (ended != NULL && ev->end_stream)
                *ended = true;
        }
        h2_svc_event_release(ev);
    }
    cr_assert_eq(got, want);
}

static int32_t peer_send_window(rig *g, uint32_t stream)
{
    int32_t w = 0;
    cr_assert_eq(h2_conn_send_window(g->p.conn, stream, &w), 0);
    return w;
}

static int32_t peer_recv_window(rig *g, uint32_t stream)
{
    int32_t w = 0;
    cr_assert_eq(h2_conn_recv_window(g->p.conn, stream, &w), 0);
    return w;
}

Test(service_query, windows_match_the_peer)
{
    rig g;
    rig_start(&g, H2_ROLE_SERVER, NULL);
    h2_svc_event *ev = query(&g, 0);
    const h2_svc_conn_state *st = ev->state;
    cr_assert_eq(st->recv_window, 65535);
    cr_assert_eq(st->send_window, 65535);
    cr_assert_eq(st->stream_window_error, H2_EINVAL);
    cr_assert_eq(st->stream_state, H2_STATE_IDLE);
    cr_assert_eq(st->stream_closed_by, -1);
    h2_svc_event_release(ev);

    /* The peer sends 1000 bytes: our receive windows drop by that much
     * (released, but not acknowledged: manual flow control). */
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 1, post_fields, 4, 0, NULL), 0);
    uint8_t *body = make_body(1000, 1);
    cr_assert_eq(h2_conn_send_data(g.p.conn, 1, body, 1000, 0, -1), 0);
    peer_flush(&g.p);
    take_data(&g, 1000, NULL);
    ev = query(&g, 1);
    st = ev->state;
    cr_assert_eq(st->recv_window, 65535 - 1000);
    cr_assert_eq(st->recv_window, peer_send_window(&g, 0));
    cr_assert_eq(st->stream_window_error, 0);
    cr_assert_eq(st->stream_recv_window, 65535 - 1000);
    cr_assert_eq(st->stream_recv_window, peer_send_window(&g, 1));
    cr_assert_eq(st->stream_send_window, 65535);
    h2_svc_event_release(ev);

    /* We send 500 bytes: our send windows drop as the peer's receive
     * windows do (the peer acknowledges nothing). */
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(g.r.svc, g.id, 1, body, 500, 0, 0), 0);
    int64_t end = now_ms() + 5000;
    while (g.s.data < 500) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&g.p, 10, on_peer, &g.s);
    }
    ev = query(&g, 1);
    st = ev->state;
    cr_assert_eq(st->send_window, 65535 - 500);
    cr_assert_eq(st->send_window, peer_recv_window(&g, 0));
    cr_assert_eq(st->stream_send_window, peer_recv_window(&g, 1));
    /* After an explicit increment of ours, the peer's view moves along. */
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_increment_window(g.r.svc, g.id, 0, 5000, 0), 0);
    ev = query(&g, 0);
    cr_assert_eq(ev->state->recv_window, 65535 - 1000 + 5000);
    h2_svc_event_release(ev);
    free(body);
    rig_free(&g);
}

Test(service_query, settings_match_the_peer)
{
    h2_conn_config pc;
    h2_conn_config_init(&pc, H2_ROLE_CLIENT);
    pc.header_table_size = 8192;
    pc.max_concurrent_streams = 7;
    pc.initial_window_size = 30000;
    pc.max_frame_size = 20000;
    pc.max_header_list_size = 12345;
    rig g;
    rig_start(&g, H2_ROLE_SERVER, &pc);
    h2_svc_event *ev = query(&g, 0);
    const h2_svc_conn_state *st = ev->state;
    cr_assert_eq(st->n_local, N_KNOWN);
    cr_assert_eq(st->n_remote, N_KNOWN);
    for (size_t i = 0; i < N_KNOWN; i++) {
        uint16_t id = known_ids[i];
        cr_assert_eq(st->local[i].id, id);
        cr_assert_eq(st->remote[i].id, id);
        /* Ours in force are what the peer holds for us, and the reverse. */
        cr_assert_eq(st->local[i].value, h2_conn_setting(g.p.conn, true, id), "local %u", id);
        cr_assert_eq(st->remote[i].value, h2_conn_setting(g.p.conn, false, id), "remote %u", id);
    }
    cr_assert_eq(setting_of(st->remote, st->n_remote, H2_SETTING_MAX_CONCURRENT_STREAMS), 7u);
    cr_assert_eq(setting_of(st->remote, st->n_remote, H2_SETTING_INITIAL_WINDOW_SIZE), 30000u);
    cr_assert_eq(setting_of(st->remote, st->n_remote, H2_SETTING_MAX_HEADER_LIST_SIZE), 12345u);
    cr_assert_eq(st->max_outbound_frame_size, 20000u);
    cr_assert_eq(st->max_inbound_frame_size, 16384u);
    cr_assert_eq(st->n_pending, 0u);
    cr_assert_null(st->pending);
    cr_assert_eq(st->settings_unacked, 0u);
    h2_svc_event_release(ev);
    rig_free(&g);
}

Test(service_query, pending_settings_until_the_peer_acknowledges)
{
    rig g;
    rig_start(&g, H2_ROLE_SERVER, NULL);
    h2_setting s[] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 5},
                      {H2_SETTING_MAX_FRAME_SIZE, 32768},
                      {H2_SETTING_MAX_CONCURRENT_STREAMS, 6}};
    cr_assert_eq(h2_svc_update_settings(g.r.svc, g.id, s, 3, 0), 0);
    /* Posted after the update from the same thread: it sees it pending. */
    h2_svc_event *ev = query(&g, 0);
    const h2_svc_conn_state *st = ev->state;
    cr_assert_eq(st->settings_unacked, 1u);
    cr_assert_eq(st->n_pending, 3u);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(st->pending[i].id, s[i].id);
        cr_assert_eq(st->pending[i].value, s[i].value);
    }
    cr_assert_eq(setting_of(st->local, st->n_local, H2_SETTING_MAX_CONCURRENT_STREAMS), 100u);
    cr_assert_eq(st->max_inbound_frame_size, 16384u);
    h2_svc_event_release(ev);

    /* The peer takes the new values and acknowledges them. */
    peer_until_int(&g, &g.s.settings_frames, 2);
    cr_assert_eq(h2_conn_setting(g.p.conn, true, H2_SETTING_MAX_CONCURRENT_STREAMS), 6u);
    cr_assert_null(svc_barrier(g.r.svc, g.r.q, g.id));
    ev = query(&g, 0);
    st = ev->state;
    cr_assert_eq(st->settings_unacked, 0u);
    cr_assert_eq(st->n_pending, 0u);
    cr_assert_eq(setting_of(st->local, st->n_local, H2_SETTING_MAX_CONCURRENT_STREAMS), 6u);
    cr_assert_eq(setting_of(st->local, st->n_local, H2_SETTING_MAX_FRAME_SIZE), 32768u);
    cr_assert_eq(st->max_inbound_frame_size, 32768u);
    h2_svc_event_release(ev);
    rig_free(&g);
}

/* Checks the state the service reports for |stream| and the open-stream count. */
static void expect_stream(rig *g, uint32_t stream, int state, int closed_by, int window_error,
                          size_t open)
{
    h2_svc_event *ev = query(g, stream);
    const h2_svc_conn_state *st = ev->state;
    cr_assert_eq(st->stream_state, state, "stream %u: state %d", stream, st->stream_state);
    cr_assert_eq(st->stream_closed_by, closed_by, "closed_by %d", st->stream_closed_by);
    cr_assert_eq(st->stream_window_error, window_error, "window error %d", st->stream_window_error);
    cr_assert_eq(st->open_inbound_streams + st->open_outbound_streams, open);
    h2_svc_event_release(ev);
}

Test(service_query, stream_goes_open_half_closed_closed)
{
    rig g;
    rig_start(&g, H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 1, post_fields, 4, 0, NULL), 0);
    peer_flush(&g.p);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    expect_stream(&g, 1, H2_STATE_OPEN, -1, 0, 1);

    /* The peer ends its side. */
    cr_assert_eq(h2_conn_end_stream(g.p.conn, 1), 0);
    peer_flush(&g.p);
    bool ended = false;
    take_data(&g, 0, &ended);
    expect_stream(&g, 1, H2_STATE_HALF_CLOSED_REMOTE, -1, 0, 1);

    /* We answer and end ours. */
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 1, ok_fields, 1, H2_SEND_END_STREAM, 0), 0);
    peer_until_bits(&g, &g.s.ended, 1u << 1);
    expect_stream(&g, 1, H2_STATE_CLOSED, H2_CLOSED_BY_END_STREAM, H2_ESTREAM_CLOSED, 0);
    h2_svc_event *last = query(&g, 0);
    cr_assert_eq(last->state->highest_inbound_stream_id, 1u);
    cr_assert_eq(last->state->highest_outbound_stream_id, 0u);
    h2_svc_event_release(last);
    rig_free(&g);
}

Test(service_query, client_stream_goes_half_closed_local)
{
    rig g;
    rig_start(&g, H2_ROLE_CLIENT, NULL);
    cr_assert_eq(h2_svc_submit_headers(g.r.svc, g.id, 0, post_fields, 4, 0, 9), 0);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_STREAM_OPENED, 5000);
    cr_assert_not_null(ev);
    uint32_t sid = ev->stream_id;
    h2_svc_event_release(ev);
    expect_stream(&g, sid, H2_STATE_OPEN, -1, 0, 1);
    cr_assert_eq(h2_svc_end_stream(g.r.svc, g.id, sid, 0), 0);
    /* END_STREAM is a send, which goes out as windows and output allow:
     * the state changes once it went, which the peer sees. */
    peer_until_bits(&g, &g.s.ended, 1u << sid);
    expect_stream(&g, sid, H2_STATE_HALF_CLOSED_LOCAL, -1, 0, 1);
    h2_svc_event *st = query(&g, 0);
    cr_assert_eq(st->state->highest_outbound_stream_id, sid);
    cr_assert_eq(st->state->open_outbound_streams, 1u);
    h2_svc_event_release(st);
    rig_free(&g);
}

Test(service_query, unknown_streams_as_the_core_tells_them)
{
    rig g;
    rig_start(&g, H2_ROLE_SERVER, NULL);
    /* Never used, above every id: idle. */
    expect_stream(&g, 7, H2_STATE_IDLE, -1, H2_ENOSTREAM, 0);
    /* The peer opens 5: 1 and 3 are closed without ever being opened. */
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 5, get_fields, 4, 0, NULL), 0);
    peer_flush(&g.p);
    h2_svc_event *ev = wait_event(g.r.q, H2_SVC_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    expect_stream(&g, 3, H2_STATE_CLOSED, H2_CLOSED_BY_UNKNOWN, H2_ESTREAM_CLOSED, 1);
    expect_stream(&g, 7, H2_STATE_IDLE, -1, H2_ENOSTREAM, 1);
    /* One of ours (even) never opened: idle too. */
    expect_stream(&g, 2, H2_STATE_IDLE, -1, H2_ENOSTREAM, 1);
    cr_assert_eq(h2_svc_query_state(g.r.svc, g.id, 0x80000000u, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_query_state(NULL, g.id, 1, 0), H2_EINVAL);
    rig_free(&g);
}

Test(service_query, the_snapshot_outlives_the_service)
{
    rig g;
    rig_start(&g, H2_ROLE_SERVER, NULL);
    cr_assert_eq(h2_svc_update_settings(g.r.svc, g.id,
                                        &(h2_setting){H2_SETTING_HEADER_TABLE_SIZE, 1024}, 1, 0),
                 0);
    h2_svc_event *ev = query(&g, 0);
    h2_svc_free(g.r.svc);
    const h2_svc_conn_state *st = ev->state;
    cr_assert_eq(st->n_pending, 1u);
    cr_assert_eq(st->pending[0].value, 1024u);
    cr_assert_eq(st->local[N_KNOWN - 1].id, H2_SETTING_NO_RFC7540_PRIORITIES);
    h2_svc_event_release(ev);
    h2_svc_queue_free(g.r.q);
    cr_assert_eq(lockmem_live(&g.r.lm), 0u);
    peer_free(&g.p);
}

/* ---- several threads at once ---- */

#define QUERY_THREADS 4
#define QUERIES_EACH 300

typedef struct asker {
    h2_svc *svc;
    h2_svc_conn_id id;
    uint64_t thread;
    int eagain;
} asker;

static void *ask(void *arg)
{
    asker *a = arg;
    for (uint64_t i = 0; i < QUERIES_EACH; i++) {
        int rv;
        while ((rv = h2_svc_query_state(a->svc, a->id, (uint32_t)(i % 4) * 2 + 1,
                                        a->thread << 32 | i)) == H2_EAGAIN)
            a->eagain++;
        cr_assert_eq(rv, 0);
    }
    return NULL;
}

Test(service_query, from_several_threads_at_once)
{
    rig g;
    rig_start(&g, H2_ROLE_SERVER, NULL);
    /* Streams 1 and 3 open and sending meanwhile. */
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 1, post_fields, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_send_headers(g.p.conn, 3, post_fields, 4, 0, NULL), 0);
    peer_flush(&g.p);
    pthread_t th[QUERY_THREADS];
    asker a[QUERY_THREADS];
    for (int t = 0; t < QUERY_THREADS; t++) {
        a[t] = (asker){g.r.svc, g.id, (uint64_t)t, 0};
        cr_assert_eq(pthread_create(&th[t], NULL, ask, &a[t]), 0);
    }
    uint8_t chunk[100] = {0};
    size_t sent = 0;
    uint64_t next[QUERY_THREADS] = {0};
    int answers = 0;
    int64_t end = now_ms() + 10000;
    while (answers < QUERY_THREADS * QUERIES_EACH) {
        cr_assert_lt(now_ms(), end, "%d answers", answers);
        if (sent < 20000) {
            cr_assert_eq(h2_conn_send_data(g.p.conn, 1 + (uint32_t)(sent / 100 % 2) * 2, chunk,
                                           sizeof chunk, 0, -1),
                         0);
            peer_flush(&g.p);
            sent += sizeof chunk;
        }
        h2_svc_event *ev = next_event(g.r.q, 5000);
        cr_assert_not_null(ev);
        cr_assert_neq(ev->type, H2_SVC_EV_CLOSED);
        cr_assert_neq(ev->type, H2_SVC_EV_COMMAND_FAILED);
        if (ev->type == H2_SVC_EV_STATE) {
            uint64_t t = ev->user >> 32, i = ev->user & 0xffffffffu;
            cr_assert_lt(t, (uint64_t)QUERY_THREADS);
            /* One thread's queries are answered in the order it posted them. */
            cr_assert_eq(i, next[t]);
            next[t]++;
            const h2_svc_conn_state *st = ev->state;
            cr_assert_eq(st->stream_id, ev->stream_id);
            cr_assert_eq(st->n_local, N_KNOWN);
            cr_assert(st->stream_state == H2_STATE_OPEN || st->stream_state == H2_STATE_IDLE);
            cr_assert_geq(st->recv_window, 65535 - 20000);
            answers++;
        }
        h2_svc_event_release(ev);
    }
    for (int t = 0; t < QUERY_THREADS; t++)
        cr_assert_eq(pthread_join(th[t], NULL), 0);
    rig_free(&g);
}
