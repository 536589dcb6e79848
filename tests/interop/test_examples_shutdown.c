/*
 * h2server's clean shutdown with a response under way. A client on the
 * libh2 core (tests/interop/client_loop.h) requests 1 MiB and, after the
 * first DATA frame, stops reading and withholds its WINDOW_UPDATEs, so the
 * server stalls on flow control with most of the body left. Then SIGTERM
 * (or SIGINT) arrives; the client resumes: it must receive a GOAWAY with
 * NO_ERROR that covers its stream, then the whole body, and h2server must
 * exit with status 0. A new connection after the signal is not served.
 */
#include "client_loop.h"
#include "examples_util.h"

static ex_dir dir;
static ex_server server;
static cli client;
static int sock = -1;
static uint32_t goaway_error = 0xffffffffu, goaway_last = 0;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    cli_close(&client);
    if (sock >= 0)
        close(sock);
    sock = -1;
    ex_server_kill(&server);
    ex_dir_remove(&dir);
}

TestSuite(examples_shutdown, .init = setup, .fini = teardown, .timeout = 240);

/* Reads and handles one batch of input; records the GOAWAY's fields. Returns 0 or -1. */
static int read_once(cli_req *r)
{
    uint8_t buf[16384];
    ssize_t got = recv(sock, buf, sizeof(buf), 0);
    if (got <= 0)
        return cli_fail(&client, got == 0 ? "peer closed the connection" : "read",
                        got == 0 ? 0 : errno);
    const h2_event *ev = NULL;
    size_t n = 0;
    int rc = h2_conn_receive(client.conn, buf, (size_t)got, &ev, &n);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type == H2_EV_CONNECTION_TERMINATED) {
            goaway_error = ev[i].u.terminated.error_code;
            goaway_last = ev[i].u.terminated.last_stream_id;
        }
    }
    if (cli_handle(&client, r, 1, ev, n) != 0)
        return -1;
    return rc == 0 ? 0 : cli_fail(&client, h2_conn_last_error(client.conn).message, rc);
}

/*
 * A new connection after the signal: refused (the listener is closed), or
 * at most accepted without its request being answered. Returns true when
 * a response arrived for it.
 */
static bool late_request_served(void)
{
    int fd = interop_connect(server.port);
    if (fd < 0)
        return false;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cli late;
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    bool served = false;
    cli_req r = {.path = "/big.bin"};
    if (cli_open(&late, fd, server.port, &cfg) == 0 && cli_send(&late, &r) == 0 &&
        cli_flush(&late) == 0) {
        int64_t deadline = interop_now_ms() + 2000;
        uint8_t buf[16384];
        while (!served && interop_now_ms() < deadline) {
            ssize_t got = recv(fd, buf, sizeof(buf), 0);
            if (got <= 0)
                break; /* closed, reset or silent */
            const h2_event *ev = NULL;
            size_t n = 0;
            int rc = h2_conn_receive(late.conn, buf, (size_t)got, &ev, &n);
            for (size_t i = 0; i < n; i++)
                if (ev[i].type == H2_EV_RESPONSE_RECEIVED)
                    served = true;
            if (rc != 0)
                break;
        }
    }
    cli_req_free(&r);
    cli_close(&late);
    close(fd);
    return served;
}

static void shutdown_with_stream_open(int signo)
{
    EX_REQUIRE("h2server");
    const size_t size = 1024 * 1024;
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", size), 0);
    ex_server_opts o = {.cleartext = true, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");

    sock = interop_connect(server.port);
    cr_assert_geq(sock, 0, "cannot connect to h2server");
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(cli_open(&client, sock, server.port, &cfg), 0, "%s", client.error);
    cli_req r = {.path = "/big.bin"};
    cr_assert_eq(cli_send(&client, &r), 0, "%s", client.error);
    cr_assert_eq(cli_flush(&client), 0, "%s", client.error);

    /* Read up to the first body bytes; the WINDOW_UPDATEs stay queued (no flush). */
    while (r.len == 0 && !r.ended)
        cr_assert_eq(read_once(&r), 0, "%s", client.error);
    cr_assert_lt(r.len, size, "the whole body arrived before the signal");
    cr_assert_eq(r.status, 200);

    kill(server.pid, signo);
    /* h2server closes its listeners before it sends the GOAWAYs: once ours
     * is here, a new connection must find no listener. */
    while (goaway_error == 0xffffffffu)
        cr_assert_eq(read_once(&r), 0, "%s (no GOAWAY after the signal)", client.error);
    cr_assert(!late_request_served(), "a request made after the signal was served");

    /* Resume: window updates go out, the rest of the body comes in. */
    int64_t deadline = interop_now_ms() + CLI_DEADLINE_MS;
    while (!r.ended && interop_now_ms() < deadline) {
        cr_assert_eq(cli_flush(&client), 0, "%s", client.error);
        cr_assert_eq(read_once(&r), 0, "%s (%zu body bytes so far)", client.error, r.len);
    }
    cr_assert(r.ended, "the stream did not end");
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, size, "%zu body bytes, expected %zu", r.len, size);
    uint8_t *want = interop_pattern_new(size);
    long diff = interop_first_diff(r.body, r.len, want, size);
    free(want);
    cli_req_free(&r);
    cr_assert_eq(diff, -1, "the body differs at byte %ld", diff);
    cr_assert_eq(client.goaways, 1, "%u GOAWAY frames, expected 1", client.goaways);
    cr_assert_eq(goaway_error, 0, "GOAWAY with error code %u", goaway_error);
    cr_assert_geq(goaway_last, 1, "the GOAWAY does not cover stream 1");

    int rc = interop_wait(server.pid, ex_stop_timeout_ms());
    server.pid = -1;
    if (rc != 0)
        interop_dump_file("h2server stderr", server.err, 8000);
    cr_assert_eq(rc, 0, "h2server exited with %d after the signal", rc);
}

Test(examples_shutdown, sigterm_lets_the_open_stream_finish)
{
    shutdown_with_stream_open(SIGTERM);
}

Test(examples_shutdown, sigint_lets_the_open_stream_finish)
{
    shutdown_with_stream_open(SIGINT);
}
