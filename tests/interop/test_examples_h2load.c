/*
 * h2server under h2load: 20000 requests over 4 connections, 10 streams
 * each at a time, every one must succeed; then the same over TLS with
 * fewer requests. Under H2_EXAMPLE_WRAP (valgrind, about 20 times slower)
 * the counts are 2000 and 500.
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

TestSuite(examples_h2load, .init = setup, .fini = teardown, .timeout = 300);

static void start(bool tls)
{
    EX_REQUIRE("h2server");
    cr_assert_eq(ex_make_pattern_file(&dir, "index.html", 1024), 0);
    if (tls)
        cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    ex_server_opts o = {.cleartext = true, .tls = tls, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
}

/*
 * Runs h2load with |n| requests over 4 connections, 10 concurrent streams
 * each, and checks its summary line: "<n> succeeded, 0 failed, 0 errored".
 */
static void h2load(const char *url, int n)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "h2load"), "h2load is not installed (run `make deps`)");
    ex_arg(&a, "-n");
    ex_argf(&a, "%d", n);
    ex_arg(&a, "-c");
    ex_arg(&a, "4");
    ex_arg(&a, "-m");
    ex_arg(&a, "10");
    ex_arg(&a, url);
    cr_assert_eq(ex_run(&dir, &a, "h2load", 240000, 0), 0, "h2load failed");
    char *text = ex_output(&dir, "h2load", NULL);
    char want[128];
    snprintf(want, sizeof(want), "%d done, %d succeeded, 0 failed, 0 errored, 0 timeout", n, n);
    bool ok = strstr(text, want) != NULL;
    bool status_ok = strstr(text, "status codes: ") != NULL;
    char want_2xx[64];
    snprintf(want_2xx, sizeof(want_2xx), "status codes: %d 2xx, 0 3xx, 0 4xx, 0 5xx", n);
    bool all_2xx = strstr(text, want_2xx) != NULL;
    if (!ok || !all_2xx)
        fprintf(stderr, "---- h2load output ----\n%s\n", text);
    free(text);
    cr_assert(ok, "h2load did not report \"%s\"", want);
    cr_assert(status_ok && all_2xx, "h2load did not report \"%s\"", want_2xx);
}

Test(examples_h2load, cleartext_20000)
{
    start(false);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/index.html", server.port);
    h2load(url, ex_scale(20000, 2000));
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

Test(examples_h2load, tls_5000)
{
    start(true);
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/index.html", server.tls_port);
    h2load(url, ex_scale(5000, 500));
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}
