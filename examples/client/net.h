/*
 * h2client: opening the TCP connection, and the clock the deadline uses.
 */
#ifndef H2CLIENT_NET_H
#define H2CLIENT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds of a monotonic clock. */
int64_t now_ms(void);

/* Milliseconds left until |deadline| (a now_ms() value), 0 when passed; at most INT32_MAX. */
int ms_left(int64_t deadline);

/*
 * Resolves |host| and |port| and connects to the first address that
 * answers, before |deadline| (the name lookup itself is not bounded: it
 * uses the system resolver's own timeouts). Returns a connected, non-blocking socket, or
 * -1 with a message in |err| (|err_size| bytes). When |verbose|, logs each
 * attempt on stderr.
 */
int net_connect(const char *host, const char *port, int64_t deadline, bool verbose, char *err,
                size_t err_size);

#endif /* H2CLIENT_NET_H */
