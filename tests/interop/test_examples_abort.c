/*
 * h2server when clients give up mid-response, driven by a client on the
 * libh2 core (tests/interop/client_loop.h):
 *   - the client closes its socket after the first DATA of a 1 MiB body,
 *     several times in a row;
 *   - the client resets the stream (RST_STREAM CANCEL) after the first DATA
 *     and asks again on the same connection;
 *   - nghttp and curl are killed while downloading.
 * Afterwards the server still serves complete bodies and exits with status
 * 0 after SIGTERM (under H2_EXAMPLE_WRAP=valgrind: without leaks from the
 * abandoned streams).
 */
#include "client_loop.h"
#include "examples_util.h"

#define BIG (1024 * 1024)

static ex_dir dir;
static ex_server server;
static cli client;
static int sock = -1;

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

TestSuite(examples_abort, .init = setup, .fini = teardown, .timeout = 240);

static void start(void)
{
    EX_REQUIRE("h2server");
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", BIG), 0);
    ex_server_opts o = {.cleartext = true, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
}

static void connect_client(void)
{
    sock = interop_connect(server.port);
    cr_assert_geq(sock, 0, "cannot connect to h2server");
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cr_assert_eq(cli_open(&client, sock, server.port, &cfg), 0, "%s", client.error);
}

static void disconnect_client(void)
{
    h2_conn_free(client.conn); /* no GOAWAY: the socket just closes */
    client.conn = NULL;
    close(sock);
    sock = -1;
}

/*
 * Reads one batch and hands the events of |r|'s stream to the client loop;
 * events of other streams (a stream this side reset) are counted only.
 */
static int read_for(cli_req *r, size_t *other_events)
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
        if (ev[i].stream_id != 0 && ev[i].stream_id != r->id) {
            (*other_events)++;
            if (ev[i].type == H2_EV_DATA_RECEIVED) /* keep the connection window open */
                h2_conn_ack_data(client.conn, ev[i].stream_id, ev[i].u.data.flow_controlled_length);
            continue;
        }
        if (cli_handle(&client, r, 1, &ev[i], 1) != 0)
            return -1;
    }
    return rc == 0 ? 0 : cli_fail(&client, h2_conn_last_error(client.conn).message, rc);
}

/* Sends a GET for /big.bin and reads until its first body bytes. */
static void request_until_first_data(cli_req *r)
{
    size_t other = 0;
    cr_assert_eq(cli_send(&client, r), 0, "%s", client.error);
    cr_assert_eq(cli_flush(&client), 0, "%s", client.error);
    while (r->len == 0 && !r->ended)
        cr_assert_eq(read_for(r, &other), 0, "%s", client.error);
    cr_assert_eq(r->status, 200);
    cr_assert_lt(r->len, BIG, "the whole body arrived at once");
}

static void assert_big(const cli_req *r)
{
    cr_assert(r->ended);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->len, BIG, "%zu body bytes, expected %d", r->len, BIG);
    uint8_t *want = interop_pattern_new(BIG);
    long diff = interop_first_diff(r->body, r->len, want, BIG);
    free(want);
    cr_assert_eq(diff, -1, "the body differs at byte %ld", diff);
}

/* A fresh connection fetches the whole file, then h2server stops cleanly. */
static void assert_still_serving_then_stop(void)
{
    connect_client();
    cli_req r = {.path = "/big.bin"};
    cr_assert_eq(cli_run(&client, &r, 1), 0, "%s", client.error);
    assert_big(&r);
    cli_req_free(&r);
    cli_close(&client);
    close(sock);
    sock = -1;
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

Test(examples_abort, client_closes_mid_response)
{
    start();
    for (int i = 0; i < 5; i++) {
        connect_client();
        cli_req r = {.path = "/big.bin"};
        request_until_first_data(&r);
        cli_req_free(&r);
        disconnect_client();
    }
    assert_still_serving_then_stop();
}

Test(examples_abort, client_resets_stream_and_asks_again)
{
    start();
    connect_client();
    cli_req first = {.path = "/big.bin"};
    request_until_first_data(&first);
    cr_assert_eq(h2_conn_reset_stream(client.conn, first.id, H2_CANCEL), 0);
    cli_req second = {.path = "/big.bin"};
    cr_assert_eq(cli_send(&client, &second), 0, "%s", client.error);
    cr_assert_eq(cli_flush(&client), 0, "%s", client.error);
    size_t other = 0;
    int64_t deadline = interop_now_ms() + CLI_DEADLINE_MS;
    while (!second.ended && interop_now_ms() < deadline) {
        cr_assert_eq(read_for(&second, &other), 0, "%s", client.error);
        cr_assert_eq(cli_flush(&client), 0, "%s", client.error);
    }
    assert_big(&second);
    cr_assert_eq(second.id, first.id + 2);
    cli_req_free(&first);
    cli_req_free(&second);
    cli_close(&client);
    close(sock);
    sock = -1;
    assert_still_serving_then_stop();
}

/* Peers killed with SIGKILL while they download: the server notices the hang-up. */
Test(examples_abort, peers_killed_mid_download)
{
    start();
    for (int i = 0; i < 3; i++) {
        ex_argv a;
        if (i % 2 == 0) {
            cr_assert(ex_argv_peer(&a, "nghttp"), "nghttp is not installed (run `make deps`)");
            ex_arg(&a, "-w");
            ex_arg(&a, "10");
            ex_arg(&a, "-W");
            ex_arg(&a, "16");
        } else {
            cr_assert(ex_argv_peer(&a, "curl"), "curl is not installed (run `make deps`)");
            ex_arg(&a, "--http2-prior-knowledge");
            ex_arg(&a, "--limit-rate");
            ex_arg(&a, "100k");
        }
        ex_argf(&a, "http://127.0.0.1:%u/big.bin", server.port);
        char out[128];
        ex_path(&dir, "peer.out", out, sizeof(out));
        unlink(out);
        pid_t pid = interop_spawn(a.v, out, NULL);
        cr_assert_gt(pid, 0);
        struct stat st = {0};
        int64_t deadline = interop_now_ms() + ex_scale(10000, 60000);
        while ((stat(out, &st) != 0 || st.st_size == 0) && interop_now_ms() < deadline)
            interop_sleep_ms(2);
        kill(pid, SIGKILL);
        interop_wait(pid, 5000);
        cr_assert_gt(st.st_size, 0, "no body bytes arrived");
    }
    assert_still_serving_then_stop();
}
