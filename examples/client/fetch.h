/*
 * h2client: running the requests of the command line over one HTTP/2
 * connection driven by the libh2 service.
 */
#ifndef H2CLIENT_FETCH_H
#define H2CLIENT_FETCH_H

#include "client/options.h"

/*
 * Connects, sends every request at once, writes the bodies, closes the
 * connection gracefully and frees everything. Prints one line on stderr
 * per URL that failed. Returns 0 when every request got a 2xx response
 * and every body was written, else 1.
 */
int fetch_all(const options *opts);

#endif /* H2CLIENT_FETCH_H */
