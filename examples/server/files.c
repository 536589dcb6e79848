/*
 * h2server: request paths to files under --root.
 *
 * The path is percent-decoded, must not contain NUL or ".." segments, and
 * is opened with openat2(RESOLVE_BENEATH) relative to the root directory, so
 * that neither ".." nor a symbolic link can lead outside the root. Kernels
 * without openat2 (before Linux 5.6) get openat() and a check of the
 * opened file's real path against the root's.
 */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

static int hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*
 * Decodes the path part of |path| into |out| (|cap| bytes) as a relative
 * name ("" for the root). Returns 200, 400 (bad escape, NUL, no leading
 * slash) or 404 (a ".." segment, too long).
 */
static int decode(const char *path, size_t len, char *out, size_t cap)
{
    if (len == 0 || path[0] != '/')
        return 400;
    size_t o = 0;
    size_t seg = 0; /* start of the current segment in |out| */
    for (size_t i = 1; i <= len; i++) {
        char ch = i < len ? path[i] : '\0';
        if (ch == '?' || ch == '#')
            ch = '\0';
        if (ch == '%') {
            if (i + 2 >= len)
                return 400;
            int hi = hex(path[i + 1]), lo = hex(path[i + 2]);
            if (hi < 0 || lo < 0)
                return 400;
            ch = (char)(hi * 16 + lo);
            if (ch == '\0')
                return 400;
            if (ch == '/')
                return 404; /* an escaped slash names nothing here */
            i += 2;
        } else if (ch == '/' || ch == '\0') {
            /* End of a segment: ".." is refused, "." and empty ones dropped. */
            size_t n = o - seg;
            if (n == 2 && out[seg] == '.' && out[seg + 1] == '.')
                return 404;
            if (n == 0 || (n == 1 && out[seg] == '.')) {
                o = seg;
            } else if (ch == '/') {
                if (o + 1 >= cap)
                    return 404;
                out[o++] = '/';
                seg = o;
            }
            if (ch == '\0')
                break;
            continue;
        }
        if (o + 1 >= cap)
            return 404;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 200;
}

/* Set once openat2() turned out to be missing (old kernels, valgrind). */
static atomic_bool no_openat2;

static int open_beneath(const srv_server *srv, int dir, const char *name)
{
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
        long fd = syscall(SYS_openat2, dir, name, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return (int)fd;
        atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
    }
    /* No openat2: open, then check where the file really is. */
    int f = openat(dir, name, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return -1;
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", f);
    ssize_t n = readlink(link, real, sizeof(real) - 1);
    size_t rl = strlen(srv->root_path);
    if (n < 0 || (size_t)n < rl || memcmp(real, srv->root_path, rl) != 0 ||
        ((size_t)n > rl && real[rl] != '/' && rl > 1)) {
        close(f);
        errno = ENOENT;
        return -1;
    }
    return f;
}

int srv_file_open(const srv_server *srv, const char *path, size_t len, int *fd, uint64_t *size,
                  const char **type)
{
    char name[PATH_MAX];
    int status = decode(path, len, name, sizeof(name) - 16);
    if (status != 200)
        return status;
    size_t n = strlen(name);
    if (n == 0 || name[n - 1] == '/') {
        memcpy(name + n, "index.html", 11);
        n += 10;
    }
    int f = open_beneath(srv, srv->root_fd, name);
    if (f < 0)
        return 404;
    struct stat st;
    if (fstat(f, &st) != 0) {
        close(f);
        return 404;
    }
    if (S_ISDIR(st.st_mode)) {
        /* A directory: its index.html. */
        int g = open_beneath(srv, f, "index.html");
        close(f);
        if (g < 0 || fstat(g, &st) != 0) {
            if (g >= 0)
                close(g);
            return 404;
        }
        f = g;
        memcpy(name, "index.html", 11);
        n = 10;
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return 404;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    *type = ex_content_type(name, n);
    return 200;
}
