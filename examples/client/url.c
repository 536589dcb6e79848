/*
 * h2client: URL parsing (see url.h).
 */
#include "client/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies |len| bytes of |s| into a new NUL-terminated string (NULL: no memory). */
static char *dup_range(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void url_free(url *u)
{
    if (u == NULL)
        return;
    free(u->scheme);
    free(u->host);
    free(u->port);
    free(u->authority);
    free(u->path);
    memset(u, 0, sizeof(*u));
}

/* A byte that may appear in a request target: printable ASCII, no space. */
static bool target_byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* A byte of a registered host name or IPv4 address (RFC 3986 reg-name, minus %-escapes). */
static bool host_byte_ok(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int url_parse(const char *text, url *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    const char *p = strstr(text, "://");
    if (p == NULL) {
        *why = "not an absolute URL (expected http:// or https://)";
        return -1;
    }
    size_t scheme_len = (size_t)(p - text);
    bool tls;
    if (scheme_len == 4 && strncasecmp(text, "http", 4) == 0) {
        tls = false;
    } else if (scheme_len == 5 && strncasecmp(text, "https", 5) == 0) {
        tls = true;
    } else {
        *why = "unsupported scheme (only http and https)";
        return -1;
    }
    const char *auth = p + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *rest = auth + auth_len;
    if (memchr(auth, '@', auth_len) != NULL) {
        *why = "user information in URLs is not supported";
        return -1;
    }

    /* Host: a bracketed IPv6 literal or a name / IPv4 address. */
    const char *host = auth;
    size_t host_len;
    const char *after_host;
    bool v6 = false;
    if (auth_len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (close == NULL) {
            *why = "unterminated IPv6 address";
            return -1;
        }
        host = auth + 1;
        host_len = (size_t)(close - host);
        for (size_t i = 0; i < host_len; i++) {
            unsigned char c = (unsigned char)host[i];
            if (!isxdigit(c) && c != ':' && c != '.') {
                *why = "bad character in IPv6 address";
                return -1;
            }
        }
        after_host = close + 1;
        v6 = true;
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        host_len = colon != NULL ? (size_t)(colon - auth) : auth_len;
        for (size_t i = 0; i < host_len; i++) {
            if (!host_byte_ok((unsigned char)host[i])) {
                *why = "bad character in host name";
                return -1;
            }
        }
        after_host = auth + host_len;
    }
    if (host_len == 0) {
        *why = "empty host";
        return -1;
    }

    /* Port: digits after ':', else the scheme's default. */
    const char *default_port = tls ? "443" : "80";
    const char *port = default_port;
    size_t port_len = strlen(default_port);
    size_t left = (size_t)(auth + auth_len - after_host);
    bool explicit_port = false;
    if (left > 0) {
        if (after_host[0] != ':') {
            *why = "unexpected characters after the host";
            return -1;
        }
        port = after_host + 1;
        port_len = left - 1;
        if (port_len > 0) {
            unsigned long value = 0;
            for (size_t i = 0; i < port_len; i++) {
                if (!isdigit((unsigned char)port[i]) || port_len > 5) {
                    *why = "bad port";
                    return -1;
                }
                value = value * 10 + (unsigned long)(port[i] - '0');
            }
            if (value == 0 || value > 65535) {
                *why = "port out of range";
                return -1;
            }
            /* Drop leading zeros so that equal ports compare equal. */
            while (port_len > 1 && port[0] == '0') {
                port++;
                port_len--;
            }
            explicit_port =
                port_len != strlen(default_port) || memcmp(port, default_port, port_len) != 0;
        } else {
            port = default_port; /* "host:" means the default port */
            port_len = strlen(default_port);
        }
    }

    /* Target: path and query, without the fragment. */
    size_t target_len = strcspn(rest, "#");
    for (size_t i = 0; i < target_len; i++) {
        if (!target_byte_ok((unsigned char)rest[i])) {
            *why = "space or control character in the path";
            return -1;
        }
    }

    out->tls = tls;
    out->scheme = dup_range(tls ? "https" : "http", tls ? 5 : 4);
    out->host = dup_range(host, host_len);
    for (char *c = out->host; c != NULL && *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    out->port = dup_range(port, port_len);
    size_t alen = host_len + (v6 ? 2 : 0) + (explicit_port ? port_len + 1 : 0);
    out->authority = malloc(alen + 1);
    if (out->authority != NULL && out->host != NULL) {
        char *a = out->authority;
        if (v6)
            *a++ = '[';
        memcpy(a, out->host, host_len);
        a += host_len;
        if (v6)
            *a++ = ']';
        if (explicit_port) {
            *a++ = ':';
            memcpy(a, port, port_len);
            a += port_len;
        }
        *a = '\0';
    }
    if (target_len == 0 || rest[0] != '/') {
        /* "http://h" and "http://h?q" get the root path. */
        out->path = malloc(target_len + 2);
        if (out->path != NULL) {
            out->path[0] = '/';
            memcpy(out->path + 1, rest, target_len);
            out->path[target_len + 1] = '\0';
        }
    } else {
        out->path = dup_range(rest, target_len);
    }
    if (out->scheme == NULL || out->host == NULL || out->port == NULL || out->authority == NULL ||
        out->path == NULL) {
        url_free(out);
        *why = "out of memory";
        return -1;
    }
    return 0;
}

bool url_same_origin(const url *a, const url *b)
{
    return a->tls == b->tls && strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}
