/*
 * h2server behind haproxy (Debian's 2.6), which speaks HTTP/2 on both sides:
 *
 *   - two h2server processes on one port with --reuseport: both take
 *     connections, and h2load through haproxy to that port (HTTP/2 health
 *     checks on) gets every answer;
 *   - rolling restarts under load: h2load runs through haproxy while, three
 *     times over, one process is stopped with SIGTERM and started again, then
 *     the other is replaced (the new one first, then SIGTERM to the old one);
 *     no request fails and every old process exits with 0;
 *   - haproxy terminating TLS (ALPN h2, a self-signed certificate) in front
 *     of h2server, fetched with h2client (--cacert and -k).
 *
 * Each test writes haproxy.cfg into its temporary folder and runs
 * `haproxy -f haproxy.cfg -db` in the foreground. The tests are skipped when
 * haproxy is not installed (`make deps` installs it).
 */
#include "examples_util.h"

#define MAX_PROCS 4

static ex_dir dir;
static pid_t haproxy_pid = -1;
static pid_t h2load_pid = -1;

/* An h2server process with its own output files (|label|.stdout, .stderr). */
typedef struct proc {
    pid_t pid;
    uint16_t port;
    char label[16];
    char out[128];
    char err[128];
} proc;

static proc procs[MAX_PROCS];

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
    for (int i = 0; i < MAX_PROCS; i++)
        procs[i].pid = -1;
}

static void teardown(void)
{
    if (h2load_pid > 0) {
        kill(h2load_pid, SIGKILL);
        interop_wait(h2load_pid, 5000);
    }
    if (haproxy_pid > 0) {
        kill(haproxy_pid, SIGKILL);
        interop_wait(haproxy_pid, 5000);
    }
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid > 0) {
            kill(procs[i].pid, SIGKILL);
            interop_wait(procs[i].pid, 5000);
        }
    ex_dir_remove(&dir);
}

TestSuite(examples_haproxy, .init = setup, .fini = teardown, .timeout = 300);

/* Skips the test when h2server is not built or haproxy is not installed. */
static void require(void)
{
    EX_REQUIRE("h2server");
    char path[512];
    if (!interop_find_program("haproxy", path, sizeof(path))) {
        ex_dir_remove(&dir);
        cr_skip_test("haproxy is not installed (run `make deps`)");
    }
}

/* ---- h2server processes ------------------------------------------------------------ */

/*
 * Starts h2server as |p| with --reuseport on |port| (0: the kernel picks),
 * one worker, -v, serving the folder's root, and waits for its listening
 * line. Returns the port or 0 (the output printed, the process killed).
 */
static uint16_t proc_start(proc *p, const char *label, uint16_t port)
{
    memset(p, 0, sizeof(*p));
    p->pid = -1;
    snprintf(p->label, sizeof(p->label), "%s", label);
    char name[64];
    snprintf(name, sizeof(name), "%s.stdout", label);
    ex_path(&dir, name, p->out, sizeof(p->out));
    snprintf(name, sizeof(name), "%s.stderr", label);
    ex_path(&dir, name, p->err, sizeof(p->err));
    unlink(p->out);
    unlink(p->err);
    ex_argv a;
    ex_argv_example(&a, "h2server");
    ex_arg(&a, "--host");
    ex_arg(&a, "127.0.0.1");
    ex_arg(&a, "--port");
    ex_argf(&a, "%u", port);
    ex_arg(&a, "--reuseport");
    ex_arg(&a, "--workers");
    ex_arg(&a, "1");
    ex_arg(&a, "--root");
    ex_arg(&a, dir.root);
    ex_arg(&a, "-v");
    if (a.overflow || (p->pid = interop_spawn(a.v, p->out, p->err)) < 0)
        return 0;
    int64_t deadline = interop_now_ms() + ex_start_timeout_ms();
    while (interop_now_ms() < deadline) {
        size_t len = 0;
        uint8_t *text = interop_read_file(p->out, &len);
        if (text != NULL) {
            p->port = ex_parse_listening((const char *)text, "http");
            free(text);
        }
        if (p->port != 0)
            return p->port;
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            fprintf(stderr, "%s exited before listening (status 0x%x)\n", label, status);
            p->pid = -1;
            break;
        }
        interop_sleep_ms(10); /* polling another process's output, bounded by the deadline */
    }
    interop_dump_file(p->err, p->err, 4000);
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        interop_wait(p->pid, 5000);
        p->pid = -1;
    }
    return 0;
}

/* SIGTERM, then its exit status (0 expected after the drain); its stderr when not 0. */
static int proc_stop(proc *p)
{
    if (p->pid <= 0)
        return -2;
    kill(p->pid, SIGTERM);
    int rc = interop_wait(p->pid, ex_stop_timeout_ms());
    p->pid = -1;
    if (rc != 0)
        interop_dump_file(p->err, p->err, 8000);
    return rc;
}

/*
 * Requests in |p|'s -v log: the lines that start "GET /index.html 200". One
 * pass over the lines (strstr() in a loop would be quadratic under
 * AddressSanitizer, which measures the whole haystack on every call).
 */
static int proc_requests(const proc *p)
{
    static const char prefix[] = "GET /index.html 200 ";
    const size_t plen = sizeof(prefix) - 1;
    size_t len = 0;
    char *text = (char *)interop_read_file(p->err, &len);
    int n = 0;
    for (const char *s = text, *end = text + len; text != NULL && s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t line = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
        if (line >= plen && memcmp(s, prefix, plen) == 0)
            n++;
        s += line + 1;
    }
    free(text);
    return n;
}

/* ---- haproxy ---------------------------------------------------------------------- */

/*
 * Writes haproxy.cfg: a frontend on 127.0.0.1:|fe_port| (TLS with the
 * folder's certificate and ALPN h2 when |tls|) and a backend whose single
 * server is 127.0.0.1:|be_port| over cleartext HTTP/2 with prior knowledge,
 * checked with an HTTP/2 GET / every 500 ms (5 s for the answer: under
 * h2load the answer may take a while, and one server line stands for the
 * whole --reuseport group, so a check that fails takes every process out). The retry settings are
 * those of docs/DEPLOYMENT.md.
 */
static void write_config(uint16_t fe_port, uint16_t be_port, bool tls)
{
    char path[128], pem[128];
    ex_path(&dir, "haproxy.cfg", path, sizeof(path));
    ex_path(&dir, "haproxy.pem", pem, sizeof(pem));
    char bind[256];
    if (tls)
        snprintf(bind, sizeof(bind), "127.0.0.1:%u ssl crt %s alpn h2", fe_port, pem);
    else
        snprintf(bind, sizeof(bind), "127.0.0.1:%u proto h2", fe_port);
    char cfg[2048];
    int n = snprintf(cfg, sizeof(cfg),
                     "global\n"
                     "    nbthread 2\n"
                     "    log stderr format raw local0 warning\n"
                     "defaults\n"
                     "    mode http\n"
                     "    log global\n"
                     "    option httplog\n"
                     "    option dontlog-normal\n"
                     "    timeout connect 2s\n"
                     "    timeout client 30s\n"
                     "    timeout server 30s\n"
                     "    timeout check 5s\n"
                     "    retries 3\n"
                     "    option redispatch\n"
                     "    retry-on all-retryable-errors\n"
                     "frontend fe\n"
                     "    bind %s\n"
                     "    default_backend be\n"
                     "backend be\n"
                     "    option httpchk\n"
                     "    http-check send meth GET uri / hdr host localhost\n"
                     "    http-check expect status 200\n"
                     "    server s1 127.0.0.1:%u proto h2 check check-proto h2 inter 500ms\n",
                     bind, be_port);
    cr_assert(n > 0 && (size_t)n < sizeof(cfg));
    cr_assert_eq(interop_write_file(path, (const uint8_t *)cfg, (size_t)n), 0);
}

/*
 * Starts haproxy in the foreground on the folder's haproxy.cfg and waits
 * until its frontend port accepts connections. haproxy prints nothing when
 * it is ready, so the port is polled (every 10 ms, up to the start timeout).
 */
static void haproxy_start(uint16_t fe_port)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "haproxy"));
    char cfg[128], out[128], err[128];
    ex_path(&dir, "haproxy.cfg", cfg, sizeof(cfg));
    ex_path(&dir, "haproxy.stdout", out, sizeof(out));
    ex_path(&dir, "haproxy.stderr", err, sizeof(err));
    ex_arg(&a, "-f");
    ex_arg(&a, cfg);
    ex_arg(&a, "-db");
    haproxy_pid = interop_spawn(a.v, out, err);
    cr_assert_gt(haproxy_pid, 0);
    int64_t deadline = interop_now_ms() + ex_start_timeout_ms();
    while (interop_now_ms() < deadline) {
        int fd = interop_connect(fe_port);
        if (fd >= 0) {
            close(fd);
            return;
        }
        int status;
        if (waitpid(haproxy_pid, &status, WNOHANG) == haproxy_pid) {
            haproxy_pid = -1;
            interop_dump_file("haproxy stderr", err, 4000);
            cr_assert_fail("haproxy exited at start (status 0x%x)", status);
        }
        interop_sleep_ms(10);
    }
    interop_dump_file("haproxy stderr", err, 4000);
    cr_assert_fail("haproxy did not listen on %u", fe_port);
}

static void haproxy_stop(void)
{
    interop_stop(haproxy_pid);
    haproxy_pid = -1;
}

/* ---- h2load ----------------------------------------------------------------------- */

/* Starts h2load through the proxy: -D |seconds| when > 0, else -n |n|. */
static pid_t h2load_spawn(uint16_t port, int n, int seconds)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "h2load"), "h2load is not installed (run `make deps`)");
    if (seconds > 0) {
        ex_arg(&a, "-D");
        ex_argf(&a, "%d", seconds);
    } else {
        ex_arg(&a, "-n");
        ex_argf(&a, "%d", n);
    }
    ex_arg(&a, "-c");
    ex_arg(&a, "16");
    ex_arg(&a, "-m");
    ex_arg(&a, "32");
    ex_argf(&a, "http://127.0.0.1:%u/index.html", port);
    char out[128], err[128];
    ex_path(&dir, "h2load.stdout", out, sizeof(out));
    ex_path(&dir, "h2load.stderr", err, sizeof(err));
    unlink(out);
    unlink(err);
    pid_t pid = interop_spawn(a.v, out, err);
    cr_assert_gt(pid, 0);
    return pid;
}

/* Waits for h2load and checks "N done, N succeeded, 0 failed, 0 errored, 0 timeout", all 2xx. */
static int h2load_check(pid_t pid, int timeout_ms)
{
    int rc = interop_wait(pid, timeout_ms);
    h2load_pid = -1;
    char *text = ex_output(&dir, "h2load", NULL);
    int total = 0, started = 0, done = 0, ok = 0, failed = -1, errored = -1, timeouts = -1;
    const char *req = strstr(text, "requests: ");
    bool parsed =
        req != NULL && sscanf(req,
                              "requests: %d total, %d started, %d done, %d succeeded, "
                              "%d failed, %d errored, %d timeout",
                              &total, &started, &done, &ok, &failed, &errored, &timeouts) == 7;
    /* With -D the responses to requests still open at the end count in the
     * status codes but not in "done". */
    int s2 = 0, s3 = -1, s4 = -1, s5 = -1;
    const char *codes = strstr(text, "status codes: ");
    bool all_2xx =
        codes != NULL &&
        sscanf(codes, "status codes: %d 2xx, %d 3xx, %d 4xx, %d 5xx", &s2, &s3, &s4, &s5) == 4 &&
        s2 >= ok && s3 == 0 && s4 == 0 && s5 == 0;
    bool good = rc == 0 && parsed && done > 0 && ok == done && failed == 0 && errored == 0 &&
                timeouts == 0 && all_2xx;
    if (!good) {
        fprintf(stderr, "---- h2load output (exit %d) ----\n%s\n", rc, text);
        char err[128];
        ex_path(&dir, "haproxy.stderr", err, sizeof(err));
        interop_dump_file("haproxy stderr", err, 8000);
    }
    free(text);
    cr_assert(good, "h2load through haproxy: %d done, %d succeeded, %d failed, %d errored", done,
              ok, failed, errored);
    return done;
}

/* ---- tests ------------------------------------------------------------------------ */

static void make_files(void)
{
    cr_assert_eq(ex_make_pattern_file(&dir, "index.html", 1024), 0);
    cr_assert_eq(ex_make_pattern_file(&dir, "big.bin", 300000), 0);
}

/*
 * h2client fetches /index.html from 127.0.0.1:|port| directly until both
 * processes have logged a request: SO_REUSEPORT spreads connections by a
 * hash of their addresses, so each fetch reaches either one (64 fetches
 * all reaching one process has odds of 2^-63).
 */
static void both_accept(uint16_t port, proc *x, proc *y)
{
    int fetches = 0;
    while (fetches < 64 && (proc_requests(x) == 0 || proc_requests(y) == 0)) {
        ex_argv a;
        ex_argv_example(&a, "h2client");
        ex_argf(&a, "http://127.0.0.1:%u/index.html", port);
        cr_assert_eq(ex_run(&dir, &a, "h2client", 30000, 0), 0, "h2client failed");
        fetches++;
    }
    cr_assert(proc_requests(x) > 0 && proc_requests(y) > 0,
              "after %d fetches: %d requests to %s, %d to %s", fetches, proc_requests(x), x->label,
              proc_requests(y), y->label);
}

Test(examples_haproxy, two_processes_one_port)
{
    require();
    EX_REQUIRE("h2client");
    make_files();
    uint16_t port = proc_start(&procs[0], "a", 0);
    cr_assert_neq(port, 0, "h2server a did not start");
    cr_assert_eq(proc_start(&procs[1], "b", port), port, "h2server b did not share port %u", port);
    both_accept(port, &procs[0], &procs[1]);

    uint16_t fe = interop_free_port();
    cr_assert_neq(fe, 0);
    write_config(fe, port, false);
    haproxy_start(fe);
    h2load_pid = h2load_spawn(fe, ex_scale(20000, 2000), 0);
    h2load_check(h2load_pid, 240000);
    haproxy_stop();
    int rc = proc_stop(&procs[0]);
    cr_assert_eq(rc, 0, "h2server a exited with %d after SIGTERM", rc);
    rc = proc_stop(&procs[1]);
    cr_assert_eq(rc, 0, "h2server b exited with %d after SIGTERM", rc);
}

/*
 * Polls (10 ms steps, bounded) until |p| and |q| (or |p| alone when |q| is
 * NULL) have answered more than |n| requests together: which process a new
 * connection reaches is the kernel's choice.
 */
static void wait_requests(const proc *p, const proc *q, int n)
{
    int64_t deadline = interop_now_ms() + ex_scale(30000, 120000);
    int got = 0;
    while ((got = proc_requests(p) + (q != NULL ? proc_requests(q) : 0)) <= n &&
           interop_now_ms() < deadline)
        interop_sleep_ms(10);
    if (got <= n) {
        int status;
        bool load = h2load_pid > 0 && waitpid(h2load_pid, &status, WNOHANG) == 0;
        if (!load)
            h2load_pid = -1;
        char err[128];
        ex_path(&dir, "haproxy.stderr", err, sizeof(err));
        interop_dump_file("haproxy stderr", err, 8000);
        ex_path(&dir, "h2load.stdout", err, sizeof(err));
        interop_dump_file("h2load stdout", err, 4000);
        cr_assert_fail("%s%s%s answered no new request through haproxy (h2load %s)", p->label,
                       q != NULL ? " and " : "", q != NULL ? q->label : "",
                       load ? "running" : "ended");
    }
}

/*
 * One round of a rolling restart of the pair |*a|, |*b| on |port|, with
 * |*na|, |*nb| as the new processes (labels a<round>, b<round>):
 *   1. SIGTERM to a: it stops listening, so b takes every new connection;
 *      a sends its drain notice and GOAWAY, finishes its streams, exits 0;
 *      then na starts on the same port (the test waits for its listening
 *      line);
 *   2. nb starts on the port first, then b gets SIGTERM and drains.
 * The new processes become the pair.
 */
static void restart_round(uint16_t port, int round, proc **a, proc **b, proc **na, proc **nb)
{
    char la[16], lb[16];
    snprintf(la, sizeof(la), "a%d", round);
    snprintf(lb, sizeof(lb), "b%d", round);
    const char *old_a = (*a)->label, *old_b = (*b)->label;
    int rc = proc_stop(*a);
    cr_assert_eq(rc, 0, "h2server %s exited with %d after SIGTERM under load", old_a, rc);
    cr_assert_eq(proc_start(*na, la, port), port, "h2server %s did not start on %u", la, port);
    cr_assert_eq(proc_start(*nb, lb, port), port, "h2server %s did not start on %u", lb, port);
    int before = proc_requests(*b);
    wait_requests(*b, NULL, before); /* b, alone since a left, answers on */
    rc = proc_stop(*b);
    cr_assert_eq(rc, 0, "h2server %s exited with %d after SIGTERM under load", old_b, rc);
    /* The new processes take the load once the old ones are gone. */
    wait_requests(*na, *nb, 0);
    proc *t = *a;
    *a = *na;
    *na = t;
    t = *b;
    *b = *nb;
    *nb = t;
}

/*
 * Rolling restarts while h2load runs through haproxy for a fixed time: three
 * rounds of restart_round(), six drains in all. Every h2load request must
 * succeed, and h2load must still be running when the restarts are over
 * (else they did not all happen under load).
 */
Test(examples_haproxy, rolling_restart_under_load)
{
    require();
    make_files();
    proc *a = &procs[0], *b = &procs[1], *na = &procs[2], *nb = &procs[3];
    uint16_t port = proc_start(a, "a0", 0);
    cr_assert_neq(port, 0, "h2server a0 did not start");
    cr_assert_eq(proc_start(b, "b0", port), port, "h2server b0 did not share port %u", port);
    uint16_t fe = interop_free_port();
    cr_assert_neq(fe, 0);
    write_config(fe, port, false);
    haproxy_start(fe);

    int seconds = ex_scale(10, 90);
    h2load_pid = h2load_spawn(fe, 0, seconds);
    /* The load is flowing: h2load's requests reach the backends (the -v logs). */
    wait_requests(a, b, 0);
    for (int round = 1; round <= 3; round++)
        restart_round(port, round, &a, &b, &na, &nb);

    int status;
    cr_assert_eq(waitpid(h2load_pid, &status, WNOHANG), 0,
                 "h2load ended before the restarts were over (raise -D)");
    h2load_check(h2load_pid, (seconds + 60) * 1000);

    haproxy_stop();
    int rc = proc_stop(a);
    cr_assert_eq(rc, 0, "h2server %s exited with %d after SIGTERM", a->label, rc);
    rc = proc_stop(b);
    cr_assert_eq(rc, 0, "h2server %s exited with %d after SIGTERM", b->label, rc);
}

/* haproxy terminates TLS with ALPN h2; h2client checks the certificate (--cacert) or not (-k). */
Test(examples_haproxy, tls_frontend_h2client)
{
    require();
    EX_REQUIRE("h2client");
    make_files();
    cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    /* haproxy takes the certificate and its key from one PEM file. */
    char cert[128], key[128], pem[128];
    ex_path(&dir, "cert.pem", cert, sizeof(cert));
    ex_path(&dir, "key.pem", key, sizeof(key));
    ex_path(&dir, "haproxy.pem", pem, sizeof(pem));
    size_t cert_len = 0, key_len = 0;
    uint8_t *c = interop_read_file(cert, &cert_len);
    uint8_t *k = interop_read_file(key, &key_len);
    cr_assert(c != NULL && k != NULL);
    uint8_t *both = malloc(cert_len + key_len);
    cr_assert_not_null(both);
    memcpy(both, c, cert_len);
    memcpy(both + cert_len, k, key_len);
    cr_assert_eq(interop_write_file(pem, both, cert_len + key_len), 0);
    free(both);
    free(c);
    free(k);

    uint16_t port = proc_start(&procs[0], "a", 0);
    cr_assert_neq(port, 0, "h2server did not start");
    uint16_t fe = interop_free_port();
    cr_assert_neq(fe, 0);
    write_config(fe, port, true);
    haproxy_start(fe);

    char out[128], url[128];
    ex_path(&dir, "big.out", out, sizeof(out));
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/big.bin", fe);
    ex_argv a;
    ex_argv_example(&a, "h2client");
    ex_arg(&a, "--cacert");
    ex_arg(&a, cert);
    ex_arg(&a, "-o");
    ex_arg(&a, out);
    ex_arg(&a, url);
    cr_assert_eq(ex_run(&dir, &a, "h2client", 60000, 0), 0, "h2client --cacert through haproxy");
    size_t got = 0;
    long diff = ex_check_pattern_file(out, 300000, &got);
    cr_assert_eq(diff, -1, "big.bin through haproxy differs at %ld (%zu bytes)", diff, got);

    snprintf(url, sizeof(url), "https://127.0.0.1:%u/index.html", fe);
    ex_argv_example(&a, "h2client");
    ex_arg(&a, "-k");
    ex_arg(&a, url);
    cr_assert_eq(ex_run(&dir, &a, "h2client", 60000, 0), 0, "h2client -k through haproxy");
    size_t len = 0;
    char *body = ex_output(&dir, "h2client", &len);
    uint8_t *want = interop_pattern_new(1024);
    cr_assert(len == 1024 && want != NULL && memcmp(body, want, 1024) == 0,
              "index.html through haproxy: %zu bytes", len);
    free(want);
    free(body);
    cr_assert_gt(proc_requests(&procs[0]), 0, "h2server logged no request from haproxy");

    haproxy_stop();
    int rc = proc_stop(&procs[0]);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}
