/*
 * h2client: command-line parsing (see options.h).
 */
#include "client/options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define PROG "h2client"

void options_usage(FILE *to, const char *argv0)
{
    fprintf(to,
            "Usage: %s [options] URL...\n"
            "\n"
            "Fetches one or more http:// or https:// URLs over HTTP/2. Several URLs\n"
            "must share scheme, host and port; they are requested at once over one\n"
            "connection. http:// speaks HTTP/2 directly (prior knowledge); https://\n"
            "negotiates \"h2\" with TLS ALPN.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE     write the next URL's body to FILE (once per URL,\n"
            "                        in URL order); other bodies go to stdout, in order\n"
            "  -d, --data DATA       POST DATA to every URL; -d @FILE posts the file's\n"
            "                        bytes (@- reads stdin)\n"
            "  -H, --header 'N: V'   add a request header (repeatable)\n"
            "  -m, --max-time SECS   give up after SECS seconds in all (default 60)\n"
            "  -k, --insecure        do not verify the server's certificate\n"
            "      --cacert FILE     trust the certificates in FILE (PEM) instead of\n"
            "                        the system store\n"
            "  -v, --verbose         log the connection, headers and frames on stderr\n"
            "  -h, --help            show this text\n"
            "\n"
            "Exit status: 0 when every request got a 2xx response, 1 otherwise,\n"
            "2 for a bad command line.\n",
            argv0);
}

void options_free(options *o)
{
    if (o->urls != NULL) {
        for (size_t i = 0; i < o->n_urls; i++)
            url_free(&o->urls[i]);
    }
    free(o->urls);
    free(o->url_texts);
    free(o->outputs);
    free(o->body);
    for (size_t i = 0; i < o->n_headers; i++) {
        free(o->headers[i].name);
        free(o->headers[i].value);
    }
    free(o->headers);
    memset(o, 0, sizeof(*o));
}

/* Reads all of |f| into a malloc'd buffer. Returns 0 or -1 (errno set). */
static int read_all(FILE *f, uint8_t **out, size_t *out_len)
{
    size_t cap = 0, len = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            uint8_t *nbuf = realloc(buf, ncap);
            if (nbuf == NULL) {
                free(buf);
                errno = ENOMEM;
                return -1;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                int e = errno != 0 ? errno : EIO;
                free(buf);
                errno = e;
                return -1;
            }
            break;
        }
    }
    if (len == 0) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* -d: a literal string, or @FILE / @- for a file's or stdin's bytes. */
static int set_body(options *o, const char *arg)
{
    if (o->has_body) {
        fprintf(stderr, PROG ": -d given more than once\n");
        return -1;
    }
    o->has_body = true;
    if (arg[0] != '@') {
        size_t len = strlen(arg);
        if (len == 0)
            return 0;
        o->body = malloc(len);
        if (o->body == NULL) {
            fprintf(stderr, PROG ": out of memory\n");
            return -1;
        }
        memcpy(o->body, arg, len);
        o->body_len = len;
        return 0;
    }
    const char *path = arg + 1;
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rv = read_all(f, &o->body, &o->body_len);
    int e = errno;
    if (!is_stdin)
        fclose(f);
    if (rv != 0) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", path, strerror(e));
        return -1;
    }
    return 0;
}

/* RFC 9110 token characters (field names). */
static bool tchar(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Header names the command line may not set: HTTP/1 connection fields and ours. */
static bool forbidden_name(const char *name)
{
    static const char *const names[] = {
        "connection", "keep-alive",     "proxy-connection", "transfer-encoding",
        "upgrade",    "content-length", "http2-settings",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* -H 'name: value': checks it, lowercases the name and trims the value. */
static int add_header(options *o, const char *arg)
{
    const char *colon = strchr(arg, ':');
    if (colon == NULL || colon == arg) {
        fprintf(stderr, PROG ": malformed header '%s' (expected 'name: value')\n", arg);
        return -1;
    }
    size_t name_len = (size_t)(colon - arg);
    for (size_t i = 0; i < name_len; i++) {
        if (!tchar((unsigned char)arg[i])) {
            fprintf(stderr, PROG ": malformed header '%s' (bad character in the name)\n", arg);
            return -1;
        }
    }
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t value_len = strlen(v);
    while (value_len > 0 && (v[value_len - 1] == ' ' || v[value_len - 1] == '\t'))
        value_len--;
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            fprintf(stderr, PROG ": malformed header '%s' (control character in the value)\n", arg);
            return -1;
        }
    }
    char *name = malloc(name_len + 1);
    char *value = malloc(value_len + 1);
    header_arg *grown = realloc(o->headers, (o->n_headers + 1) * sizeof(*grown));
    if (grown != NULL)
        o->headers = grown;
    if (name == NULL || value == NULL || grown == NULL) {
        free(name);
        free(value);
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < name_len; i++)
        name[i] = (char)tolower((unsigned char)arg[i]);
    name[name_len] = '\0';
    memcpy(value, v, value_len);
    value[value_len] = '\0';
    if (forbidden_name(name) || (strcmp(name, "te") == 0 && strcmp(value, "trailers") != 0)) {
        fprintf(stderr, PROG ": header '%s' cannot be set in an HTTP/2 request\n", name);
        free(name);
        free(value);
        return -1;
    }
    o->headers[o->n_headers].name = name;
    o->headers[o->n_headers].value = value;
    o->n_headers++;
    return 0;
}

static int parse_timeout(options *o, const char *arg)
{
    char *end = NULL;
    errno = 0;
    double t = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !(t > 0) || t > 86400.0 * 365) {
        fprintf(stderr, PROG ": bad --max-time '%s' (seconds, above 0)\n", arg);
        return -1;
    }
    o->timeout = t;
    return 0;
}

enum { OPT_CACERT = 256 };

int options_parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"data", required_argument, NULL, 'd'},
        {"header", required_argument, NULL, 'H'},
        {"max-time", required_argument, NULL, 'm'},
        {"insecure", no_argument, NULL, 'k'},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->timeout = 60.0;
    /* -o names are collected first and matched to URLs afterwards. */
    char **outs = calloc((size_t)argc + 1, sizeof(char *));
    size_t n_outs = 0;
    if (outs == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return OPTIONS_ERROR;
    }
    int rv = OPTIONS_RUN;
    int c;
    opterr = 0;
    while (rv == OPTIONS_RUN && (c = getopt_long(argc, argv, ":o:d:H:m:kvh", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            outs[n_outs++] = optarg;
            break;
        case 'd':
            if (set_body(o, optarg) != 0)
                rv = OPTIONS_ERROR;
            break;
        case 'H':
            if (add_header(o, optarg) != 0)
                rv = OPTIONS_ERROR;
            break;
        case 'm':
            if (parse_timeout(o, optarg) != 0)
                rv = OPTIONS_ERROR;
            break;
        case 'k':
            o->insecure = true;
            break;
        case OPT_CACERT:
            o->cacert = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h': {
            const char *slash = strrchr(argv[0], '/');
            options_usage(stdout, slash != NULL ? slash + 1 : argv[0]);
            rv = OPTIONS_EXIT;
            break;
        }
        case ':':
            fprintf(stderr, PROG ": option '%s' needs an argument\n", argv[optind - 1]);
            rv = OPTIONS_ERROR;
            break;
        default:
            fprintf(stderr, PROG ": unknown option '%s' (see -h)\n", argv[optind - 1]);
            rv = OPTIONS_ERROR;
            break;
        }
    }
    if (rv != OPTIONS_RUN) {
        free(outs);
        return rv;
    }

    o->n_urls = (size_t)(argc - optind);
    if (o->n_urls == 0) {
        fprintf(stderr, PROG ": no URL given (see -h)\n");
        free(outs);
        return OPTIONS_ERROR;
    }
    if (n_outs > o->n_urls) {
        fprintf(stderr, PROG ": more -o options (%zu) than URLs (%zu)\n", n_outs, o->n_urls);
        free(outs);
        return OPTIONS_ERROR;
    }
    o->url_texts = calloc(o->n_urls, sizeof(char *));
    o->urls = calloc(o->n_urls, sizeof(url));
    o->outputs = outs; /* already n_urls or more entries, NULL beyond the -o given */
    if (o->url_texts == NULL || o->urls == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return OPTIONS_ERROR;
    }
    for (size_t i = 0; i < o->n_urls; i++) {
        const char *why = NULL;
        o->url_texts[i] = argv[optind + (int)i];
        if (url_parse(o->url_texts[i], &o->urls[i], &why) != 0) {
            fprintf(stderr, PROG ": %s: %s\n", o->url_texts[i], why);
            return OPTIONS_ERROR;
        }
        if (i > 0 && !url_same_origin(&o->urls[0], &o->urls[i])) {
            fprintf(stderr,
                    PROG ": %s: all URLs must share scheme, host and port with %s (one "
                         "connection)\n",
                    o->url_texts[i], o->url_texts[0]);
            return OPTIONS_ERROR;
        }
    }
    /* "-o -" is stdout, like no -o at all. */
    for (size_t i = 0; i < n_outs; i++) {
        if (strcmp(outs[i], "-") == 0)
            outs[i] = NULL;
    }
    /* Two URLs writing the same file would mix their bodies. */
    for (size_t i = 0; i < n_outs; i++) {
        for (size_t j = i + 1; j < n_outs; j++) {
            if (outs[i] != NULL && outs[j] != NULL && strcmp(outs[i], outs[j]) == 0) {
                fprintf(stderr, PROG ": -o %s given for two URLs\n", outs[i]);
                return OPTIONS_ERROR;
            }
        }
    }
    return OPTIONS_RUN;
}
