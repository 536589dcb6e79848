/*
 * Loopback benchmark of the example server (h2server, one worker) against
 * nghttpd (nghttp2's server, single-threaded by default) and h2o (one
 * thread), all serving the same files from the same folder, with the
 * server pinned to one CPU and h2load to another when there are two.
 *
 * 1. The matrix: cleartext and TLS (h2load's choice of cipher, ALPN h2) x
 *    files of 1 KiB, 64 KiB and 1 MiB. Each cell runs
 *        h2load -n N -c 10 -m M -t 1 URL
 *    (M 50 for 1 KiB, 10 for the larger files; N is --requests for 1 KiB,
 *    a tenth of it for 64 KiB and a two-hundredth for 1 MiB) against each
 *    server, three rounds that rotate which server goes first, and reads
 *    each server's CPU time (user + system, /proc/PID/stat) around each run.
 *    Each round's line also tells how busy the server and h2load were
 *    (their CPU time over the run's wall time): the side near 100% is the
 *    bottleneck, and both far below it means the machine was busy.
 *    Medians of requests per second and of server CPU per request:
 *        RESULT loopback-<clear|tls>-<size> ours=<req/s> nghttpd=<req/s>
 *               h2o=<req/s> better=<ours / best peer>
 *        RESULT cpu-<clear|tls>-<size> ours=<us> best=<us> better=<best / ours>
 *    and, from the cleartext 1 KiB cell, the earlier comparison with nghttpd:
 *        RESULT loopback ours=<req/s> nghttpd=<req/s> better=<ours/nghttpd>
 *    A round in which h2load does not report every request as succeeded
 *    voids the cell's RESULT lines.
 *
 * 2. Resident memory per idle connection: fresh servers; this process
 *    opens 2000 connections to each (TCP connect, client preface and an
 *    empty SETTINGS frame, reads the server's SETTINGS, acknowledges it,
 *    then stays idle) and reads the server's VmRSS (/proc/PID/status)
 *    before and after:
 *        RESULT idle-conn-rss ours=<B> nghttpd=<B> better=<nghttpd/ours>
 *
 * h2server is looked up next to this program's folder (../h2server, i.e.
 * BUILD/h2server) unless H2SERVER names it; nghttpd, h2load, h2o and
 * openssl (for the certificate) in $PATH. Without h2o its column is left
 * out; without openssl the TLS cells are. When h2server has not been built
 * the benchmark says so and exits 0.
 *
 * usage: bench_loopback [--rounds N] [--requests N] [--conns N]
 *                       [--only clear|tls] [--no-idle]
 */
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_loopback_servers.h"

#define MAX_ROUNDS 15

static int rounds = 3;
static long requests = 200000;
static int idle_conns = 2000;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup_tmp(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the matrix ------------------------------------------------------------------ */

/* CPU time (user + system, all threads) |pid| has used so far, in microseconds; -1 on error. */
static double cpu_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *text = read_text(path);
    /* Fields after the command name (which may hold spaces) start past the last ')'. */
    const char *p = text != NULL ? strrchr(text, ')') : NULL;
    double us = -1;
    if (p != NULL) {
        unsigned long long utime = 0, stime = 0;
        /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime) == 2)
            us = (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
    }
    free(text);
    return us;
}

/* One cell of the matrix: a transport and a file. */
typedef struct cell {
    bool tls;
    const char *size; /* "1k", "64k", "1m": also the file's name, <size>.bin */
    long requests;
    int streams; /* h2load -m */
} cell;

/*
 * Runs h2load for |c| against |s|; returns requests per second (0 on
 * failure) and the server's CPU time per request in |*cpu_per_req| (less
 * disturbed by a busy machine than wall time). The round's figures and
 * h2load's latency line ("time for request:") are printed.
 */
static double run_h2load(const server *s, const cell *c, int round, double *cpu_per_req)
{
    char out[160], url[96], n[24], m[16];
    snprintf(out, sizeof(out), "%s/h2load.out", tmpdir);
    snprintf(url, sizeof(url), "%s://127.0.0.1:%u/%s.bin", c->tls ? "https" : "http",
             c->tls ? s->tls_port : s->port, c->size);
    snprintf(n, sizeof(n), "%ld", c->requests);
    snprintf(m, sizeof(m), "%d", c->streams);
    char *argv[] = {h2load_path, "-n", n, "-c", "10", "-m", m, "-t", "1", url, NULL};
    double cpu_before = cpu_us(s->pid);
    pid_t pid = spawn(argv, out, client_cpu);
    if (pid < 0)
        return 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    int64_t t0 = now_ms();
    int rc = wait_usage(pid, 300000, &ru);
    double wall_ms = (double)(now_ms() - t0);
    double cpu_after = cpu_us(s->pid);
    char *text = read_text(out);
    double rps = 0;
    const char *fin = text != NULL ? strstr(text, "finished in ") : NULL;
    const char *comma = fin != NULL ? strchr(fin, ',') : NULL;
    if (rc == 0 && comma != NULL)
        rps = strtod(comma + 1, NULL);
    char want[96];
    snprintf(want, sizeof(want), "%ld succeeded, 0 failed", c->requests);
    if (text == NULL || strstr(text, want) == NULL) {
        fprintf(stderr, "bench_loopback: h2load against %s did not succeed (rc %d):\n%s\n", s->name,
                rc, text != NULL ? text : "(no output)");
        rps = 0;
    }
    const char *lat = text != NULL ? strstr(text, "time for request:") : NULL;
    int latlen = lat != NULL ? (int)strcspn(lat, "\n") : 0;
    double cpu = cpu_before >= 0 && cpu_after >= 0
                     ? (cpu_after - cpu_before) / (double)c->requests
                     : -1;
    *cpu_per_req = cpu;
    /* Who was the bottleneck: each side's CPU time over the run's wall time. */
    double client_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    double server_ms = cpu_before >= 0 && cpu_after >= 0 ? (cpu_after - cpu_before) / 1e3 : 0;
    printf("round %d %-8s %10.0f req/s  server cpu %8.2f us/req  busy: server %3.0f%% h2load "
           "%3.0f%%  %.*s\n",
           round, s->name, rps, cpu, wall_ms > 0 ? 100 * server_ms / wall_ms : 0,
           wall_ms > 0 ? 100 * client_ms / wall_ms : 0, latlen, lat != NULL ? lat : "");
    fflush(stdout);
    free(text);
    return rps;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define N_SERVERS 3 /* ours, nghttpd, h2o: the order of the RESULT columns */

/*
 * Runs cell |c| against the |n| running servers (ours first), rounds
 * rotating which goes first, and prints its RESULT lines. Returns 0, or -1
 * when a round failed (no RESULT then).
 */
static int run_cell(server *const *srv, int n, const cell *c)
{
    double rps[N_SERVERS][MAX_ROUNDS], cpu[N_SERVERS][MAX_ROUNDS];
    printf("\ncell %s %s: h2load -n %ld -c 10 -m %d -t 1, %d rounds\n", c->tls ? "tls" : "clear",
           c->size, c->requests, c->streams, rounds);
    bool failed = false;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < n; k++) {
            int i = (r + k) % n;
            rps[i][r] = run_h2load(srv[i], c, r + 1, &cpu[i][r]);
            failed |= rps[i][r] <= 0 || cpu[i][r] < 0;
        }
    }
    if (failed) {
        fprintf(stderr, "bench_loopback: a round of %s-%s failed; no RESULT\n",
                c->tls ? "tls" : "clear", c->size);
        return -1;
    }
    double mr[N_SERVERS] = {0}, mc[N_SERVERS] = {0}, best_r = 0, best_c = 0;
    for (int i = 0; i < n; i++) {
        mr[i] = median(rps[i], rounds);
        mc[i] = median(cpu[i], rounds);
        printf("%-8s median %10.0f req/s  server cpu %8.2f us/req\n", srv[i]->name, mr[i], mc[i]);
        if (i > 0 && mr[i] > best_r)
            best_r = mr[i];
        if (i > 0 && (best_c == 0 || mc[i] < best_c))
            best_c = mc[i];
    }
    const char *tr = c->tls ? "tls" : "clear";
    char h2o[32] = "n/a";
    if (n > 2)
        snprintf(h2o, sizeof(h2o), "%.0f", mr[2]);
    printf("RESULT loopback-%s-%s ours=%.0f nghttpd=%.0f h2o=%s better=%.2f\n", tr, c->size, mr[0],
           mr[1], h2o, mr[0] / best_r);
    printf("RESULT cpu-%s-%s ours=%.2f best=%.2f better=%.2f\n", tr, c->size, mc[0], best_c,
           mc[0] > 0 ? best_c / mc[0] : 0);
    if (!c->tls && strcmp(c->size, "1k") == 0)
        printf("RESULT loopback ours=%.0f nghttpd=%.0f better=%.2f\n", mr[0], mr[1],
               mr[0] / mr[1]);
    fflush(stdout);
    return 0;
}

/* The three cells of one transport, against freshly started servers. */
static int bench_transport(bool tls)
{
    const cell cells[] = {{tls, "1k", requests, 50},
                          {tls, "64k", requests / 10 > 0 ? requests / 10 : 1, 10},
                          {tls, "1m", requests / 200 > 0 ? requests / 200 : 1, 10}};
    server ours = {0}, ng = {0}, h2o = {0};
    server *srv[N_SERVERS] = {&ours, &ng, &h2o};
    int n = h2o_path[0] != '\0' ? 3 : 2;
    int rc = -1;
    if (start_ours(&ours, tls) != 0 || start_nghttpd(&ng, tls) != 0 ||
        (n == 3 && start_h2o(&h2o, tls) != 0))
        goto out;
    rc = 0;
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++)
        if (run_cell(srv, n, &cells[i]) != 0)
            rc = -1;
out:
    stop_server(&ours);
    stop_server(&ng);
    stop_server(&h2o);
    return rc;
}

/* ---- idle connections --------------------------------------------------------- */

/* VmRSS of |pid| in bytes, or -1. */
static long rss_bytes(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *text = read_text(path);
    const char *p = text != NULL ? strstr(text, "VmRSS:") : NULL;
    long kb = p != NULL ? strtol(p + 6, NULL, 10) : -1;
    free(text);
    return kb < 0 ? -1 : kb * 1024;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t r = recv(fd, buf, len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}

/*
 * One idle HTTP/2 connection: preface + empty SETTINGS, then frames are
 * read until the server's SETTINGS (not an ACK) arrives, which is
 * acknowledged. Returns the socket or -1.
 */
static int open_idle(uint16_t port)
{
    static const uint8_t hello[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                   "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    static const uint8_t ack[] = {0, 0, 0, 4, 1, 0, 0, 0, 0};
    int fd = connect_port(port);
    if (fd < 0)
        return -1;
    if (send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(hello) - 1))
        goto fail;
    for (int frames = 0; frames < 16; frames++) {
        uint8_t h[9];
        if (read_full(fd, h, 9) != 0)
            goto fail;
        size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        uint8_t payload[1024];
        if (len > sizeof(payload) || read_full(fd, payload, len) != 0)
            goto fail;
        if (h[3] == 4 && (h[4] & 1) == 0) { /* SETTINGS, not an ACK */
            if (send(fd, ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack))
                goto fail;
            return fd;
        }
    }
fail:
    close(fd);
    return -1;
}

/* Opens |idle_conns| idle connections to |s|; returns bytes of RSS per connection, or -1. */
static long idle_rss(server *s)
{
    /* Let the server settle, then a first connection and back: lazily made state exists. */
    sleep_ms(300);
    int probe = open_idle(s->port);
    for (int64_t end = now_ms() + 3000; probe < 0 && now_ms() < end; sleep_ms(50))
        probe = open_idle(s->port);
    if (probe < 0) {
        fprintf(stderr, "bench_loopback: %s: the probe connection failed\n", s->name);
        return -1;
    }
    close(probe);
    sleep_ms(300);
    long before = rss_bytes(s->pid);
    int *fds = calloc((size_t)idle_conns, sizeof(int));
    if (fds == NULL)
        return -1;
    int opened = 0;
    for (; opened < idle_conns; opened++) {
        fds[opened] = open_idle(s->port);
        if (fds[opened] < 0) {
            fprintf(stderr, "bench_loopback: %s: connection %d failed: %s\n", s->name, opened,
                    strerror(errno));
            break;
        }
    }
    sleep_ms(500); /* the last ACKs are handled */
    long after = rss_bytes(s->pid);
    /* A figure only counts if the server kept every connection open. */
    int closed = 0;
    for (int i = 0; i < opened; i++) {
        uint8_t b[256];
        ssize_t r;
        while ((r = recv(fds[i], b, sizeof(b), MSG_DONTWAIT)) > 0) {
        }
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            closed++;
        close(fds[i]);
    }
    free(fds);
    if (closed > 0)
        fprintf(stderr, "bench_loopback: %s closed %d of the idle connections\n", s->name, closed);
    if (opened < idle_conns || closed > 0 || before < 0 || after < 0)
        return -1;
    long per = (after - before) / idle_conns;
    printf("idle %-8s rss before %ld KiB, after %d connections %ld KiB: %ld B per connection\n",
           s->name, before / 1024, idle_conns, after / 1024, per);
    fflush(stdout);
    return per;
}

static int bench_idle(void)
{
    server ours = {0}, ng = {0};
    if (start_ours(&ours, false) != 0)
        return -1;
    long o = idle_rss(&ours);
    stop_server(&ours);
    if (start_nghttpd(&ng, false) != 0)
        return -1;
    long n = idle_rss(&ng);
    stop_server(&ng);
    if (o < 0 || n < 0)
        return -1;
    printf("RESULT idle-conn-rss ours=%ld nghttpd=%ld better=%.2f\n", o, n,
           o > 0 ? (double)n / (double)o : 0.0);
    fflush(stdout);
    return 0;
}

/* ---- main ----------------------------------------------------------------------- */

/* Writes |len| bytes of text to docroot/|name|: a page head, then lines of letters. */
static int write_file(const char *name, size_t len)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", docroot, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    static const char head[] = "<!doctype html><title>libh2</title><p>";
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        int ch = i < sizeof(head) - 1 ? head[i] : (i % 64 == 63 ? '\n' : 'a' + (int)(i % 26));
        if (i == len - 1)
            ch = '\n';
        w += fputc(ch, f) != EOF;
    }
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static int make_docroot(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/h2-bench-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        tmpdir[0] = '\0';
        return -1;
    }
    snprintf(docroot, sizeof(docroot), "%s/root", tmpdir);
    if (mkdir(docroot, 0755) != 0)
        return -1;
    if (write_file("index.html", 1024) != 0 || write_file("1k.bin", 1024) != 0 ||
        write_file("64k.bin", 64 * 1024) != 0 || write_file("1m.bin", 1024 * 1024) != 0)
        return -1;
    return 0;
}

/* Room for the idle connections (ours and the servers', which inherit the limit). */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)idle_conns * 2 + 256;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static bool locate_h2server(const char *argv0)
{
    const char *env = getenv("H2SERVER");
    if (env != NULL && env[0] != '\0') {
        snprintf(h2server_path, sizeof(h2server_path), "%s", env);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            n = (ssize_t)snprintf(self, sizeof(self), "%s", argv0);
        self[n] = 0;
        char *bench_dir = dirname(self); /* BUILD/bench */
        snprintf(h2server_path, sizeof(h2server_path), "%s/../h2server", bench_dir);
    }
    return access(h2server_path, X_OK) == 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--rounds N] [--requests N] [--conns N] [--only clear|tls] [--no-idle]\n",
            argv0);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    bool idle = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
            requests = atol(argv[++i]);
        } else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
            idle_conns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--no-idle") == 0) {
            idle = false;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || requests < 1 || idle_conns < 1 ||
        (only != NULL && strcmp(only, "clear") != 0 && strcmp(only, "tls") != 0)) {
        usage(argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!locate_h2server(argv[0])) {
        printf("bench_loopback: %s has not been built; nothing measured\n", h2server_path);
        return 0;
    }
    if (!find_program("nghttpd", nghttpd_path, sizeof(nghttpd_path)) ||
        !find_program("h2load", h2load_path, sizeof(h2load_path))) {
        fprintf(stderr, "bench_loopback: nghttpd and h2load are needed (make deps)\n");
        return 1;
    }
    if (!find_program("h2o", h2o_path, sizeof(h2o_path)))
        printf("bench_loopback: h2o is not installed; its column is left out\n");
    find_program("openssl", openssl_path, sizeof(openssl_path));
    choose_cpus();
    if (server_cpu >= 0)
        printf("servers on CPU %d, h2load on CPU %d\n", server_cpu, client_cpu);
    else
        printf("fewer than two CPUs: servers and h2load share them\n");
    raise_nofile();
    if (make_docroot() != 0) {
        fprintf(stderr, "bench_loopback: cannot make the document root: %s\n", strerror(errno));
        cleanup_tmp();
        return 1;
    }
    int rc = 0;
    if ((only == NULL || strcmp(only, "clear") == 0) && bench_transport(false) != 0)
        rc = -1;
    if (only == NULL || strcmp(only, "tls") == 0) {
        if (make_cert()) {
            if (bench_transport(true) != 0)
                rc = -1;
        } else {
            printf("bench_loopback: no certificate (openssl missing?); no TLS cells\n");
        }
    }
    if (idle && bench_idle() != 0)
        rc = -1;
    cleanup_tmp();
    return rc == 0 ? 0 : 1;
}
