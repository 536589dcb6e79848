/*
 * h2server: lingering close of cleartext HTTP/2 connections.
 *
 * When the service ends a connection it closes the socket at once. If the
 * peer's bytes are still unread in the socket then (a proxy that sent new
 * requests before our GOAWAY reached it), the kernel answers the close with
 * a TCP reset, and a reset makes the peer's kernel drop whatever it had
 * received and not yet handed to the peer: the end of responses the server
 * did send. A proxy in front of h2server then reports those requests as
 * failed although they were answered.
 *
 * The plain transport below reads and writes the socket like the service
 * would, and on close keeps a duplicate of the socket: it sends FIN
 * (shutdown(SHUT_WR), after everything queued) and a lingering thread reads
 * and discards the peer's bytes until the peer closes too or LINGER_MS
 * pass, then closes the duplicate. A socket whose peer has already closed
 * is not kept.
 *
 * Threads: srv_linger_start() and srv_linger_stop() on the main thread; the
 * transport's functions on the service's workers.
 */
#ifndef H2SERVER_LINGER_H
#define H2SERVER_LINGER_H

#include <stdbool.h>

#include "h2/service.h"

/* Starts the lingering thread (one per process). Returns 0, or -1 with errno set. */
int srv_linger_start(void);

/*
 * Fills |*t| with the plain transport whose close lingers. Without a
 * running lingering thread the close is the service's plain close.
 */
void srv_linger_transport(h2_svc_transport *t);

/*
 * Stops the lingering thread after the sockets it holds are done (each at
 * most LINGER_MS from its close). Call after the service is freed. Safe
 * without srv_linger_start().
 */
void srv_linger_stop(void);

#endif /* H2SERVER_LINGER_H */
