/*
 * TLS for the example programs, with OpenSSL 3: contexts that negotiate
 * HTTP/2 through ALPN, and an h2_svc_transport that runs a service
 * connection over an SSL object.
 *
 *   ex_tls_server_ctx_new()  server context: certificate, key, TLS 1.2 or
 *                            later, ALPN "h2" only (a client that does not
 *                            offer h2 fails the handshake)
 *   ex_tls_client_ctx_new()  client context: TLS 1.2 or later, ALPN "h2",
 *                            peer verification optional
 *   ex_tls_transport()       fills an h2_svc_transport for an SSL object;
 *                            the handshake runs inside its read/writev
 *
 * Errors are printed to stderr with OpenSSL's error queue.
 */
#ifndef EX_COMMON_TLS_H
#define EX_COMMON_TLS_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "h2/service.h"

/*
 * Creates a server context that loads the PEM certificate chain |cert| and
 * private key |key|. Returns NULL (after printing why) on failure. The
 * caller frees it with SSL_CTX_free() once no connection uses it.
 */
SSL_CTX *ex_tls_server_ctx_new(const char *cert, const char *key);

/*
 * Creates a client context offering ALPN "h2". With |verify|, the server's
 * certificate is checked against the system's trust store (and the host name
 * must be set on each SSL with SSL_set1_host()); without it any certificate
 * is accepted. Returns NULL (after printing why) on failure.
 */
SSL_CTX *ex_tls_client_ctx_new(bool verify);

/*
 * Prepares |out| to carry a service connection over |ssl|, which must be in
 * accept or connect state (SSL_set_accept_state() / SSL_set_connect_state())
 * and bound to the connection's socket (SSL_set_fd()). The handshake runs
 * inside the transport's read and writev calls; a handshake that does not
 * end with ALPN "h2" fails the connection.
 *
 * On success the SSL object's write BIO is replaced by the transport's own,
 * which writes to the same socket and lets one writev send several records
 * with one system call; reads keep the socket BIO.
 *
 * Ownership: on success the transport owns |ssl| and frees it in its close
 * function (which the service calls exactly once). When this returns false
 * (out of memory, or |ssl| has no socket) the caller keeps |ssl|, unchanged.
 */
bool ex_tls_transport(h2_svc_transport *out, SSL *ssl);

/* Prints OpenSSL's error queue to stderr after |what| and clears it. */
void ex_tls_print_errors(const char *what);

#endif /* EX_COMMON_TLS_H */
