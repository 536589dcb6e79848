/*
 * h2client: a command-line HTTP/2 client built on the libh2 service.
 *
 *   h2client [options] URL...
 *
 *   h2client http://127.0.0.1:8080/                   prior knowledge (h2c)
 *   h2client -k https://127.0.0.1:8443/a -o b.bin https://127.0.0.1:8443/b
 *   h2client -d @upload.bin -o echo.bin http://127.0.0.1:8080/echo
 *
 * The files:
 *   options.c   the command line (-o, -d, -H, -m, -k, --cacert, -v, -h)
 *   url.c       URL parsing
 *   net.c       TCP connect with a deadline, the monotonic clock
 *   tls.c       OpenSSL handshake with ALPN "h2", and the service transport
 *   fetch.c     the connection: service set-up, event loop, close, report
 *   request.c   request blocks, bodies, and each request's outcome
 *   events.c    the connection's events (responses, DATA, resets, GOAWAY)
 *   output.c    response bodies to -o files, or to stdout in URL order
 */
#include <signal.h>
#include <stdio.h>

#include <openssl/ssl.h>

#include "client/fetch.h"
#include "client/options.h"

int main(int argc, char **argv)
{
    /* A closed stdout pipe or a reset TLS socket must show up as a write
     * error, not kill the program. */
    signal(SIGPIPE, SIG_IGN);

    options opts;
    int rv = options_parse(argc, argv, &opts);
    int status;
    if (rv == OPTIONS_EXIT)
        status = 0;
    else if (rv == OPTIONS_ERROR)
        status = 2;
    else
        status = fetch_all(&opts);
    options_free(&opts);
    /* Frees OpenSSL's global state, so that leak checkers see a clean exit. */
    OPENSSL_cleanup();
    return status;
}
