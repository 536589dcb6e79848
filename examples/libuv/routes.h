/*
 * What the libuv example servers answer, shared by uv_h2server (the core on
 * uv_tcp_t) and uv_h2service (the service on the loop):
 *
 *   GET|HEAD /      a small HTML page (ROUTE_PAGE)
 *   GET|HEAD /big   ROUTE_BIG_SIZE bytes (or --big N) of a fixed
 *                   pseudo-random sequence (route_pattern_fill())
 *   POST /echo      the request body, sent back once the request ended
 *                   (413 past ROUTE_ECHO_MAX bytes)
 *   GET /stats      uv_h2server only: its buffering counters, as text
 *   other paths     404; other methods 405
 */
#ifndef H2_EXAMPLES_ROUTES_H
#define H2_EXAMPLES_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h2/h2.h"

#define ROUTE_PAGE "<!doctype html>\n<title>libh2 on libuv</title>\n<p>hello from libh2 on libuv\n"
#define ROUTE_BIG_SIZE (4u * 1024 * 1024)
#define ROUTE_ECHO_MAX (16u * 1024 * 1024)

typedef enum route_kind {
    ROUTE_NOT_FOUND,
    ROUTE_BAD_METHOD,
    ROUTE_INDEX,
    ROUTE_BIG,
    ROUTE_ECHO,
    ROUTE_STATS,
} route_kind;

/* What a request asks for. */
typedef struct route {
    route_kind kind;
    bool head;       /* HEAD: the response has no body */
    char method[16]; /* for logs, truncated */
    char path[128];
} route;

/* Reads :method and :path from the request |fields| (views valid during the call). */
void route_parse(route *r, const h2_header *fields, size_t n);

/*
 * The generator of /big: a 32-bit LCG whose state |*x| starts at
 * ROUTE_PATTERN_SEED; each byte is bits 23..30 of the next state. Fills
 * |len| bytes and advances the state, so a body can be produced a chunk at
 * a time.
 */
#define ROUTE_PATTERN_SEED 0x2545f491u
void route_pattern_fill(uint32_t *x, uint8_t *out, size_t len);

/* A response header block: :status, content-type and content-length (when >= 0). */
typedef struct route_head {
    char status[4];
    char length[24];
    h2_header fields[3];
    size_t n;
} route_head;

void route_head_make(route_head *h, int status, const char *content_type, long long length);

#endif
