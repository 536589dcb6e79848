/*
 * h2client against nghttpd and h2o (cleartext with prior knowledge, and TLS
 * with the self-signed certificate, accepted with -k or verified with
 * --cacert): several files at once on one connection, to -o files and to
 * stdout in URL order (60 URLs at once against h2o), compared byte for
 * byte; a 404 or an untrusted certificate makes the exit status non-zero
 * with the reason on stderr; -v writes a frame log; -m bounds the wait on a
 * server that never answers.
 */
#include "examples_util.h"

static ex_dir dir;
static pid_t peer = -1;
static uint16_t peer_port;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    interop_stop(peer);
    peer = -1;
    ex_dir_remove(&dir);
}

TestSuite(examples_h2client, .init = setup, .fini = teardown, .timeout = 240);

enum peer_kind { NGHTTPD, H2O };

static const size_t sizes[4] = {1024 * 1024, 300000, 65536, 1};
static const char *const names[4] = {"big.bin", "b.bin", "c.bin", "d.bin"};

static void make_files(void)
{
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ex_make_pattern_file(&dir, names[i], sizes[i]), 0);
}

/* Writes |dir|/h2o.conf: one listener on |port|, cleartext or TLS, serving root. */
static void write_h2o_conf(uint16_t port, bool tls)
{
    char conf[128], cert[128], key[128], log[128], text[2048];
    ex_path(&dir, "h2o.conf", conf, sizeof(conf));
    ex_path(&dir, "cert.pem", cert, sizeof(cert));
    ex_path(&dir, "key.pem", key, sizeof(key));
    ex_path(&dir, "h2o.error.log", log, sizeof(log));
    char ssl[512] = "";
    if (tls)
        snprintf(ssl, sizeof(ssl),
                 "  ssl:\n    certificate-file: %s\n    key-file: %s\n"
                 "    ocsp-update-interval: 0\n",
                 cert, key);
    /* As root h2o would switch to "nobody"; staying root keeps the log writable. */
    snprintf(text, sizeof(text),
             "listen:\n  host: 127.0.0.1\n  port: %u\n%s%s"
             "error-log: %s\n"
             "hosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\n",
             port, ssl, geteuid() == 0 ? "user: root\n" : "", log, dir.root);
    cr_assert_eq(interop_write_file(conf, (const uint8_t *)text, strlen(text)), 0);
}

/*
 * Starts the peer on a free loopback port and waits until it accepts
 * connections. The port is found by binding port 0 and closing, so another
 * process may take it in between: then the peer exits and another port is
 * tried.
 */
static void start_peer(enum peer_kind kind, bool tls)
{
    if (tls)
        cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    const char *label = kind == NGHTTPD ? "nghttpd" : "h2o";
    char out[128], err[128], cert[128], key[128];
    ex_path(&dir, "peer.stdout", out, sizeof(out));
    ex_path(&dir, "peer.stderr", err, sizeof(err));
    ex_path(&dir, "cert.pem", cert, sizeof(cert));
    ex_path(&dir, "key.pem", key, sizeof(key));
    for (int attempt = 0; attempt < 5; attempt++) {
        peer_port = interop_free_port();
        cr_assert_neq(peer_port, 0, "no free loopback port");
        ex_argv a;
        cr_assert(ex_argv_peer(&a, label), "%s is not installed (run `make deps`)", label);
        if (kind == NGHTTPD) {
            if (!tls)
                ex_arg(&a, "--no-tls");
            ex_arg(&a, "--address=127.0.0.1");
            ex_argf(&a, "--htdocs=%s", dir.root);
            ex_argf(&a, "%u", peer_port);
            if (tls) {
                ex_arg(&a, key);
                ex_arg(&a, cert);
            }
        } else {
            write_h2o_conf(peer_port, tls);
            ex_arg(&a, "-c");
            ex_argf(&a, "%s/h2o.conf", dir.dir);
        }
        peer = interop_spawn(a.v, out, err);
        cr_assert_gt(peer, 0, "fork: %s", strerror(errno));
        int64_t deadline = interop_now_ms() + 10000;
        while (interop_now_ms() < deadline) {
            if (waitpid(peer, NULL, WNOHANG) == peer) {
                peer = -1; /* exited: most likely the port was taken */
                break;
            }
            int fd = interop_connect(peer_port);
            if (fd >= 0) {
                close(fd);
                return;
            }
            interop_sleep_ms(20);
        }
        interop_stop(peer);
        peer = -1;
    }
    interop_dump_file("peer stderr", err, 4000);
    cr_assert_fail("could not start %s", label);
}

static void client_argv(ex_argv *a, const char *tls_opt)
{
    ex_argv_example(a, "h2client");
    if (tls_opt != NULL && strcmp(tls_opt, "-k") == 0) {
        ex_arg(a, "-k");
    } else if (tls_opt != NULL) {
        ex_arg(a, "--cacert");
        ex_argf(a, "%s/cert.pem", dir.dir);
    }
}

static int run_client(ex_argv *a, int expect)
{
    return ex_run(&dir, a, "h2client", ex_scale(60000, 240000), expect);
}

static void assert_pattern_at(const char *path, size_t size)
{
    size_t got = 0;
    long diff = ex_check_pattern_file(path, size, &got);
    cr_assert_eq(got, size, "%s has %zu bytes, expected %zu", path, got, size);
    cr_assert_eq(diff, -1, "%s differs at byte %ld", path, diff);
}

/*
 * The four files on one connection, each to its own -o file, then the same
 * four to stdout, where they must appear whole and in URL order.
 */
static void fetch_files(enum peer_kind kind, const char *tls_opt)
{
    EX_REQUIRE("h2client");
    make_files();
    start_peer(kind, tls_opt != NULL);
    const char *scheme = tls_opt != NULL ? "https" : "http";

    ex_argv a;
    client_argv(&a, tls_opt);
    for (int i = 0; i < 4; i++) {
        ex_arg(&a, "-o");
        ex_argf(&a, "%s/out%d", dir.dir, i);
    }
    for (int i = 0; i < 4; i++)
        ex_argf(&a, "%s://127.0.0.1:%u/%s", scheme, peer_port, names[i]);
    int rc = run_client(&a, 0);
    cr_assert_eq(rc, 0, "h2client exited with %d", rc);
    for (int i = 0; i < 4; i++) {
        char out[128], name[16];
        snprintf(name, sizeof(name), "out%d", i);
        ex_path(&dir, name, out, sizeof(out));
        assert_pattern_at(out, sizes[i]);
    }

    client_argv(&a, tls_opt);
    for (int i = 0; i < 4; i++)
        ex_argf(&a, "%s://127.0.0.1:%u/%s", scheme, peer_port, names[i]);
    rc = run_client(&a, 0);
    cr_assert_eq(rc, 0, "h2client exited with %d", rc);
    size_t len = 0;
    uint8_t *got = (uint8_t *)ex_output(&dir, "h2client", &len);
    size_t total = sizes[0] + sizes[1] + sizes[2] + sizes[3];
    cr_assert_eq(len, total, "stdout has %zu bytes, expected %zu", len, total);
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t *want = interop_pattern_new(sizes[i]);
        long diff = interop_first_diff(got + off, sizes[i], want, sizes[i]);
        free(want);
        cr_assert_eq(diff, -1, "body %d on stdout differs at byte %ld", i, diff);
        off += sizes[i];
    }
    free(got);
}

/* Reads |dir|/h2client.stderr (malloc'd, NUL-terminated; "" when missing). */
static char *client_stderr(void)
{
    char path[128];
    ex_path(&dir, "h2client.stderr", path, sizeof(path));
    size_t len = 0;
    char *text = (char *)interop_read_file(path, &len);
    return text != NULL ? text : calloc(1, 1);
}

/*
 * A missing file: status 404, so the exit status is not 0 and the status is
 * named on stderr. Next to an existing file on the same connection, the
 * existing one still arrives whole in its -o file.
 */
static void missing_file(enum peer_kind kind, bool tls)
{
    EX_REQUIRE("h2client");
    make_files();
    start_peer(kind, tls);
    const char *scheme = tls ? "https" : "http";
    ex_argv a;
    client_argv(&a, tls ? "-k" : NULL);
    ex_argf(&a, "%s://127.0.0.1:%u/no-such-file", scheme, peer_port);
    int rc = run_client(&a, 1);
    cr_assert(ex_failed_cleanly(rc), "h2client exited with %d for a 404", rc);
    char *err = client_stderr();
    bool named = strstr(err, "404") != NULL;
    free(err);
    cr_assert(named, "h2client did not report the 404 on stderr");

    client_argv(&a, tls ? "-k" : NULL);
    ex_arg(&a, "-o");
    ex_argf(&a, "%s/good", dir.dir);
    ex_arg(&a, "-o");
    ex_argf(&a, "%s/missing", dir.dir);
    ex_argf(&a, "%s://127.0.0.1:%u/%s", scheme, peer_port, names[1]);
    ex_argf(&a, "%s://127.0.0.1:%u/no-such-file", scheme, peer_port);
    rc = run_client(&a, 1);
    cr_assert(ex_failed_cleanly(rc), "h2client exited with %d when one URL gave 404", rc);
    char good[128];
    ex_path(&dir, "good", good, sizeof(good));
    assert_pattern_at(good, sizes[1]);
}

Test(examples_h2client, nghttpd_cleartext)
{
    fetch_files(NGHTTPD, NULL);
}

Test(examples_h2client, nghttpd_tls_insecure)
{
    fetch_files(NGHTTPD, "-k");
}

Test(examples_h2client, nghttpd_tls_cacert)
{
    fetch_files(NGHTTPD, "--cacert");
}

Test(examples_h2client, nghttpd_404)
{
    missing_file(NGHTTPD, false);
}

Test(examples_h2client, h2o_cleartext)
{
    fetch_files(H2O, NULL);
}

Test(examples_h2client, h2o_tls_insecure)
{
    fetch_files(H2O, "-k");
}

Test(examples_h2client, h2o_tls_cacert)
{
    fetch_files(H2O, "--cacert");
}

Test(examples_h2client, h2o_404_over_tls)
{
    missing_file(H2O, true);
}

/* Without -k or --cacert the self-signed certificate is refused: non-zero exit. */
Test(examples_h2client, untrusted_certificate_fails)
{
    EX_REQUIRE("h2client");
    make_files();
    start_peer(NGHTTPD, true);
    ex_argv a;
    client_argv(&a, NULL);
    ex_argf(&a, "https://127.0.0.1:%u/%s", peer_port, names[3]);
    int rc = run_client(&a, 1);
    cr_assert(ex_failed_cleanly(rc), "h2client exited with %d for an untrusted certificate", rc);
    char *err = client_stderr();
    bool named = strcasestr(err, "certificate") != NULL;
    free(err);
    cr_assert(named, "h2client did not name the certificate on stderr");
}

/* -v: the frame log on stderr names the frames of the exchange; stdout keeps only the body. */
Test(examples_h2client, verbose_frame_log)
{
    EX_REQUIRE("h2client");
    make_files();
    start_peer(NGHTTPD, false);
    ex_argv a;
    client_argv(&a, NULL);
    ex_arg(&a, "-v");
    ex_argf(&a, "http://127.0.0.1:%u/%s", peer_port, names[2]);
    int rc = run_client(&a, 0);
    cr_assert_eq(rc, 0, "h2client exited with %d", rc);
    char out[128];
    ex_path(&dir, "h2client.stdout", out, sizeof(out));
    assert_pattern_at(out, sizes[2]);
    char *err = client_stderr();
    /* Both directions: our SETTINGS and request, nghttpd's SETTINGS (which
     * we acknowledge) and its ACK of ours, the response and its body. */
    static const char *const want[] = {
        "> SETTINGS: ",     "> HEADERS stream 1", "< SETTINGS:",
        "> SETTINGS ACK",   "< SETTINGS ACK",     "< HEADERS stream 1",
        "<   :status: 200", "< DATA stream 1: ",  "< PING ACK: round trip",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_not_null(strstr(err, want[i]), "the frame log lacks \"%s\":\n%s", want[i], err);
    free(err);
}

/*
 * -m 1 against a server that accepts TCP connections (the kernel's backlog)
 * but never speaks: h2client gives up after about a second with a non-zero
 * exit status.
 */
Test(examples_h2client, max_time_against_silent_server)
{
    EX_REQUIRE("h2client");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(lfd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(lfd, 8), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    ex_argv a;
    client_argv(&a, NULL);
    ex_arg(&a, "-m");
    ex_arg(&a, "1");
    ex_argf(&a, "http://127.0.0.1:%u/never", ntohs(sa.sin_port));
    int64_t t0 = interop_now_ms();
    int rc = run_client(&a, 1);
    int64_t took = interop_now_ms() - t0;
    close(lfd);
    cr_assert(ex_failed_cleanly(rc), "h2client exited with %d against a silent server", rc);
    cr_assert_geq(took, 900, "h2client gave up after %lld ms, before -m 1 had passed",
                  (long long)took);
    cr_assert_lt(took, ex_scale(8000, 30000), "h2client took %lld ms with -m 1", (long long)took);
}

/* 60 URLs on one connection to h2o (more than nghttpd's default concurrency): stdout in order. */
Test(examples_h2client, h2o_sixty_urls_in_order)
{
    EX_REQUIRE("h2client");
    enum { N = 60 };
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "m%02d.bin", i);
        cr_assert_eq(ex_make_pattern_file(&dir, name, (size_t)(i * 1500 + 3)), 0);
        total += (size_t)(i * 1500 + 3);
    }
    start_peer(H2O, false);
    ex_argv a;
    client_argv(&a, NULL);
    for (int i = 0; i < N; i++)
        ex_argf(&a, "http://127.0.0.1:%u/m%02d.bin", peer_port, i);
    cr_assert(!a.overflow);
    int rc = run_client(&a, 0);
    cr_assert_eq(rc, 0, "h2client exited with %d", rc);
    size_t len = 0;
    uint8_t *got = (uint8_t *)ex_output(&dir, "h2client", &len);
    cr_assert_eq(len, total, "stdout has %zu bytes, expected %zu", len, total);
    size_t off = 0;
    for (int i = 0; i < N; i++) {
        size_t size = (size_t)(i * 1500 + 3);
        uint8_t *want = interop_pattern_new(size);
        long diff = interop_first_diff(got + off, size, want, size);
        free(want);
        cr_assert_eq(diff, -1, "body %d on stdout differs at byte %ld", i, diff);
        off += size;
    }
    free(got);
}
