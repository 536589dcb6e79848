/*
 * The processes of bench_loopback (included by bench/bench_loopback.c only;
 * every function here is static): spawning with a CPU pin, waiting, free
 * ports, the self-signed certificate, and starting the three servers:
 *
 *   h2server  --workers 1, a cleartext and a TLS port (ports from its
 *             "listening" lines)
 *   nghttpd   one process per transport (it serves either TLS or not)
 *   h2o       one process, one thread, a cleartext and a TLS listener,
 *             configuration written to the benchmark's folder
 *
 * All serve the same document root. The caller sets |tmpdir|, |docroot| and
 * the program paths before starting anything.
 */
#ifndef BENCH_LOOPBACK_SERVERS_H
#define BENCH_LOOPBACK_SERVERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
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

static char tmpdir[64];
static char docroot[128];
static char h2server_path[PATH_MAX];
static char nghttpd_path[PATH_MAX];
static char h2o_path[PATH_MAX];   /* empty: h2o is not installed, its column is skipped */
static char openssl_path[PATH_MAX]; /* empty: no certificate, no TLS cells */
static char h2load_path[PATH_MAX];

/* The CPUs servers and h2load are pinned to; -1: not pinned (fewer than two CPUs). */
static int server_cpu = -1;
static int client_cpu = -1;

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
    out[0] = '\0';
    return false;
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

/* Picks the first two CPUs this process may run on, if there are two. */
static void choose_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return;
    int found[2], n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
        if (CPU_ISSET(cpu, &set))
            found[n++] = cpu;
    if (n == 2) {
        server_cpu = found[0];
        client_cpu = found[1];
    }
}

/* Starts |argv| on |cpu| (-1: anywhere) with stdout and stderr to |out|
 * (truncated); SIGKILL if we die. */
static pid_t spawn(char *const argv[], const char *out, int cpu)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(126);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0)
            _exit(126);
    }
    int in = open("/dev/null", O_RDONLY);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || o < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
        _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

/* Waits up to |timeout_ms|; SIGKILL after that. Exit status, 128+signal, or -1.
 * |usage| (may be NULL) receives the child's resource usage. */
static int wait_usage(pid_t pid, int timeout_ms, struct rusage *usage)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status = 0;
    struct rusage ignored;
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, usage != NULL ? usage : &ignored);
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

static int wait_for(pid_t pid, int timeout_ms)
{
    return wait_usage(pid, timeout_ms, NULL);
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

/* Waits until |port| accepts a connection while |pid| lives; false after 5 s or its exit. */
static bool await_port(pid_t pid, uint16_t port)
{
    int64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return false;
        int fd = connect_port(port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        sleep_ms(10);
    }
    return false;
}

/* tmpdir/cert.pem and tmpdir/key.pem: a throwaway P-256 certificate for 127.0.0.1. */
static void cert_paths(char *cert, char *key, size_t cap)
{
    snprintf(cert, cap, "%s/cert.pem", tmpdir);
    snprintf(key, cap, "%s/key.pem", tmpdir);
}

static bool make_cert(void)
{
    if (openssl_path[0] == '\0')
        return false;
    char cert[128], key[128], out[128];
    cert_paths(cert, key, sizeof(cert));
    snprintf(out, sizeof(out), "%s/openssl.out", tmpdir);
    char *argv[] = {openssl_path, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-keyout", key, "-out", cert, NULL};
    pid_t pid = spawn(argv, out, -1);
    if (pid < 0 || wait_for(pid, 30000) != 0) {
        fprintf(stderr, "bench_loopback: openssl could not make a certificate (see %s)\n", out);
        return false;
    }
    /* h2o reads them after dropping to its user. */
    chmod(cert, 0644);
    chmod(key, 0644);
    return true;
}

/* ---- the servers ------------------------------------------------------------------ */

typedef struct server {
    const char *name;
    pid_t pid;
    uint16_t port;     /* cleartext */
    uint16_t tls_port; /* 0: none */
} server;

static void stop_server(server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    if (wait_for(s->pid, 10000) < 0)
        fprintf(stderr, "bench_loopback: %s had to be killed\n", s->name);
    s->pid = -1;
}

/* The port after |prefix| in |text|, or 0. */
static uint16_t port_after(const char *text, const char *prefix)
{
    const char *p = text != NULL ? strstr(text, prefix) : NULL;
    return p != NULL ? (uint16_t)atoi(p + strlen(prefix)) : 0;
}

/* Starts h2server --workers 1 on port 0 (and a TLS port 0 with |tls|) and
 * reads its "listening" lines. */
static int start_ours(server *s, bool tls)
{
    char out[160], cert[128], key[128];
    snprintf(out, sizeof(out), "%s/h2server.out", tmpdir);
    cert_paths(cert, key, sizeof(cert));
    /* Without |tls| the list ends after the document root. */
    char *argv[] = {h2server_path, "--host", "127.0.0.1", "--port", "0", "--workers", "1",
                    "--root", docroot, tls ? "--tls-port" : NULL, "0", "--cert", cert, "--key",
                    key, NULL};
    *s = (server){.name = "ours"};
    unlink(out); /* no stale listening line from an earlier start */
    s->pid = spawn(argv, out, server_cpu);
    if (s->pid < 0)
        return -1;
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        char *text = read_text(out);
        s->port = port_after(text, "listening http 127.0.0.1:");
        s->tls_port = port_after(text, "listening https 127.0.0.1:");
        free(text);
        if (s->port != 0 && (!tls || s->tls_port != 0))
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
            break;
        sleep_ms(10);
    }
    fprintf(stderr, "bench_loopback: h2server did not start (see %s)\n", out);
    kill(s->pid, SIGKILL);
    wait_for(s->pid, 2000);
    return -1;
}

/* Starts nghttpd on a free port, over TLS with |tls| (retried if the port was taken meanwhile).
 * The port goes to |port| or |tls_port|. */
static int start_nghttpd(server *s, bool tls)
{
    char out[160], portstr[16], cert[128], key[128];
    snprintf(out, sizeof(out), "%s/nghttpd%s.out", tmpdir, tls ? "-tls" : "");
    cert_paths(cert, key, sizeof(cert));
    *s = (server){.name = "nghttpd"};
    for (int attempt = 0; attempt < 5; attempt++) {
        uint16_t port = free_port();
        snprintf(portstr, sizeof(portstr), "%u", port);
        char *clear[] = {nghttpd_path, "--no-tls", "--address=127.0.0.1", "-d", docroot,
                         portstr, NULL};
        char *secure[] = {nghttpd_path, "--address=127.0.0.1", "-d", docroot, portstr, key,
                          cert, NULL};
        s->pid = spawn(tls ? secure : clear, out, server_cpu);
        if (s->pid < 0)
            return -1;
        if (await_port(s->pid, port)) {
            *(tls ? &s->tls_port : &s->port) = port;
            return 0;
        }
        kill(s->pid, SIGKILL);
        wait_for(s->pid, 2000);
    }
    s->pid = -1;
    fprintf(stderr, "bench_loopback: nghttpd did not start (see %s)\n", out);
    return -1;
}

/* Writes h2o's configuration: one thread, a cleartext listener, a TLS one
 * with |tls|, the document root, no access log. */
static int write_h2o_conf(const char *path, const server *s, bool tls)
{
    char cert[128], key[128];
    cert_paths(cert, key, sizeof(cert));
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    /* Run as root, h2o switches to another user (nobody by default): stay this one. */
    const struct passwd *pw = getpwuid(getuid());
    if (getuid() == 0 && pw != NULL)
        fprintf(f, "user: %s\n", pw->pw_name);
    fprintf(f, "num-threads: 1\nerror-log: %s/h2o-error.log\n", tmpdir);
    fprintf(f, "listen:\n  host: 127.0.0.1\n  port: %u\n", s->port);
    if (tls)
        fprintf(f,
                "listen:\n  host: 127.0.0.1\n  port: %u\n  ssl:\n"
                "    certificate-file: %s\n    key-file: %s\n    ocsp-update-interval: 0\n",
                s->tls_port, cert, key);
    fprintf(f, "hosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\n", docroot);
    return fclose(f) == 0 ? 0 : -1;
}

/* Starts h2o on free ports (retried if one was taken meanwhile). */
static int start_h2o(server *s, bool tls)
{
    char out[160], conf[160];
    snprintf(out, sizeof(out), "%s/h2o.out", tmpdir);
    snprintf(conf, sizeof(conf), "%s/h2o.conf", tmpdir);
    *s = (server){.name = "h2o"};
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = free_port();
        s->tls_port = tls ? free_port() : 0;
        if (write_h2o_conf(conf, s, tls) != 0)
            return -1;
        char *argv[] = {h2o_path, "-c", conf, NULL};
        s->pid = spawn(argv, out, server_cpu);
        if (s->pid < 0)
            return -1;
        if (await_port(s->pid, s->port) && (!tls || await_port(s->pid, s->tls_port)))
            return 0;
        kill(s->pid, SIGKILL);
        wait_for(s->pid, 2000);
    }
    s->pid = -1;
    fprintf(stderr, "bench_loopback: h2o did not start (see %s)\n", out);
    return -1;
}

#endif /* BENCH_LOOPBACK_SERVERS_H */
