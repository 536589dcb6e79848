/* Request parsing, the /big generator and response header blocks of the libuv examples. */
#include "libuv/routes.h"

#include <stdio.h>
#include <string.h>

static bool field_is(const h2_header *f, const char *name)
{
    size_t len = strlen(name);
    return f->name_len == len && memcmp(f->name, name, len) == 0;
}

static void copy_value(char *out, size_t cap, const h2_header *f)
{
    size_t len = f->value_len < cap - 1 ? f->value_len : cap - 1;
    memcpy(out, f->value, len);
    out[len] = '\0';
}

void route_parse(route *r, const h2_header *fields, size_t n)
{
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        if (field_is(&fields[i], ":method"))
            copy_value(r->method, sizeof(r->method), &fields[i]);
        else if (field_is(&fields[i], ":path"))
            copy_value(r->path, sizeof(r->path), &fields[i]);
    }
    char path[sizeof(r->path)];
    memcpy(path, r->path, sizeof(path));
    path[strcspn(path, "?")] = '\0'; /* the query does not choose the resource */
    bool get = strcmp(r->method, "GET") == 0;
    r->head = strcmp(r->method, "HEAD") == 0;
    if (strcmp(path, "/echo") == 0)
        r->kind = strcmp(r->method, "POST") == 0 ? ROUTE_ECHO : ROUTE_BAD_METHOD;
    else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
        r->kind = get || r->head ? ROUTE_INDEX : ROUTE_BAD_METHOD;
    else if (strcmp(path, "/big") == 0)
        r->kind = get || r->head ? ROUTE_BIG : ROUTE_BAD_METHOD;
    else if (strcmp(path, "/stats") == 0)
        r->kind = get ? ROUTE_STATS : ROUTE_BAD_METHOD;
    else
        r->kind = ROUTE_NOT_FOUND;
}

void route_pattern_fill(uint32_t *x, uint8_t *out, size_t len)
{
    uint32_t s = *x;
    for (size_t i = 0; i < len; i++) {
        s = s * 1103515245u + 12345u;
        out[i] = (uint8_t)(s >> 23);
    }
    *x = s;
}

static h2_header field(const char *name, const char *value)
{
    h2_header f = {(const uint8_t *)name, strlen(name), (const uint8_t *)value, strlen(value), 0};
    return f;
}

void route_head_make(route_head *h, int status, const char *content_type, long long length)
{
    snprintf(h->status, sizeof(h->status), "%d", status);
    h->fields[0] = field(":status", h->status);
    h->fields[1] = field("content-type", content_type);
    h->n = 2;
    if (length >= 0) {
        snprintf(h->length, sizeof(h->length), "%lld", length);
        h->fields[h->n++] = field("content-length", h->length);
    }
}
