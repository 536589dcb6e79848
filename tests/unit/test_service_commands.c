/*
 * Commands beyond the basic ones, each checked on the wire by a peer
 * driven by the test: update settings, server push (the promised id comes
 * back in H2_SVC_EV_PUSH_PROMISED), RFC 7540 PRIORITY and RFC 9218
 * PRIORITY_UPDATE, trailers behind held data; refusals as COMMAND_FAILED;
 * posting that waits for ring room (post_wait_ms).
 */
#include <semaphore.h>
#include <stdatomic.h>
#include "support/test_sync.h"
#include "test_service_util.h"

typedef struct wire {
    bool settings; /* the first SETTINGS of the service */
    int n_changes; /* REMOTE_SETTINGS_CHANGED events */
    uint16_t last_id;
    uint32_t last_value;
    uint32_t pushed, push_parent;
    bool pushed_path_ok;
    uint32_t response_streams; /* bit per stream id < 32 that got a response */
    uint32_t ended_streams;
    char data2[16];
    size_t data2_len;
    bool priority;
    uint16_t weight;
    uint32_t depends_on;
    bool prio_update;
    uint8_t urgency;
    bool trailers;
    size_t data_before_trailers;
} wire;

static void on_wire(void *arg, const h2_event *ev)
{
    wire *w = arg;
    switch (ev->type) {
    case H2_EV_REMOTE_SETTINGS_CHANGED:
        w->settings = true;
        w->n_changes++;
        if (ev->u.settings.n > 0) {
            w->last_id = ev->u.settings.changed[ev->u.settings.n - 1].id;
            w->last_value = ev->u.settings.changed[ev->u.settings.n - 1].new_value;
        }
        break;
    case H2_EV_PUSHED_STREAM_RECEIVED:
        w->pushed = ev->stream_id;
        w->push_parent = ev->u.push.parent_stream_id;
        for (size_t i = 0; i < ev->u.push.n; i++)
            if (ev->u.push.fields[i].name_len == 5 &&
                memcmp(ev->u.push.fields[i].name, ":path", 5) == 0)
                w->pushed_path_ok = ev->u.push.fields[i].value_len == 10 &&
                                    memcmp(ev->u.push.fields[i].value, "/style.css", 10) == 0;
        break;
    case H2_EV_RESPONSE_RECEIVED:
        w->response_streams |= 1u << ev->stream_id;
        break;
    case H2_EV_DATA_RECEIVED:
        if (ev->stream_id == 2) {
            memcpy(w->data2 + w->data2_len, ev->u.data.data, ev->u.data.len);
            w->data2_len += ev->u.data.len;
        }
        if (ev->stream_id == 1 && !w->trailers)
            w->data_before_trailers += ev->u.data.len;
        if (ev->u.data.stream_ended >= 0)
            w->ended_streams |= 1u << ev->stream_id;
        break;
    case H2_EV_TRAILERS_RECEIVED:
        w->trailers = true;
        if (ev->u.headers.stream_ended >= 0)
            w->ended_streams |= 1u << ev->stream_id;
        break;
    case H2_EV_PRIORITY_UPDATED:
        w->priority = true;
        w->weight = ev->u.priority.weight;
        w->depends_on = ev->u.priority.depends_on;
        break;
    case H2_EV_PRIORITY_UPDATE_RECEIVED:
        w->prio_update = true;
        w->urgency = ev->u.priority_update.urgency;
        break;
    default:
        break;
    }
}

typedef struct rig {
    lockmem lm;
    h2_svc *svc;
    h2_svc_queue *q;
    h2_svc_conn_id id;
    peer p;
    wire w;
} rig;

/* The service side has |role|; the peer the other one. */
static void rig_start(rig *r, h2_role role, bool peer_push)
{
    lockmem_init(&r->lm);
    r->svc = new_service(&r->lm, 1, 0);
    r->q = new_queue(&r->lm, 64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h2_svc_conn_config sc;
    h2_svc_conn_config_init(&sc, role);
    sc.queue = r->q;
    cr_assert_eq(h2_svc_attach_fd(r->svc, sv[1], &sc, &r->id), 0);
    h2_conn_config pc;
    h2_conn_config_init(&pc, role == H2_ROLE_SERVER ? H2_ROLE_CLIENT : H2_ROLE_SERVER);
    if (role == H2_ROLE_SERVER)
        pc.enable_push = peer_push ? 1 : 0;
    memset(&r->p, 0, sizeof r->p);
    r->p.fd = sv[0];
    cr_assert_eq(h2_conn_new(&r->p.conn, &pc), 0);
    memset(&r->w, 0, sizeof r->w);
    cr_assert_eq(h2_conn_initiate(r->p.conn), 0);
    peer_flush(&r->p);
    int64_t end = now_ms() + 5000;
    while (!r->w.settings) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r->p, 10, on_wire, &r->w);
    }
}

static void rig_until(rig *r, bool *flag)
{
    int64_t end = now_ms() + 5000;
    while (!*flag) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r->p, 10, on_wire, &r->w);
    }
}

static void rig_free(rig *r)
{
    h2_svc_free(r->svc);
    h2_svc_queue_free(r->q);
    peer_free(&r->p);
    cr_assert_eq(lockmem_live(&r->lm), 0u);
}

/* The next COMMAND_FAILED event: checks command, error and user. */
static void expect_failed(rig *r, int command, int error, uint64_t user)
{
    h2_svc_event *ev = wait_event(r->q, H2_SVC_EV_COMMAND_FAILED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->command, command);
    cr_assert_eq(ev->error, error, "error %d", ev->error);
    cr_assert_eq(ev->user, user);
    h2_svc_event_release(ev);
}

Test(service_commands, update_settings)
{
    rig r;
    rig_start(&r, H2_ROLE_SERVER, true);
    int before = r.w.n_changes;
    h2_setting s = {H2_SETTING_MAX_CONCURRENT_STREAMS, 7};
    cr_assert_eq(h2_svc_update_settings(r.svc, r.id, &s, 1, 5), 0);
    int64_t end = now_ms() + 5000;
    while (r.w.n_changes == before) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r.p, 10, on_wire, &r.w);
    }
    cr_assert_eq(r.w.last_id, H2_SETTING_MAX_CONCURRENT_STREAMS);
    cr_assert_eq(r.w.last_value, 7u);
    /* A value out of range: refused by the core, reported with the tag. */
    h2_setting bad = {H2_SETTING_ENABLE_PUSH, 2};
    cr_assert_eq(h2_svc_update_settings(r.svc, r.id, &bad, 1, 6), 0);
    expect_failed(&r, H2_SVC_CMD_SETTINGS, H2_ESETTINGS, 6);
    cr_assert_eq(h2_svc_update_settings(r.svc, r.id, NULL, 1, 0), H2_EINVAL);
    rig_free(&r);
}

static const h2_header css_fields[] = {
    HDR(":method", "GET"),
    HDR(":scheme", "http"),
    HDR(":path", "/style.css"),
    HDR(":authority", "example.org"),
};

Test(service_commands, push_reports_the_promised_stream)
{
    rig r;
    rig_start(&r, H2_ROLE_SERVER, true);
    cr_assert_eq(h2_conn_send_headers(r.p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);

    cr_assert_eq(h2_svc_push(r.svc, r.id, 1, css_fields, 4, 77), 0);
    ev = wait_event(r.q, H2_SVC_EV_PUSH_PROMISED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 2u);
    cr_assert_eq(ev->parent_stream_id, 1u);
    cr_assert_eq(ev->user, 77u);
    h2_svc_event_release(ev);
    /* Response on the pushed stream, then on the request. */
    cr_assert_eq(h2_svc_submit_headers(r.svc, r.id, 2, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(
        h2_svc_send_data(r.svc, r.id, 2, (const uint8_t *)"pushed", 6, H2_SEND_END_STREAM, 0),
        0);
    cr_assert_eq(h2_svc_submit_headers(r.svc, r.id, 1, ok_fields, 1, H2_SEND_END_STREAM, 0), 0);
    int64_t end = now_ms() + 5000;
    while ((r.w.ended_streams & 0x6u) != 0x4u || (r.w.response_streams & 0x6u) != 0x6u) {
        cr_assert_lt(now_ms(), end);
        peer_pump(&r.p, 10, on_wire, &r.w);
    }
    cr_assert_eq(r.w.pushed, 2u);
    cr_assert_eq(r.w.push_parent, 1u);
    cr_assert(r.w.pushed_path_ok);
    cr_assert_eq(r.w.data2_len, 6u);
    cr_assert(memcmp(r.w.data2, "pushed", 6) == 0);

    /* The parent is finished now: a second promise on it is refused. */
    cr_assert_eq(h2_svc_push(r.svc, r.id, 1, css_fields, 4, 78), 0);
    expect_failed(&r, H2_SVC_CMD_PUSH, H2_ESTREAM_CLOSED, 78);
    rig_free(&r);
}

Test(service_commands, push_refused_when_the_peer_disabled_it)
{
    rig r;
    rig_start(&r, H2_ROLE_SERVER, false);
    cr_assert_eq(h2_conn_send_headers(r.p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    cr_assert_eq(h2_svc_push(r.svc, r.id, 1, css_fields, 4, 3), 0);
    expect_failed(&r, H2_SVC_CMD_PUSH, H2_EPUSH_DISABLED, 3);
    cr_assert_eq(h2_svc_push(r.svc, r.id, 0, css_fields, 4, 3), H2_EINVAL);
    rig_free(&r);
}

Test(service_commands, priority_and_priority_update)
{
    rig r;
    rig_start(&r, H2_ROLE_CLIENT, false);
    h2_priority_args prio = {.weight = 200, .depends_on = 0, .exclusive = false};
    cr_assert_eq(h2_svc_prioritize(r.svc, r.id, 3, &prio, 0), 0);
    rig_until(&r, &r.w.priority);
    cr_assert_eq(r.w.weight, 200u);
    cr_assert_eq(r.w.depends_on, 0u);
    cr_assert_eq(h2_svc_priority_update(r.svc, r.id, 1, (const uint8_t *)"u=2", 3, 0), 0);
    rig_until(&r, &r.w.prio_update);
    cr_assert_eq(r.w.urgency, 2u);
    /* A stream depending on itself: refused by the core. */
    prio.depends_on = 5;
    cr_assert_eq(h2_svc_prioritize(r.svc, r.id, 5, &prio, 9), 0);
    expect_failed(&r, H2_SVC_CMD_PRIORITY, H2_EINVAL, 9);
    cr_assert_eq(h2_svc_prioritize(r.svc, r.id, 0, NULL, 0), H2_EINVAL);
    cr_assert_eq(h2_svc_priority_update(r.svc, r.id, 1, NULL, 3, 0), H2_EINVAL);
    rig_free(&r);
}

Test(service_commands, priority_refused_on_a_server)
{
    rig r;
    rig_start(&r, H2_ROLE_SERVER, true);
    cr_assert_eq(h2_svc_prioritize(r.svc, r.id, 1, NULL, 4), 0);
    expect_failed(&r, H2_SVC_CMD_PRIORITY, H2_EROLE, 4);
    cr_assert_eq(h2_svc_priority_update(r.svc, r.id, 1, (const uint8_t *)"u=1", 3, 5), 0);
    expect_failed(&r, H2_SVC_CMD_PRIORITY_UPDATE, H2_EROLE, 5);
    rig_free(&r);
}

Test(service_commands, trailers_follow_held_data)
{
    rig r;
    rig_start(&r, H2_ROLE_SERVER, true);
    cr_assert_eq(h2_conn_send_headers(r.p.conn, 1, get_fields, 4, H2_SEND_END_STREAM, NULL), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_REQUEST_RECEIVED, 5000);
    cr_assert_not_null(ev);
    h2_svc_event_release(ev);
    /* More than the peer's window: the data waits for WINDOW_UPDATEs, and
     * the trailers wait behind it. */
    size_t len = 200000;
    uint8_t *body = make_body(len, 4);
    static const h2_header trailers[] = {HDR("x-checksum", "abc")};
    cr_assert_eq(h2_svc_submit_headers(r.svc, r.id, 1, ok_fields, 1, 0, 0), 0);
    cr_assert_eq(h2_svc_send_data(r.svc, r.id, 1, body, len, 0, 0), 0);
    cr_assert_eq(h2_svc_submit_headers(r.svc, r.id, 1, trailers, 1, H2_SEND_END_STREAM, 0), 0);
    int64_t end = now_ms() + 10000;
    while ((r.w.ended_streams & 0x2u) == 0) {
        cr_assert_lt(now_ms(), end);
        size_t before = r.w.data_before_trailers;
        peer_pump(&r.p, 10, on_wire, &r.w);
        /* Give the window back as the bytes arrive. */
        size_t got = r.w.data_before_trailers - before;
        if (got > 0) {
            cr_assert_eq(h2_conn_ack_data(r.p.conn, 1, got), 0);
            peer_flush(&r.p);
        }
    }
    cr_assert(r.w.trailers);
    cr_assert_eq(r.w.data_before_trailers, len);
    free(body);
    rig_free(&r);
}

/* ---- waiting for ring room ---- */

typedef struct gate {
    sem_t entered, go;
} gate;

static void gate_event(void *user, h2_svc_event *ev)
{
    gate *g = user;
    if (ev->type == H2_SVC_EV_ATTACHED) {
        sem_post(&g->entered);
        sem_wait(&g->go);
    }
    h2_svc_event_release(ev);
}

static void discard_output(void *user, h2_svc_conn_id conn, const uint8_t *data, size_t len)
{
    (void)user;
    (void)conn;
    (void)data;
    (void)len;
}

/* Opens the gate once the test thread is about to post into the full ring. */
typedef struct opener {
    gate *g;
    tsync posting;
    atomic_bool opened;
} opener;

static void *open_gate_when_posting(void *arg)
{
    opener *o = arg;
    cr_assert(tsync_wait_geq(&o->posting, 1, 5000));
    atomic_store(&o->opened, true);
    sem_post(&o->g->go);
    return NULL;
}

static h2_svc *gated_service(lockmem *lm, int wait_ms, gate *g, h2_svc_conn_id *id)
{
    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cr_assert_eq(cfg.post_wait_ms, 0);
    cfg.workers = 1;
    cfg.mailbox_capacity = 4;
    cfg.mem = &lm->mem;
    cfg.post_wait_ms = wait_ms;
    h2_svc *svc = NULL;
    cr_assert_eq(h2_svc_new(&svc, &cfg), 0);
    sem_init(&g->entered, 0, 0);
    sem_init(&g->go, 0, 0);
    h2_svc_conn_config cc;
    h2_svc_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.on_event = gate_event;
    cc.user = g;
    cc.on_output = discard_output;
    cr_assert_eq(h2_svc_attach_feed(svc, &cc, id), 0);
    sem_wait(&g->entered); /* the worker is held: the ring fills */
    uint8_t opaque[8] = {0};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h2_svc_ping(svc, *id, opaque, 0), 0);
    return svc;
}

Test(service_commands, post_waits_for_room)
{
    lockmem lm;
    lockmem_init(&lm);
    gate g;
    h2_svc_conn_id id = 0;
    h2_svc *svc = gated_service(&lm, -1, &g, &id);
    pthread_t th;
    opener o = {.g = &g};
    tsync_init(&o.posting);
    atomic_init(&o.opened, false);
    cr_assert_eq(pthread_create(&th, NULL, open_gate_when_posting, &o), 0);
    uint8_t opaque[8] = {0};
    /* The ring is full: the call waits until the worker drains it, which
     * only the gate lets it do. */
    tsync_add(&o.posting, 1);
    cr_assert_eq(h2_svc_ping(svc, id, opaque, 0), 0);
    cr_assert(atomic_load(&o.opened), "the post returned before the ring had room");
    pthread_join(th, NULL);
    tsync_destroy(&o.posting);
    h2_svc_free(svc);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

Test(service_commands, post_wait_gives_up_after_its_timeout)
{
    lockmem lm;
    lockmem_init(&lm);
    gate g;
    h2_svc_conn_id id = 0;
    h2_svc *svc = gated_service(&lm, 60, &g, &id);
    uint8_t opaque[8] = {0};
    int64_t start = now_ms();
    cr_assert_eq(h2_svc_ping(svc, id, opaque, 0), H2_EAGAIN);
    int64_t took = now_ms() - start;
    cr_assert_geq(took, 55);
    cr_assert_lt(took, 2000);
    sem_post(&g.go);
    h2_svc_free(svc);
    cr_assert_eq(lockmem_live(&lm), 0u);
}

/* ---- events passed on for servers ---- */

Test(service_commands, priority_update_and_limit_events_reach_a_server)
{
    rig r;
    rig_start(&r, H2_ROLE_SERVER, true);
    cr_assert_eq(h2_conn_send_priority_update(r.p.conn, 1, (const uint8_t *)"u=5, i", 6), 0);
    peer_flush(&r.p);
    h2_svc_event *ev = wait_event(r.q, H2_EV_PRIORITY_UPDATE_RECEIVED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->stream_id, 1u);
    cr_assert_eq(ev->len, 6u);
    cr_assert(memcmp(ev->data, "u=5, i", 6) == 0);
    h2_svc_event_release(ev);

    /* A SETTINGS frame with 40 entries trips the entry limit: GOAWAY. */
    uint8_t f[9 + 40 * 6];
    size_t len = 40 * 6;
    f[0] = (uint8_t)(len >> 16);
    f[1] = (uint8_t)(len >> 8);
    f[2] = (uint8_t)len;
    f[3] = 0x4;
    memset(f + 4, 0, 5);
    for (int i = 0; i < 40; i++) {
        uint8_t *e = f + 9 + i * 6;
        e[0] = 0;
        e[1] = H2_SETTING_MAX_CONCURRENT_STREAMS;
        e[2] = e[3] = e[4] = 0;
        e[5] = 10;
    }
    write_all(r.p.fd, f, sizeof f);
    ev = wait_event(r.q, H2_EV_LIMIT_EXCEEDED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->limit, H2_LIMIT_SETTINGS_ENTRIES);
    cr_assert(ev->limit_connection);
    cr_assert_eq(ev->error_code, H2_ENHANCE_YOUR_CALM);
    h2_svc_event_release(ev);
    ev = wait_event(r.q, H2_SVC_EV_CLOSED, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->reason, H2_SVC_CLOSE_PROTOCOL);
    cr_assert_eq(ev->error_code, H2_ENHANCE_YOUR_CALM);
    h2_svc_event_release(ev);
    rig_free(&r);
}
