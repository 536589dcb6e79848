/*
 * The client core against nghttpd (nghttp2's server, cleartext HTTP/2):
 * files generated into a temporary document root are fetched over a
 * blocking socket and compared byte for byte.
 */
#include <criterion/criterion.h>

#include "client_loop.h"

static char tmp[64];
static pid_t nghttpd = -1;
static int sock = -1;
static uint16_t port;
static cli client;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(interop_tmpdir(tmp, sizeof(tmp)), 0, "mkdtemp: %s", strerror(errno));
    char docs[128];
    snprintf(docs, sizeof(docs), "%s/docs", tmp);
    cr_assert_eq(mkdir(docs, 0700), 0);
}

static void teardown(void)
{
    cli_close(&client);
    if (sock >= 0)
        close(sock);
    interop_stop(nghttpd);
    nghttpd = -1;
    interop_rmtree(tmp);
}

TestSuite(client_nghttpd, .init = setup, .fini = teardown, .timeout = 90);

/* Writes docs/|name| holding the first |size| bytes of the pattern. */
static void make_file(const char *name, size_t size)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/docs/%s", tmp, name);
    uint8_t *p = interop_pattern_new(size);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(path, p, size), 0);
    free(p);
}

/*
 * Starts nghttpd on a free loopback port and connects to it. The port is
 * found by binding port 0 and closing, so another process may take it in
 * between: then nghttpd exits and the next port is tried.
 */
static void start_nghttpd(const char *const *extra)
{
    char exe[512], docs[128], portstr[16], out[128], err[128];
    cr_assert(interop_find_program("nghttpd", exe, sizeof(exe)),
              "nghttpd is not installed (run `make deps`)");
    snprintf(docs, sizeof(docs), "%s/docs", tmp);
    snprintf(out, sizeof(out), "%s/nghttpd.stdout", tmp);
    snprintf(err, sizeof(err), "%s/nghttpd.stderr", tmp);
    for (int attempt = 0; attempt < 5 && sock < 0; attempt++) {
        port = interop_free_port();
        cr_assert_neq(port, 0, "no free loopback port");
        snprintf(portstr, sizeof(portstr), "%u", port);
        char *argv[24] = {exe, "--no-tls", "--address=127.0.0.1", "--htdocs", docs};
        size_t argc = 5;
        for (size_t i = 0; extra != NULL && extra[i] != NULL && argc < 22; i++)
            argv[argc++] = (char *)extra[i];
        argv[argc++] = portstr;
        argv[argc] = NULL;
        nghttpd = interop_spawn(argv, out, err);
        cr_assert_gt(nghttpd, 0, "fork: %s", strerror(errno));
        int64_t deadline = interop_now_ms() + 5000;
        while (sock < 0 && interop_now_ms() < deadline) {
            if (waitpid(nghttpd, NULL, WNOHANG) == nghttpd) {
                nghttpd = -1; /* exited: the port was taken */
                break;
            }
            sock = interop_connect(port);
            if (sock < 0)
                interop_sleep_ms(20);
        }
        if (sock < 0 && nghttpd > 0) {
            interop_stop(nghttpd);
            nghttpd = -1;
        }
    }
    if (sock < 0)
        interop_dump_file("nghttpd stderr", err, 4000);
    cr_assert_geq(sock, 0, "could not start and reach nghttpd");
}

/* Starts nghttpd with the extra options |extra| (NULL-terminated, or NULL) and connects. */
static void open_client(const h2_conn_config *cfg, const char *const *extra)
{
    start_nghttpd(extra);
    cr_assert_eq(cli_open(&client, sock, port, cfg), 0, "%s", client.error);
}

static void open_default_client(const char *const *extra)
{
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    open_client(&cfg, extra);
}

static void assert_pattern_response(const cli_req *r, size_t size)
{
    cr_assert_eq(r->status, 200, "%s: status %d", r->path, r->status);
    cr_assert(r->ended);
    char len[24];
    snprintf(len, sizeof(len), "%zu", size);
    cr_assert_str_eq(r->length, len, "%s: content-length", r->path);
    cr_assert_eq(r->len, size, "%s: %zu body bytes, expected %zu", r->path, r->len, size);
    uint8_t *want = interop_pattern_new(size);
    long diff = interop_first_diff(r->body, r->len, want, size);
    free(want);
    cr_assert_eq(diff, -1, "%s: body differs at byte %ld", r->path, diff);
}

static void fetch(cli_req *reqs, size_t n)
{
    cr_assert_eq(cli_run(&client, reqs, n), 0, "%s", client.error);
    cr_assert(client.remote_settings, "no SETTINGS from nghttpd");
    cr_assert_eq(h2_conn_open_outbound_streams(client.conn), 0);
    cr_assert_eq(client.goaways, 0);
}

Test(client_nghttpd, fetch_1m)
{
    make_file("big.bin", 1024 * 1024);
    open_default_client(NULL);
    cli_req r = {.path = "/big.bin"};
    fetch(&r, 1);
    cr_assert_eq(r.id, 1);
    /* 1 MiB through a 65535-byte receive window: the acks reopened it many times. */
    cr_assert_gt(r.data_frames, 16);
    assert_pattern_response(&r, 1024 * 1024);
    cli_req_free(&r);
}

/* Larger receive windows from the configuration (and the stream-0 WINDOW_UPDATE). */
Test(client_nghttpd, fetch_1m_with_big_windows)
{
    make_file("big.bin", 1024 * 1024);
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.initial_window_size = 1u << 20;
    cfg.connection_window_size = 1u << 24;
    open_client(&cfg, NULL);
    cli_req r = {.path = "/big.bin"};
    fetch(&r, 1);
    assert_pattern_response(&r, 1024 * 1024);
    cli_req_free(&r);
}

/* Four files requested at once: concurrent streams, interleaved DATA. */
Test(client_nghttpd, fetch_several_concurrently)
{
    static const char *const names[4] = {"a.bin", "b.bin", "c.bin", "d.bin"};
    static const char *const paths[4] = {"/a.bin", "/b.bin", "/c.bin", "/d.bin"};
    const size_t sizes[4] = {300000, 1, 65536, 200000};
    for (int i = 0; i < 4; i++)
        make_file(names[i], sizes[i]);
    open_default_client(NULL);
    cli_req r[4];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 4; i++)
        r[i].path = paths[i];
    fetch(r, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(r[i].id, (uint32_t)(1 + 2 * i));
        assert_pattern_response(&r[i], sizes[i]);
        cli_req_free(&r[i]);
    }
}

/* Two rounds of requests on one connection; stream ids keep increasing. */
Test(client_nghttpd, sequential_requests_one_connection)
{
    make_file("x.bin", 100000);
    open_default_client(NULL);
    for (uint32_t round = 0; round < 3; round++) {
        cli_req r = {.path = "/x.bin"};
        fetch(&r, 1);
        cr_assert_eq(r.id, 1 + 2 * round);
        assert_pattern_response(&r, 100000);
        cli_req_free(&r);
    }
}

Test(client_nghttpd, missing_file_is_404)
{
    open_default_client(NULL);
    cli_req r = {.path = "/nothing-here"};
    fetch(&r, 1);
    cr_assert_eq(r.status, 404);
    cr_assert(r.ended);
    cli_req_free(&r);
}

Test(client_nghttpd, ping_and_settings_ack)
{
    make_file("small.bin", 10);
    open_default_client(NULL);
    const uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_eq(cli_ping(&client, opaque), 0, "%s", client.error);
    cli_req r = {.path = "/small.bin"};
    fetch(&r, 1);
    cr_assert(client.ping_acked);
    cr_assert(client.settings_acked);
    assert_pattern_response(&r, 10);
    cli_req_free(&r);
}

/* nghttpd pads every frame with up to 255 bytes: padding counts against the windows. */
Test(client_nghttpd, padded_frames)
{
    make_file("big.bin", 1024 * 1024);
    make_file("small.bin", 3000);
    const char *opts[] = {"--padding=255", NULL};
    open_default_client(opts);
    cli_req r[2] = {{.path = "/big.bin"}, {.path = "/small.bin"}};
    fetch(r, 2);
    assert_pattern_response(&r[0], 1024 * 1024);
    assert_pattern_response(&r[1], 3000);
    cr_assert_gt(r[0].padding, 0, "no padded DATA frame arrived");
    cli_req_free(&r[0]);
    cli_req_free(&r[1]);
}

Test(client_nghttpd, response_trailers)
{
    make_file("t.bin", 70000);
    const char *opts[] = {"--trailer=x-trailer: yes", NULL};
    open_default_client(opts);
    cli_req r = {.path = "/t.bin"};
    fetch(&r, 1);
    assert_pattern_response(&r, 70000);
    cr_assert_str_eq(r.trailer, "x-trailer: yes");
    cli_req_free(&r);
}

/* nghttpd's decoder allows no dynamic table: our encoder must not use one. */
Test(client_nghttpd, peer_header_table_size_zero)
{
    make_file("h.bin", 500);
    const char *opts[] = {"--header-table-size=0", NULL};
    open_default_client(opts);
    for (uint32_t round = 0; round < 4; round++) {
        cli_req r = {.path = "/h.bin"};
        fetch(&r, 1);
        assert_pattern_response(&r, 500);
        cli_req_free(&r);
    }
    cr_assert_eq(h2_conn_setting(client.conn, true, H2_SETTING_HEADER_TABLE_SIZE), 0);
}

/* nghttpd allows 2 streams at once; six requests wait for each other. */
Test(client_nghttpd, peer_max_concurrent_streams)
{
    static const char *const paths[6] = {"/m.bin", "/m.bin", "/m.bin",
                                         "/m.bin", "/m.bin", "/m.bin"};
    make_file("m.bin", 150000);
    const char *opts[] = {"--max-concurrent-streams=2", NULL};
    open_default_client(opts);
    cli_req first = {.path = "/m.bin"}; /* one round trip: nghttpd's SETTINGS are known */
    fetch(&first, 1);
    cli_req_free(&first);
    cr_assert_eq(h2_conn_setting(client.conn, true, H2_SETTING_MAX_CONCURRENT_STREAMS), 2);
    client.max_open = 0;
    cli_req r[6];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 6; i++)
        r[i].path = paths[i];
    fetch(r, 6);
    cr_assert_eq(client.max_open, 2, "at most 2 streams may be open, saw %zu", client.max_open);
    cr_assert_gt(client.waits, 0);
    for (int i = 0; i < 6; i++) {
        assert_pattern_response(&r[i], 150000);
        cli_req_free(&r[i]);
    }
}
