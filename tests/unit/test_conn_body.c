/*
 * h2_conn_send_body(): bodies larger than the windows, frame size splits,
 * END_STREAM only on the last frame, shut windows, the output's
 * high-water mark, and bodies completed by repeated calls after
 * WINDOW_UPDATEs.
 */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"

TestSuite(conn_body);

static uint8_t body[200000];

static void fill_body(void)
{
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7 + i / 251);
}

/* What the server got of the body on stream 1, and whether it ended. */
typedef struct sink {
    uint8_t *data;
    size_t len;
    bool ended;
} sink;

/* Client output to the server: checks the DATA frames, collects their bytes, acks them. */
static void deliver(h2t_pair *p, sink *k, h2t_frame *frames, size_t *n_frames, size_t max)
{
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(p->cl, &out);
    *n_frames = h2t_parse_frames(out.p, out.len, frames, max);
    const h2_event *ev;
    size_t n_ev;
    cr_assert_eq(h2_conn_receive(p->sv, out.p, out.len, &ev, &n_ev), 0);
    for (size_t i = 0; i < n_ev; i++) {
        if (ev[i].type == H2_EV_DATA_RECEIVED) {
            if (ev[i].u.data.len > 0)
                memcpy(k->data + k->len, ev[i].u.data.data, ev[i].u.data.len);
            k->len += ev[i].u.data.len;
            cr_assert_eq(h2_conn_ack_data(p->sv, 1, ev[i].u.data.flow_controlled_length), 0);
        } else if (ev[i].type == H2_EV_STREAM_ENDED && ev[i].stream_id == 1) {
            k->ended = true;
        }
    }
    h2t_buf_free(&out);
}

static void open_post(h2t_pair *p)
{
    cr_assert_eq(h2_conn_send_headers(p->cl, 1, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2t_c2s(p), 0);
}

Test(conn_body, larger_than_window_completes_after_window_updates)
{
    fill_body();
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    open_post(&p);
    static uint8_t got[200000];
    sink k = {got, 0, false};
    h2t_frame fr[64];
    size_t nf;
    size_t len = 100000, off = 0, taken = 0;

    cr_assert_eq(h2_conn_send_body(p.cl, 1, body, len, true, &taken), 0);
    cr_assert_eq(taken, 65535);
    deliver(&p, &k, fr, &nf, 64);
    cr_assert_eq(nf, 4);
    for (size_t i = 0; i < nf; i++) {
        cr_assert_eq(fr[i].type, 0 /* DATA */);
        cr_assert_eq(fr[i].id, 1);
        cr_assert_eq(fr[i].flags & 0x1, 0, "no END_STREAM before the last byte");
        cr_assert_eq(fr[i].len, i < 3 ? 16384u : 16383u);
    }
    off += taken;
    /* windows shut: nothing taken, nothing queued, no error */
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body + off, len - off, true, &taken), 0);
    cr_assert_eq(taken, 0);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);

    /* the server's WINDOW_UPDATEs (from ack_data) reopen them */
    int rounds = 0;
    while (off < len) {
        cr_assert_eq(h2t_s2c(&p), 0);
        cr_assert_eq(h2_conn_send_body(p.cl, 1, body + off, len - off, true, &taken), 0);
        cr_assert_gt(taken, 0);
        off += taken;
        deliver(&p, &k, fr, &nf, 64);
        for (size_t i = 0; i < nf; i++) {
            bool last_frame = off == len && i == nf - 1;
            cr_assert_eq((fr[i].flags & 0x1) != 0, last_frame);
        }
        cr_assert_lt(++rounds, 10);
    }
    cr_assert(k.ended);
    cr_assert_eq(k.len, len);
    cr_assert(memcmp(got, body, len) == 0);
    cr_assert_eq(h2_conn_stream_state(p.cl, 1), H2_STATE_HALF_CLOSED_LOCAL);
    h2t_pair_free(&p);
}

Test(conn_body, split_at_the_peer_frame_size)
{
    fill_body();
    h2_conn_config sc;
    h2_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.max_frame_size = 20000;
    sc.initial_window_size = 1u << 20;
    sc.connection_window_size = 1u << 20;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &sc);
    open_post(&p);
    static uint8_t got[60000];
    sink k = {got, 0, false};
    h2t_frame fr[16];
    size_t nf, taken = 0;
    cr_assert_eq(h2_conn_max_outbound_frame_size(p.cl), 20000);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body, 50000, true, &taken), 0);
    cr_assert_eq(taken, 50000);
    deliver(&p, &k, fr, &nf, 16);
    cr_assert_eq(nf, 3);
    cr_assert_eq(fr[0].len, 20000);
    cr_assert_eq(fr[1].len, 20000);
    cr_assert_eq(fr[2].len, 10000);
    cr_assert_eq(fr[0].flags, 0);
    cr_assert_eq(fr[1].flags, 0);
    cr_assert_eq(fr[2].flags, 0x1);
    cr_assert(k.ended);
    cr_assert(memcmp(got, body, 50000) == 0);
    h2t_pair_free(&p);
}

Test(conn_body, without_end_stream_then_empty_end)
{
    fill_body();
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    open_post(&p);
    static uint8_t got[1000];
    sink k = {got, 0, false};
    h2t_frame fr[4];
    size_t nf, taken = 0;
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body, 1000, false, &taken), 0);
    cr_assert_eq(taken, 1000);
    deliver(&p, &k, fr, &nf, 4);
    cr_assert_eq(nf, 1);
    cr_assert_eq(fr[0].flags, 0);
    cr_assert_not(k.ended);
    /* len 0 without end_stream: nothing */
    cr_assert_eq(h2_conn_send_body(p.cl, 1, NULL, 0, false, &taken), 0);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);
    /* len 0 with end_stream: one empty DATA with END_STREAM */
    cr_assert_eq(h2_conn_send_body(p.cl, 1, NULL, 0, true, &taken), 0);
    cr_assert_eq(taken, 0);
    deliver(&p, &k, fr, &nf, 4);
    cr_assert_eq(nf, 1);
    cr_assert_eq(fr[0].len, 0);
    cr_assert_eq(fr[0].flags, 0x1);
    cr_assert(k.ended);
    h2t_pair_free(&p);
}

Test(conn_body, zero_window)
{
    fill_body();
    h2_conn_config sc;
    h2_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.initial_window_size = 0;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &sc);
    open_post(&p);
    static uint8_t got[100];
    sink k = {got, 0, false};
    h2t_frame fr[4];
    size_t nf, taken = 99;
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body, 100, true, &taken), 0);
    cr_assert_eq(taken, 0);
    cr_assert_eq(h2_conn_output_pending(p.cl), 0);
    /* a stream WINDOW_UPDATE of 10 lets exactly 10 bytes through, without END_STREAM */
    cr_assert_eq(h2_conn_increment_window(p.sv, 1, 10), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body, 100, true, &taken), 0);
    cr_assert_eq(taken, 10);
    deliver(&p, &k, fr, &nf, 4);
    cr_assert_eq(nf, 1);
    cr_assert_eq(fr[0].len, 10);
    cr_assert_eq(fr[0].flags, 0);
    cr_assert_eq(h2_conn_increment_window(p.sv, 1, 1000), 0);
    cr_assert_eq(h2t_s2c(&p), 0);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body + 10, 90, true, &taken), 0);
    cr_assert_eq(taken, 90);
    deliver(&p, &k, fr, &nf, 4);
    cr_assert_eq(nf, 1);
    cr_assert_eq(fr[0].flags, 0x1);
    cr_assert(k.ended);
    cr_assert(memcmp(got, body, 100) == 0);
    h2t_pair_free(&p);
}

Test(conn_body, stops_at_the_high_water_mark)
{
    fill_body();
    h2_conn_config cc, sc;
    h2_conn_config_init(&cc, H2_ROLE_CLIENT);
    cc.output_high_water = 1000;
    h2_conn_config_init(&sc, H2_ROLE_SERVER);
    sc.initial_window_size = 1u << 20;
    sc.connection_window_size = 1u << 20;
    h2t_pair p;
    h2t_pair_init(&p, &cc, &sc);
    open_post(&p);
    static uint8_t got[50000];
    sink k = {got, 0, false};
    h2t_frame fr[8];
    size_t nf, taken = 0, off = 0;
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body, 50000, true, &taken), 0);
    cr_assert_eq(taken, 16384, "one frame takes the output past the mark");
    off += taken;
    cr_assert_eq(h2_conn_send_body(p.cl, 1, body + off, 50000 - off, true, &taken), H2_ENOBUFS);
    cr_assert_eq(taken, 0);
    while (off < 50000) {
        deliver(&p, &k, fr, &nf, 8);
        cr_assert_eq(h2_conn_send_body(p.cl, 1, body + off, 50000 - off, true, &taken), 0);
        cr_assert_gt(taken, 0);
        off += taken;
    }
    deliver(&p, &k, fr, &nf, 8);
    cr_assert(k.ended);
    cr_assert_eq(k.len, 50000);
    cr_assert(memcmp(got, body, 50000) == 0);
    h2t_pair_free(&p);
}

Test(conn_body, errors)
{
    h2t_pair p;
    h2t_pair_init(&p, NULL, NULL);
    size_t taken = 5;
    uint8_t b[4] = {1, 2, 3, 4};
    cr_assert_eq(h2_conn_send_body(NULL, 1, b, 4, false, &taken), H2_EINVAL);
    cr_assert_eq(taken, 0);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, b, 4, false, NULL), H2_EINVAL);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, NULL, 4, false, &taken), H2_EINVAL);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, b, 4, false, &taken), H2_ENOSTREAM);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2_conn_send_body(p.cl, 1, b, 4, false, &taken), H2_ESTATE);
    cr_assert_eq(h2_conn_send_headers(p.cl, 3, h2t_req_post, 4, 0, NULL), 0);
    cr_assert_eq(h2_conn_reset_stream(p.cl, 3, H2_CANCEL), 0);
    cr_assert_eq(h2_conn_send_body(p.cl, 3, b, 4, true, &taken), H2_ESTREAM_CLOSED);
    cr_assert_eq(taken, 0);
    /* a server cannot send a body before its response headers */
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_body(p.sv, 1, b, 4, true, &taken), H2_ESTATE);
    h2t_pair_free(&p);
}

Test(conn_body, not_initiated)
{
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, NULL);
    size_t taken;
    cr_assert_eq(h2_conn_send_body(c, 1, (const uint8_t *)"x", 1, true, &taken), H2_ESTATE);
    h2_conn_free(c);
}
