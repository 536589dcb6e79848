/*
 * The server core against nghttp and h2load (nghttp2's client tools):
 * GET and POST bodies byte for byte, tiny client windows so that the
 * server must wait for WINDOW_UPDATEs, several URIs on one connection, and
 * a batch of multiplexed requests from h2load.
 */
#include <criterion/criterion.h>

#include "server_loop.h"

static srv server;
static char tmp[64];

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(interop_tmpdir(tmp, sizeof(tmp)), 0, "mkdtemp: %s", strerror(errno));
    cr_assert_eq(srv_start(&server), 0, "cannot start the server thread");
}

static void teardown(void)
{
    srv_stop(&server);
    interop_rmtree(tmp);
}

TestSuite(server_nghttp, .init = setup, .fini = teardown, .timeout = 90);

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmp, name);
}

static void url(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%u%s", server.port, path);
}

/*
 * Runs |program| with |args| (NULL-terminated); stdout goes to |out_path|.
 * On a non-zero exit the program's stderr and the start of its stdout are
 * shown. Returns the exit status.
 */
static int run_tool(const char *program, const char *const *args, const char *out_path)
{
    char exe[512];
    cr_assert(interop_find_program(program, exe, sizeof(exe)),
              "%s is not installed (run `make deps`)", program);
    char *argv[48];
    size_t n = 0;
    argv[n++] = exe;
    for (size_t i = 0; args[i] != NULL && n < 47; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    char err[128];
    tmp_path(err, sizeof(err), "tool.stderr");
    unlink(err);
    unlink(out_path);
    int rc = interop_run(argv, out_path, err);
    if (rc != 0) {
        interop_dump_file(program, err, 4000);
        interop_dump_file(program, out_path, 4000);
    }
    return rc;
}

static void assert_body_is_pattern(const char *path, size_t want_len)
{
    size_t len = 0;
    uint8_t *got = interop_read_file(path, &len);
    cr_assert_not_null(got, "cannot read %s", path);
    uint8_t *want = interop_pattern_new(want_len);
    long diff = interop_first_diff(got, len, want, want_len);
    free(got);
    free(want);
    cr_assert_eq(len, want_len, "body length %zu, expected %zu", len, want_len);
    cr_assert_eq(diff, -1, "body differs at byte %ld", diff);
}

static void assert_server_clean(unsigned responses)
{
    srv_stop(&server); /* stats are final once the thread has ended */
    cr_assert_eq(server.stats.errors, 0, "server error: %s", server.stats.last_error);
    cr_assert_eq(server.stats.connections, 1);
    cr_assert_eq(server.stats.requests, responses);
    cr_assert_eq(server.stats.responses, responses);
    cr_assert_eq(server.stats.resets, 0);
}

/* GET /bytes/|size| with nghttp and the extra options |opts| (NULL-terminated). */
static void get_pattern(size_t size, const char *const *opts)
{
    char u[128], path[64], out[128];
    snprintf(path, sizeof(path), "/bytes/%zu", size);
    url(u, sizeof(u), path);
    tmp_path(out, sizeof(out), "body");
    const char *args[16];
    size_t n = 0;
    for (size_t i = 0; opts[i] != NULL; i++)
        args[n++] = opts[i];
    args[n++] = u;
    args[n] = NULL;
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    assert_body_is_pattern(out, size);
    assert_server_clean(1);
    cr_assert_eq(server.stats.body_bytes_out, size);
}

Test(server_nghttp, get_1m)
{
    const char *opts[] = {NULL};
    get_pattern(1024 * 1024, opts);
}

/* nghttp's default windows are 65535: a 1 MiB body needs many WINDOW_UPDATEs. */
Test(server_nghttp, get_1m_with_big_windows)
{
    const char *opts[] = {"--window-bits=24", "--connection-window-bits=24", NULL};
    get_pattern(1024 * 1024, opts);
}

/* Stream window 1023 bytes, connection window 4095: DATA frames must fit them. */
Test(server_nghttp, get_100k_with_tiny_windows)
{
    const char *opts[] = {"--window-bits=10", "--connection-window-bits=12", NULL};
    get_pattern(100 * 1024, opts);
}

Test(server_nghttp, post_echo)
{
    const size_t size = 1024 * 1024 + 17;
    char u[128], in[128], data[160], out[128];
    url(u, sizeof(u), "/echo");
    tmp_path(in, sizeof(in), "upload");
    tmp_path(out, sizeof(out), "body");
    snprintf(data, sizeof(data), "--data=%s", in);
    uint8_t *pattern = interop_pattern_new(size);
    cr_assert_eq(interop_write_file(in, pattern, size), 0);
    free(pattern);
    const char *args[] = {data, u, NULL};
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    assert_body_is_pattern(out, size);
    assert_server_clean(1);
    cr_assert_eq(server.stats.body_bytes_in, size);
}

Test(server_nghttp, unknown_path_is_404)
{
    char u[128], out[128];
    url(u, sizeof(u), "/missing");
    tmp_path(out, sizeof(out), "stats");
    /* -n: discard the body; -s: print per-request statistics with the status. */
    const char *args[] = {"-n", "-s", u, NULL};
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    size_t len = 0;
    uint8_t *stats = interop_read_file(out, &len);
    cr_assert_not_null(stats);
    bool found = strstr((const char *)stats, " 404 ") != NULL &&
                 strstr((const char *)stats, "/missing") != NULL;
    if (!found)
        interop_dump_file("nghttp -s", out, 4000);
    free(stats);
    cr_assert(found, "nghttp's statistics do not show a 404 for /missing");
    assert_server_clean(1);
}

/* Several URIs on one nghttp command: one connection, concurrent streams. */
Test(server_nghttp, several_uris_one_connection)
{
    char u[4][128], out[128];
    url(u[0], sizeof(u[0]), "/bytes/300000");
    url(u[1], sizeof(u[1]), "/hello");
    url(u[2], sizeof(u[2]), "/bytes/70000");
    url(u[3], sizeof(u[3]), "/bytes/0");
    tmp_path(out, sizeof(out), "stats");
    const char *args[] = {"-n", "-s", u[0], u[1], u[2], u[3], NULL};
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    size_t len = 0;
    uint8_t *stats = interop_read_file(out, &len);
    cr_assert_not_null(stats);
    const char *paths[] = {"/bytes/300000", "/hello", "/bytes/70000", "/bytes/0"};
    for (int i = 0; i < 4; i++) {
        /* A statistics line reads "... <code> <size> <path>". */
        const char *line = strstr((const char *)stats, paths[i]);
        while (line != NULL && line[strlen(paths[i])] != '\n')
            line = strstr(line + 1, paths[i]);
        cr_assert_not_null(line, "no statistics line for %s:\n%s", paths[i], stats);
        const char *start = line;
        while (start > (const char *)stats && start[-1] != '\n')
            start--;
        char text[256];
        snprintf(text, sizeof(text), "%.*s", (int)(line - start), start);
        cr_assert_not_null(strstr(text, " 200 "), "line for %s: %s", paths[i], text);
    }
    free(stats);
    assert_server_clean(4);
    cr_assert_eq(server.stats.body_bytes_out, 300000 + 13 + 70000);
}

/* h2load: 200 requests, 10 at a time, on one connection. */
Test(server_nghttp, h2load_200_requests_10_concurrent)
{
    char u[128], out[128];
    url(u, sizeof(u), "/bytes/4096");
    tmp_path(out, sizeof(out), "h2load");
    const char *args[] = {"-n", "200", "-c", "1", "-m", "10", u, NULL};
    cr_assert_eq(run_tool("h2load", args, out), 0, "h2load failed");
    size_t len = 0;
    uint8_t *report = interop_read_file(out, &len);
    cr_assert_not_null(report);
    bool ok = strstr((const char *)report,
                     "requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, "
                     "0 errored") != NULL &&
              strstr((const char *)report, "status codes: 200 2xx") != NULL;
    if (!ok)
        interop_dump_file("h2load", out, 4000);
    free(report);
    cr_assert(ok, "h2load did not report 200 successful requests");
    assert_server_clean(200);
    cr_assert_eq(server.stats.body_bytes_out, 200 * 4096);
}

/* Every frame nghttp sends is padded (up to 255 bytes) and the request ends with trailers. */
Test(server_nghttp, post_padded_with_trailer)
{
    const size_t size = 300000;
    char u[128], in[128], data[160], out[128];
    url(u, sizeof(u), "/echo");
    tmp_path(in, sizeof(in), "upload");
    tmp_path(out, sizeof(out), "body");
    snprintf(data, sizeof(data), "--data=%s", in);
    uint8_t *pattern = interop_pattern_new(size);
    cr_assert_eq(interop_write_file(in, pattern, size), 0);
    free(pattern);
    const char *args[] = {"--padding=255", "--trailer=x-checksum: 1234", data, u, NULL};
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    assert_body_is_pattern(out, size);
    assert_server_clean(1);
    cr_assert_eq(server.stats.trailers, 1);
    cr_assert_gt(server.stats.padding_in, 0, "no padded DATA frame arrived");
    cr_assert_eq(server.stats.body_bytes_in, size);
}

Test(server_nghttp, expect_continue)
{
    const size_t size = 200000;
    char u[128], in[128], data[160], out[128];
    url(u, sizeof(u), "/echo");
    tmp_path(in, sizeof(in), "upload");
    tmp_path(out, sizeof(out), "body");
    snprintf(data, sizeof(data), "--data=%s", in);
    uint8_t *pattern = interop_pattern_new(size);
    cr_assert_eq(interop_write_file(in, pattern, size), 0);
    free(pattern);
    const char *args[] = {"--expect-continue", data, u, NULL};
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    assert_body_is_pattern(out, size);
    assert_server_clean(1);
    cr_assert_eq(server.stats.continues, 1);
}

/* nghttp's decoder allows no dynamic table: our encoder must not use one. */
Test(server_nghttp, client_header_table_size_zero)
{
    char u[4][128], out[128];
    for (int i = 0; i < 4; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/bytes/%d", 1000 + i); /* nghttp merges equal URIs */
        url(u[i], sizeof(u[i]), path);
    }
    tmp_path(out, sizeof(out), "stats");
    const char *args[] = {"--header-table-size=0", "-n", "-s", u[0], u[1], u[2], u[3], NULL};
    cr_assert_eq(run_tool("nghttp", args, out), 0, "nghttp failed");
    size_t len = 0;
    uint8_t *stats = interop_read_file(out, &len);
    cr_assert_not_null(stats);
    size_t ok = 0;
    for (const char *p = (const char *)stats; (p = strstr(p, " 200 ")) != NULL; p++)
        ok++;
    free(stats);
    cr_assert_eq(ok, 4, "nghttp shows %zu responses with status 200", ok);
    assert_server_clean(4);
}
