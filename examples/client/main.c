/*
 * h2client: a command-line HTTP/2 client built on the libh2 service.
 *
 *   h2client [options] URL...
 *
 * See options.c for the options, fetch.c for how the requests run.
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
