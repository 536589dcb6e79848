/*
 * h2server against nghttp (nghttp2's client): 100 requests multiplexed on
 * one connection, 100 different files at once, a 1 MiB download through
 * tiny flow-control windows, an upload echoed back, the h2c upgrade and
 * TLS; bodies compared byte for byte, and a clean exit after SIGTERM.
 */
#include "examples_util.h"

static ex_dir dir;
static ex_server server;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    ex_server_kill(&server);
    ex_dir_remove(&dir);
}

TestSuite(examples_nghttp, .init = setup, .fini = teardown, .timeout = 240);

static void start(bool tls)
{
    EX_REQUIRE("h2server");
    if (tls)
        cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    ex_server_opts o = {.cleartext = true, .tls = tls, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
}

static void stop_clean(void)
{
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

static void nghttp_argv(ex_argv *a)
{
    cr_assert(ex_argv_peer(a, "nghttp"), "nghttp is not installed (run `make deps`)");
    ex_arg(a, "--timeout=60");
}

/* Runs nghttp; its stdout is left in |dir|/nghttp.stdout. Asserts exit status 0. */
static void run_nghttp(ex_argv *a)
{
    cr_assert_eq(ex_run(&dir, a, "nghttp", 120000, 0), 0, "nghttp failed");
}

/* Lines of nghttp -v output that report a received ":status: <status>". */
static size_t count_status(const char *text, const char *status)
{
    char key[32];
    snprintf(key, sizeof(key), ") :status: %s\n", status);
    size_t n = 0;
    for (const char *p = strstr(text, key); p != NULL; p = strstr(p + 1, key)) {
        const char *line = p;
        while (line > text && line[-1] != '\n')
            line--;
        if (strstr(line, "recv (stream_id=") != NULL && strstr(line, "recv (stream_id=") < p)
            n++;
    }
    return n;
}

static void assert_stdout_pattern(size_t size)
{
    char out[128];
    ex_path(&dir, "nghttp.stdout", out, sizeof(out));
    size_t got = 0;
    long diff = ex_check_pattern_file(out, size, &got);
    cr_assert_eq(got, size, "body has %zu bytes, expected %zu", got, size);
    cr_assert_eq(diff, -1, "body differs at byte %ld", diff);
}

/* The same URL 100 times on one connection (nghttp -m 100): 100 responses 200. */
Test(examples_nghttp, multiplexed_100)
{
    start(false);
    cr_assert_eq(ex_make_pattern_file(&dir, "index.html", 1024), 0);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-v");
    ex_arg(&a, "-n");
    ex_arg(&a, "-m");
    ex_arg(&a, "100");
    ex_argf(&a, "http://127.0.0.1:%u/index.html", server.port);
    run_nghttp(&a);
    char *text = ex_output(&dir, "nghttp", NULL);
    size_t ok = count_status(text, "200");
    free(text);
    cr_assert_eq(ok, 100, "%zu responses with status 200, expected 100", ok);
    stop_clean();
}

/* 100 different files of different sizes requested at once; -s stats list every one. */
Test(examples_nghttp, hundred_files_at_once)
{
    start(false);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-v");
    ex_arg(&a, "-n");
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%03d.bin", i);
        cr_assert_eq(ex_make_pattern_file(&dir, name, (size_t)(i * 997 + 1)), 0);
        ex_argf(&a, "http://127.0.0.1:%u/%s", server.port, name);
    }
    cr_assert(!a.overflow);
    run_nghttp(&a);
    char *text = ex_output(&dir, "nghttp", NULL);
    size_t ok = count_status(text, "200");
    /* The largest file's content-length comes back exactly. */
    bool length_seen = strstr(text, "content-length: 98704\n") != NULL;
    free(text);
    cr_assert_eq(ok, 100, "%zu responses with status 200, expected 100", ok);
    cr_assert(length_seen, "no response with content-length 98704");
    stop_clean();
}

/*
 * nghttp -w 10 -W 16: 1 KiB stream windows and a 64 KiB connection window,
 * so 1 MiB needs about a thousand WINDOW_UPDATEs; the body must arrive intact.
 */
Test(examples_nghttp, download_1m_tiny_windows)
{
    start(false);
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-w");
    ex_arg(&a, "10");
    ex_arg(&a, "-W");
    ex_arg(&a, "16");
    ex_argf(&a, "http://127.0.0.1:%u/big.bin", server.port);
    run_nghttp(&a);
    assert_stdout_pattern(size);
    stop_clean();
}

/* A 1 MiB upload to /echo (nghttp -d), echoed back byte for byte. */
Test(examples_nghttp, post_1m_echo)
{
    start(false);
    const size_t size = 1024 * 1024;
    char upload[128];
    ex_path(&dir, "upload.bin", upload, sizeof(upload));
    uint8_t *p = interop_pattern_new(size);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(upload, p, size), 0);
    free(p);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-d");
    ex_arg(&a, upload);
    ex_argf(&a, "http://127.0.0.1:%u/echo", server.port);
    run_nghttp(&a);
    assert_stdout_pattern(size);
    stop_clean();
}

/* nghttp -u: HTTP/1.1 Upgrade to h2c, then the response on stream 1. */
Test(examples_nghttp, h2c_upgrade)
{
    start(false);
    const size_t size = 200000;
    cr_assert_eq(ex_make_pattern_file(&dir, "up.bin", size), 0);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-u");
    ex_argf(&a, "http://127.0.0.1:%u/up.bin", server.port);
    run_nghttp(&a);
    assert_stdout_pattern(size);
    stop_clean();
}

/* Over TLS (ALPN h2): 20 files at once, then the 1 MiB one through tiny windows. */
Test(examples_nghttp, tls_several_and_tiny_windows)
{
    start(true);
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-v");
    ex_arg(&a, "-n");
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof(name), "t%02d.bin", i);
        cr_assert_eq(ex_make_pattern_file(&dir, name, (size_t)(i * 5000 + 7)), 0);
        ex_argf(&a, "https://127.0.0.1:%u/%s", server.tls_port, name);
    }
    run_nghttp(&a);
    char *text = ex_output(&dir, "nghttp", NULL);
    size_t ok = count_status(text, "200");
    free(text);
    cr_assert_eq(ok, 20, "%zu responses with status 200, expected 20", ok);

    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    nghttp_argv(&a);
    ex_arg(&a, "-w");
    ex_arg(&a, "10");
    ex_arg(&a, "-W");
    ex_arg(&a, "16");
    ex_argf(&a, "https://127.0.0.1:%u/big.bin", server.tls_port);
    run_nghttp(&a);
    assert_stdout_pattern(size);
    stop_clean();
}

/* Lines of |text| that hold |needle|; the last such line is copied to |line|. */
static int lines_with(const char *text, const char *needle, char *line, size_t cap)
{
    int n = 0;
    const char *p = text;
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        char *l = strndup(p, len);
        if (l != NULL && strstr(l, needle) != NULL) {
            n++;
            snprintf(line, cap, "%s", l);
        }
        free(l);
        p += len;
        if (*p == '\n')
            p++;
    }
    return n;
}

/* h2server -v: one log line per request, naming its path and status. */
Test(examples_nghttp, verbose_logs_one_line_per_request)
{
    EX_REQUIRE("h2server");
    ex_server_opts o = {.cleartext = true, .workers = 2, .verbose = true};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof(name), "logged%d.bin", i);
        cr_assert_eq(ex_make_pattern_file(&dir, name, (size_t)(1000 * i + 1)), 0);
    }
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
    ex_argv a;
    nghttp_argv(&a);
    ex_arg(&a, "-n");
    for (int i = 0; i < 4; i++)
        ex_argf(&a, "http://127.0.0.1:%u/logged%d.bin", server.port, i);
    ex_argf(&a, "http://127.0.0.1:%u/not-logged-file", server.port);
    run_nghttp(&a);
    stop_clean();
    size_t len = 0;
    char *text = (char *)interop_read_file(server.err, &len);
    cr_assert_not_null(text, "no h2server log");
    for (int i = 0; i < 4; i++) {
        char path[32], line[512] = "";
        snprintf(path, sizeof(path), "/logged%d.bin ", i);
        int n = lines_with(text, path, line, sizeof(line));
        cr_assert_eq(n, 1, "%d log lines for %s", n, path);
        cr_assert_neq(strstr(line, " 200 "), NULL, "no status 200 in: %s", line);
    }
    char line[512] = "";
    int n = lines_with(text, "/not-logged-file ", line, sizeof(line));
    cr_assert_eq(n, 1, "%d log lines for the missing file", n);
    cr_assert_neq(strstr(line, " 404 "), NULL, "no status 404 in: %s", line);
    free(text);
}
