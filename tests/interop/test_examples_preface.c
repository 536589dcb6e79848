/*
 * h2server's first bytes (examples/server/first_bytes.h) over real sockets:
 * a bad connection preface on the cleartext port gets an empty SETTINGS
 * frame and GOAWAY(last stream 0, PROTOCOL_ERROR, "invalid connection
 * preface"), byte for byte, then the end of the connection; over TLS with
 * ALPN h2 (tests/interop/py/tls_exchange.py, Python's ssl module) any bytes
 * that are not the preface end the same way: stream-0 SETTINGS and
 * WINDOW_UPDATE frames, then GOAWAY(0, PROTOCOL_ERROR), then the end. Real
 * HTTP/1.x requests keep their HTTP/1.1 answers (200, 404, 505, 400, 431).
 */
#include <netinet/tcp.h>

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

TestSuite(examples_preface, .init = setup, .fini = teardown, .timeout = 120);

static const char index_html[] = "<!doctype html>\n<title>libh2</title>\n<p>hello from h2server\n";

/* SETTINGS (empty), then GOAWAY: last stream 0, PROTOCOL_ERROR, the reason. */
static const uint8_t goaway_reply[] = "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                                      "\x00\x00\x22\x07\x00\x00\x00\x00\x00"
                                      "\x00\x00\x00\x00"
                                      "\x00\x00\x00\x01"
                                      "invalid connection preface";

/* The bad prefaces every test sends. */
static const char *const bad[] = {
    "INVALID CONNECTION PREFACE\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "PRI * HTTP/1.1\r\n\r\n",
    "GET / http/1.1\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\n\r\n",
    "\x16\x03\x01\x00\x05hello",
};
#define N_BAD (sizeof(bad) / sizeof(bad[0]))

static void start(bool tls)
{
    EX_REQUIRE("h2server");
    cr_assert_eq(ex_make_text_file(&dir, "index.html", index_html), 0);
    if (tls)
        cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    ex_server_opts o = {.cleartext = true, .tls = tls, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");
}

static void stop_clean(void)
{
    int rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}

/* What came back on a connection, and how it ended. */
typedef struct reply {
    uint8_t *data; /* malloc'd */
    size_t len;
    bool eof; /* recv() returned 0 */
    int err;  /* errno of a failed recv(), else 0 */
} reply;

/*
 * Sends |len| bytes to the cleartext port (in pieces of |piece| bytes, each
 * its own send() with TCP_NODELAY, when |piece| > 0) and reads until the
 * server ends the connection or the I/O timeout passes.
 */
static reply exchange(const void *data, size_t len, size_t piece)
{
    int fd = interop_connect(server.port);
    cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const uint8_t *p = data;
    size_t step = piece > 0 ? piece : len;
    for (size_t off = 0; off < len; off += step)
        cr_assert_eq(interop_send_all(fd, p + off, len - off < step ? len - off : step), 0,
                     "send: %s", strerror(errno));
    reply r = {0};
    size_t cap = 0;
    for (;;) {
        if (r.len == cap) {
            cap = cap > 0 ? cap * 2 : 4096;
            r.data = realloc(r.data, cap);
            cr_assert_not_null(r.data);
        }
        ssize_t n = recv(fd, r.data + r.len, cap - r.len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            r.len += (size_t)n;
            continue;
        }
        r.eof = n == 0;
        r.err = n < 0 ? errno : 0;
        break;
    }
    close(fd);
    return r;
}

static void assert_goaway(const reply *r, const char *what)
{
    cr_assert(r->eof, "%s: the connection did not end cleanly (%s)", what, strerror(r->err));
    cr_assert_eq(r->len, sizeof(goaway_reply) - 1, "%s: %zu reply bytes, expected %zu", what,
                 r->len, sizeof(goaway_reply) - 1);
    cr_assert_eq(memcmp(r->data, goaway_reply, r->len), 0, "%s: not SETTINGS and GOAWAY", what);
}

/* An HTTP/1.1 answer with |status| (and, when |body| is not NULL, that body), then the end. */
static void assert_http1(const reply *r, int status, const char *body, const char *what)
{
    cr_assert(r->eof, "%s: the connection did not end cleanly (%s)", what, strerror(r->err));
    char line[32];
    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    cr_assert(r->len >= strlen(line) && memcmp(r->data, line, strlen(line)) == 0,
              "%s: the answer does not start with \"%s\" (%zu bytes)", what, line, r->len);
    if (body == NULL)
        return;
    size_t blen = strlen(body);
    cr_assert(r->len >= blen && memcmp(r->data + r->len - blen, body, blen) == 0,
              "%s: the answer does not end with the expected body", what);
}

static void expect_goaway(const char *data, size_t len, size_t piece, const char *what)
{
    reply r = exchange(data, len, piece);
    assert_goaway(&r, what);
    free(r.data);
}

static void expect_http1(const char *text, int status, const char *body)
{
    reply r = exchange(text, strlen(text), 0);
    assert_http1(&r, status, body, text);
    free(r.data);
}

Test(examples_preface, cleartext_bad_prefaces_get_goaway)
{
    start(false);
    for (size_t i = 0; i < N_BAD; i++)
        expect_goaway(bad[i], strlen(bad[i]), 0, bad[i]);
    stop_clean();
}

Test(examples_preface, cleartext_bad_preface_one_byte_at_a_time)
{
    start(false);
    for (size_t i = 0; i < 2; i++)
        expect_goaway(bad[i], strlen(bad[i]), 1, bad[i]);
    stop_clean();
}

/* "GET /" + |fill| bytes of path + " HTTP/1.1\r\n\r\n", NUL-terminated (malloc'd). */
static char *long_request(size_t fill)
{
    char *t = malloc(fill + 20);
    cr_assert_not_null(t);
    memcpy(t, "GET /", 5);
    memset(t + 5, 'a', fill);
    memcpy(t + 5 + fill, " HTTP/1.1\r\n\r\n", 14);
    return t;
}

Test(examples_preface, cleartext_long_first_line)
{
    start(false);
    /* Within the limit: a request for a file that is not there. */
    char *fits = long_request(7000);
    expect_http1(fits, 404, NULL);
    free(fits);
    /* Past SRV_FIRST_LINE_MAX (8192) before its version: a bad preface. */
    char *over = long_request(9000);
    expect_goaway(over, strlen(over), 0, "a 9 KB first line");
    free(over);
    stop_clean();
}

Test(examples_preface, cleartext_http1_still_answered)
{
    start(false);
    expect_http1("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200, index_html);
    expect_http1("GET / HTTP/1.0\r\n\r\n", 200, index_html);
    /* A higher minor version is answered as HTTP/1.1. */
    expect_http1("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 200, index_html);
    expect_http1("HEAD /index.html HTTP/1.1\r\n\r\n", 200, NULL);
    expect_http1("GET /none HTTP/1.1\r\n\r\n", 404, NULL);
    /* PRIX is not PRI: just another method. */
    expect_http1("PRIX / HTTP/1.1\r\n\r\n", 505, NULL);
    expect_http1("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 505, NULL);
    /* A good request line with a broken field stays a 400. */
    expect_http1("GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, NULL);
    /* A head past 8 KiB stays a 431. */
    char *big = malloc(10000);
    cr_assert_not_null(big);
    strcpy(big, "GET / HTTP/1.1\r\nX-Fill: ");
    size_t at = strlen(big);
    memset(big + at, 'b', 9000);
    strcpy(big + at + 9000, "\r\n\r\n");
    expect_http1(big, 431, NULL);
    free(big);
    stop_clean();
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The frames of |data|: stream-0 SETTINGS and WINDOW_UPDATE frames, then
 * GOAWAY(last stream 0, PROTOCOL_ERROR) as the last bytes.
 */
static void assert_tls_goaway(const uint8_t *data, size_t len, const char *what)
{
    size_t off = 0;
    bool goaway = false;
    while (off < len) {
        cr_assert(!goaway, "%s: bytes after the GOAWAY", what);
        cr_assert_geq(len - off, 9, "%s: a cut frame header at %zu", what, off);
        const uint8_t *h = data + off;
        size_t flen = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        uint8_t type = h[3];
        cr_assert_geq(len - off - 9, flen, "%s: a cut frame at %zu", what, off);
        cr_assert_eq(be32(h + 5) & 0x7fffffffu, 0, "%s: a frame on a stream", what);
        if (type == 0x7) {
            cr_assert_geq(flen, 8, "%s: a short GOAWAY", what);
            cr_assert_eq(be32(h + 9) & 0x7fffffffu, 0, "%s: GOAWAY's last stream", what);
            cr_assert_eq(be32(h + 13), 1, "%s: GOAWAY's error code %u", what, be32(h + 13));
            goaway = true;
        } else {
            cr_assert(type == 0x4 || type == 0x8, "%s: a frame of type %u", what, type);
        }
        off += 9 + flen;
    }
    cr_assert(goaway, "%s: no GOAWAY in %zu bytes", what, len);
}

Test(examples_preface, tls_bad_prefaces_get_goaway)
{
    start(true);
    const char *const tls_bad[] = {bad[0], bad[1], bad[2], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"};
    for (size_t i = 0; i < sizeof(tls_bad) / sizeof(tls_bad[0]); i++) {
        char hex[256] = "";
        for (size_t k = 0; tls_bad[i][k] != '\0'; k++)
            snprintf(hex + 2 * k, sizeof(hex) - 2 * k, "%02x", (unsigned char)tls_bad[i][k]);
        char out[128];
        ex_path(&dir, "tls.reply", out, sizeof(out));
        unlink(out);
        ex_argv a;
        ex_argv_python(&a, "tls_exchange.py");
        ex_arg(&a, "127.0.0.1");
        ex_argf(&a, "%u", server.tls_port);
        ex_arg(&a, hex);
        ex_arg(&a, out);
        cr_assert_eq(ex_run(&dir, &a, "tls_exchange", 30000, 0), 0, "%s: no clean end over TLS",
                     tls_bad[i]);
        size_t len = 0;
        uint8_t *data = interop_read_file(out, &len);
        cr_assert_not_null(data, "%s: no reply file", tls_bad[i]);
        assert_tls_goaway(data, len, tls_bad[i]);
        free(data);
    }
    stop_clean();
}
