/* Configuration defaults and validation. */
#include <string.h>
#include <criterion/criterion.h>
#include "h2/h2.h"
#include "support/conn_helpers.h"
#include "support/testmem.h"

Test(conn_config, client_defaults)
{
    h2_conn_config c;
    h2_conn_config_init(&c, H2_ROLE_CLIENT);
    cr_assert_eq(c.role, H2_ROLE_CLIENT);
    cr_assert(c.validate_inbound_headers);
    cr_assert(c.normalize_inbound_headers);
    cr_assert(c.validate_outbound_headers);
    cr_assert(c.normalize_outbound_headers);
    cr_assert_not(c.split_outbound_cookies);
    cr_assert_eq(c.header_table_size, 4096);
    cr_assert_eq(c.enable_push, 1);
    cr_assert_eq(c.max_concurrent_streams, 100);
    cr_assert_eq(c.initial_window_size, 65535);
    cr_assert_eq(c.max_frame_size, 16384);
    cr_assert_eq(c.max_header_list_size, 65536);
    cr_assert_eq(c.enable_connect_protocol, 0);
    cr_assert_eq(c.connection_window_size, 65535);
    cr_assert_eq(c.max_continuation_frames, 9);
    cr_assert_eq(c.max_closed_streams, 65536);
    cr_assert_eq(c.encoder_table_cap, 4096);
    cr_assert_eq(c.output_high_water, 1u << 16);
    cr_assert_null(c.mem);
}

Test(conn_config, server_defaults)
{
    h2_conn_config c;
    h2_conn_config_init(&c, H2_ROLE_SERVER);
    cr_assert_eq(c.role, H2_ROLE_SERVER);
    cr_assert_eq(c.enable_push, 0);
}

Test(conn_config, invalid_configs_refused)
{
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(NULL, NULL), H2_EINVAL);
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(h2_conn_new(&c, NULL), H2_EINVAL);
    h2_conn_config bad = cfg;
    bad.role = (h2_role)7;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    bad = cfg;
    bad.max_frame_size = 100;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    bad = cfg;
    bad.initial_window_size = 0x80000000u;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    bad = cfg;
    bad.enable_push = 2;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    bad = cfg;
    bad.connection_window_size = 100;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    bad = cfg;
    bad.max_continuation_frames = 0;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    bad = cfg;
    bad.enable_connect_protocol = 2;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    h2_conn_config_init(&bad, H2_ROLE_SERVER);
    bad.enable_push = 1;
    cr_assert_eq(h2_conn_new(&c, &bad), H2_EINVAL);
    cr_assert_null(c);
}

Test(conn_config, config_is_copied)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.max_concurrent_streams = 7;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, &cfg);
    cfg.max_concurrent_streams = 99;
    cr_assert_eq(h2_conn_setting(c, false, H2_SETTING_MAX_CONCURRENT_STREAMS), 7);
    h2_conn_free(c);
}

Test(conn_config, custom_settings_in_preface)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.header_table_size = 0;
    cfg.max_concurrent_streams = 1000;
    cfg.initial_window_size = 0x7fffffff;
    cfg.max_frame_size = 1 << 20;
    cfg.max_header_list_size = 8192;
    cfg.enable_connect_protocol = 1;
    h2_conn *c = h2t_conn_new(H2_ROLE_SERVER, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf out;
    h2t_buf_init(&out);
    h2t_take(c, &out);
    static const uint8_t expect[] = {0,    0, 42, 4, 0,    0,    0, 0, 0, 0, 1,    0,    0,
                                     0,    0, 0,  2, 0,    0,    0, 0, 0, 4, 0x7f, 0xff, 0xff,
                                     0xff, 0, 5,  0, 0x10, 0,    0, 0, 8, 0, 0,    0,    1,
                                     0,    3, 0,  0, 0x03, 0xe8, 0, 6, 0, 0, 0x20, 0};
    cr_assert_eq(out.len, sizeof(expect));
    cr_assert_arr_eq(out.p, expect, sizeof(expect));
    h2t_buf_free(&out);
    h2_conn_free(c);
}

Test(conn_config, allocator_hook_is_used)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.mem = &tm.mem;
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_geq(tm.n_alloc, 1);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2_conn_free(c);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(conn_config, idle_connection_is_small)
{
    testmem tm;
    testmem_init(&tm);
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.mem = &tm.mem;
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_buf in;
    h2t_buf_init(&in);
    h2t_f_preface(&in);
    h2t_f_settings(&in, 0, NULL, 0);
    h2t_f_settings(&in, 1, NULL, 0);
    cr_assert_eq(h2t_feed(c, in.p, in.len, NULL), 0);
    h2t_take(c, NULL);
    /* no HPACK tables, stream tables or reassembly buffers yet: about 2 KiB
     * (the connection object, its copy of the configuration included) */
    cr_assert_leq(tm.live_bytes, 2112, "idle connection holds %zu bytes", tm.live_bytes);
    h2t_buf_free(&in);
    h2_conn_free(c);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(conn_config, out_of_memory_on_new)
{
    testmem tm;
    testmem_init(&tm);
    tm.fail_at = 1;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.mem = &tm.mem;
    h2_conn *c = NULL;
    cr_assert_eq(h2_conn_new(&c, &cfg), H2_ENOMEM);
    cr_assert_eq(tm.live_blocks, 0);
}

Test(conn_config, validation_flags_are_independent)
{
    static const h2_header h[] = {
        H2T_HDR(":method", "GET"), H2T_HDR(":scheme", "https"), H2T_HDR(":authority", "a"),
        H2T_HDR(":path", "/"),     H2T_HDR("UPPER", "v"),
    };
    /* normalising lowercases the name, so validation passes */
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    h2_conn *c = h2t_client_ready(&cfg);
    cr_assert_eq(h2_conn_send_headers(c, 1, h, 5, H2_SEND_END_STREAM, NULL), 0);
    h2_conn_free(c);
    /* without normalising, validation refuses it */
    cfg.normalize_outbound_headers = false;
    c = h2t_client_ready(&cfg);
    cr_assert_eq(h2_conn_send_headers(c, 1, h, 5, H2_SEND_END_STREAM, NULL), H2_EHEADER);
    h2_conn_free(c);
}

Test(conn_config, output_high_water_mark)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.output_high_water = 100;
    h2_conn *c = h2t_client_ready(&cfg);
    uint8_t op[8] = {0};
    int i = 0;
    while (h2_conn_ping(c, op) == 0)
        i++;
    cr_assert_eq(i, 6);
    cr_assert_eq(h2_conn_ping(c, op), H2_ENOBUFS);
    cr_assert_eq(h2t_send_get(c, 1, true), H2_ENOBUFS);
    cr_assert_eq(h2_conn_close(c, 0, NULL, 0, -1), 0);
    h2t_take(c, NULL);
    cr_assert_eq(h2_conn_ping(c, op), 0);
    h2_conn_free(c);
}

Test(conn_config, ping_flood_is_enhance_your_calm)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_SERVER);
    cfg.output_high_water = 170;
    h2t_buf in;
    h2t_buf_init(&in);
    uint8_t op[8] = {0};
    for (int i = 0; i < 40; i++)
        h2t_f_ping(&in, 0, op);
    h2t_replay_conn_error(h2t_setup_server, &cfg, &in, H2_ENHANCE_YOUR_CALM);
    h2t_buf_free(&in);
}

Test(conn_config, queued_data_does_not_count_as_a_flood)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.output_high_water = 100;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &scfg);
    cr_assert_eq(h2t_send_get(p.cl, 1, true), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2_conn_send_headers(p.sv, 1, h2t_resp_200, 2, 0, NULL), 0);
    static uint8_t body[16384];
    cr_assert_eq(h2_conn_send_data(p.sv, 1, body, sizeof(body), 0, -1), 0);
    cr_assert_eq(h2_conn_send_data(p.sv, 1, body, 1, 0, -1), H2_ENOBUFS);
    uint8_t op[8] = {0};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(h2_conn_ping(p.cl, op), 0);
    cr_assert_eq(h2t_c2s(&p), 0);
    cr_assert_eq(h2t_log_count(&p.sv_log, H2_EV_PING_RECEIVED), 5);
    /* a sixth reply before the output drains passes the mark */
    cr_assert_eq(h2_conn_ping(p.cl, op), 0);
    cr_assert_eq(h2t_c2s(&p), H2_EPROTO);
    cr_assert_eq(h2_conn_last_error(p.sv).code, H2_ENHANCE_YOUR_CALM);
    h2t_pair_free(&p);
}

Test(conn_config, draining_output_resets_the_reply_budget)
{
    h2_conn_config scfg;
    h2_conn_config_init(&scfg, H2_ROLE_SERVER);
    scfg.output_high_water = 100;
    h2t_pair p;
    h2t_pair_init(&p, NULL, &scfg);
    uint8_t op[8] = {0};
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 5; i++)
            cr_assert_eq(h2_conn_ping(p.cl, op), 0);
        cr_assert_eq(h2t_c2s(&p), 0);
        cr_assert_eq(h2t_s2c(&p), 0);
        cr_assert_eq(h2t_log_count(&p.cl_log, H2_EV_PING_ACK_RECEIVED), 5);
    }
    h2t_pair_free(&p);
}

/* Before the server's first SETTINGS, a client assumes MAX_CONCURRENT_STREAMS
 * 100 (assumed_peer_max_concurrent_streams); the SETTINGS frame then rules. */
static void open_streams(h2_conn *c, uint32_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(h2_conn_send_headers(c, first + 2 * i, h2t_req_get, 4, 0, NULL), 0,
                     "stream %u", first + 2 * i);
}

Test(conn_config, client_assumes_100_streams_before_settings)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(cfg.assumed_peer_max_concurrent_streams, 100);
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    open_streams(c, 1, 100);
    cr_assert_eq(h2_conn_send_headers(c, 201, h2t_req_get, 4, 0, NULL), H2_ETOO_MANY_STREAMS);
    h2t_take(c, NULL);
    /* The server allows 150. */
    h2t_buf in;
    h2t_buf_init(&in);
    const h2_setting s[] = {{H2_SETTING_MAX_CONCURRENT_STREAMS, 150}};
    h2t_f_settings(&in, 0, s, 1);
    const h2_event *ev;
    size_t n;
    cr_assert_eq(h2_conn_receive(c, in.p, in.len, &ev, &n), 0);
    h2t_buf_free(&in);
    open_streams(c, 201, 50);
    cr_assert_eq(h2_conn_send_headers(c, 301, h2t_req_get, 4, 0, NULL), H2_ETOO_MANY_STREAMS);
    h2_conn_free(c);

    /* 0: no limit until SETTINGS, as h2. */
    cfg.assumed_peer_max_concurrent_streams = 0;
    c = h2t_conn_new(H2_ROLE_CLIENT, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    open_streams(c, 1, 300);
    h2_conn_free(c);
}

/* Our own cap on the header blocks we send (max_send_header_list_size). */
Test(conn_config, send_header_list_capped)
{
    static uint8_t big[70000];
    memset(big, 'v', sizeof big);
    h2_header f[5];
    memcpy(f, h2t_req_get, sizeof(h2_header) * 4);
    f[4] = (h2_header){(const uint8_t *)"x-big", 5, big, 0, 0};
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(cfg.max_send_header_list_size, 65536u);
    h2_conn *c = h2t_conn_new(H2_ROLE_CLIENT, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    /* 4 request fields (about 160 bytes with their overhead) + 65000 + 37 fits ... */
    f[4].value_len = 65000;
    cr_assert_eq(h2_conn_send_headers(c, 1, f, 5, H2_SEND_END_STREAM, NULL), 0);
    h2t_take(c, NULL);
    /* ... 70000 does not, and nothing is sent: stream 3 is still free. */
    f[4].value_len = sizeof big;
    cr_assert_eq(h2_conn_send_headers(c, 3, f, 5, H2_SEND_END_STREAM, NULL), H2_EHEADER_LIST_SIZE);
    cr_assert_eq(h2_conn_output_pending(c), 0u);
    cr_assert_eq(h2_conn_send_headers(c, 3, h2t_req_get, 4, H2_SEND_END_STREAM, NULL), 0);
    h2_conn_free(c);

    cfg.max_send_header_list_size = 0; /* no cap of ours */
    c = h2t_conn_new(H2_ROLE_CLIENT, &cfg);
    cr_assert_eq(h2_conn_initiate(c), 0);
    h2t_take(c, NULL);
    cr_assert_eq(h2_conn_send_headers(c, 1, f, 5, H2_SEND_END_STREAM, NULL), 0);
    h2_conn_free(c);
}
