/*
 * h2client: splitting an http:// or https:// URL into the parts a request
 * needs.
 */
#ifndef H2CLIENT_URL_H
#define H2CLIENT_URL_H

#include <stdbool.h>

/*
 * One parsed URL. Every string is owned by the structure (allocated by
 * url_parse(), freed by url_free()).
 */
typedef struct url {
    bool tls;        /* https */
    char *scheme;    /* "http" or "https" */
    char *host;      /* host name or address, without the [] of an IPv6 literal */
    char *port;      /* decimal port, the scheme's default when the URL has none */
    char *authority; /* the :authority value: host, [v6], plus ":port" when not default */
    char *path;      /* the :path value: path and query, "/" when empty; no fragment */
} url;

/*
 * Parses |text| into |*out|. Accepts scheme://host[:port][/path][?query][#fragment]
 * with scheme http or https (any case), a host name, IPv4 address or
 * bracketed IPv6 address, and a port 1..65535. User information
 * ("user@host") is refused.
 *
 * Returns 0, or -1 with a static English reason in |*why| (and |*out|
 * left empty). On success free |*out| with url_free().
 */
int url_parse(const char *text, url *out, const char **why);

/* Frees the strings of |u| and clears it. */
void url_free(url *u);

/* True when |a| and |b| name the same scheme, host and port. */
bool url_same_origin(const url *a, const url *b);

#endif /* H2CLIENT_URL_H */
