/*
 * TLS for the example programs: OpenSSL contexts with ALPN "h2" and an
 * h2_svc_transport over an SSL object.
 *
 * Writes: the service hands the transport its output as an iovec (frame
 * headers, copied bytes and payloads by reference). Small segments are
 * gathered into one per-thread buffer so that they leave in one TLS record;
 * a large first segment is written directly. OpenSSL requires a write that
 * returned WANT_READ/WANT_WRITE to be retried with the same bytes and no
 * fewer of them: the service offers the same unconsumed output again (only
 * possibly longer), and the choice below between gathering and writing
 * directly depends only on that output's head, so a retry always offers the
 * same first bytes and at least as many.
 */
#include "common/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>

/* Largest TLS record payload: what gathering aims to fill. */
#define GATHER_SIZE 16384

/* Gathering buffer: transports run on worker threads, one buffer each. */
static _Thread_local uint8_t gather_buf[GATHER_SIZE];

typedef struct ex_tls_conn {
    SSL *ssl;
    unsigned want;     /* H2_SVC_WANT_* after the last H2_EAGAIN */
    bool alpn_checked; /* the handshake finished and ALPN was "h2" */
} ex_tls_conn;

void ex_tls_print_errors(const char *what)
{
    unsigned long e;
    char buf[256];
    fprintf(stderr, "%s\n", what);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "  %s\n", buf);
    }
}

/* ALPN: choose "h2" if the client offers it, else end the handshake. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned i = 0;
    while (i < inlen) {
        unsigned n = in[i];
        if (i + 1 + n > inlen)
            break;
        if (n == 2 && in[i + 1] == 'h' && in[i + 2] == '2') {
            *out = in + i + 1;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
}

/* Settings both sides share: TLS 1.2 or later, no renegotiation. */
static bool common_setup(SSL_CTX *ctx)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return false;
    /* RFC 9113 section 9.2.2: TLS 1.2 only with ephemeral key exchange and AEAD. */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
        return false;
    /* HTTP/2 frames delimit themselves, so a missing close_notify is an
     * ordinary end of stream (reported as 0 by |read|). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    return true;
}

SSL_CTX *ex_tls_server_ctx_new(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ex_tls_print_errors("TLS: cannot create a context");
        return NULL;
    }
    if (!common_setup(ctx)) {
        ex_tls_print_errors("TLS: cannot configure the context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        fprintf(stderr, "TLS: cannot load the certificate %s: ", cert);
        ex_tls_print_errors("");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "TLS: cannot load the key %s: ", key);
        ex_tls_print_errors("");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
}

SSL_CTX *ex_tls_client_ctx_new(bool verify)
{
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ex_tls_print_errors("TLS: cannot create a context");
        return NULL;
    }
    /* SSL_CTX_set_alpn_protos() returns 0 on success. */
    if (!common_setup(ctx) || SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) {
        ex_tls_print_errors("TLS: cannot configure the context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (verify) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            ex_tls_print_errors("TLS: cannot load the trust store");
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* ------------------------------------------------------------------------ */
/* The transport                                                             */
/* ------------------------------------------------------------------------ */

/* After the handshake: the connection carries HTTP/2 only if ALPN chose "h2". */
static bool alpn_ok(ex_tls_conn *t)
{
    if (t->alpn_checked)
        return true;
    const unsigned char *proto = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(t->ssl, &proto, &len);
    if (len != 2 || memcmp(proto, "h2", 2) != 0) {
        errno = EPROTO;
        return false;
    }
    t->alpn_checked = true;
    return true;
}

/* Maps a failed SSL_read_ex/SSL_write_ex to the transport's return values. */
static ptrdiff_t failed(ex_tls_conn *t, int r, bool reading)
{
    int saved = errno;
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        t->want = H2_SVC_WANT_READ;
        return H2_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->want = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        /* The peer closed the TLS stream. */
        if (reading)
            return 0;
        errno = EPIPE;
        return H2_EINTERNAL;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        errno = saved != 0 ? saved : EPIPE;
        if (reading && saved == 0)
            return 0;
        return H2_EINTERNAL;
    default:
        /* A TLS failure: bad handshake, bad record, no common protocol. */
        ERR_clear_error();
        errno = EPROTO;
        return H2_EINTERNAL;
    }
}

static ptrdiff_t tls_read(void *ctx, int fd, uint8_t *buf, size_t len)
{
    ex_tls_conn *t = ctx;
    (void)fd;
    size_t n = 0;
    errno = 0;
    int r = SSL_read_ex(t->ssl, buf, len, &n);
    if (r != 1)
        return failed(t, r, true);
    if (!alpn_ok(t))
        return H2_EINTERNAL;
    return (ptrdiff_t)n;
}

static ptrdiff_t tls_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    ex_tls_conn *t = ctx;
    (void)fd;
    if (iovcnt <= 0)
        return 0;
    const void *data = iov[0].iov_base;
    size_t len = iov[0].iov_len;
    if (iovcnt > 1 && len < GATHER_SIZE) {
        /* Gather the head of the output into one record. */
        len = 0;
        for (int i = 0; i < iovcnt && len < GATHER_SIZE; i++) {
            size_t take = iov[i].iov_len;
            if (take > GATHER_SIZE - len)
                take = GATHER_SIZE - len;
            memcpy(gather_buf + len, iov[i].iov_base, take);
            len += take;
        }
        data = gather_buf;
    }
    size_t n = 0;
    errno = 0;
    int r = SSL_write_ex(t->ssl, data, len, &n);
    if (r != 1)
        return failed(t, r, false);
    if (!alpn_ok(t))
        return H2_EINTERNAL;
    return (ptrdiff_t)n;
}

static unsigned tls_wants(void *ctx)
{
    const ex_tls_conn *t = ctx;
    return t->want;
}

static bool tls_pending(void *ctx)
{
    const ex_tls_conn *t = ctx;
    return SSL_pending(t->ssl) > 0;
}

static void tls_close(void *ctx, int fd)
{
    ex_tls_conn *t = ctx;
    (void)fd;
    /* One attempt at close_notify; the socket is closed right after. */
    if (SSL_is_init_finished(t->ssl))
        (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t);
}

bool ex_tls_transport(h2_svc_transport *out, SSL *ssl)
{
    ex_tls_conn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return false;
    t->ssl = ssl;
    memset(out, 0, sizeof(*out));
    out->read = tls_read;
    out->writev = tls_writev;
    out->wants = tls_wants;
    out->pending = tls_pending;
    out->close = tls_close;
    out->ctx = t;
    return true;
}
