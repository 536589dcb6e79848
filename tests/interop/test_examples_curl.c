/*
 * h2server against curl: a GET with prior knowledge, a 1 MiB download,
 * cached and streamed files fetched twice, and
 * a 1 MiB upload to /echo compared byte for byte, the HTTP/1.1 Upgrade to
 * h2c, TLS with ALPN (insecure and with the certificate as CA), 4 MiB over
 * TLS byte for byte (also to a slow reader and through a small receive
 * buffer), TLS records sent ahead of time, full TLS records for a body
 * sent by reference, a 404, and
 * a clean exit (status 0) after SIGTERM every time.
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

TestSuite(examples_curl, .init = setup, .fini = teardown, .timeout = 240);

static const char index_html[] = "<!doctype html>\n<title>libh2</title>\n<p>hello from h2server\n";

static void start(bool tls)
{
    EX_REQUIRE("h2server");
    cr_assert_eq(ex_make_text_file(&dir, "index.html", index_html), 0);
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

/*
 * Runs curl with |args| (NULL-terminated) after the common options; the
 * body goes to |dir|/body and the -w text is returned in |w|. Returns
 * curl's exit status.
 */
static int curl(const char *const *args, char *w, size_t cap)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "curl"), "curl is not installed (run `make deps`)");
    char body[128];
    ex_path(&dir, "body", body, sizeof(body));
    unlink(body);
    const char *common[] = {"--silent", "--show-error", "--max-time", "60", "-o", body, NULL};
    for (size_t i = 0; common[i] != NULL; i++)
        ex_arg(&a, common[i]);
    for (size_t i = 0; args[i] != NULL; i++)
        ex_arg(&a, args[i]);
    int rc = ex_run(&dir, &a, "curl", 90000, 0);
    char *text = ex_output(&dir, "curl", NULL);
    snprintf(w, cap, "%s", text);
    free(text);
    return rc;
}

static void assert_body_text(const char *want)
{
    char body[128];
    ex_path(&dir, "body", body, sizeof(body));
    size_t len = 0;
    uint8_t *got = interop_read_file(body, &len);
    cr_assert_not_null(got, "no body file");
    cr_assert_eq(len, strlen(want), "body has %zu bytes, expected %zu", len, strlen(want));
    cr_assert_str_eq((const char *)got, want);
    free(got);
}

static void assert_body_pattern(size_t size)
{
    char body[128];
    ex_path(&dir, "body", body, sizeof(body));
    size_t got = 0;
    long diff = ex_check_pattern_file(body, size, &got);
    cr_assert_eq(got, size, "body has %zu bytes, expected %zu", got, size);
    cr_assert_eq(diff, -1, "body differs at byte %ld", diff);
}

static void url(char *out, size_t cap, const char *scheme, uint16_t port, const char *path)
{
    snprintf(out, cap, "%s://127.0.0.1:%u%s", scheme, port, path);
}

Test(examples_curl, get_prior_knowledge)
{
    start(false);
    char u[128], w[64];
    url(u, sizeof(u), "http", server.port, "/index.html");
    const char *args[] = {"--http2-prior-knowledge", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_text(index_html);
    stop_clean();
}

Test(examples_curl, download_1m)
{
    start(false);
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    char u[128], w[64];
    url(u, sizeof(u), "http", server.port, "/big.bin");
    const char *args[] = {"--http2-prior-knowledge", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);
    stop_clean();
}

/* Files up to 1 MiB come from the worker's cache (the second fetch), a
 * larger one streams from the file: both byte for byte. */
Test(examples_curl, cached_and_streamed_files)
{
    start(false);
    const size_t sizes[] = {300 * 1024, 1024 * 1024 + 1};
    for (size_t i = 0; i < 2; i++) {
        char name[32], path[40], u[128], w[64];
        snprintf(name, sizeof(name), "f%zu.bin", i);
        snprintf(path, sizeof(path), "/%s", name);
        cr_assert_eq(ex_make_pattern_file(&dir, name, sizes[i]), 0);
        url(u, sizeof(u), "http", server.port, path);
        for (int round = 0; round < 2; round++) {
            const char *args[] = {"--http2-prior-knowledge", "-w", "%{http_version} %{http_code}",
                                  u, NULL};
            cr_assert_eq(curl(args, w, sizeof(w)), 0);
            cr_assert_str_eq(w, "2 200");
            assert_body_pattern(sizes[i]);
        }
    }
    stop_clean();
}

Test(examples_curl, post_1m_echo)
{
    start(false);
    const size_t size = 1024 * 1024;
    char upload[128], data[160], u[128], w[64];
    ex_path(&dir, "upload.bin", upload, sizeof(upload));
    uint8_t *p = interop_pattern_new(size);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(upload, p, size), 0);
    free(p);
    snprintf(data, sizeof(data), "@%s", upload);
    url(u, sizeof(u), "http", server.port, "/echo");
    /* "expect:" keeps curl from waiting for 100 (Continue) before the upload. */
    const char *args[] = {"--http2-prior-knowledge",
                          "--data-binary",
                          data,
                          "-H",
                          "expect:",
                          "-w",
                          "%{http_version} %{http_code}",
                          u,
                          NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);
    stop_clean();
}

/* curl --http2 over http:// sends HTTP/1.1 with "Upgrade: h2c"; the response comes over h2. */
Test(examples_curl, h2c_upgrade)
{
    start(false);
    char u[128], w[64];
    url(u, sizeof(u), "http", server.port, "/index.html");
    const char *args[] = {"--http2", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_text(index_html);
    stop_clean();
}

/* An upgrade with a 1 MiB response: the body arrives on stream 1 over h2. */
Test(examples_curl, h2c_upgrade_1m)
{
    start(false);
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    char u[128], w[64];
    url(u, sizeof(u), "http", server.port, "/big.bin");
    const char *args[] = {"--http2", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);
    stop_clean();
}

/* An upgrade whose request has a body: the server reads the whole body
 * before the 101, and the echo of 1 MiB (its limit) comes back on stream 1
 * over h2. A larger body is refused with 413 over HTTP/1.1. */
Test(examples_curl, h2c_upgrade_post_echo)
{
    start(false);
    const size_t size = 1024 * 1024;
    char upload[128], data[160], u[128], w[64];
    ex_path(&dir, "upload.bin", upload, sizeof(upload));
    uint8_t *p = interop_pattern_new(size + 1);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(upload, p, size), 0);
    snprintf(data, sizeof(data), "@%s", upload);
    url(u, sizeof(u), "http", server.port, "/echo");
    const char *args[] = {
        "--http2", "--data-binary", data, "-H", "expect:", "-w", "%{http_version} %{http_code}", u,
        NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);

    cr_assert_eq(interop_write_file(upload, p, size + 1), 0);
    free(p);
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "1.1 413");
    stop_clean();
}

Test(examples_curl, tls_insecure)
{
    start(true);
    char u[128], w[64];
    url(u, sizeof(u), "https", server.tls_port, "/index.html");
    const char *args[] = {"--http2", "-k", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_text(index_html);
    stop_clean();
}

/* The certificate verified as its own CA; a 1 MiB body over TLS. */
Test(examples_curl, tls_cacert_1m)
{
    start(true);
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    char u[128], w[64], cert[128];
    ex_path(&dir, "cert.pem", cert, sizeof(cert));
    url(u, sizeof(u), "https", server.tls_port, "/big.bin");
    const char *args[] = {"--http2", "--cacert", cert, "-w", "%{http_version} %{http_code}",
                          u,         NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);
    stop_clean();
}

/* 4 MiB over TLS, byte for byte: records batched per system call arrive whole and in order. */
Test(examples_curl, tls_4m)
{
    start(true);
    const size_t size = 4 * 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    char u[128], w[64];
    url(u, sizeof(u), "https", server.tls_port, "/big.bin");
    const char *args[] = {"--http2", "-k", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);
    stop_clean();
}

/* The same with a reader slower than the server: the socket fills, and the
 * ciphertext the transport holds goes out later, in order. */
Test(examples_curl, tls_4m_slow_reader)
{
    start(true);
    const size_t size = 4 * 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    char u[128], w[64];
    url(u, sizeof(u), "https", server.tls_port, "/big.bin");
    const char *args[] = {"--http2", "-k", "--limit-rate", "8M", "-w",
                          "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    assert_body_pattern(size);
    stop_clean();
}

/*
 * 4 MiB over TLS to a client whose socket receive buffer is a few KiB and
 * whose HTTP/2 windows are wide open (tests/interop/py/tls_small_window_get.py):
 * the server's socket fills, so batches of records are held and sent later;
 * the body must still arrive byte for byte.
 */
Test(examples_curl, tls_4m_small_receive_buffer)
{
    start(true);
    const size_t size = 4 * 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    ex_argv a;
    ex_argv_python(&a, "tls_small_window_get.py");
    char port[16], body[128];
    snprintf(port, sizeof(port), "%u", server.tls_port);
    ex_path(&dir, "body", body, sizeof(body));
    ex_arg(&a, "127.0.0.1");
    ex_arg(&a, port);
    ex_arg(&a, "/big.bin");
    ex_arg(&a, body);
    cr_assert_eq(ex_run(&dir, &a, "python", 90000, 0), 0);
    char *text = ex_output(&dir, "python", NULL);
    cr_assert_str_eq(text, "status 200\nend\n");
    free(text);
    assert_body_pattern(size);
    stop_clean();
}

/* tests/interop/py/tls_records_get.py on |count| streams of GET |path|; its output (owned). */
static char *records_get(const char *path, unsigned count)
{
    ex_argv a;
    ex_argv_python(&a, "tls_records_get.py");
    char port[16], n[16];
    snprintf(port, sizeof(port), "%u", server.tls_port);
    snprintf(n, sizeof(n), "%u", count);
    ex_arg(&a, "127.0.0.1");
    ex_arg(&a, port);
    ex_arg(&a, path);
    ex_arg(&a, n);
    cr_assert_eq(ex_run(&dir, &a, "python", 60000, 0), 0, "not every stream was answered");
    return ex_output(&dir, "python", NULL);
}

/*
 * The preface and SETTINGS in one TLS record and four GETs in a record each,
 * all in one TCP send, after which the client only reads: records the
 * server took from the socket ahead of time must be decrypted without the
 * socket becoming readable again, so every stream is answered.
 */
Test(examples_curl, tls_records_in_one_send)
{
    start(true);
    char *text = records_get("/index.html", 4);
    char want[256];
    size_t len = strlen(index_html);
    int w = snprintf(want, sizeof(want),
                     "stream 1 status 200 bytes %zu\nstream 3 status 200 bytes %zu\n"
                     "stream 5 status 200 bytes %zu\nstream 7 status 200 bytes %zu\n",
                     len, len, len, len);
    cr_assert_eq(strncmp(text, want, (size_t)w), 0, "got:\n%s", text);
    cr_assert_eq(strncmp(text + w, "records ", 8), 0, "got:\n%s", text);
    free(text);
    stop_clean();
}

/*
 * A 1 MiB body over TLS (64 DATA frames of 16 KiB, their payloads queued by
 * reference): a frame header does not get a TLS record of its own. Records
 * carry up to 16 KiB; the ones under 1 KiB of ciphertext are the response's
 * HEADERS and the tails of the output, far fewer than the 64 frames.
 */
Test(examples_curl, tls_records_are_full)
{
    start(true);
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    char *text = records_get("/big.bin", 1);
    unsigned records = 0, small = 0;
    cr_assert_eq(sscanf(text, "stream 1 status 200 bytes 1048576\nrecords %u small %u", &records,
                        &small),
                 2, "got:\n%s", text);
    cr_assert_geq(records, 64, "got:\n%s", text);
    cr_assert_lt(small, 32, "a small record per frame header? got:\n%s", text);
    free(text);
    stop_clean();
}

Test(examples_curl, missing_file_is_404)
{
    start(false);
    char u[128], w[64];
    url(u, sizeof(u), "http", server.port, "/no/such/file.html");
    const char *args[] = {"--http2-prior-knowledge", "-w", "%{http_version} %{http_code}", u, NULL};
    cr_assert_eq(curl(args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 404");
    stop_clean();
}

/* A path that climbs out of the root is not served. */
Test(examples_curl, dot_dot_is_refused)
{
    start(false);
    char u[128], w[64];
    url(u, sizeof(u), "http", server.port, "/../h2server.stderr");
    const char *args[] = {"--http2-prior-knowledge", "--path-as-is", "-w", "%{http_code}", u, NULL};
    int rc = curl(args, w, sizeof(w));
    /* A 4xx status, or a reset stream (curl then fails): anything but a 2xx. */
    cr_assert(rc != 0 || w[0] == '4', "a path outside the root got status %s", w);
    stop_clean();
}
