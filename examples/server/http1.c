/*
 * h2server: the little HTTP/1.1 it speaks on the cleartext port: parsing a
 * request head (enough to recognise an h2c upgrade and to serve a file),
 * and formatting a response head.
 */
#include "server/server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t h1_head_length(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

static bool is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* True when the comma-separated list |v| (|len| bytes) holds |token|. */
static bool list_has(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tl && strncasecmp(v + start, token, tl) == 0)
            return true;
    }
    return false;
}

static bool name_is(const char *name, size_t len, const char *lit)
{
    return len == strlen(lit) && strncasecmp(name, lit, len) == 0;
}

int h1_parse(const char *buf, size_t len, h1_request *req)
{
    memset(req, 0, sizeof(*req));
    /* Request line: method SP target SP HTTP/1.x CRLF */
    const char *end = buf + len;
    const char *p = buf;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL || sp == p)
        return -1;
    for (const char *q = p; q < sp; q++)
        if (!is_tchar(*q))
            return -1;
    req->method = p;
    req->method_len = (size_t)(sp - p);
    p = sp + 1;
    sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL || sp == p)
        return -1;
    req->target = p;
    req->target_len = (size_t)(sp - p);
    for (size_t i = 0; i < req->target_len; i++)
        if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
            return -1;
    p = sp + 1;
    if (end - p < 10 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != '\r' ||
        p[9] != '\n')
        return -1;
    req->minor = p[7] - '0';
    p += 10;
    /* Header fields, up to the empty line. */
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL || eol == p || eol[-1] != '\r')
            return -1;
        size_t line = (size_t)(eol - 1 - p);
        if (line == 0)
            return 0; /* the empty line */
        const char *colon = memchr(p, ':', line);
        if (colon == NULL || colon == p)
            return -1;
        size_t nl = (size_t)(colon - p);
        for (size_t i = 0; i < nl; i++)
            if (!is_tchar(p[i]))
                return -1;
        const char *v = colon + 1;
        const char *ve = eol - 1;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (name_is(p, nl, "upgrade")) {
            req->upgrade_h2c = req->upgrade_h2c || list_has(v, vl, "h2c");
        } else if (name_is(p, nl, "connection")) {
            req->conn_upgrade = req->conn_upgrade || list_has(v, vl, "upgrade");
        } else if (name_is(p, nl, "http2-settings")) {
            req->settings = v;
            req->settings_len = vl;
            req->n_settings++;
        } else if (name_is(p, nl, "content-length")) {
            uint64_t n = 0;
            bool ok = vl > 0 && vl <= 18;
            for (size_t i = 0; ok && i < vl; i++) {
                ok = v[i] >= '0' && v[i] <= '9';
                n = n * 10 + (uint64_t)(v[i] - '0');
            }
            if (!ok || (req->has_length && n != req->content_length))
                req->bad_length = true;
            req->has_length = true;
            req->content_length = n;
            if (n > 0)
                req->has_body = true;
        } else if (name_is(p, nl, "transfer-encoding")) {
            req->has_body = true;
            req->chunked = true;
        }
        p = eol + 1;
    }
    return -1;
}

const char *h1_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}

size_t h1_response_head(char *out, size_t cap, int status, const char *type, uint64_t length)
{
    int n = snprintf(
        out, cap, "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %llu\r\nConnection: close\r\n\r\n",
        status, h1_reason(status), type != NULL ? "Content-Type: " : "", type != NULL ? type : "",
        type != NULL ? "\r\n" : "", (unsigned long long)length);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}
