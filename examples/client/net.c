/*
 * h2client: TCP connect with a deadline (see net.h).
 */
#include "client/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ms_left(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Connects |fd| (non-blocking) to |ai| before |deadline|. Returns 0 or an errno value. */
static int connect_one(int fd, const struct addrinfo *ai, int64_t deadline)
{
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return errno;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int left = ms_left(deadline);
        if (left == 0)
            return ETIMEDOUT;
        int n = poll(&pfd, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return ETIMEDOUT;
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
            return errno;
        return soerr;
    }
}

int net_connect(const char *host, const char *port, int64_t deadline, bool verbose, char *err,
                size_t err_size)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: on a host with loopback only it would hide "localhost". */
    struct addrinfo *res = NULL;
    int rv = getaddrinfo(host, port, &hints, &res);
    if (rv != 0) {
        snprintf(err, err_size, "cannot resolve %s: %s", host, gai_strerror(rv));
        return -1;
    }
    int last = 0;
    int fd = -1;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char addr[NI_MAXHOST] = "?";
        getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (verbose)
            fprintf(stderr, "* Trying %s port %s ...\n", addr, port);
        last = connect_one(fd, ai, deadline);
        if (last == 0) {
            /* HTTP/2 writes small frames that must not wait for Nagle. */
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (verbose)
                fprintf(stderr, "* Connected to %s (%s) port %s\n", host, addr, port);
            break;
        }
        if (verbose)
            fprintf(stderr, "* %s: %s\n", addr, strerror(last));
        close(fd);
        fd = -1;
        if (last == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (last == ETIMEDOUT)
            snprintf(err, err_size, "timed out connecting to %s port %s", host, port);
        else
            snprintf(err, err_size, "cannot connect to %s port %s: %s", host, port,
                     strerror(last != 0 ? last : EHOSTUNREACH));
    }
    return fd;
}
