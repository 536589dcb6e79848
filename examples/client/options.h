/*
 * h2client: the command line.
 */
#ifndef H2CLIENT_OPTIONS_H
#define H2CLIENT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/url.h"

/* One -H header, already checked; |name| is lowercase. Both strings owned. */
typedef struct header_arg {
    char *name;
    char *value;
} header_arg;

/* Everything the command line asked for. Owned by the structure; see options_free(). */
typedef struct options {
    size_t n_urls;
    char **url_texts; /* as typed, for messages (point into argv) */
    url *urls;        /* parsed, one per URL */
    char **outputs;   /* per URL: -o FILE (points into argv) or NULL for stdout */

    bool has_body; /* -d given: POST |body| to every URL */
    uint8_t *body; /* malloc'd, |body_len| bytes (NULL when empty) */
    size_t body_len;

    header_arg *headers; /* -H, in order given */
    size_t n_headers;

    bool verbose;       /* -v */
    bool insecure;      /* -k */
    const char *cacert; /* --cacert FILE (points into argv) or NULL */
    double timeout;     /* -m, seconds */
} options;

/* What options_parse() decided. */
enum {
    OPTIONS_RUN = 0,   /* go ahead */
    OPTIONS_EXIT = 1,  /* -h: usage printed, exit 0 */
    OPTIONS_ERROR = 2, /* message printed on stderr, exit with status 2 */
};

/*
 * Parses argv into |*o| (cleared first). Messages about bad input go to
 * stderr. Whatever it returns, free |*o| with options_free() afterwards.
 */
int options_parse(int argc, char **argv, options *o);

/* Frees what |o| owns. */
void options_free(options *o);

/* Prints the usage text to |to|. */
void options_usage(FILE *to, const char *argv0);

#endif /* H2CLIENT_OPTIONS_H */
