/*
 * h2server's gRPC echo service (/h2server.Echo/Unary, /Stream, /Bidi)
 * against Debian's python3-grpcio: tests/interop/py/grpc_echo.py runs one
 * case per test with generic calls on raw bytes (identity serialisation, no
 * generated stubs), or with a raw python3-h2 client for bad framing and
 * server-side deadlines. Each test starts h2server -v, runs the case, checks
 * the script's "ok" lines and the server's request log, and stops the
 * server with SIGTERM expecting exit status 0 (under H2_EXAMPLE_WRAP with
 * valgrind, that status also tells about leaks and memory errors).
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

TestSuite(examples_grpc, .init = setup, .fini = teardown, .timeout = 300);

static void start_server(void)
{
    EX_REQUIRE("h2server");
    ex_server_opts o = {.cleartext = true, .workers = 2, .verbose = true};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
}

/* Counts the lines of |text| that start with |prefix|. */
static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return n;
}

/*
 * Runs grpc_echo.py |name| against the server (Debian's /usr/bin/python3,
 * which sees python3-grpcio and python3-h2) and asserts that it passed with
 * |oks| checks.
 */
static void run_case(const char *name, int oks)
{
    ex_argv a;
    memset(&a, 0, sizeof(a));
    if (access("/usr/bin/python3", X_OK) == 0)
        ex_arg(&a, "/usr/bin/python3");
    else
        cr_assert(ex_argv_peer(&a, "python3"), "python3 is not installed (run `make deps`)");
    ex_argf(&a, "%s/tests/interop/py/grpc_echo.py", H2_SOURCE_DIR);
    ex_arg(&a, name);
    ex_arg(&a, "127.0.0.1");
    ex_argf(&a, "%u", server.port);
    if (ex_wrapped())
        ex_arg(&a, "small");
    int rc = ex_run(&dir, &a, "grpc_echo", ex_scale(120000, 600000), 0);
    char *text = ex_output(&dir, "grpc_echo", NULL);
    if (rc != 0 || count_lines(text, "ok ") != oks) {
        fprintf(stderr, "grpc_echo.py %s said:\n%s\n", name, text);
        interop_dump_file("h2server stderr", server.err, 4000);
    }
    cr_assert_eq(rc, 0, "grpc_echo.py %s exited with %d", name, rc);
    cr_assert_eq(count_lines(text, "ok "), oks, "grpc_echo.py %s: %d checks passed, expected %d",
                 name, count_lines(text, "ok "), oks);
    free(text);
}

/* Lines of the server's request log (stderr) holding both |a| and |b|. */
static int log_count(const char *a, const char *b)
{
    size_t len = 0;
    char *text = (char *)interop_read_file(server.err, &len);
    int n = 0;
    for (char *line = text, *end; line != NULL && *line != '\0'; line = end) {
        end = strchr(line, '\n');
        if (end != NULL)
            *end++ = '\0';
        if (strstr(line, a) != NULL && strstr(line, b) != NULL)
            n++;
    }
    free(text);
    return n;
}

/*
 * Waits for at least |count| log lines holding |a| and |b|: the server
 * writes a call's line when it dropped the call's state, on its own
 * threads. The wait is bounded (a safety net); it returns as soon as the
 * lines are there.
 */
static void assert_log(const char *a, const char *b, int count)
{
    int64_t deadline = interop_now_ms() + ex_scale(10000, 60000);
    while (log_count(a, b) < count && interop_now_ms() < deadline)
        interop_sleep_ms(20);
    int n = log_count(a, b);
    if (n < count)
        interop_dump_file("h2server stderr", server.err, 8000);
    cr_assert_geq(n, count, "%d log lines with \"%s\" and \"%s\", expected %d", n, a, b, count);
}

static void stop_server(void)
{
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

Test(examples_grpc, unary_one_byte_and_four_mib)
{
    start_server();
    run_case("unary", 3);
    assert_log("/h2server.Echo/Unary 200 4194309 ", "grpc-status 0", 1);
    stop_server();
}

Test(examples_grpc, server_streaming_ten_thousand_messages)
{
    start_server();
    run_case("stream", 3);
    assert_log("/h2server.Echo/Stream ", "grpc-status 0", 3);
    stop_server();
}

Test(examples_grpc, bidi_messages_larger_than_the_windows)
{
    start_server();
    run_case("bidi", 8);
    assert_log("/h2server.Echo/Bidi ", "grpc-status 0", 2);
    stop_server();
}

Test(examples_grpc, deadline_exceeded)
{
    start_server();
    run_case("deadline", 3);
    /* Both calls ended on the server: by its own deadline or the client's
     * RST_STREAM(CANCEL), whichever came first. */
    int n = 0;
    int64_t deadline = interop_now_ms() + ex_scale(10000, 60000);
    while ((n = log_count("/h2server.Echo/Stream ", "grpc-status 4") +
                log_count("/h2server.Echo/Stream ", "(not completed)") +
                log_count("/h2server.Echo/Bidi ", "grpc-status 4") +
                log_count("/h2server.Echo/Bidi ", "(not completed)")) < 2 &&
           interop_now_ms() < deadline)
        interop_sleep_ms(20);
    cr_assert_eq(n, 2, "%d of the two calls past their deadline ended on the server", n);
    stop_server();
}

Test(examples_grpc, client_cancels_mid_stream)
{
    start_server();
    run_case("cancel", 4);
    /* The server dropped both calls when their RST_STREAM arrived. */
    assert_log("/h2server.Echo/Stream ", "(not completed)", 1);
    assert_log("/h2server.Echo/Bidi ", "(not completed)", 1);
    assert_log("/h2server.Echo/Unary ", "grpc-status 0", 1);
    stop_server();
}

Test(examples_grpc, hundred_concurrent_calls_on_one_channel)
{
    start_server();
    run_case("concurrent", 2);
    assert_log("/h2server.Echo/Unary ", "grpc-status 0", 100);
    assert_log("/h2server.Echo/Stream ", "grpc-status 0", 100);
    stop_server();
}

Test(examples_grpc, unknown_method_unimplemented)
{
    start_server();
    run_case("unimplemented", 3);
    assert_log("/h2server.Echo/Nope ", "grpc-status 12", 1);
    stop_server();
}

/* Raw HTTP/2: bad framing, compression, trailers-only answers, and deadlines
 * the server enforces while the client keeps its side open. */
Test(examples_grpc, bad_framing_and_server_deadlines_raw_h2)
{
    start_server();
    run_case("raw", 16);
    assert_log("/h2server.Echo/", "grpc-status 13", 9);
    assert_log("/h2server.Echo/Bidi 200 6 ", "grpc-status 4", 1);
    assert_log("/h2server.Echo/Unary 200 0 ", "grpc-status 4", 1);
    assert_log("/h2server.Echo/Stream ", "grpc-status 4", 1);
    stop_server();
}

/* A Bidi client that sends without reading: the server holds its DATA
 * unacknowledged once the echoes pile up, so the client stalls after a
 * bounded amount; the call is dropped when the client closes. */
Test(examples_grpc, bidi_client_that_does_not_read_is_stalled)
{
    start_server();
    run_case("noread", 1);
    assert_log("/h2server.Echo/Bidi ", "(not completed)", 1);
    stop_server();
}
