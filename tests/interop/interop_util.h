/*
 * Helpers for the interop suites: temporary folders, the deterministic body
 * pattern, files, child processes with deadlines, and loopback sockets.
 *
 * Header-only (static inline) so each interop test binary stays a single .c
 * file. Every wait here is bounded; every child process gets SIGKILL if the
 * test process dies first.
 */
#ifndef H2_TESTS_INTEROP_UTIL_H
#define H2_TESTS_INTEROP_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Socket timeout for every blocking read and write, milliseconds. */
#define INTEROP_IO_TIMEOUT_MS 10000
/* How long one peer command may run before it is killed, milliseconds. */
#define INTEROP_CMD_TIMEOUT_MS 30000

/* ---- time ---------------------------------------------------------------- */

static inline int64_t interop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * For waits on external peers only (a child process such as curl or
 * nghttpd starting up, exiting, or opening its port): they tell nothing
 * when they are ready, so the caller retries on a short period with a
 * deadline. Never a way to wait for this library's own threads.
 */
static inline void interop_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { /* external peer: see above */
    }
}

/* ---- body pattern ---------------------------------------------------------- */

/*
 * Fills |buf| with the first |len| bytes of a fixed pseudo-random sequence
 * (a 32-bit LCG, high bits). Any prefix of a longer pattern equals the
 * shorter pattern, so "/bytes/N" bodies can be checked against this.
 */
static inline void interop_pattern(uint8_t *buf, size_t len)
{
    uint32_t x = 0x2545f491u;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 23);
    }
}

/* Returns a malloc'd pattern of |len| bytes (at least 1 byte allocated), or NULL. */
static inline uint8_t *interop_pattern_new(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p != NULL)
        interop_pattern(p, len);
    return p;
}

/* Index of the first byte where |a| and |b| differ, or -1 when equal (same length). */
static inline long interop_first_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return alen == blen ? -1 : (long)n;
}

/* ---- files and folders ------------------------------------------------------ */

/* Creates a fresh folder under /tmp; writes its path to |out| (>= 64 bytes). */
static inline int interop_tmpdir(char *out, size_t cap)
{
    if (snprintf(out, cap, "/tmp/h2-interop-XXXXXX") >= (int)cap)
        return -1;
    return mkdtemp(out) != NULL ? 0 : -1;
}

static inline int interop_rm_entry(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes |dir| and everything below it. Empty string: nothing to do. */
static inline void interop_rmtree(const char *dir)
{
    if (dir[0] != '\0')
        nftw(dir, interop_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int interop_write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

/*
 * Reads a whole file into a malloc'd buffer, NUL-terminated (the NUL is not
 * counted in |*len|). Returns NULL when the file cannot be read.
 */
static inline uint8_t *interop_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Prints a file (at most |max| bytes) to stderr; used to show a peer's output on failure. */
static inline void interop_dump_file(const char *label, const char *path, size_t max)
{
    size_t len = 0;
    uint8_t *b = interop_read_file(path, &len);
    if (b == NULL)
        return;
    fprintf(stderr, "---- %s (%zu bytes) ----\n%.*s\n----\n", label, len,
            (int)(len < max ? len : max), (const char *)b);
    free(b);
}

/* ---- child processes ---------------------------------------------------------- */

/*
 * Looks |name| up in $PATH (and /usr/sbin, /usr/bin as a fallback, where
 * Debian puts nghttpd). Writes the full path to |out|; returns false when
 * there is no executable of that name.
 */
static inline bool interop_find_program(const char *name, char *out, size_t cap)
{
    const char *env = getenv("PATH");
    char paths[4096];
    snprintf(paths, sizeof(paths), "%s:/usr/local/bin:/usr/bin:/usr/sbin:/bin",
             env != NULL ? env : "");
    char *save = NULL;
    for (char *dir = strtok_r(paths, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        if (dir[0] == '\0')
            continue;
        if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
            continue;
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/*
 * Starts |argv| (argv[0] a full path) with stdin from /dev/null and stdout
 * and stderr appended to the given files (NULL: /dev/null). The child gets
 * SIGKILL if this process dies. Returns the pid or -1.
 */
static inline pid_t interop_spawn(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t parent = getpid();
    const char *outp = out_path != NULL ? out_path : "/dev/null";
    const char *errp = err_path != NULL ? err_path : "/dev/null";
    pid_t pid = fork();
    if (pid != 0)
        return pid; /* parent, or -1 */
    /* Child: async-signal-safe calls only until exec. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(outp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int err = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

/*
 * Waits up to |timeout_ms| for |pid|. On timeout sends SIGKILL and reaps it.
 * Returns the exit status (0..255), 128 + signal number when it died of a
 * signal, or -1 when it had to be killed (timeout).
 */
static inline int interop_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = interop_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (interop_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
        interop_sleep_ms(5);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Stops a long-running child: SIGTERM, up to 2 s to exit, then SIGKILL. Reaps it. */
static inline void interop_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    interop_wait(pid, 2000);
}

/* Runs |argv| to completion (bounded by INTEROP_CMD_TIMEOUT_MS); as interop_wait(). */
static inline int interop_run(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = interop_spawn(argv, out_path, err_path);
    if (pid < 0)
        return -1;
    return interop_wait(pid, INTEROP_CMD_TIMEOUT_MS);
}

/* ---- sockets -------------------------------------------------------------------- */

/* Bounds every blocking recv/send on |fd| by INTEROP_IO_TIMEOUT_MS. */
static inline int interop_set_timeouts(int fd)
{
    struct timeval tv = {INTEROP_IO_TIMEOUT_MS / 1000, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
        return -1;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Writes all |len| bytes (no SIGPIPE). Returns 0 or -1. */
static inline int interop_send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A free loopback TCP port right now (bind to port 0, read it, close). 0 on failure. */
static inline uint16_t interop_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* Connects to 127.0.0.1:|port| (blocking, with the I/O timeouts set). Returns fd or -1. */
static inline int interop_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (interop_set_timeouts(fd) != 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#endif
