/*
 * The examples against python3-h2 (Debian's h2 4.1): a Python client
 * (tests/interop/py/h2_fetch.py) fetches three files over one connection
 * from h2server, and h2client fetches several files and POSTs an upload to
 * a Python server (tests/interop/py/h2_serve.py), cleartext and over TLS;
 * that server pads its DATA frames and sends a PING and a SETTINGS change
 * while the streams run, which h2client must answer; -d STRING is echoed.
 * Bodies are compared byte for byte.
 */
#include "examples_util.h"

static ex_dir dir;
static ex_server server;
static pid_t pyserver = -1;
static uint16_t pyport;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    ex_server_kill(&server);
    interop_stop(pyserver);
    pyserver = -1;
    ex_dir_remove(&dir);
}

TestSuite(examples_python, .init = setup, .fini = teardown, .timeout = 240);

static const size_t sizes[3] = {1024 * 1024, 100000, 1};
static const char *const names[3] = {"big.bin", "mid.bin", "one.bin"};

static void make_files(void)
{
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ex_make_pattern_file(&dir, names[i], sizes[i]), 0);
}

static void assert_pattern_at(const char *path, size_t size)
{
    size_t got = 0;
    long diff = ex_check_pattern_file(path, size, &got);
    cr_assert_eq(got, size, "%s has %zu bytes, expected %zu", path, got, size);
    cr_assert_eq(diff, -1, "%s differs at byte %ld", path, diff);
}

Test(examples_python, python_client_fetches_three_files)
{
    EX_REQUIRE("h2server");
    make_files();
    ex_server_opts o = {.cleartext = true, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
    ex_argv a;
    ex_argv_python(&a, "h2_fetch.py");
    ex_arg(&a, "127.0.0.1");
    ex_argf(&a, "%u", server.port);
    ex_arg(&a, dir.dir);
    for (int i = 0; i < 3; i++)
        ex_argf(&a, "/%s", names[i]);
    cr_assert_eq(ex_run(&dir, &a, "h2_fetch", 90000, 0), 0, "the Python client failed");
    char *text = ex_output(&dir, "h2_fetch", NULL);
    char want[256];
    snprintf(want, sizeof(want), "/%s 200 %zu\n/%s 200 %zu\n/%s 200 %zu\n", names[0], sizes[0],
             names[1], sizes[1], names[2], sizes[2]);
    cr_assert_str_eq(text, want);
    free(text);
    for (int i = 0; i < 3; i++) {
        char body[128], name[32];
        snprintf(name, sizeof(name), "%d.body", i);
        ex_path(&dir, name, body, sizeof(body));
        assert_pattern_at(body, sizes[i]);
    }
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

/* Starts h2_serve.py on |dir|.root (TLS with the folder's certificate when |tls|). */
static void start_python_server(bool tls)
{
    ex_argv a;
    ex_argv_python(&a, "h2_serve.py");
    ex_arg(&a, dir.root);
    if (tls) {
        char cert[128], key[128];
        ex_path(&dir, "cert.pem", cert, sizeof(cert));
        ex_path(&dir, "key.pem", key, sizeof(key));
        ex_arg(&a, cert);
        ex_arg(&a, key);
    }
    char out[128], err[128];
    ex_path(&dir, "h2_serve.stdout", out, sizeof(out));
    ex_path(&dir, "h2_serve.stderr", err, sizeof(err));
    pyserver = interop_spawn(a.v, out, err);
    cr_assert_gt(pyserver, 0);
    int64_t deadline = interop_now_ms() + 15000;
    pyport = 0;
    while (pyport == 0 && interop_now_ms() < deadline) {
        size_t len = 0;
        uint8_t *text = interop_read_file(out, &len);
        if (text != NULL)
            pyport = ex_parse_listening((const char *)text, tls ? "https" : "http");
        free(text);
        if (pyport == 0)
            interop_sleep_ms(20);
    }
    if (pyport == 0)
        interop_dump_file("h2_serve stderr", err, 4000);
    cr_assert_neq(pyport, 0, "the Python server did not start");
}

/* Runs h2client with |a| (already holding its arguments); asserts exit status |expect|. */
static void run_client(ex_argv *a, int expect)
{
    int rc = ex_run(&dir, a, "h2client", ex_scale(60000, 240000), expect);
    cr_assert_eq(rc, expect, "h2client exited with %d, expected %d", rc, expect);
}

/* Counts the lines |line| (without its newline) in the Python server's stdout. */
static int log_count(const char *line)
{
    char path[128], want[160];
    ex_path(&dir, "h2_serve.stdout", path, sizeof(path));
    snprintf(want, sizeof(want), "\n%s\n", line);
    size_t len = 0;
    char *text = (char *)interop_read_file(path, &len);
    int n = 0;
    for (const char *p = text != NULL ? strstr(text, want) : NULL; p != NULL;
         p = strstr(p + 1, want))
        n++;
    free(text);
    return n;
}

/* Waits up to 10 s for |count| lines |line| in the server's log (it logs from its own threads). */
static void assert_log(const char *line, int count)
{
    int64_t deadline = interop_now_ms() + 10000;
    while (log_count(line) < count && interop_now_ms() < deadline)
        interop_sleep_ms(20);
    int n = log_count(line);
    cr_assert_eq(n, count, "%d lines \"%s\" in the Python server's log, expected %d", n, line,
                 count);
}

static void h2client_fetches_from_python(bool tls)
{
    EX_REQUIRE("h2client");
    make_files();
    if (tls)
        cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    start_python_server(tls);
    const char *scheme = tls ? "https" : "http";
    char cert[128];
    ex_path(&dir, "cert.pem", cert, sizeof(cert));

    /* Three files on one connection, each to its own -o file. */
    ex_argv a;
    ex_argv_example(&a, "h2client");
    if (tls) {
        ex_arg(&a, "--cacert");
        ex_arg(&a, cert);
    }
    ex_arg(&a, "-H");
    ex_arg(&a, "x-interop: three files");
    for (int i = 0; i < 3; i++) {
        ex_arg(&a, "-o");
        ex_argf(&a, "%s/out%d", dir.dir, i);
    }
    for (int i = 0; i < 3; i++)
        ex_argf(&a, "%s://127.0.0.1:%u/%s", scheme, pyport, names[i]);
    run_client(&a, 0);
    for (int i = 0; i < 3; i++) {
        char out[128], name[32];
        snprintf(name, sizeof(name), "out%d", i);
        ex_path(&dir, name, out, sizeof(out));
        assert_pattern_at(out, sizes[i]);
    }

    /* A 1 MiB POST to /echo; the body comes back on stdout. */
    char upload[128], echoed[128];
    ex_path(&dir, "upload.bin", upload, sizeof(upload));
    uint8_t *p = interop_pattern_new(sizes[0]);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(upload, p, sizes[0]), 0);
    free(p);
    ex_argv_example(&a, "h2client");
    if (tls) {
        ex_arg(&a, "--cacert");
        ex_arg(&a, cert);
    }
    ex_arg(&a, "-d");
    ex_argf(&a, "@%s", upload);
    ex_argf(&a, "%s://127.0.0.1:%u/echo", scheme, pyport);
    run_client(&a, 0);
    ex_path(&dir, "h2client.stdout", echoed, sizeof(echoed));
    assert_pattern_at(echoed, sizes[0]);

    /* The server saw the three GETs (with the extra field) and the POST. */
    assert_log("served POST /echo 200 1048576", 1);
    assert_log("served GET /big.bin 200 1048576", 1);
    assert_log("served GET /one.bin 200 1", 1);
    assert_log("header x-interop: three files", 3);
    /* Each of the two connections answered the server's PING and SETTINGS. */
    assert_log("ping acked", 2);
    assert_log("settings acked", 2);
}

Test(examples_python, h2client_fetches_from_python_server)
{
    h2client_fetches_from_python(false);
}

Test(examples_python, h2client_fetches_from_python_server_tls)
{
    h2client_fetches_from_python(true);
}

/* -d STRING: the string is the request body; /echo sends it back. */
Test(examples_python, h2client_posts_a_string)
{
    EX_REQUIRE("h2client");
    start_python_server(false);
    ex_argv a;
    ex_argv_example(&a, "h2client");
    ex_arg(&a, "-d");
    ex_arg(&a, "hello, h2 echo");
    ex_argf(&a, "http://127.0.0.1:%u/echo", pyport);
    run_client(&a, 0);
    char *text = ex_output(&dir, "h2client", NULL);
    cr_assert_str_eq(text, "hello, h2 echo");
    free(text);
    assert_log("served POST /echo 200 14", 1);
}
