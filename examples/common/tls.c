/*
 * TLS for the example programs: OpenSSL contexts with ALPN "h2" and an
 * h2_svc_transport over an SSL object.
 *
 * Writes: the service hands the transport its output as an iovec (frame
 * headers, copied bytes and payloads by reference). Once the handshake is
 * over, one writev encrypts up to BATCH_PLAIN bytes, one record per
 * SSL_write_ex, into a per-thread batch buffer (the SSL object's write BIO
 * collects the records there) and sends them with one send(): a few records
 * per system call instead of one. Records are full (RECORD_MAX bytes of
 * plaintext) wherever the output allows: a record that lies within one
 * segment is encrypted where it lies; one that would span segments (a
 * 9-byte frame header and the payload that follows it by reference) is
 * gathered first. Gathering copies those bytes once; a record of its own
 * for each frame header would cost the sender a record and the receiver a
 * decryption per frame instead (docs/BENCHMARKS.md measures both). When
 * the socket takes only part of a batch the rest is held by the
 * connection and the writev reports H2_EAGAIN; the bytes of the batch are
 * reported as taken once all of it left (the service offers the same
 * unconsumed output again, only possibly longer).
 *
 * Reads: OpenSSL reads ahead, taking every record the socket holds in one
 * read() (instead of a record header and then its body, two calls a
 * record). Records it holds that way never make the socket readable again,
 * so |pending| reports them (SSL_has_pending(), not SSL_pending(), which
 * counts only the record already decrypted). SSL_has_pending() is also
 * true for the start of a record still incomplete; the read it brings on
 * then returns H2_EAGAIN.
 *
 * Records written outside a batch (the handshake, alerts, replies to a key
 * update, close_notify) go to the socket at once, after any held
 * ciphertext. OpenSSL requires a write that returned WANT_READ/WANT_WRITE
 * to be retried with the same bytes and no fewer of them: the choice of a
 * record's bytes depends only on the output from its first byte on, so a
 * retry offers the same first bytes and at least as many.
 */
#include "common/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>

/* Largest TLS record payload. */
#define RECORD_MAX 16384
/* Batch room kept free before each record: its payload and any overhead. */
#define RECORD_ROOM (RECORD_MAX + 512)
/* Plaintext encrypted per writev, and the batch buffer that holds it. */
#define BATCH_PLAIN (128 * 1024)
#define BATCH_CAP (BATCH_PLAIN + 2 * RECORD_ROOM)

/* Transports run on worker threads: one gathering and one batch buffer each. */
static _Thread_local uint8_t gather_buf[RECORD_MAX];
static _Thread_local uint8_t batch_buf[BATCH_CAP];
static _Thread_local size_t batch_len;

typedef struct ex_tls_conn {
    SSL *ssl;
    int fd;            /* the socket, for the write BIO */
    unsigned want;     /* H2_SVC_WANT_* after the last H2_EAGAIN */
    bool alpn_checked; /* the handshake finished and ALPN was "h2" */
    bool batching;     /* records go to the batch buffer, not the socket */
    uint8_t *spill;    /* ciphertext of a batch the socket did not take (owned), or NULL */
    size_t spill_len;
    size_t spill_off;  /* bytes of |spill| already sent */
    size_t held;       /* plaintext bytes of that batch, reported once it left */
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
    /* One read() takes every record the socket holds (see |tls_pending|). */
    SSL_CTX_set_read_ahead(ctx, 1);
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
/* The write BIO                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Outside a batch the BIO sends each record at once, as a socket BIO would
 * (behind any ciphertext still held from an earlier batch); during a batch
 * it appends the records to the worker thread's batch buffer.
 */
static ptrdiff_t send_some(int fd, const uint8_t *data, size_t len)
{
    for (;;) {
        ssize_t r = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -1;
    }
}

/* Sends held ciphertext: 1 when none is left, 0 when the socket is full, -1 on failure. */
static int drain_spill(ex_tls_conn *t)
{
    while (t->spill_off < t->spill_len) {
        ptrdiff_t r = send_some(t->fd, t->spill + t->spill_off, t->spill_len - t->spill_off);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        t->spill_off += (size_t)r;
    }
    free(t->spill);
    t->spill = NULL;
    t->spill_len = t->spill_off = 0;
    return 1;
}

static int bio_write(BIO *b, const char *data, int len)
{
    ex_tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    size_t n = (size_t)len;
    if (t->batching) {
        if (n > BATCH_CAP - batch_len) {
            /* Cannot happen with the room kept per record; the write is retried. */
            BIO_set_retry_write(b);
            return -1;
        }
        memcpy(batch_buf + batch_len, data, n);
        batch_len += n;
        return len;
    }
    int d = drain_spill(t);
    ptrdiff_t r = d > 0 ? send_some(t->fd, (const uint8_t *)data, n) : d;
    if (r > 0)
        return (int)r;
    if (r == 0)
        BIO_set_retry_write(b);
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* Records leave in bio_write or at the end of a batch: nothing to flush. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *write_method;

static void make_write_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "h2 batch");
    if (m != NULL && (BIO_meth_set_write(m, bio_write) != 1 ||
                      BIO_meth_set_ctrl(m, bio_ctrl) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    write_method = m;
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

/* A position in the offered output. */
typedef struct cursor {
    const struct iovec *iov;
    int cnt;
    int i;
    size_t off;
} cursor;

static void cursor_skip(cursor *c, size_t n)
{
    while (n > 0 && c->i < c->cnt) {
        size_t left = c->iov[c->i].iov_len - c->off;
        size_t step = n < left ? n : left;
        c->off += step;
        n -= step;
        if (c->off == c->iov[c->i].iov_len) {
            c->i++;
            c->off = 0;
        }
    }
    while (c->i < c->cnt && c->iov[c->i].iov_len == 0)
        c->i++;
}

/*
 * The plaintext of the next record: a whole record's worth where it lies
 * when the current segment holds one (or is the last), else up to a record
 * gathered from the segments from the cursor on. The choice depends only
 * on the output from the cursor on, so a retry offers the same first bytes.
 */
static const uint8_t *next_record(const cursor *c, size_t *len)
{
    const struct iovec *v = &c->iov[c->i];
    size_t left = v->iov_len - c->off;
    if (left >= RECORD_MAX || c->i + 1 == c->cnt) {
        *len = left < RECORD_MAX ? left : RECORD_MAX;
        return (const uint8_t *)v->iov_base + c->off;
    }
    size_t n = 0;
    size_t off = c->off;
    for (int i = c->i; i < c->cnt && n < RECORD_MAX; i++, off = 0) {
        size_t take = c->iov[i].iov_len - off;
        if (take > RECORD_MAX - n)
            take = RECORD_MAX - n;
        memcpy(gather_buf + n, (const uint8_t *)c->iov[i].iov_base + off, take);
        n += take;
    }
    *len = n;
    return gather_buf;
}

/*
 * Encrypts up to BATCH_PLAIN bytes of |iov| into the batch buffer, one
 * record per SSL_write_ex. Returns the plaintext bytes taken; when none,
 * |*r| holds SSL_write_ex's failing return value.
 */
static size_t encrypt_batch(ex_tls_conn *t, const struct iovec *iov, int iovcnt, int *r)
{
    cursor c = {iov, iovcnt, 0, 0};
    cursor_skip(&c, 0);
    size_t taken = 0;
    batch_len = 0;
    t->batching = true;
    *r = 1;
    while (c.i < c.cnt && taken < BATCH_PLAIN && BATCH_CAP - batch_len >= RECORD_ROOM) {
        size_t len = 0, n = 0;
        const uint8_t *data = next_record(&c, &len);
        errno = 0;
        *r = SSL_write_ex(t->ssl, data, len, &n);
        if (*r != 1)
            break;
        taken += n;
        cursor_skip(&c, n);
    }
    t->batching = false;
    return taken;
}

static ptrdiff_t tls_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    ex_tls_conn *t = ctx;
    (void)fd;
    if (iovcnt <= 0)
        return 0;
    /* Ciphertext of bytes taken earlier goes first; they count once it left. */
    int d = drain_spill(t);
    if (d < 0)
        return H2_EINTERNAL;
    if (d == 0) {
        t->want = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    }
    if (t->held > 0) {
        size_t h = t->held;
        t->held = 0;
        return (ptrdiff_t)h;
    }
    if (!SSL_is_init_finished(t->ssl)) {
        /* The handshake: one record at a time, straight to the socket. */
        cursor c = {iov, iovcnt, 0, 0};
        cursor_skip(&c, 0);
        if (c.i == c.cnt)
            return 0;
        size_t len = 0, n = 0;
        const uint8_t *data = next_record(&c, &len);
        errno = 0;
        int r = SSL_write_ex(t->ssl, data, len, &n);
        if (r != 1)
            return failed(t, r, false);
        return alpn_ok(t) ? (ptrdiff_t)n : H2_EINTERNAL;
    }
    int r = 1;
    size_t taken = encrypt_batch(t, iov, iovcnt, &r);
    if (taken == 0 && batch_len == 0)
        return r != 1 ? failed(t, r, false) : 0;
    ptrdiff_t sent = send_some(t->fd, batch_buf, batch_len);
    if (sent < 0)
        return H2_EINTERNAL;
    if ((size_t)sent < batch_len) {
        /* The socket is full: hold the rest; the bytes count once it left. */
        size_t rest = batch_len - (size_t)sent;
        t->spill = malloc(rest);
        if (t->spill == NULL) {
            errno = ENOMEM;
            return H2_EINTERNAL;
        }
        memcpy(t->spill, batch_buf + sent, rest);
        t->spill_len = rest;
        t->spill_off = 0;
        t->held = taken;
        t->want = H2_SVC_WANT_WRITE;
        return H2_EAGAIN;
    }
    if (taken == 0) {
        /* Only records OpenSSL had pending (a retried write) went out. */
        t->want = H2_SVC_WANT_WRITE;
        return r != 1 ? failed(t, r, false) : H2_EAGAIN;
    }
    return (ptrdiff_t)taken;
}

static unsigned tls_wants(void *ctx)
{
    const ex_tls_conn *t = ctx;
    return t->want;
}

static bool tls_pending(void *ctx)
{
    const ex_tls_conn *t = ctx;
    return SSL_has_pending(t->ssl) == 1;
}

static void tls_close(void *ctx, int fd)
{
    ex_tls_conn *t = ctx;
    (void)fd;
    /* One attempt at close_notify; the socket is closed right after. */
    if (SSL_is_init_finished(t->ssl) && t->spill == NULL)
        (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t->spill);
    free(t);
}

bool ex_tls_transport(h2_svc_transport *out, SSL *ssl)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_write_method);
    int fd = SSL_get_wfd(ssl);
    if (write_method == NULL || fd < 0)
        return false;
    ex_tls_conn *t = calloc(1, sizeof(*t));
    BIO *wbio = BIO_new(write_method);
    if (t == NULL || wbio == NULL) {
        BIO_free(wbio);
        free(t);
        return false;
    }
    BIO_set_data(wbio, t);
    BIO_set_init(wbio, 1);
    t->ssl = ssl;
    t->fd = fd;
    /* Reads keep the socket BIO; writes go through the batching one. */
    SSL_set0_wbio(ssl, wbio);
    memset(out, 0, sizeof(*out));
    out->read = tls_read;
    out->writev = tls_writev;
    out->wants = tls_wants;
    out->pending = tls_pending;
    out->close = tls_close;
    out->ctx = t;
    return true;
}
