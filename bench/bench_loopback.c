/*
 * Loopback benchmark of the example server (h2server, one worker) against
 * nghttpd (nghttp2's server, single-threaded by default), both serving the
 * same 1 KiB file from the same folder over cleartext HTTP/2.
 *
 * 1. Throughput: h2load -n 200000 -c 10 -m 50 -t 1 against each server,
 *    alternating (and alternating which goes first), three rounds; the
 *    medians of h2load's requests per second:
 *        RESULT loopback ours=<req/s> nghttpd=<req/s> better=<ours/nghttpd>
 *
 * 2. Resident memory per idle connection: fresh servers; this process
 *    opens 2000 connections to each (TCP connect, client preface and an
 *    empty SETTINGS frame, reads the server's SETTINGS, acknowledges it,
 *    then stays idle) and reads the server's VmRSS (/proc/PID/status)
 *    before and after:
 *        RESULT idle-conn-rss ours=<B> nghttpd=<B> better=<nghttpd/ours>
 *
 * The per-round figures, each server's CPU time per request (user + system,
 * from /proc/PID/stat: steadier than wall time on a busy machine) and
 * h2load's latency lines are printed too.
 *
 * h2server is looked up next to this program's folder (../h2server, i.e.
 * BUILD/h2server) unless H2SERVER names it; nghttpd and h2load in $PATH.
 * When h2server has not been built the benchmark says so and exits 0.
 *
 * usage: bench_loopback [--rounds N] [--requests N] [--conns N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 15

static int rounds = 3;
static long requests = 200000;
static int idle_conns = 2000;

static char tmpdir[64];
static char docroot[128];

/* ---- small utilities ------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool find_program(const char *name, char *out, size_t cap)
{
    const char *env = getenv("PATH");
    char paths[4096];
    snprintf(paths, sizeof(paths), "%s:/usr/local/bin:/usr/bin:/usr/sbin:/bin",
             env != NULL ? env : "");
    char *save = NULL;
    for (char *d = strtok_r(paths, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
        if (d[0] != '\0' && snprintf(out, cap, "%s/%s", d, name) < (int)cap &&
            access(out, X_OK) == 0)
            return true;
    }
    return false;
}

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

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = 0;
    return buf;
}

/* Starts |argv| with stdout and stderr to |out| (truncated); SIGKILL if we die. */
static pid_t spawn(char *const argv[], const char *out)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || o < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
        _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

/* Waits up to |timeout_ms|; SIGKILL after that. Exit status, 128+signal, or -1. */
static int wait_for(pid_t pid, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(5);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int connect_port(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the servers ------------------------------------------------------------------ */

typedef struct server {
    const char *name;
    pid_t pid;
    uint16_t port;
} server;

static char h2server_path[PATH_MAX];
static char nghttpd_path[PATH_MAX];
static char h2load_path[PATH_MAX];

/* Starts h2server --workers 1 on port 0 and reads its "listening http" line. */
static int start_ours(server *s)
{
    char out[160];
    snprintf(out, sizeof(out), "%s/h2server.out", tmpdir);
    char *argv[] = {h2server_path, "--host", "127.0.0.1", "--port", "0",
                    "--workers",   "1",      "--root",    docroot,  NULL};
    s->name = "ours";
    s->port = 0;
    unlink(out); /* no stale listening line from an earlier start */
    s->pid = spawn(argv, out);
    if (s->pid < 0)
        return -1;
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        char *text = read_text(out);
        const char *p = text != NULL ? strstr(text, "listening http 127.0.0.1:") : NULL;
        if (p != NULL) {
            s->port = (uint16_t)atoi(p + strlen("listening http 127.0.0.1:"));
            free(text);
            if (s->port != 0)
                return 0;
        }
        free(text);
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
            break;
        sleep_ms(10);
    }
    fprintf(stderr, "bench_loopback: h2server did not start (see %s)\n", out);
    kill(s->pid, SIGKILL);
    wait_for(s->pid, 2000);
    return -1;
}

/* Starts nghttpd --no-tls on a free port (retried if the port was taken meanwhile). */
static int start_nghttpd(server *s)
{
    char out[160], portstr[16];
    snprintf(out, sizeof(out), "%s/nghttpd.out", tmpdir);
    s->name = "nghttpd";
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = free_port();
        snprintf(portstr, sizeof(portstr), "%u", s->port);
        char *argv[] = {nghttpd_path, "--no-tls", "--address=127.0.0.1", "-d", docroot,
                        portstr,      NULL};
        s->pid = spawn(argv, out);
        if (s->pid < 0)
            return -1;
        int64_t deadline = now_ms() + 5000;
        while (now_ms() < deadline) {
            if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                s->pid = -1;
                break;
            }
            int fd = connect_port(s->port);
            if (fd >= 0) {
                close(fd);
                return 0;
            }
            sleep_ms(10);
        }
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            wait_for(s->pid, 2000);
        }
    }
    fprintf(stderr, "bench_loopback: nghttpd did not start (see %s)\n", out);
    return -1;
}

static void stop_server(server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    if (wait_for(s->pid, 10000) < 0)
        fprintf(stderr, "bench_loopback: %s had to be killed\n", s->name);
    s->pid = -1;
}

/* ---- throughput ----------------------------------------------------------------- */

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

/*
 * Runs h2load against |s|; returns requests per second (0 on failure). The
 * server's CPU time per request (less disturbed by a busy machine than wall
 * time) and h2load's latency line ("time for request:") are printed with the
 * round's figure.
 */
static double run_h2load(const server *s, int round, double *cpu_per_req)
{
    char out[160], url[96], n[24];
    snprintf(out, sizeof(out), "%s/h2load.out", tmpdir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/index.html", s->port);
    snprintf(n, sizeof(n), "%ld", requests);
    char *argv[] = {h2load_path, "-n", n, "-c", "10", "-m", "50", "-t", "1", url, NULL};
    double cpu_before = cpu_us(s->pid);
    pid_t pid = spawn(argv, out);
    if (pid < 0)
        return 0;
    int rc = wait_for(pid, 300000);
    double cpu_after = cpu_us(s->pid);
    char *text = read_text(out);
    double rps = 0;
    const char *fin = text != NULL ? strstr(text, "finished in ") : NULL;
    const char *comma = fin != NULL ? strchr(fin, ',') : NULL;
    if (rc == 0 && comma != NULL)
        rps = strtod(comma + 1, NULL);
    char want[96];
    snprintf(want, sizeof(want), "%ld succeeded, 0 failed", requests);
    if (text == NULL || strstr(text, want) == NULL) {
        fprintf(stderr, "bench_loopback: h2load against %s did not succeed (rc %d):\n%s\n", s->name,
                rc, text != NULL ? text : "(no output)");
        rps = 0;
    }
    const char *lat = text != NULL ? strstr(text, "time for request:") : NULL;
    int latlen = lat != NULL ? (int)strcspn(lat, "\n") : 0;
    double cpu =
        cpu_before >= 0 && cpu_after >= 0 ? (cpu_after - cpu_before) / (double)requests : -1;
    *cpu_per_req = cpu;
    printf("round %d %-8s %10.0f req/s  server cpu %.2f us/req  %.*s\n", round, s->name, rps, cpu,
           latlen, lat != NULL ? lat : "");
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

static int bench_throughput(void)
{
    server ours = {0}, ng = {0};
    if (start_ours(&ours) != 0)
        return -1;
    if (start_nghttpd(&ng) != 0) {
        stop_server(&ours);
        return -1;
    }
    printf("loopback: h2load -n %ld -c 10 -m 50 -t 1, 1 KiB file, %d rounds\n", requests, rounds);
    double r_ours[MAX_ROUNDS], r_ng[MAX_ROUNDS], c_ours[MAX_ROUNDS], c_ng[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        if (r % 2 == 0) {
            r_ours[r] = run_h2load(&ours, r + 1, &c_ours[r]);
            r_ng[r] = run_h2load(&ng, r + 1, &c_ng[r]);
        } else {
            r_ng[r] = run_h2load(&ng, r + 1, &c_ng[r]);
            r_ours[r] = run_h2load(&ours, r + 1, &c_ours[r]);
        }
    }
    stop_server(&ours);
    stop_server(&ng);
    /* A round that failed (0 req/s) makes the whole comparison void. */
    for (int r = 0; r < rounds; r++) {
        if (r_ours[r] <= 0 || r_ng[r] <= 0) {
            fprintf(stderr, "bench_loopback: round %d failed; no RESULT\n", r + 1);
            return -1;
        }
    }
    double mo = median(r_ours, rounds), mn = median(r_ng, rounds);
    printf("server cpu per request (medians): ours=%.2f us nghttpd=%.2f us\n",
           median(c_ours, rounds), median(c_ng, rounds));
    printf("RESULT loopback ours=%.0f nghttpd=%.0f better=%.2f\n", mo, mn, mn > 0 ? mo / mn : 0);
    fflush(stdout);
    return mo > 0 && mn > 0 ? 0 : -1;
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
    if (start_ours(&ours) != 0)
        return -1;
    long o = idle_rss(&ours);
    stop_server(&ours);
    if (start_nghttpd(&ng) != 0)
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
    char path[192];
    snprintf(path, sizeof(path), "%s/index.html", docroot);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    char page[1024];
    memset(page, 'x', sizeof(page));
    static const char head[] = "<!doctype html><title>libh2</title><p>";
    memcpy(page, head, sizeof(head) - 1);
    page[sizeof(page) - 1] = '\n';
    size_t w = fwrite(page, 1, sizeof(page), f);
    return (fclose(f) == 0 && w == sizeof(page)) ? 0 : -1;
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

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
            requests = atol(argv[++i]);
        } else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
            idle_conns = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--rounds N] [--requests N] [--conns N]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || requests < 1 || idle_conns < 1) {
        fprintf(stderr, "bench_loopback: bad arguments\n");
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
    raise_nofile();
    if (make_docroot() != 0) {
        fprintf(stderr, "bench_loopback: cannot make the document root: %s\n", strerror(errno));
        cleanup_tmp();
        return 1;
    }
    int rc = bench_throughput();
    if (bench_idle() != 0)
        rc = -1;
    cleanup_tmp();
    return rc == 0 ? 0 : 1;
}
