/*
 * h2server: a per-worker cache of files.
 *
 * Opening, reading and closing a file costs four system calls, more than
 * the rest of a small request; a larger file read for every response is
 * copied from the page cache each time, into buffers that are cold again
 * when the socket takes them. Each worker thread therefore keeps the files
 * it served (up to CACHE_FILE_MAX bytes each, CACHE_TOTAL_MAX in all:
 * past that the whole cache is emptied and refills as requests come), keyed by the request path without its query. An entry is
 * trusted for CACHE_FRESH_NS; after that the next request opens the file
 * again (with every check of files.c) and compares its identity (device,
 * inode, size, modification time): a changed file is reloaded, so a change
 * shows within a second.
 *
 * Entries are reference counted: the table holds one reference, and each
 * response whose body points into an entry holds one until the service
 * releases the body. Both the lookups and the releases run on the worker
 * thread that owns the connection, which is the thread of the cache, so
 * no lock is needed. The table of a worker is freed when its thread ends.
 */
#include "server/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_FILE_MAX (1024u * 1024u)
#define CACHE_TOTAL_MAX (32u * 1024u * 1024u)
#define CACHE_FRESH_NS 1000000000u
#define BUCKETS 256u

struct srv_cached {
    srv_cached *next; /* bucket chain */
    unsigned refs;    /* the table's, plus one per response in flight */
    uint64_t checked_ns;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    const char *type;
    size_t len;
    char *key;
    size_t key_len;
    uint8_t data[];
};

typedef struct cache {
    srv_cached *buckets[BUCKETS];
    size_t bytes;
} cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local cache *tl_cache;

static void entry_put(srv_cached *e)
{
    if (--e->refs == 0) {
        free(e->key);
        free(e);
    }
}

static void flush(cache *c)
{
    for (unsigned i = 0; i < BUCKETS; i++) {
        while (c->buckets[i] != NULL) {
            srv_cached *e = c->buckets[i];
            c->buckets[i] = e->next;
            entry_put(e);
        }
    }
    c->bytes = 0;
}

/* Thread exit: every response of the worker was released by then. */
static void cache_destroy(void *p)
{
    cache *c = p;
    flush(c);
    free(c);
}

static void make_key(void)
{
    pthread_key_create(&cache_key, cache_destroy);
}

static cache *this_cache(void)
{
    if (tl_cache != NULL)
        return tl_cache;
    pthread_once(&cache_once, make_key);
    cache *c = calloc(1, sizeof(*c));
    if (c == NULL || pthread_setspecific(cache_key, c) != 0) {
        free(c);
        return NULL;
    }
    tl_cache = c;
    return c;
}

/* A clock good to a few milliseconds, cheaper than ex_now_ns(). */
static uint64_t coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h % BUCKETS;
}

static void unlink_entry(cache *c, srv_cached *e)
{
    srv_cached **link = &c->buckets[hash(e->key, e->key_len)];
    while (*link != e)
        link = &(*link)->next;
    *link = e->next;
    c->bytes -= e->len;
    entry_put(e);
}

static bool same_file(const srv_cached *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->len == (size_t)st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reads the open file |fd| into a new entry (NULL when it fails). */
static srv_cached *load(int fd, const struct stat *st, const char *key, size_t key_len,
                        const char *type)
{
    size_t len = (size_t)st->st_size;
    srv_cached *e = malloc(sizeof(*e) + len);
    if (e == NULL)
        return NULL;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, e->data + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(e);
            return NULL;
        }
        got += (size_t)r;
    }
    e->key = malloc(key_len + 1);
    if (e->key == NULL) {
        free(e);
        return NULL;
    }
    memcpy(e->key, key, key_len);
    e->key[key_len] = '\0';
    e->key_len = key_len;
    e->next = NULL;
    e->refs = 1;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->mtime = st->st_mtim;
    e->len = len;
    e->type = type;
    return e;
}

int srv_cache_open(const srv_server *srv, const char *path, size_t len, srv_file *out)
{
    *out = (srv_file){.fd = -1};
    size_t key_len = 0;
    while (key_len < len && path[key_len] != '?' && path[key_len] != '#')
        key_len++;
    cache *c = this_cache();
    srv_cached *hit = NULL;
    uint64_t now = coarse_ns();
    if (c != NULL) {
        for (hit = c->buckets[hash(path, key_len)]; hit != NULL; hit = hit->next)
            if (hit->key_len == key_len && memcmp(hit->key, path, key_len) == 0)
                break;
        if (hit != NULL && now - hit->checked_ns < CACHE_FRESH_NS)
            goto found;
    }
    int fd = -1;
    uint64_t size = 0;
    const char *type = NULL;
    int status = srv_file_open(srv, path, len, &fd, &size, &type);
    struct stat st;
    if (status == 200 && fstat(fd, &st) != 0) {
        close(fd);
        status = 404;
    }
    if (status != 200 || c == NULL || size > CACHE_FILE_MAX) {
        if (hit != NULL)
            unlink_entry(c, hit);
        if (status == 200) {
            out->fd = fd;
            out->size = size;
            out->type = type;
        }
        return status;
    }
    if (hit != NULL && same_file(hit, &st)) {
        close(fd);
        hit->checked_ns = now;
        goto found;
    }
    if (hit != NULL)
        unlink_entry(c, hit);
    hit = load(fd, &st, path, key_len, type);
    close(fd);
    if (hit == NULL)
        return 500;
    if (c->bytes + hit->len > CACHE_TOTAL_MAX)
        flush(c);
    hit->checked_ns = now;
    unsigned b = hash(path, key_len);
    hit->next = c->buckets[b];
    c->buckets[b] = hit;
    c->bytes += hit->len;
found:
    hit->refs++;
    out->cached = hit;
    out->data = hit->data;
    out->size = hit->len;
    out->type = hit->type;
    return 200;
}

void srv_cache_release(srv_cached *e)
{
    if (e != NULL)
        entry_put(e);
}
