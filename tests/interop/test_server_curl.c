/*
 * The server core against curl (HTTP/2 with prior knowledge over
 * loopback): GET bodies byte for byte, a 1 MiB POST echoed back, 404, and
 * consecutive connections to one listener.
 */
#include <criterion/criterion.h>

#include "server_loop.h"

static srv server;
static char tmp[64];
static char curl[512];

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

TestSuite(server_curl, .init = setup, .fini = teardown, .timeout = 90);

static void require_curl(void)
{
    cr_assert(interop_find_program("curl", curl, sizeof(curl)),
              "curl is not installed (run `make deps`)");
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmp, name);
}

static void url(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%u%s", server.port, path);
}

/*
 * Runs curl with the common options and then |args| (NULL-terminated).
 * The -w output goes to |wout|; on a non-zero exit curl's stderr is shown.
 * Returns curl's exit status.
 */
static int run_curl(const char *const *args, char *wout, size_t cap)
{
    require_curl();
    char *argv[48];
    size_t n = 0;
    argv[n++] = curl;
    argv[n++] = "--http2-prior-knowledge";
    argv[n++] = "--silent";
    argv[n++] = "--show-error";
    argv[n++] = "--max-time";
    argv[n++] = "30";
    for (size_t i = 0; args[i] != NULL && n < 47; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    char out[128], err[128];
    tmp_path(out, sizeof(out), "curl.stdout");
    tmp_path(err, sizeof(err), "curl.stderr");
    unlink(out);
    unlink(err);
    int rc = interop_run(argv, out, err);
    if (rc != 0)
        interop_dump_file("curl stderr", err, 4000);
    size_t len = 0;
    uint8_t *w = interop_read_file(out, &len);
    snprintf(wout, cap, "%s", w != NULL ? (const char *)w : "");
    free(w);
    return rc;
}

static void assert_file_is_pattern(const char *path, size_t want_len)
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

static void assert_server_clean(unsigned connections, unsigned responses)
{
    srv_stop(&server); /* stats are final once the thread has ended */
    cr_assert_eq(server.stats.errors, 0, "server error: %s", server.stats.last_error);
    cr_assert_eq(server.stats.connections, connections);
    cr_assert_eq(server.stats.requests, responses);
    cr_assert_eq(server.stats.responses, responses);
    cr_assert_eq(server.stats.resets, 0);
}

static void get_pattern(size_t size)
{
    char u[128], path[64], body[128], w[256];
    snprintf(path, sizeof(path), "/bytes/%zu", size);
    url(u, sizeof(u), path);
    tmp_path(body, sizeof(body), "body");
    const char *args[] = {u, "-o", body, "-w", "%{http_version} %{http_code}", NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0, "curl failed");
    cr_assert_str_eq(w, "2 200");
    assert_file_is_pattern(body, size);
    assert_server_clean(1, 1);
    cr_assert_eq(server.stats.body_bytes_out, size);
}

Test(server_curl, get_small)
{
    get_pattern(1000);
}

Test(server_curl, get_100k)
{
    get_pattern(100 * 1024);
}

Test(server_curl, get_1m)
{
    get_pattern(1024 * 1024);
}

Test(server_curl, get_hello_exact_text)
{
    char u[128], body[128], w[256];
    url(u, sizeof(u), "/hello");
    tmp_path(body, sizeof(body), "body");
    const char *fmt = "%{http_version} %{http_code} %{size_download}";
    const char *args[] = {u, "-o", body, "-w", fmt, NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200 13");
    size_t len = 0;
    uint8_t *got = interop_read_file(body, &len);
    cr_assert_not_null(got);
    cr_assert_str_eq((const char *)got, "hello, world\n");
    free(got);
    assert_server_clean(1, 1);
}

Test(server_curl, post_1m_echo)
{
    const size_t size = 1024 * 1024;
    char u[128], in[128], data[160], body[128], w[256];
    url(u, sizeof(u), "/echo");
    tmp_path(in, sizeof(in), "upload");
    tmp_path(body, sizeof(body), "body");
    snprintf(data, sizeof(data), "@%s", in);
    uint8_t *pattern = interop_pattern_new(size);
    cr_assert_eq(interop_write_file(in, pattern, size), 0);
    free(pattern);
    /* "expect:" keeps curl from waiting for a 100-continue before the upload. */
    const char *args[] = {u,
                          "--data-binary",
                          data,
                          "-H",
                          "expect:",
                          "-o",
                          body,
                          "-w",
                          "%{http_version} %{http_code}",
                          NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0, "curl failed");
    cr_assert_str_eq(w, "2 200");
    assert_file_is_pattern(body, size);
    assert_server_clean(1, 1);
    cr_assert_eq(server.stats.body_bytes_in, size);
    cr_assert_eq(server.stats.body_bytes_out, size);
}

Test(server_curl, unknown_path_is_404)
{
    char u[128], body[128], w[256];
    url(u, sizeof(u), "/no/such/thing");
    tmp_path(body, sizeof(body), "body");
    const char *args[] = {u, "-o", body, "-w", "%{http_version} %{http_code}", NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 404");
    size_t len = 0;
    uint8_t *got = interop_read_file(body, &len);
    cr_assert_not_null(got);
    cr_assert_str_eq((const char *)got, "not found\n");
    free(got);
    assert_server_clean(1, 1);
}

/*
 * One curl process per request: three connections in a row, served one
 * after the other by the same listener. (Several URLs on one curl command
 * line would reuse the connection, but curl 7.88's prior-knowledge reuse
 * fails inside curl before any byte is sent, against any server: curl issue
 * 10634, fixed in curl 8.0. Requests sharing a connection are covered with
 * nghttp and h2load.)
 */
Test(server_curl, consecutive_connections)
{
    const size_t sizes[3] = {5000, 70000, 300000};
    for (int i = 0; i < 3; i++) {
        char u[128], path[64], body[128], w[256];
        snprintf(path, sizeof(path), "/bytes/%zu", sizes[i]);
        url(u, sizeof(u), path);
        tmp_path(body, sizeof(body), "body");
        const char *args[] = {u, "-o", body, "-w", "%{http_version} %{http_code}", NULL};
        cr_assert_eq(run_curl(args, w, sizeof(w)), 0, "curl failed");
        cr_assert_str_eq(w, "2 200");
        assert_file_is_pattern(body, sizes[i]);
    }
    assert_server_clean(3, 3);
    cr_assert_eq(server.stats.body_bytes_out, 5000 + 70000 + 300000);
}

/*
 * A 40000-byte request field: even Huffman-coded it is larger than a 16384
 * byte frame, so curl's header block spans HEADERS + CONTINUATION.
 */
Test(server_curl, large_request_header)
{
    char u[128], body[128], w[256];
    url(u, sizeof(u), "/hello");
    tmp_path(body, sizeof(body), "body");
    static char field[40000 + 16];
    memcpy(field, "x-big: ", 7);
    for (size_t i = 0; i < 40000; i++)
        field[7 + i] = (char)('A' + i % 26);
    field[7 + 40000] = 0;
    const char *args[] = {u, "-H", field, "-o", body, "-w", "%{http_version} %{http_code}", NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_server_clean(1, 1);
    cr_assert_eq(server.stats.longest_value, 40000);
}

/* A 40000-byte response field: our header block spans HEADERS + CONTINUATIONs. */
Test(server_curl, large_response_header)
{
    char u[128], body[128], heads[128], w[256];
    url(u, sizeof(u), "/big-header");
    tmp_path(body, sizeof(body), "body");
    tmp_path(heads, sizeof(heads), "headers");
    const char *args[] = {u, "-D", heads, "-o", body, "-w", "%{http_code}", NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "200");
    size_t len = 0;
    uint8_t *text = interop_read_file(heads, &len);
    cr_assert_not_null(text);
    const char *f = strstr((const char *)text, "x-filler: ");
    cr_assert_not_null(f, "no x-filler field in:\n%.300s", text);
    f += 10;
    size_t n = strcspn(f, "\r\n");
    bool pattern_ok = n == SRV_BIG_FIELD;
    for (size_t i = 0; pattern_ok && i < n; i++)
        pattern_ok = f[i] == (char)('a' + i % 26);
    free(text);
    cr_assert(pattern_ok, "x-filler has %zu bytes or the wrong content", n);
    assert_server_clean(1, 1);
}

/* curl asks for 100 (Continue) before a 1 MiB upload; the server sends it. */
Test(server_curl, expect_100_continue)
{
    const size_t size = 1024 * 1024;
    char u[128], in[128], data[160], body[128], w[256];
    url(u, sizeof(u), "/echo");
    tmp_path(in, sizeof(in), "upload");
    tmp_path(body, sizeof(body), "body");
    snprintf(data, sizeof(data), "@%s", in);
    uint8_t *pattern = interop_pattern_new(size);
    cr_assert_eq(interop_write_file(in, pattern, size), 0);
    free(pattern);
    const char *args[] = {u,    "--data-binary", data, "-H", "expect: 100-continue", "-o", body,
                          "-w", "%{http_code}",  NULL};
    cr_assert_eq(run_curl(args, w, sizeof(w)), 0, "curl failed");
    cr_assert_str_eq(w, "200");
    assert_file_is_pattern(body, size);
    assert_server_clean(1, 1);
    cr_assert_eq(server.stats.continues, 1);
}
