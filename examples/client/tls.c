/*
 * h2client: OpenSSL client side (see tls.h).
 */
#include "client/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client/net.h"

/* Plaintext gathered from several iovecs into one SSL_write: one TLS record's worth. */
#define GATHER_SIZE 16384u

struct tls_conn {
    SSL *ssl;
    unsigned wants; /* H2_SVC_WANT_* after the last H2_EAGAIN */
    uint8_t gather[GATHER_SIZE];
};

/* ALPN protocol list in wire format: length-prefixed names. We speak only h2. */
static const unsigned char alpn_h2[] = {2, 'h', '2'};

/* Appends OpenSSL's error queue (or |fallback|) to |err|. */
static void ssl_error(char *err, size_t err_size, const char *what, const char *fallback)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, err_size, "%s: %s", what, e != 0 ? buf : fallback);
    ERR_clear_error();
}

static bool is_ip_literal(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* Builds the context: TLS 1.2 or later, ALPN h2, trust as the options say. */
static SSL_CTX *make_ctx(const tls_options *opts, char *err, size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ssl_error(err, err_size, "TLS setup failed", "SSL_CTX_new");
        return NULL;
    }
    /* RFC 9113 section 9.2: TLS 1.2 or later. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Partial writes let one SSL_write end after a record; moving buffers
     * let a retried write present the same bytes from another address. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* A peer that closes without close_notify ends the stream like one that sends it. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2)) != 0) {
        ssl_error(err, err_size, "TLS setup failed", "ALPN");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (opts->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = opts->cacert != NULL ? SSL_CTX_load_verify_locations(ctx, opts->cacert, NULL)
                                  : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        char what[512];
        snprintf(what, sizeof(what), "cannot load CA certificates%s%s",
                 opts->cacert != NULL ? " from " : "", opts->cacert != NULL ? opts->cacert : "");
        ssl_error(err, err_size, what, "unknown error");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Names the server must match: a DNS name (also sent as SNI) or an IP address. */
static int set_peer_name(SSL *ssl, const tls_options *opts, char *err, size_t err_size)
{
    bool ip = is_ip_literal(opts->host);
    /* RFC 6066: SNI carries host names only, never addresses. */
    if (!ip && SSL_set_tlsext_host_name(ssl, opts->host) != 1) {
        ssl_error(err, err_size, "TLS setup failed", "SNI");
        return -1;
    }
    if (opts->insecure)
        return 0;
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), opts->host)
                : SSL_set1_host(ssl, opts->host);
    if (ok != 1) {
        ssl_error(err, err_size, "TLS setup failed", "host name check");
        return -1;
    }
    return 0;
}

/* Waits until |fd| is ready as SSL_get_error() |code| asks. Returns 0, or -1 on timeout. */
static int wait_for(int fd, int code, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = code == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
    for (;;) {
        int left = ms_left(deadline);
        if (left == 0)
            return -1;
        int n = poll(&pfd, 1, left);
        if (n > 0)
            return 0;
        if (n == 0)
            return -1;
        if (errno != EINTR)
            return -1;
    }
}

static void log_session(SSL *ssl, const tls_options *opts)
{
    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    fprintf(stderr, "* TLS: %s, cipher %s, ALPN %.*s\n", SSL_get_version(ssl),
            SSL_get_cipher_name(ssl), (int)proto_len, (const char *)proto);
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert != NULL) {
        char name[256];
        X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof(name));
        fprintf(stderr, "* Server certificate: %s\n", name);
        X509_NAME_oneline(X509_get_issuer_name(cert), name, sizeof(name));
        fprintf(stderr, "*   issued by: %s\n", name);
        X509_free(cert);
    }
    fprintf(stderr, "* Certificate verification: %s\n",
            opts->insecure ? "skipped (--insecure)" : "ok");
}

int tls_connect(int fd, const tls_options *opts, int64_t deadline, tls_conn **out, char *err,
                size_t err_size)
{
    *out = NULL;
    err[0] = '\0';
    SSL_CTX *ctx = make_ctx(opts, err, err_size);
    if (ctx == NULL)
        return -1;
    tls_conn *tc = calloc(1, sizeof(*tc));
    SSL *ssl = SSL_new(ctx);
    /* The session keeps its own reference to the context. */
    SSL_CTX_free(ctx);
    if (tc == NULL || ssl == NULL) {
        ssl_error(err, err_size, "TLS setup failed", "out of memory");
        SSL_free(ssl);
        free(tc);
        return -1;
    }
    tc->ssl = ssl;
    if (set_peer_name(ssl, opts, err, err_size) != 0 || SSL_set_fd(ssl, fd) != 1) {
        if (err[0] == '\0')
            ssl_error(err, err_size, "TLS setup failed", "SSL_set_fd");
        tls_conn_free(tc);
        return -1;
    }
    SSL_set_connect_state(ssl);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(ssl);
        if (r == 1)
            break;
        int code = SSL_get_error(ssl, r);
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
            if (wait_for(fd, code, deadline) != 0) {
                snprintf(err, err_size, "timed out in the TLS handshake");
                tls_conn_free(tc);
                return -1;
            }
            continue;
        }
        long vr = SSL_get_verify_result(ssl);
        if (!opts->insecure && vr != X509_V_OK) {
            snprintf(err, err_size, "TLS certificate verification failed: %s (-k skips it)",
                     X509_verify_cert_error_string(vr));
            ERR_clear_error();
        } else if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
            snprintf(err, err_size, "the server does not offer h2 with ALPN (TLS alert)");
            ERR_clear_error();
        } else if (code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            snprintf(err, err_size, "TLS handshake failed: %s",
                     errno != 0 ? strerror(errno) : "connection closed by the server");
        } else {
            ssl_error(err, err_size, "TLS handshake failed", "unknown error");
        }
        tls_conn_free(tc);
        return -1;
    }
    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    if (proto_len != 2 || memcmp(proto, "h2", 2) != 0) {
        if (proto_len == 0)
            snprintf(err, err_size, "the server did not select h2 with ALPN (no protocol)");
        else
            snprintf(err, err_size, "the server did not select h2 with ALPN (it chose '%.*s')",
                     (int)proto_len, (const char *)proto);
        tls_conn_free(tc);
        return -1;
    }
    if (opts->verbose)
        log_session(ssl, opts);
    *out = tc;
    return 0;
}

void tls_conn_free(tls_conn *tc)
{
    if (tc == NULL)
        return;
    SSL_free(tc->ssl);
    free(tc);
}

/* Maps a failed SSL call to the transport's return values. */
static ptrdiff_t ssl_failure(tls_conn *tc, int r, bool reading)
{
    int code = SSL_get_error(tc->ssl, r);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        tc->wants = H2_SVC_WANT_READ;
        return H2_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        tc->wants = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        /* close_notify: the end of the peer's stream. */
        return reading ? 0 : H2_EINTERNAL;
    case SSL_ERROR_SYSCALL:
        if (reading && errno == 0 && ERR_peek_error() == 0)
            return 0; /* EOF without close_notify */
        ERR_clear_error();
        return H2_EINTERNAL;
    default:
        ERR_clear_error();
        errno = EPROTO;
        return H2_EINTERNAL;
    }
}

static ptrdiff_t t_read(void *ctx, int fd, uint8_t *buf, size_t len)
{
    (void)fd;
    tls_conn *tc = ctx;
    size_t n = 0;
    errno = 0;
    int r = SSL_read_ex(tc->ssl, buf, len, &n);
    if (r == 1)
        return (ptrdiff_t)n;
    return ssl_failure(tc, r, true);
}

static ptrdiff_t t_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    (void)fd;
    tls_conn *tc = ctx;
    /*
     * SSL_write takes one buffer. A large first segment (a DATA payload) is
     * written in place; small segments are gathered into one record. The
     * length offered never shrinks while the same bytes are retried after
     * H2_EAGAIN, as OpenSSL requires.
     */
    const void *src;
    size_t len;
    if (iovcnt <= 0)
        return 0;
    if (iovcnt == 1 || iov[0].iov_len >= GATHER_SIZE) {
        src = iov[0].iov_base;
        len = iov[0].iov_len;
    } else {
        len = 0;
        for (int i = 0; i < iovcnt && len < GATHER_SIZE; i++) {
            size_t take = iov[i].iov_len;
            if (take > GATHER_SIZE - len)
                take = GATHER_SIZE - len;
            memcpy(tc->gather + len, iov[i].iov_base, take);
            len += take;
        }
        src = tc->gather;
    }
    if (len == 0)
        return 0;
    size_t n = 0;
    errno = 0;
    int r = SSL_write_ex(tc->ssl, src, len, &n);
    if (r == 1)
        return (ptrdiff_t)n;
    return ssl_failure(tc, r, false);
}

static unsigned t_wants(void *ctx)
{
    const tls_conn *tc = ctx;
    return tc->wants;
}

static bool t_pending(void *ctx)
{
    const tls_conn *tc = ctx;
    return SSL_pending(tc->ssl) > 0;
}

static void t_close(void *ctx, int fd)
{
    (void)fd;
    tls_conn *tc = ctx;
    /* Best effort close_notify; the socket is non-blocking and about to close. */
    ERR_clear_error();
    SSL_shutdown(tc->ssl);
    ERR_clear_error();
    tls_conn_free(tc);
}

void tls_transport(tls_conn *tc, h2_svc_transport *t)
{
    memset(t, 0, sizeof(*t));
    t->read = t_read;
    t->writev = t_writev;
    t->wants = t_wants;
    t->pending = t_pending;
    t->close = t_close;
    t->ctx = tc;
}
