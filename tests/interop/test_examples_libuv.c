/*
 * uv_h2server (the connection core on libuv TCP handles) against curl and
 * nghttp: GET /, 4 MiB from /big and a 1 MiB POST to /echo compared byte
 * for byte, 404; a slow reader that stalls a /big download, while the
 * server's bytes in flight stay bounded by its high-water mark and it stops
 * reading, then gets the whole body; and uv_h2client against uv_h2server
 * and nghttpd. Every server exits with 0 after SIGTERM.
 */
#include "uv_examples_util.h"

static ex_dir dir;
static uvx_server server;
static pid_t nghttpd = -1;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    uvx_server_kill(&server);
    interop_stop(nghttpd);
    nghttpd = -1;
    ex_dir_remove(&dir);
}

TestSuite(examples_libuv, .init = setup, .fini = teardown, .timeout = 240);

static void start(const char *const *extra)
{
    EX_REQUIRE("uv_h2server");
    cr_assert_eq(uvx_server_start(&server, &dir, "uv_h2server", extra), 0);
}

static void stop_clean(void)
{
    int rc = uvx_server_stop(&server);
    cr_assert_eq(rc, 0, "uv_h2server exited with %d after SIGTERM", rc);
}

static void get(const char *path, const char *want_w)
{
    char u[96], w[64];
    uvx_url(u, sizeof(u), server.port, path);
    const char *args[] = {u, NULL};
    cr_assert_eq(uvx_curl(&dir, args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, want_w);
}

Test(examples_libuv, curl_get_page_big_and_404)
{
    start(NULL);
    get("/", "2 200");
    uvx_assert_file(&dir, "body", UVX_PAGE, strlen(UVX_PAGE));
    get("/big", "2 200");
    uvx_assert_pattern_file(&dir, "body", UVX_BIG_SIZE);
    get("/missing", "2 404");
    stop_clean();
}

Test(examples_libuv, curl_post_echo_1m)
{
    start(NULL);
    const size_t size = 1024 * 1024;
    char upload[128], data[160], u[96], w[64];
    uvx_make_upload(&dir, "upload.bin", size, upload, sizeof(upload));
    snprintf(data, sizeof(data), "@%s", upload);
    uvx_url(u, sizeof(u), server.port, "/echo");
    /* "expect:" keeps curl from waiting for 100 (Continue) before the upload. */
    const char *args[] = {"--data-binary", data, "-H", "expect:", u, NULL};
    cr_assert_eq(uvx_curl(&dir, args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    uvx_assert_pattern_file(&dir, "body", size);
    stop_clean();
}

/* Thousands of small requests over 4 connections, 100 streams each: every one answered. */
Test(examples_libuv, h2load_many_requests)
{
    start(NULL);
    char u[96];
    uvx_url(u, sizeof(u), server.port, "/");
    uvx_h2load(&dir, u, ex_scale(20000, 2000), 4, 100);
    stop_clean();
}

static void nghttp_argv(ex_argv *a)
{
    cr_assert(ex_argv_peer(a, "nghttp"), "nghttp is not installed (run `make deps`)");
    ex_arg(a, "--timeout=60");
}

/* /big through nghttp's small windows (-w 16 -W 16: 64 KiB each), then an upload echoed. */
Test(examples_libuv, nghttp_big_small_windows_and_echo)
{
    start(NULL);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-w");
    ex_arg(&a, "16");
    ex_arg(&a, "-W");
    ex_arg(&a, "16");
    ex_argf(&a, "http://127.0.0.1:%u/big", server.port);
    cr_assert_eq(ex_run(&dir, &a, "nghttp", 120000, 0), 0, "nghttp failed");
    uvx_assert_pattern_file(&dir, "nghttp.stdout", UVX_BIG_SIZE);

    const size_t size = 1024 * 1024;
    char upload[128];
    uvx_make_upload(&dir, "upload.bin", size, upload, sizeof(upload));
    nghttp_argv(&a);
    ex_arg(&a, "-d");
    ex_arg(&a, upload);
    ex_argf(&a, "http://127.0.0.1:%u/echo", server.port);
    cr_assert_eq(ex_run(&dir, &a, "nghttp", 120000, 0), 0, "nghttp failed");
    uvx_assert_pattern_file(&dir, "nghttp.stdout", size);
    stop_clean();
}

/* Ten /big downloads multiplexed on one connection: every byte of 40 MiB arrives. */
Test(examples_libuv, nghttp_multiplexed_big)
{
    start(NULL);
    int n = ex_scale(10, 2);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-n");
    ex_arg(&a, "-s");
    ex_arg(&a, "-m");
    ex_argf(&a, "%d", n);
    ex_argf(&a, "http://127.0.0.1:%u/big", server.port);
    cr_assert_eq(ex_run(&dir, &a, "nghttp", 120000, 0), 0, "nghttp failed");
    char *text = ex_output(&dir, "nghttp", NULL);
    size_t done = 0;
    for (const char *p = strstr(text, "  200   4M /big"); p != NULL;
         p = strstr(p + 1, "  200   4M /big"))
        done++;
    cr_assert_eq(done, (size_t)n, "%zu of %d responses complete:\n%s", done, n, text);
    free(text);
    stop_clean();
}

/*
 * A client that asks for /big with its windows wide open and reads
 * nothing: the kernel buffers fill, uv_write() stops completing, and the
 * server must stop both producing DATA and reading at its high-water mark.
 * Its counters are polled (bounded) until reading paused; then the bytes
 * in flight stay at most the mark plus one write. Then the client reads
 * everything and checks the body.
 */
Test(examples_libuv, slow_reader_backpressure)
{
    const char *extra[] = {"--big", "16777216", "-v", NULL};
    start(extra);
    const size_t big = 16u * 1024 * 1024;
    const unsigned long long write_max = 64 * 1024 + 16384 + 9; /* one write, one frame */
    uvx_slow slow;
    uvx_slow_open(&slow, server.port, "/big");

    uvx_stats st;
    int64_t deadline = interop_now_ms() + ex_scale(20000, 90000);
    do {
        uvx_get_stats(&dir, server.port, &st);
    } while (st.read_pauses == 0 && interop_now_ms() < deadline);
    cr_assert_gt(st.read_pauses, 0, "the server never stopped reading (max_in_flight %llu)",
                 st.max_in_flight);
    /* Stalled: what it holds stays bounded, however long the client waits. */
    for (int i = 0; i < 5; i++) {
        uvx_get_stats(&dir, server.port, &st);
        cr_assert_geq(st.in_flight, st.low_water, "the writes drained while nothing was read");
        cr_assert_leq(st.in_flight, st.high_water + write_max, "in flight: %llu", st.in_flight);
        cr_assert_leq(st.max_in_flight, st.high_water + write_max, "max in flight: %llu",
                      st.max_in_flight);
    }
    cr_assert_eq(uvx_slow_finish(&slow, ex_scale(60000, 180000)), 0, "the response did not end");
    cr_assert_eq(slow.status, 200);
    cr_assert_eq(slow.got, big, "%zu body bytes, expected %zu", slow.got, big);
    cr_assert_eq(slow.diff, -1, "body differs at byte %ld", slow.diff);
    uvx_slow_close(&slow);
    uvx_get_stats(&dir, server.port, &st);
    cr_assert_leq(st.max_in_flight, st.high_water + write_max);
    stop_clean();
    /* -v logged the pause and the resume. */
    size_t len = 0;
    char *log = (char *)interop_read_file(server.err, &len);
    cr_assert_not_null(log);
    cr_assert_not_null(strstr(log, "read paused: "), "%s", log);
    cr_assert_not_null(strstr(log, "read resumed: "), "%s", log);
    free(log);
}

/*
 * A peer that does not speak HTTP/2 gets the server's SETTINGS and a
 * GOAWAY(PROTOCOL_ERROR), then the end of the connection (the core's
 * H2_EPROTO path: flush, then close); the server goes on serving.
 */
Test(examples_libuv, bad_preface_goaway_then_close)
{
    start(NULL);
    int fd = interop_connect(server.port);
    cr_assert_geq(fd, 0);
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(interop_send_all(fd, (const uint8_t *)junk, sizeof(junk) - 1), 0);
    uint8_t in[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(in) && (n = recv(fd, in + len, sizeof(in) - len, 0)) > 0)
        len += (size_t)n;
    cr_assert_eq(n, 0, "no end of stream after the GOAWAY (%s)", strerror(errno));
    close(fd);
    /* Frames: 9-byte header (24-bit length, type, flags, stream), then the payload. */
    bool goaway = false;
    for (size_t off = 0; off + 9 <= len;) {
        size_t flen = (size_t)in[off] << 16 | (size_t)in[off + 1] << 8 | in[off + 2];
        if (in[off + 3] == 0x7 && off + 9 + 8 <= len)
            goaway =
                in[off + 16] == 0x1 && in[off + 15] == 0 && in[off + 14] == 0 && in[off + 13] == 0;
        off += 9 + flen;
    }
    cr_assert(goaway, "no GOAWAY(PROTOCOL_ERROR) in %zu bytes", len);
    get("/", "2 200");
    stop_clean();
}

/* ---- uv_h2client -------------------------------------------------------------------- */

/* Runs uv_h2client; its stdout goes to |dir|/<label>.stdout. Returns its exit status. */
static int client(const char *label, const char *path, const char *data, uint16_t port, int expect)
{
    EX_REQUIRE("uv_h2client");
    ex_argv a;
    ex_argv_example(&a, "uv_h2client");
    if (data != NULL) {
        ex_arg(&a, "-d");
        ex_arg(&a, data);
    }
    ex_argf(&a, "http://127.0.0.1:%u%s", port, path);
    return ex_run(&dir, &a, label, ex_scale(60000, 180000), expect);
}

Test(examples_libuv, client_against_uv_server)
{
    start(NULL);
    cr_assert_eq(client("page", "/", NULL, server.port, 0), 0);
    uvx_assert_file(&dir, "page.stdout", UVX_PAGE, strlen(UVX_PAGE));
    cr_assert_eq(client("big", "/big", NULL, server.port, 0), 0);
    uvx_assert_pattern_file(&dir, "big.stdout", UVX_BIG_SIZE);
    cr_assert_eq(client("echo", "/echo", "posted through uv_h2client", server.port, 0), 0);
    uvx_assert_file(&dir, "echo.stdout", "posted through uv_h2client", 26);
    cr_assert_eq(client("missing", "/missing", NULL, server.port, 3), 3, "a 404 exits with 3");
    stop_clean();
}

Test(examples_libuv, client_connection_refused)
{
    uint16_t port = interop_free_port();
    int rc = client("refused", "/", NULL, port, 1);
    cr_assert(ex_failed_cleanly(rc), "exit status %d", rc);
}

/* A server that accepts the connection (the kernel does) and never answers: -t 1 gives up. */
Test(examples_libuv, client_timeout)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    EX_REQUIRE("uv_h2client");
    ex_argv a;
    ex_argv_example(&a, "uv_h2client");
    ex_arg(&a, "-t");
    ex_arg(&a, "1");
    ex_argf(&a, "http://127.0.0.1:%u/", ntohs(sa.sin_port));
    int rc = ex_run(&dir, &a, "silent", ex_scale(30000, 90000), 1);
    close(fd);
    cr_assert_eq(rc, 1);
    char err[128];
    ex_path(&dir, "silent.stderr", err, sizeof(err));
    size_t len = 0;
    char *text = (char *)interop_read_file(err, &len);
    cr_assert(text != NULL && strstr(text, "timed out") != NULL, "stderr: %s", text ? text : "");
    free(text);
}

/* nghttpd on a free port serving |dir|/root; retried when the port was taken meanwhile. */
static uint16_t start_nghttpd(void)
{
    char exe[512], portstr[16], err[128];
    cr_assert(interop_find_program("nghttpd", exe, sizeof(exe)),
              "nghttpd is not installed (run `make deps`)");
    ex_path(&dir, "nghttpd.stderr", err, sizeof(err));
    for (int attempt = 0; attempt < 5; attempt++) {
        uint16_t port = interop_free_port();
        cr_assert_neq(port, 0);
        snprintf(portstr, sizeof(portstr), "%u", port);
        char *argv[] = {exe,     "--no-tls", "--address=127.0.0.1", "--htdocs", dir.root,
                        portstr, NULL};
        nghttpd = interop_spawn(argv, NULL, err);
        cr_assert_gt(nghttpd, 0);
        /* Ready once it accepts a connection (bounded). */
        int64_t deadline = interop_now_ms() + 5000;
        while (interop_now_ms() < deadline && waitpid(nghttpd, NULL, WNOHANG) == 0) {
            int fd = interop_connect(port);
            if (fd >= 0) {
                close(fd);
                return port;
            }
            interop_sleep_ms(20);
        }
        interop_stop(nghttpd);
        nghttpd = -1;
    }
    interop_dump_file("nghttpd stderr", err, 4000);
    cr_assert_fail("could not start nghttpd");
    return 0;
}

Test(examples_libuv, client_against_nghttpd)
{
    EX_REQUIRE("uv_h2client");
    const size_t size = 3 * 1024 * 1024 + 17;
    cr_assert_eq(ex_make_pattern_file(&dir, "file.bin", size), 0);
    uint16_t port = start_nghttpd();
    cr_assert_eq(client("file", "/file.bin", NULL, port, 0), 0);
    uvx_assert_pattern_file(&dir, "file.stdout", size);
    cr_assert_eq(client("missing", "/missing.bin", NULL, port, 3), 3);
}
