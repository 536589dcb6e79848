/*
 * Helpers for the suites that test the example programs (h2server and
 * h2client, built into H2_BUILD_DIR) against real peers:
 *
 *   - a temporary folder per test with a document root of generated files
 *     (the interop_pattern() bytes, so bodies can be checked byte for byte);
 *   - a self-signed certificate made with the openssl command;
 *   - starting h2server on port 0 and reading the ports it prints
 *     ("listening http 127.0.0.1:<port>", "listening https ..."), and
 *     stopping it with SIGTERM, returning its exit status;
 *   - running h2client to completion.
 *
 * Every launch of h2server and h2client goes through the command prefix in
 * the environment variable H2_EXAMPLE_WRAP (split on spaces and tabs, quote
 * characters removed), e.g.
 * "valgrind --leak-check=full --error-exitcode=99 -q". When it is set, the
 * suites use smaller counts and longer waits (ex_wrapped()).
 *
 * Header-only (static inline), like interop_util.h.
 */
#ifndef H2_TESTS_INTEROP_EXAMPLES_UTIL_H
#define H2_TESTS_INTEROP_EXAMPLES_UTIL_H

#include <stdarg.h>

#include <criterion/criterion.h>

#include "interop_util.h"

#ifndef H2_BUILD_DIR
#error "H2_BUILD_DIR must name the build folder holding h2server and h2client"
#endif

#define EX_MAX_ARGS 160

/* True when the example programs run under a wrapper (valgrind): everything is much slower. */
static inline bool ex_wrapped(void)
{
    const char *w = getenv("H2_EXAMPLE_WRAP");
    return w != NULL && w[strspn(w, " ")] != '\0';
}

/* |normal|, or |wrapped| when the examples run under H2_EXAMPLE_WRAP. */
static inline int ex_scale(int normal, int wrapped)
{
    return ex_wrapped() ? wrapped : normal;
}

/* Full path of an example program (h2server, h2client) in the build folder. */
static inline void ex_program(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", H2_BUILD_DIR, name);
}

/* True when the example program |name| has been built. */
static inline bool ex_have(const char *name)
{
    char p[512];
    ex_program(name, p, sizeof(p));
    return access(p, X_OK) == 0;
}

/*
 * An argument vector under construction: the H2_EXAMPLE_WRAP words first
 * (for the example programs), then the program, then its arguments. The
 * strings are copied into |store|.
 */
typedef struct ex_argv {
    char *v[EX_MAX_ARGS + 1];
    size_t n;
    char store[16384];
    size_t used;
    bool overflow;
} ex_argv;

static inline void ex_arg(ex_argv *a, const char *s)
{
    size_t len = strlen(s) + 1;
    if (a->n >= EX_MAX_ARGS || a->used + len > sizeof(a->store)) {
        a->overflow = true;
        return;
    }
    char *p = a->store + a->used;
    memcpy(p, s, len);
    a->used += len;
    a->v[a->n++] = p;
    a->v[a->n] = NULL;
}

/* printf-style ex_arg(). */
__attribute__((format(printf, 2, 3))) static inline void ex_argf(ex_argv *a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        a->overflow = true;
    else
        ex_arg(a, buf);
}

/*
 * Starts the vector for a peer program looked up in $PATH. Returns false
 * when it is not installed.
 */
static inline bool ex_argv_peer(ex_argv *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    char path[512];
    if (!interop_find_program(name, path, sizeof(path)))
        return false;
    ex_arg(a, path);
    return true;
}

/*
 * Starts the vector for python3 running tests/interop/py/|script|. Debian's
 * /usr/bin/python3 comes first: it has the h2 package, which a python3
 * earlier in $PATH (a virtualenv, pyenv) may not see.
 */
static inline void ex_argv_python(ex_argv *a, const char *script)
{
    memset(a, 0, sizeof(*a));
    if (access("/usr/bin/python3", X_OK) == 0)
        ex_arg(a, "/usr/bin/python3");
    else
        cr_assert(ex_argv_peer(a, "python3"), "python3 is not installed (run `make deps`)");
    ex_argf(a, "%s/tests/interop/py/%s", H2_SOURCE_DIR, script);
}

/*
 * Starts the vector for an example program: the H2_EXAMPLE_WRAP words, then
 * the program's full path. The wrapper's first word is looked up in $PATH.
 */
static inline void ex_argv_example(ex_argv *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    const char *w = getenv("H2_EXAMPLE_WRAP");
    if (w != NULL) {
        char words[2048];
        snprintf(words, sizeof(words), "%s", w);
        char *save = NULL;
        bool first = true;
        for (char *t = strtok_r(words, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
            /* Quotes meant for a shell (--opt='a,b') are dropped: no shell runs here. */
            char *w2 = t;
            for (char *r = t; *r != '\0'; r++)
                if (*r != '\'' && *r != '"')
                    *w2++ = *r;
            *w2 = '\0';
            char path[512];
            if (first && strchr(t, '/') == NULL && interop_find_program(t, path, sizeof(path)))
                ex_arg(a, path);
            else
                ex_arg(a, t);
            first = false;
        }
    }
    char prog[512];
    ex_program(name, prog, sizeof(prog));
    ex_arg(a, prog);
}

/* ---- the test folder ------------------------------------------------------------ */

/*
 * A test's temporary folder: |dir|/root is the document root, |dir|/cert.pem
 * and |dir|/key.pem the certificate (after ex_make_cert()), other files are
 * logs and outputs.
 */
typedef struct ex_dir {
    char dir[64];
    char root[96];
} ex_dir;

/* The folder made last in this test process (each test runs in its own process). */
static ex_dir *ex_current_dir;

static inline int ex_dir_make(ex_dir *d)
{
    memset(d, 0, sizeof(*d));
    ex_current_dir = d;
    if (interop_tmpdir(d->dir, sizeof(d->dir)) != 0)
        return -1;
    /* Peers that drop privileges (h2o as "nobody") must be able to read the files. */
    chmod(d->dir, 0755);
    snprintf(d->root, sizeof(d->root), "%s/root", d->dir);
    return mkdir(d->root, 0755);
}

static inline void ex_dir_remove(ex_dir *d)
{
    interop_rmtree(d->dir);
    d->dir[0] = '\0';
}

/*
 * Skips the running test when an example program has not been built (its
 * sources are not in the tree yet); a missing peer program fails instead.
 * A skipped test does not reach the suite's .fini, so the test folder is
 * removed here. Use it before starting any process.
 */
#define EX_REQUIRE(name)                                                                           \
    do {                                                                                           \
        if (!ex_have(name)) {                                                                      \
            if (ex_current_dir != NULL)                                                            \
                ex_dir_remove(ex_current_dir);                                                     \
            cr_skip_test("%s/%s has not been built", H2_BUILD_DIR, name);                          \
        }                                                                                          \
    } while (0)

/* |dir|/|name| into |out|. */
static inline void ex_path(const ex_dir *d, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", d->dir, name);
}

/* Writes root/|name| holding the first |size| bytes of the pattern. Returns 0 or -1. */
static inline int ex_make_pattern_file(const ex_dir *d, const char *name, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", d->root, name);
    uint8_t *p = interop_pattern_new(size);
    if (p == NULL)
        return -1;
    int rc = interop_write_file(path, p, size);
    free(p);
    chmod(path, 0644);
    return rc;
}

/* Writes root/|name| with the text |text|. Returns 0 or -1. */
static inline int ex_make_text_file(const ex_dir *d, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", d->root, name);
    int rc = interop_write_file(path, (const uint8_t *)text, strlen(text));
    chmod(path, 0644);
    return rc;
}

/*
 * Checks that the file at |path| holds exactly the first |size| bytes of the
 * pattern. Returns -1 when it does, else the first differing offset (or the
 * shorter length), and -2 when the file cannot be read; |*got| is its length.
 */
static inline long ex_check_pattern_file(const char *path, size_t size, size_t *got)
{
    size_t len = 0;
    uint8_t *data = interop_read_file(path, &len);
    *got = len;
    if (data == NULL)
        return -2;
    uint8_t *want = interop_pattern_new(size);
    long diff = want != NULL ? interop_first_diff(data, len, want, size) : -2;
    free(want);
    free(data);
    return diff;
}

/*
 * Makes a self-signed certificate for 127.0.0.1 and localhost with the
 * openssl command: |dir|/cert.pem and |dir|/key.pem (readable by everyone,
 * they are throwaway). Returns 0 or -1.
 */
static inline int ex_make_cert(const ex_dir *d)
{
    ex_argv a;
    if (!ex_argv_peer(&a, "openssl"))
        return -1;
    char cert[128], key[128], err[128];
    ex_path(d, "cert.pem", cert, sizeof(cert));
    ex_path(d, "key.pem", key, sizeof(key));
    ex_path(d, "openssl.stderr", err, sizeof(err));
    const char *args[] = {"req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:P-256",
                          "-nodes",
                          "-days",
                          "2",
                          "-subj",
                          "/CN=127.0.0.1",
                          "-addext",
                          "subjectAltName=IP:127.0.0.1,DNS:localhost",
                          "-keyout",
                          key,
                          "-out",
                          cert,
                          NULL};
    for (size_t i = 0; args[i] != NULL; i++)
        ex_arg(&a, args[i]);
    int rc = interop_run(a.v, NULL, err);
    if (rc != 0) {
        interop_dump_file("openssl stderr", err, 2000);
        return -1;
    }
    chmod(cert, 0644);
    chmod(key, 0644);
    return 0;
}

/* ---- h2server ------------------------------------------------------------------ */

typedef struct ex_server {
    pid_t pid;
    uint16_t port;     /* cleartext port, 0 when none */
    uint16_t tls_port; /* TLS port, 0 when none */
    char out[128];     /* its stdout and stderr */
    char err[128];
} ex_server;

/* Options for ex_server_start(). */
typedef struct ex_server_opts {
    bool cleartext;           /* --port 0 */
    bool tls;                 /* --tls-port 0 with the folder's cert.pem and key.pem */
    int workers;              /* --workers N when > 0 */
    bool verbose;             /* -v */
    const char *const *extra; /* more arguments (NULL-terminated), or NULL */
} ex_server_opts;

/* Milliseconds h2server gets to print its listening lines. */
static inline int ex_start_timeout_ms(void)
{
    return ex_scale(15000, 90000);
}

/* Milliseconds h2server gets to exit after SIGTERM. */
static inline int ex_stop_timeout_ms(void)
{
    return ex_scale(10000, 90000);
}

/* Reads the port from the line "listening <scheme> 127.0.0.1:<port>" in |text|; 0 when absent. */
static inline uint16_t ex_parse_listening(const char *text, const char *scheme)
{
    char key[32];
    snprintf(key, sizeof(key), "listening %s ", scheme);
    for (const char *p = strstr(text, key); p != NULL; p = strstr(p + 1, key)) {
        if (p != text && p[-1] != '\n')
            continue;
        const char *addr = p + strlen(key);
        const char *colon = strchr(addr, ':');
        const char *eol = strchr(addr, '\n');
        if (colon == NULL || eol == NULL || colon > eol)
            continue;
        /* The last colon of the address (an IPv6 address has more). */
        const char *c = colon;
        while ((colon = strchr(c + 1, ':')) != NULL && colon < eol)
            c = colon;
        char *end = NULL;
        unsigned long port = strtoul(c + 1, &end, 10);
        if (end != c + 1 && port > 0 && port < 65536)
            return (uint16_t)port;
    }
    return 0;
}

/*
 * Starts h2server serving |d|->root, on port 0 (the kernel picks), and
 * waits for the listening line of every listener asked for. On failure the
 * server's output is printed, the process killed, and -1 returned.
 */
static inline int ex_server_start(ex_server *s, const ex_dir *d, const ex_server_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    ex_path(d, "h2server.stdout", s->out, sizeof(s->out));
    ex_path(d, "h2server.stderr", s->err, sizeof(s->err));
    unlink(s->out);
    unlink(s->err);
    ex_argv a;
    ex_argv_example(&a, "h2server");
    ex_arg(&a, "--host");
    ex_arg(&a, "127.0.0.1");
    if (o->cleartext) {
        ex_arg(&a, "--port");
        ex_arg(&a, "0");
    }
    if (o->tls) {
        char cert[128], key[128];
        ex_path(d, "cert.pem", cert, sizeof(cert));
        ex_path(d, "key.pem", key, sizeof(key));
        ex_arg(&a, "--tls-port");
        ex_arg(&a, "0");
        ex_arg(&a, "--cert");
        ex_arg(&a, cert);
        ex_arg(&a, "--key");
        ex_arg(&a, key);
    }
    ex_arg(&a, "--root");
    ex_arg(&a, d->root);
    if (o->workers > 0) {
        ex_arg(&a, "--workers");
        ex_argf(&a, "%d", o->workers);
    }
    if (o->verbose)
        ex_arg(&a, "-v");
    for (size_t i = 0; o->extra != NULL && o->extra[i] != NULL; i++)
        ex_arg(&a, o->extra[i]);
    if (a.overflow)
        return -1;
    s->pid = interop_spawn(a.v, s->out, s->err);
    if (s->pid < 0)
        return -1;
    int64_t deadline = interop_now_ms() + ex_start_timeout_ms();
    while (interop_now_ms() < deadline) {
        size_t len = 0;
        uint8_t *text = interop_read_file(s->out, &len);
        if (text != NULL) {
            if (o->cleartext && s->port == 0)
                s->port = ex_parse_listening((const char *)text, "http");
            if (o->tls && s->tls_port == 0)
                s->tls_port = ex_parse_listening((const char *)text, "https");
            free(text);
        }
        if ((!o->cleartext || s->port != 0) && (!o->tls || s->tls_port != 0))
            return 0;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "h2server exited before listening (status 0x%x)\n", status);
            s->pid = -1;
            break;
        }
        interop_sleep_ms(10);
    }
    interop_dump_file("h2server stdout", s->out, 2000);
    interop_dump_file("h2server stderr", s->err, 4000);
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        interop_wait(s->pid, 5000);
        s->pid = -1;
    }
    return -1;
}

/*
 * Sends SIGTERM and waits for h2server to drain and exit. Returns its exit
 * status (0 expected), 128 + signal when it died of a signal, -1 when it
 * had to be killed, and -2 when it was not running. Prints its stderr when
 * the status is not 0. Safe to call twice.
 */
static inline int ex_server_stop(ex_server *s)
{
    if (s->pid <= 0)
        return -2;
    kill(s->pid, SIGTERM);
    int rc = interop_wait(s->pid, ex_stop_timeout_ms());
    s->pid = -1;
    if (rc != 0)
        interop_dump_file("h2server stderr", s->err, 8000);
    return rc;
}

/* Kills h2server without checking anything (teardown after a failed test). */
static inline void ex_server_kill(ex_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    interop_wait(s->pid, 5000);
    s->pid = -1;
}

/* ---- running programs ---------------------------------------------------------- */

/*
 * Runs |a| to completion within |timeout_ms| with stdout and stderr going to
 * |d|/<label>.stdout and .stderr (truncated first). Returns the exit status
 * as interop_wait(); prints the stderr when it is not |expect|.
 */
static inline int ex_run(const ex_dir *d, ex_argv *a, const char *label, int timeout_ms, int expect)
{
    if (a->overflow || a->n == 0)
        return -1;
    char out[128], err[128], name[64];
    snprintf(name, sizeof(name), "%s.stdout", label);
    ex_path(d, name, out, sizeof(out));
    snprintf(name, sizeof(name), "%s.stderr", label);
    ex_path(d, name, err, sizeof(err));
    unlink(out);
    unlink(err);
    pid_t pid = interop_spawn(a->v, out, err);
    if (pid < 0)
        return -1;
    int rc = interop_wait(pid, timeout_ms);
    if (rc != expect) {
        fprintf(stderr, "%s exited with %d (expected %d)\n", label, rc, expect);
        interop_dump_file(err, err, 6000);
    }
    return rc;
}

/*
 * True for the exit status of a program that ran and reported a failure:
 * 1..125, and not 99 under H2_EXAMPLE_WRAP (valgrind's --error-exitcode in
 * `make valgrind`, which would hide a memory error on the failure path).
 */
static inline bool ex_failed_cleanly(int rc)
{
    return rc > 0 && rc < 126 && !(ex_wrapped() && rc == 99);
}

/* Reads |d|/<label>.stdout (malloc'd, NUL-terminated; "" when missing). */
static inline char *ex_output(const ex_dir *d, const char *label, size_t *len)
{
    char out[128], name[64];
    snprintf(name, sizeof(name), "%s.stdout", label);
    ex_path(d, name, out, sizeof(out));
    size_t n = 0;
    char *text = (char *)interop_read_file(out, &n);
    if (text == NULL) {
        text = calloc(1, 1);
        n = 0;
    }
    if (len != NULL)
        *len = n;
    return text;
}

#endif
