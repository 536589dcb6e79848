/*
 * Helpers for the suites that test the libuv example programs
 * (uv_h2server, uv_h2client, uv_h2service; examples/libuv):
 *
 *   - starting a server example on 127.0.0.1 port 0 and reading the port
 *     from its "listening http 127.0.0.1:<port>" line, stopping it with
 *     SIGTERM and returning its exit status;
 *   - running curl, nghttp and uv_h2client against it;
 *   - reading uv_h2server's GET /stats counters;
 *   - a slow reader: a client on the libh2 core over a plain socket with
 *     a tiny receive buffer and windows wide open, which asks for /big and
 *     then reads nothing until the test lets it (the server's write
 *     backpressure path), then reads and checks the whole body.
 *
 * The /big body is interop_pattern(): the examples generate the same
 * sequence. Launches go through H2_EXAMPLE_WRAP (examples_util.h).
 * Header-only (static inline).
 */
#ifndef H2_TESTS_INTEROP_UV_EXAMPLES_UTIL_H
#define H2_TESTS_INTEROP_UV_EXAMPLES_UTIL_H

#include "h2/h2.h"
#include "examples_util.h"

/* The page every libuv example answers GET / with. */
#define UVX_PAGE "<!doctype html>\n<title>libh2 on libuv</title>\n<p>hello from libh2 on libuv\n"
/* The default /big size. */
#define UVX_BIG_SIZE (4u * 1024 * 1024)

typedef struct uvx_server {
    pid_t pid;
    uint16_t port;
    char name[32];
    char out[128], err[128];
} uvx_server;

/*
 * Starts the example |program| with "--host 127.0.0.1 --port 0", then
 * |extra| (NULL-terminated, or NULL), and waits for its listening line.
 * Returns 0, or -1 (output printed, process killed).
 */
static inline int uvx_server_start(uvx_server *s, const ex_dir *d, const char *program,
                                   const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    snprintf(s->name, sizeof(s->name), "%s", program);
    char name[64];
    snprintf(name, sizeof(name), "%s.stdout", program);
    ex_path(d, name, s->out, sizeof(s->out));
    snprintf(name, sizeof(name), "%s.stderr", program);
    ex_path(d, name, s->err, sizeof(s->err));
    unlink(s->out);
    unlink(s->err);
    ex_argv a;
    ex_argv_example(&a, program);
    ex_arg(&a, "--host");
    ex_arg(&a, "127.0.0.1");
    ex_arg(&a, "--port");
    ex_arg(&a, "0");
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        ex_arg(&a, extra[i]);
    if (a.overflow || (s->pid = interop_spawn(a.v, s->out, s->err)) < 0)
        return -1;
    /* The line is written once the socket listens: poll the output file, bounded. */
    int64_t deadline = interop_now_ms() + ex_start_timeout_ms();
    while (interop_now_ms() < deadline) {
        uint8_t *text = interop_read_file(s->out, &(size_t){0});
        if (text != NULL) {
            s->port = ex_parse_listening((const char *)text, "http");
            free(text);
        }
        if (s->port != 0)
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = -1;
            break;
        }
        interop_sleep_ms(10);
    }
    fprintf(stderr, "%s did not start\n", program);
    interop_dump_file("stderr", s->err, 4000);
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        interop_wait(s->pid, 5000);
        s->pid = -1;
    }
    return -1;
}

/* SIGTERM, then its exit status as ex_server_stop(). */
static inline int uvx_server_stop(uvx_server *s)
{
    if (s->pid <= 0)
        return -2;
    kill(s->pid, SIGTERM);
    int rc = interop_wait(s->pid, ex_stop_timeout_ms());
    s->pid = -1;
    if (rc != 0)
        interop_dump_file(s->name, s->err, 8000);
    return rc;
}

static inline void uvx_server_kill(uvx_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    interop_wait(s->pid, 5000);
    s->pid = -1;
}

static inline void uvx_url(char *out, size_t cap, uint16_t port, const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%u%s", port, path);
}

/*
 * Runs curl --http2-prior-knowledge with |args| (NULL-terminated) and the
 * body going to |d|/body; the -w text "%{http_version} %{http_code}" is
 * returned in |w|. Returns curl's exit status.
 */
static inline int uvx_curl(const ex_dir *d, const char *const *args, char *w, size_t cap)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "curl"), "curl is not installed (run `make deps`)");
    char body[128];
    ex_path(d, "body", body, sizeof(body));
    unlink(body);
    const char *common[] = {"--silent",
                            "--show-error",
                            "--max-time",
                            "60",
                            "--http2-prior-knowledge",
                            "-o",
                            body,
                            "-w",
                            "%{http_version} %{http_code}",
                            NULL};
    for (size_t i = 0; common[i] != NULL; i++)
        ex_arg(&a, common[i]);
    for (size_t i = 0; args[i] != NULL; i++)
        ex_arg(&a, args[i]);
    int rc = ex_run(d, &a, "curl", 90000, 0);
    char *text = ex_output(d, "curl", NULL);
    snprintf(w, cap, "%s", text);
    free(text);
    return rc;
}

/* Asserts that |d|/|name| holds exactly |want| (|len| bytes). */
static inline void uvx_assert_file(const ex_dir *d, const char *name, const void *want, size_t len)
{
    char path[128];
    ex_path(d, name, path, sizeof(path));
    size_t got = 0;
    uint8_t *data = interop_read_file(path, &got);
    cr_assert_not_null(data, "%s: no file", name);
    long diff = interop_first_diff(data, got, want, len);
    free(data);
    cr_assert_eq(got, len, "%s has %zu bytes, expected %zu", name, got, len);
    cr_assert_eq(diff, -1, "%s differs at byte %ld", name, diff);
}

/* Asserts that |d|/|name| holds the first |size| bytes of the pattern. */
static inline void uvx_assert_pattern_file(const ex_dir *d, const char *name, size_t size)
{
    char path[128];
    ex_path(d, name, path, sizeof(path));
    size_t got = 0;
    long diff = ex_check_pattern_file(path, size, &got);
    cr_assert_eq(got, size, "%s has %zu bytes, expected %zu", name, got, size);
    cr_assert_eq(diff, -1, "%s differs at byte %ld", name, diff);
}

/* Writes |d|/|name| with |size| bytes of the pattern; returns its path in |path|. */
static inline void uvx_make_upload(const ex_dir *d, const char *name, size_t size, char *path,
                                   size_t cap)
{
    ex_path(d, name, path, cap);
    uint8_t *p = interop_pattern_new(size);
    cr_assert_not_null(p);
    cr_assert_eq(interop_write_file(path, p, size), 0);
    free(p);
}

/*
 * Runs h2load: |n| requests to |url| over |c| connections with |m| streams
 * each; asserts that every one succeeded with a 2xx.
 */
static inline void uvx_h2load(const ex_dir *d, const char *url, int n, int c, int m)
{
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "h2load"), "h2load is not installed (run `make deps`)");
    ex_argf(&a, "-n%d", n);
    ex_argf(&a, "-c%d", c);
    ex_argf(&a, "-m%d", m);
    ex_arg(&a, url);
    cr_assert_eq(ex_run(d, &a, "h2load", 240000, 0), 0, "h2load failed");
    char *text = ex_output(d, "h2load", NULL);
    char want[160], want_2xx[64];
    snprintf(want, sizeof(want), "%d done, %d succeeded, 0 failed, 0 errored, 0 timeout", n, n);
    snprintf(want_2xx, sizeof(want_2xx), "status codes: %d 2xx,", n);
    bool ok = strstr(text, want) != NULL && strstr(text, want_2xx) != NULL;
    if (!ok)
        fprintf(stderr, "---- h2load output ----\n%s\n", text);
    free(text);
    cr_assert(ok, "h2load did not report \"%s\" and \"%s\"", want, want_2xx);
}

/* ---- uv_h2server's counters ------------------------------------------------------ */

typedef struct uvx_stats {
    unsigned long long connections, in_flight, max_in_flight, read_pauses, high_water, low_water;
} uvx_stats;

static inline unsigned long long uvx_stat_value(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, name, len) == 0 && p[len] == ' ')
            return strtoull(p + len + 1, NULL, 10);
    return ~0ull;
}

/* GET /stats with curl into |st|; asserts that it answered. */
static inline void uvx_get_stats(const ex_dir *d, uint16_t port, uvx_stats *st)
{
    char u[96], w[64], body[128];
    uvx_url(u, sizeof(u), port, "/stats");
    const char *args[] = {u, NULL};
    cr_assert_eq(uvx_curl(d, args, w, sizeof(w)), 0);
    cr_assert_str_eq(w, "2 200");
    ex_path(d, "body", body, sizeof(body));
    size_t len = 0;
    char *text = (char *)interop_read_file(body, &len);
    cr_assert_not_null(text);
    st->connections = uvx_stat_value(text, "connections");
    st->in_flight = uvx_stat_value(text, "in_flight");
    st->max_in_flight = uvx_stat_value(text, "max_in_flight");
    st->read_pauses = uvx_stat_value(text, "read_pauses");
    st->high_water = uvx_stat_value(text, "high_water");
    st->low_water = uvx_stat_value(text, "low_water");
    cr_assert_neq(st->high_water, ~0ull, "no high_water in /stats: %s", text);
    free(text);
}

/* ---- the slow reader ---------------------------------------------------------------- */

typedef struct uvx_slow {
    int fd;
    h2_conn *conn;
    uint32_t id;
    int status;
    bool ended, reset;
    size_t got;      /* body bytes received */
    long diff;       /* first body byte that differs from the pattern, or -1 */
    uint32_t lcg;    /* pattern state after |got| bytes */
    uint64_t rcvbuf; /* SO_RCVBUF the kernel gave */
} uvx_slow;

/* Sends everything the core queued (blocking socket, bounded by the I/O timeouts). */
static inline int uvx_slow_flush(uvx_slow *s)
{
    uint8_t buf[16384];
    size_t n;
    while ((n = h2_conn_data_to_send(s->conn, buf, sizeof(buf))) > 0)
        if (interop_send_all(s->fd, buf, n) != 0)
            return -1;
    return 0;
}

/*
 * Connects with a receive buffer of 4 KiB (set before connect, so the TCP
 * window stays small), opens both windows to the maximum, and sends GET
 * |path|. Nothing is read. Asserts on failure.
 */
static inline void uvx_slow_open(uvx_slow *s, uint16_t port, const char *path)
{
    memset(s, 0, sizeof(*s));
    s->diff = -1;
    s->lcg = 0x2545f491u;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s->fd, 0);
    int small = 4096;
    cr_assert_eq(setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    socklen_t sl = sizeof(small);
    getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &small, &sl);
    s->rcvbuf = (uint64_t)small;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(interop_set_timeouts(s->fd), 0);
    cr_assert_eq(connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
                 strerror(errno));
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    cfg.initial_window_size = 0x7fffffffu;
    cfg.connection_window_size = 0x7fffffffu;
    cr_assert_eq(h2_conn_new(&s->conn, &cfg), 0);
    cr_assert_eq(h2_conn_initiate(s->conn), 0);
    char authority[32];
    snprintf(authority, sizeof(authority), "127.0.0.1:%u", port);
    const h2_header req[] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3, 0},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"http", 4, 0},
        {(const uint8_t *)":authority", 10, (const uint8_t *)authority, strlen(authority), 0},
        {(const uint8_t *)":path", 5, (const uint8_t *)path, strlen(path), 0},
    };
    s->id = (uint32_t)h2_conn_next_stream_id(s->conn);
    cr_assert_eq(h2_conn_send_headers(s->conn, s->id, req, 4, H2_SEND_END_STREAM, NULL), 0);
    cr_assert_eq(uvx_slow_flush(s), 0);
}

/* Checks received body bytes against the pattern, continuing from |got|. */
static inline void uvx_slow_body(uvx_slow *s, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        s->lcg = s->lcg * 1103515245u + 12345u;
        if (s->diff < 0 && p[i] != (uint8_t)(s->lcg >> 23))
            s->diff = (long)(s->got + i);
    }
    s->got += len;
}

/*
 * Reads and handles everything until the response ended (or was reset, or
 * the connection ended), within |timeout_ms|. Returns 0 when the stream
 * ended, -1 otherwise.
 */
static inline int uvx_slow_finish(uvx_slow *s, int timeout_ms)
{
    int64_t deadline = interop_now_ms() + timeout_ms;
    uint8_t buf[65536];
    while (!s->ended && !s->reset && interop_now_ms() < deadline) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return -1;
        const h2_event *ev;
        size_t n_ev = 0;
        if (h2_conn_receive(s->conn, buf, (size_t)n, &ev, &n_ev) != 0)
            return -1;
        for (size_t i = 0; i < n_ev; i++) {
            if (ev[i].stream_id != s->id)
                continue;
            if (ev[i].type == H2_EV_RESPONSE_RECEIVED) {
                for (size_t f = 0; f < ev[i].u.headers.n; f++) {
                    const h2_header *h = &ev[i].u.headers.fields[f];
                    if (h->name_len == 7 && memcmp(h->name, ":status", 7) == 0 && h->value_len == 3)
                        s->status = (h->value[0] - '0') * 100 + (h->value[1] - '0') * 10 +
                                    (h->value[2] - '0');
                }
            } else if (ev[i].type == H2_EV_DATA_RECEIVED) {
                uvx_slow_body(s, ev[i].u.data.data, ev[i].u.data.len);
                h2_conn_ack_data(s->conn, s->id, ev[i].u.data.flow_controlled_length);
            } else if (ev[i].type == H2_EV_STREAM_ENDED) {
                s->ended = true;
            } else if (ev[i].type == H2_EV_STREAM_RESET) {
                s->reset = true;
            }
        }
        if (uvx_slow_flush(s) != 0)
            return -1;
    }
    return s->ended ? 0 : -1;
}

static inline void uvx_slow_close(uvx_slow *s)
{
    h2_conn_free(s->conn);
    s->conn = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

#endif
