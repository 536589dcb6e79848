/*
 * h2server under h2load: 20000 requests over 4 connections, 10 streams
 * each at a time, every one must succeed; then the same over TLS with
 * fewer requests, 100 connections at once, and POSTs to /echo whose bodies
 * must all come back. Under H2_EXAMPLE_WRAP (valgrind, about 20 times
 * slower) the counts are 2000, 500, 1000 and 200.
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
 * Runs h2load with |n| requests over |c| connections, |m| concurrent streams
 * each (and the extra arguments |extra|, NULL-terminated, or NULL), and
 * checks its summary lines: "<n> succeeded, 0 failed, 0 errored", all 2xx.
 */
static void h2load_run(const char *url, int n, int c, int m, const char *const *extra)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "h2load"), "h2load is not installed (run `make deps`)");
    ex_arg(&a, "-n");
    ex_argf(&a, "%d", n);
    ex_arg(&a, "-c");
    ex_argf(&a, "%d", c);
    ex_arg(&a, "-m");
    ex_argf(&a, "%d", m);
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        ex_arg(&a, extra[i]);
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

/* |n| requests over 4 connections, 10 streams each at a time. */
static void h2load(const char *url, int n)
{
    h2load_run(url, n, 4, 10, NULL);
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

/* 100 connections at once, spread over the two workers: 40 requests each. */
Test(examples_h2load, hundred_connections)
{
    start(false);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/index.html", server.port);
    h2load_run(url, ex_scale(4000, 1000), 100, 4, NULL);
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

/* POST bodies under load: h2load -d sends a 20000-byte body with every request to /echo. */
Test(examples_h2load, echo_posts)
{
    start(false);
    char body[128];
    ex_path(&dir, "post.bin", body, sizeof(body));
    uint8_t *p = interop_pattern_new(20000);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(body, p, 20000), 0);
    free(p);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", server.port);
    const char *extra[] = {"-d", body, NULL};
    int n = ex_scale(2000, 200);
    h2load_run(url, n, 4, 10, extra);
    /* Every body came back: h2load counts the DATA bytes it received. */
    char *text = ex_output(&dir, "h2load", NULL);
    const char *traffic = strstr(text, "traffic: ");
    const char *data = traffic != NULL ? strstr(traffic, ") data") : NULL;
    unsigned long long bytes = 0;
    bool parsed = false;
    if (data != NULL) {
        const char *q = data;
        while (q > traffic && q[-1] != '(')
            q--;
        parsed = sscanf(q, "%llu", &bytes) == 1;
    }
    free(text);
    cr_assert(parsed, "no data byte count in h2load's traffic line");
    cr_assert_eq(bytes, (unsigned long long)n * 20000, "%llu response body bytes, expected %llu",
                 bytes, (unsigned long long)n * 20000);
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}
