/*
 * Small helpers shared by the example programs: clock, number parsing,
 * content types.
 */
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

uint64_t ex_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool ex_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Extension (without the dot) to content type. */
static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"txt", "text/plain; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
};

const char *ex_content_type(const char *name, size_t len)
{
    /* The extension: after the last dot of the last path segment. */
    size_t dot = len;
    for (size_t i = len; i > 0; i--) {
        if (name[i - 1] == '/')
            break;
        if (name[i - 1] == '.') {
            dot = i - 1;
            break;
        }
    }
    if (dot < len) {
        const char *ext = name + dot + 1;
        size_t ext_len = len - dot - 1;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            size_t n = 0;
            while (types[i].ext[n] != '\0')
                n++;
            if (n == ext_len && strncasecmp(ext, types[i].ext, n) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}
