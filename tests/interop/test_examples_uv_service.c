/*
 * uv_h2service (the connection service embedded in a libuv loop: its event
 * queue's fd watched by uv_poll_t, requests answered from the loop's
 * thread) against curl, nghttp and uv_h2client: GET /, 4 MiB from /big and
 * a 1 MiB POST to /echo compared byte for byte, 404, ten /big downloads
 * multiplexed; a slow reader that stalls a /big download while other
 * clients are still answered, then gets the whole body. The server exits
 * with 0 after SIGTERM.
 */
#include "uv_examples_util.h"

static ex_dir dir;
static uvx_server server;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    uvx_server_kill(&server);
    ex_dir_remove(&dir);
}

TestSuite(examples_uv_service, .init = setup, .fini = teardown, .timeout = 240);

static void start(void)
{
    EX_REQUIRE("uv_h2service");
    const char *extra[] = {"--workers", "2", "-v", NULL};
    cr_assert_eq(uvx_server_start(&server, &dir, "uv_h2service", extra), 0);
}

static void stop_clean(void)
{
    int rc = uvx_server_stop(&server);
    cr_assert_eq(rc, 0, "uv_h2service exited with %d after SIGTERM", rc);
}

static void get(const char *path, const char *want_w)
{
    char u[96], w[64];
    uvx_url(u, sizeof(u), server.port, path);
    const char *args[] = {u, NULL};
    cr_assert_eq(uvx_curl(&dir, args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, want_w);
}

Test(examples_uv_service, curl_get_page_big_and_404)
{
    start();
    get("/", "2 200");
    uvx_assert_file(&dir, "body", UVX_PAGE, strlen(UVX_PAGE));
    get("/big", "2 200");
    uvx_assert_pattern_file(&dir, "body", UVX_BIG_SIZE);
    get("/missing", "2 404");
    stop_clean();
}

Test(examples_uv_service, curl_post_echo_1m)
{
    start();
    const size_t size = 1024 * 1024;
    char upload[128], data[160], u[96], w[64];
    uvx_make_upload(&dir, "upload.bin", size, upload, sizeof(upload));
    snprintf(data, sizeof(data), "@%s", upload);
    uvx_url(u, sizeof(u), server.port, "/echo");
    const char *args[] = {"--data-binary", data, "-H", "expect:", u, NULL};
    cr_assert_eq(uvx_curl(&dir, args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    uvx_assert_pattern_file(&dir, "body", size);
    stop_clean();
}

/* Thousands of small requests over 4 connections, 100 streams each: every one answered. */
Test(examples_uv_service, h2load_many_requests)
{
    start();
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

Test(examples_uv_service, nghttp_big_small_windows_and_echo)
{
    start();
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

Test(examples_uv_service, nghttp_multiplexed_big)
{
    start();
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

Test(examples_uv_service, uv_client)
{
    start();
    EX_REQUIRE("uv_h2client");
    ex_argv a;
    ex_argv_example(&a, "uv_h2client");
    ex_argf(&a, "http://127.0.0.1:%u/big", server.port);
    cr_assert_eq(ex_run(&dir, &a, "client", ex_scale(60000, 180000), 0), 0);
    uvx_assert_pattern_file(&dir, "client.stdout", UVX_BIG_SIZE);
    ex_argv_example(&a, "uv_h2client");
    ex_arg(&a, "-d");
    ex_arg(&a, "through the service");
    ex_argf(&a, "http://127.0.0.1:%u/echo", server.port);
    cr_assert_eq(ex_run(&dir, &a, "client", ex_scale(60000, 180000), 0), 0);
    uvx_assert_file(&dir, "client.stdout", "through the service", 19);
    stop_clean();
}

/*
 * A client stalls a /big download (windows wide open, nothing read): the
 * worker meets TCP backpressure; the loop's thread keeps answering other
 * clients meanwhile, and the stalled download completes intact.
 */
Test(examples_uv_service, slow_reader)
{
    start();
    uvx_slow slow;
    uvx_slow_open(&slow, server.port, "/big");
    for (int i = 0; i < 3; i++) {
        get("/", "2 200");
        uvx_assert_file(&dir, "body", UVX_PAGE, strlen(UVX_PAGE));
    }
    cr_assert_eq(uvx_slow_finish(&slow, ex_scale(60000, 180000)), 0, "the response did not end");
    cr_assert_eq(slow.status, 200);
    cr_assert_eq(slow.got, UVX_BIG_SIZE, "%zu body bytes", slow.got);
    cr_assert_eq(slow.diff, -1, "body differs at byte %ld", slow.diff);
    uvx_slow_close(&slow);
    stop_clean();
}
