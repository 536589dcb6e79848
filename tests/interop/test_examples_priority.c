/*
 * h2server serves by RFC 9218 priority: a Python client (python3-h2,
 * tests/interop/py/h2_priority_fetch.py) asks for two 1 MiB files at once,
 * the first with "priority: u=5", the second with "u=1", and reads through
 * a 64 KiB connection window that it acknowledges as it reads. The u=1
 * response ends first although it was asked for second; both bodies are
 * complete.
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

TestSuite(examples_priority, .init = setup, .fini = teardown, .timeout = 240);

Test(examples_priority, urgent_response_ends_first)
{
    EX_REQUIRE("h2server");
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "low.bin", size), 0);
    cr_assert_eq(ex_make_pattern_file(&dir, "high.bin", size), 0);
    ex_server_opts o = {.cleartext = true, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
    ex_argv a;
    ex_argv_python(&a, "h2_priority_fetch.py");
    ex_arg(&a, "127.0.0.1");
    ex_argf(&a, "%u", server.port);
    ex_arg(&a, "/low.bin");
    ex_arg(&a, "u=5");
    ex_arg(&a, "/high.bin");
    ex_arg(&a, "u=1");
    cr_assert_eq(ex_run(&dir, &a, "h2_priority_fetch", 90000, 0), 0, "the Python client failed");
    char *text = ex_output(&dir, "h2_priority_fetch", NULL);
    char want[128];
    snprintf(want, sizeof(want), "/high.bin 200 %zu\n/low.bin 200 %zu\n", size, size);
    cr_assert_str_eq(text, want, "responses ended in another order");
    free(text);
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}
