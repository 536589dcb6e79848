/*
 * h2server: the per-worker cache of small files (see cache.c).
 */
#ifndef H2SERVER_CACHE_H
#define H2SERVER_CACHE_H

#include "server/server.h"

typedef struct srv_cached srv_cached;

/* A file to answer with: either cached bytes or an open descriptor. */
typedef struct srv_file {
    srv_cached *cached;  /* a reference to drop with srv_cache_release(), or NULL */
    const uint8_t *data; /* with |cached|: the bytes, valid while the reference is held */
    int fd;              /* without |cached|: the open file (the caller closes it) */
    uint64_t size;
    const char *type; /* static */
} srv_file;

/*
 * Looks the request path |path| (|len| bytes) up for the calling worker
 * thread: a small file comes from the cache (loaded on first use), a large
 * one as an open descriptor. Returns 200 with |*out| filled, or the status
 * of srv_file_open() (400, 404), or 500 when reading failed.
 */
int srv_cache_open(const srv_server *srv, const char *path, size_t len, srv_file *out);

/* Drops a reference taken by srv_cache_open() (NULL allowed); same thread. */
void srv_cache_release(srv_cached *e);

#endif /* H2SERVER_CACHE_H */
