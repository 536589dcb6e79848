/*
 * Helpers shared by the parts of bench_service (included by
 * bench/bench_service.c only; every function here is static): medians,
 * clocks, resident memory, a thread-safe counting allocator usable both as
 * an h2_mem and as an nghttp2_mem, the first-error record of a run, and the
 * request and response messages of the end-to-end part.
 */
#ifndef BENCH_SERVICE_COMMON_H
#define BENCH_SERVICE_COMMON_H

#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "h2/h2.h"
#include "h2/service.h"

/* ------------------------------------------------------------------------ */
/* Medians and clocks                                                        */
/* ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts |v| (|n| values) in place and returns their median. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec nap = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&nap, &nap) != 0) {
    }
}

/* Resident set size of the process in bytes (/proc/self/statm), or -1. */
static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------------------------ */
/* Counting allocator                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Live bytes and blocks. Each block counts as malloc_usable_size() plus the
 * size word glibc keeps in front of it, the same rule for both libraries.
 * Atomic: the service calls its allocator from several threads.
 */
typedef struct mem_counter {
    atomic_llong bytes;
    atomic_llong blocks;
} mem_counter;

static size_t block_bytes(void *p)
{
    return p == NULL ? 0 : malloc_usable_size(p) + sizeof(size_t);
}

static void count_add(mem_counter *c, void *p)
{
    if (p != NULL) {
        atomic_fetch_add_explicit(&c->bytes, (long long)block_bytes(p), memory_order_relaxed);
        atomic_fetch_add_explicit(&c->blocks, 1, memory_order_relaxed);
    }
}

static void count_sub(mem_counter *c, void *p)
{
    if (p != NULL) {
        atomic_fetch_sub_explicit(&c->bytes, (long long)block_bytes(p), memory_order_relaxed);
        atomic_fetch_sub_explicit(&c->blocks, 1, memory_order_relaxed);
    }
}

static void *cnt_malloc(size_t size, void *ud)
{
    void *p = malloc(size);
    count_add(ud, p);
    return p;
}

static void *cnt_calloc(size_t nmemb, size_t size, void *ud)
{
    void *p = calloc(nmemb, size);
    count_add(ud, p);
    return p;
}

static void *cnt_realloc(void *ptr, size_t size, void *ud)
{
    size_t old = block_bytes(ptr);
    void *p = realloc(ptr, size);
    if (p != NULL || size == 0) {
        mem_counter *c = ud;
        if (ptr != NULL) {
            atomic_fetch_sub_explicit(&c->bytes, (long long)old, memory_order_relaxed);
            atomic_fetch_sub_explicit(&c->blocks, 1, memory_order_relaxed);
        }
        count_add(c, p);
    }
    return p;
}

static void cnt_free(void *ptr, void *ud)
{
    count_sub(ud, ptr);
    free(ptr);
}

/* ------------------------------------------------------------------------ */
/* First error of a run (any thread)                                         */
/* ------------------------------------------------------------------------ */

typedef struct bench_error {
    atomic_int set;
    char msg[256];
} bench_error;

/* Keeps the first message only; returns -1. */
__attribute__((format(printf, 2, 3))) static int bench_fail(bench_error *e, const char *fmt, ...)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&e->set, &expected, 1)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        atomic_store(&e->set, 2);
    }
    return -1;
}

static bool bench_failed(bench_error *e)
{
    return atomic_load(&e->set) != 0;
}

/* The message, once bench_fail() finished writing it. */
static const char *bench_message(bench_error *e)
{
    while (atomic_load(&e->set) == 1) {
    }
    return e->msg;
}

/* ------------------------------------------------------------------------ */
/* End-to-end messages                                                       */
/* ------------------------------------------------------------------------ */

#define S(x) (const uint8_t *)(x), sizeof(x) - 1

static const char e2e_path[] = "/api/v1/items/42";

static const h2_header e2e_req_fields[] = {
    {S(":method"), S("GET"), 0},
    {S(":scheme"), S("http"), 0},
    {S(":authority"), S("127.0.0.1"), 0},
    {S(":path"), S("/api/v1/items/42"), 0},
    {S("user-agent"), S("h2bench/1.0"), 0},
    {S("accept"), S("*/*"), 0},
};
#define E2E_N_REQ (sizeof(e2e_req_fields) / sizeof(e2e_req_fields[0]))

static const h2_header e2e_resp_fields[] = {
    {S(":status"), S("200"), 0},
    {S("content-type"), S("application/octet-stream"), 0},
    {S("server"), S("h2bench/1.0"), 0},
};
#define E2E_N_RESP (sizeof(e2e_resp_fields) / sizeof(e2e_resp_fields[0]))

#undef S

/* The same fields for nghttp2 (the tables are static: no copies asked for). */
static nghttp2_nv e2e_req_nv[E2E_N_REQ];
static nghttp2_nv e2e_resp_nv[E2E_N_RESP];

static void e2e_build_nv(nghttp2_nv *nv, const h2_header *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nv[i].name = (uint8_t *)(uintptr_t)f[i].name;
        nv[i].namelen = f[i].name_len;
        nv[i].value = (uint8_t *)(uintptr_t)f[i].value;
        nv[i].valuelen = f[i].value_len;
        nv[i].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    }
}

static bool bytes_are(const uint8_t *p, size_t len, const char *want)
{
    size_t n = strlen(want);
    return len == n && memcmp(p, want, n) == 0;
}

#endif /* BENCH_SERVICE_COMMON_H */
