/*
 * h2client: TLS with OpenSSL. The handshake runs here, on the calling
 * thread, before the socket is handed to the service; afterwards the
 * service's worker reads and writes through tls_transport().
 */
#ifndef H2CLIENT_TLS_H
#define H2CLIENT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h2/service.h"

/* One TLS session over a socket. Opaque. */
typedef struct tls_conn tls_conn;

/* How to check the server. */
typedef struct tls_options {
    const char *host;   /* for SNI and certificate name checks */
    bool insecure;      /* skip certificate verification */
    const char *cacert; /* PEM file of trusted certificates, or NULL: the system store */
    bool verbose;       /* log the handshake's outcome on stderr */
} tls_options;

/*
 * Runs a TLS client handshake on the connected non-blocking socket |fd|
 * before |deadline| (a now_ms() value), offering only "h2" with ALPN, and
 * checks that the server selected it. On success stores the session in
 * |*out| and returns 0; the caller then owns it (hand it to the service
 * with tls_transport(), or free it with tls_conn_free()). On failure
 * returns -1 with a message in |err|; |fd| stays open and the caller's.
 */
int tls_connect(int fd, const tls_options *opts, int64_t deadline, tls_conn **out, char *err,
                size_t err_size);

/*
 * Fills |*t| with the transport that runs |tc| under a service
 * connection. Once the attach call succeeds, the service owns |tc| and
 * frees it through the transport's |close|.
 */
void tls_transport(tls_conn *tc, h2_svc_transport *t);

/* Frees a session the service never took over (no close_notify is sent). NULL is allowed. */
void tls_conn_free(tls_conn *tc);

#endif /* H2CLIENT_TLS_H */
