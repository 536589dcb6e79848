/*
 * h2server: an HTTP/2 file and echo server built on the libh2 service.
 *
 * Usage
 *   h2server [--host ADDR] [--port N] [--tls-port N --cert FILE --key FILE]
 *            [--root DIR] [--workers N] [--reuseport] [-v] [-h]
 *
 *   --port N       cleartext port: HTTP/2 with prior knowledge, and HTTP/1.1
 *                  requests upgraded with "Upgrade: h2c"; other HTTP/1.1
 *                  requests get a plain HTTP/1.1 answer
 *   --tls-port N   TLS port (with --cert and --key, PEM files): ALPN "h2"
 *                  only; a client that does not offer h2 fails the handshake
 *   --root DIR     serve the files under DIR ("/" is index.html); without it
 *                  GET / returns a small built-in page
 *   --workers N    worker threads (default: the number of online CPUs)
 *   --host ADDR    address to listen on (default 127.0.0.1)
 *   --reuseport    SO_REUSEPORT on the listeners: several h2server processes
 *                  share one port and the kernel spreads new connections
 *                  over them (see "Draining" below)
 *   -v             one line per request on stderr: method, path, status,
 *                  body bytes, time
 *   Port 0 picks a free port. At start h2server prints one line per
 *   listener on stdout: "listening http 127.0.0.1:<port>" and
 *   "listening https 127.0.0.1:<port>".
 *
 * Requests
 *   GET and HEAD of a file under --root (content type by extension,
 *   content-length); POST /echo answers 200 with the request body, streamed
 *   back as it arrives; other methods get 405. gRPC (a POST with content-type
 *   application/grpc): the echo service of grpc.c, methods
 *   /h2server.Echo/Unary, /h2server.Echo/Stream and /h2server.Echo/Bidi.
 *
 * Examples
 *   h2server --port 8080 --root ./www -v &
 *   curl --http2-prior-knowledge http://127.0.0.1:8080/
 *   curl --http2 http://127.0.0.1:8080/              (h2c upgrade)
 *   curl --http2-prior-knowledge --data-binary @file http://127.0.0.1:8080/echo
 *   h2server --tls-port 8443 --cert cert.pem --key key.pem --root ./www &
 *   curl --http2 -k https://127.0.0.1:8443/
 *
 * SIGINT or SIGTERM: GOAWAY to every client, up to SHUTDOWN_MS for open
 * streams to finish, then everything is freed and h2server exits with 0.
 *
 * Draining (acceptor.c): on the signal the listeners first take every
 * connection already waiting in their accept queues, then stop listening, so
 * that the kernel sends new connections to the other processes of a
 * --reuseport group; the connections just taken are read until their
 * protocol is known (up to a short bound) and handed to the workers like any
 * other; only then does every connection get its GOAWAY. A handshake that
 * completes in the instant between the last accept and the end of listening
 * is reset by the kernel (unless net.ipv4.tcp_migrate_req is 1, which moves
 * it to another listener of the group); a proxy in front retries it as a
 * connection failure. docs/DEPLOYMENT.md shows a rolling restart.
 *
 * How it is built (see server.h for the files): the main thread accepts
 * connections and hands them to an h2_svc, whose worker threads run the
 * HTTP/2 connections and call back into h2server with each event; requests
 * are answered from those callbacks.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/tls.h"
#include "common/util.h"
#include "server/linger.h"

/* Command ring slots per worker (a power of two). A build with a tiny ring
 * exercises the outbox of conn.c. */
#ifndef H2SERVER_MAILBOX_SLOTS
#define H2SERVER_MAILBOX_SLOTS 16384
#endif

/* How long open streams may take to finish after SIGINT/SIGTERM. */
#define SHUTDOWN_MS 5000

/* After SIGINT/SIGTERM: time between the drain notice and the GOAWAY. */
#define NOTICE_MS 250

typedef struct options {
    const char *host;
    long port;     /* -1: none */
    long tls_port; /* -1: none */
    const char *cert;
    const char *key;
    const char *root;
    unsigned workers;
    bool reuseport;
    bool verbose;
} options;

static void usage(FILE *out)
{
    fprintf(out, "usage: h2server [--host ADDR] [--port N] [--tls-port N --cert FILE --key FILE]\n"
                 "                [--root DIR] [--workers N] [--reuseport] [-v] [-h]\n"
                 "  --port N       cleartext HTTP/2 (prior knowledge and h2c upgrade)\n"
                 "  --tls-port N   HTTP/2 over TLS (ALPN h2) with the PEM --cert and --key\n"
                 "  --root DIR     serve the files under DIR (default: a built-in page)\n"
                 "  --workers N    worker threads (default: online CPUs)\n"
                 "  --host ADDR    address to listen on (default 127.0.0.1)\n"
                 "  --reuseport    share the ports with other h2server processes (SO_REUSEPORT);\n"
                 "                 on SIGTERM stop listening first, then drain with GOAWAY\n"
                 "  -v             log one line per request on stderr\n"
                 "Port 0 picks a free port; POST /echo returns the request body.\n");
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"tls-port", required_argument, NULL, 't'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"root", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"reuseport", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.host = "127.0.0.1", .port = -1, .tls_port = -1};
    int ch;
    uint64_t v;
    while ((ch = getopt_long(argc, argv, "vh", longs, NULL)) != -1) {
        switch (ch) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
        case 't':
            if (!ex_parse_uint(optarg, 0, 65535, &v)) {
                fprintf(stderr, "h2server: bad port %s\n", optarg);
                return -1;
            }
            if (ch == 'p')
                o->port = (long)v;
            else
                o->tls_port = (long)v;
            break;
        case 'c':
            o->cert = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'r':
            o->root = optarg;
            break;
        case 'w':
            if (!ex_parse_uint(optarg, 1, H2_SVC_MAX_WORKERS, &v)) {
                fprintf(stderr, "h2server: bad worker count %s\n", optarg);
                return -1;
            }
            o->workers = (unsigned)v;
            break;
        case 'R':
            o->reuseport = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return -1;
    }
    if (o->port < 0 && o->tls_port < 0) {
        fprintf(stderr, "h2server: give --port, --tls-port or both\n");
        return -1;
    }
    if (o->tls_port >= 0 && (o->cert == NULL || o->key == NULL)) {
        fprintf(stderr, "h2server: --tls-port needs --cert and --key\n");
        return -1;
    }
    return 0;
}

/*
 * Binds and listens on host:port, with SO_REUSEPORT when |reuseport| (every
 * process of the group must set it, as the same user); prints the
 * "listening" line. Returns the fd or -1.
 */
static int listen_on(const char *host, long port, const char *scheme, bool reuseport)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%ld", port);
    int rv = getaddrinfo(host, service, &hints, &res);
    if (rv != 0) {
        fprintf(stderr, "h2server: %s: %s\n", host, gai_strerror(rv));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
            close(fd);
            fd = -1;
            continue;
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "h2server: cannot listen on %s:%ld: %s\n", host, port, strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned bound = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
            bound = ntohs(in->sin_port);
        } else {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
            bound = ntohs(in6->sin6_port);
        }
    }
    if (ss.ss_family == AF_INET6)
        printf("listening %s [%s]:%u\n", scheme, addr, bound);
    else
        printf("listening %s %s:%u\n", scheme, addr, bound);
    fflush(stdout);
    return fd;
}

/*
 * The drain notice: SETTINGS_MAX_CONCURRENT_STREAMS = 0 on every connection,
 * then NOTICE_MS for it to reach the peers. A client (a proxy reusing its
 * connections) stops opening streams here once it has read it, so the
 * GOAWAY that follows refuses none that crossed it on the way.
 */
static void drain_notice(srv_server *srv)
{
    size_t k = 0;
    h2_svc_conn_id *ids = srv_conns_ids(srv, &k);
    const h2_setting none = {.id = H2_SETTING_MAX_CONCURRENT_STREAMS, .value = 0};
    for (size_t i = 0; i < k; i++)
        h2_svc_update_settings(srv->svc, ids[i], &none, 1, 0); /* best effort */
    free(ids);
    if (k > 0)
        nanosleep(&(struct timespec){0, NOTICE_MS * 1000000L}, NULL);
}

/*
 * Shutdown after the accepting loop (which stopped the listeners): the
 * listening sockets are closed, then the drain notice, GOAWAY to every
 * connection and a bounded wait for the streams in flight.
 */
static void drain(srv_server *srv, srv_listeners *l, bool verbose)
{
    if (l->http_fd >= 0)
        close(l->http_fd);
    if (l->https_fd >= 0)
        close(l->https_fd);
    l->http_fd = l->https_fd = -1;
    drain_notice(srv);
    srv_conns_close_all(srv);
    if (!srv_conns_wait(srv, SHUTDOWN_MS) && verbose)
        fprintf(stderr, "h2server: closing the connections still open\n");
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;

    srv_server srv = {.root_fd = -1, .verbose = o.verbose};
    srv_listeners l = {.http_fd = -1, .https_fd = -1, .signal_fd = -1};
    int status = 1;

    /* SIGINT and SIGTERM arrive through a signalfd; block them before any
     * thread starts so that every thread inherits the mask. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    l.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (l.signal_fd < 0 || srv_server_init(&srv) != 0) {
        perror("h2server");
        return 1;
    }
    if (srv_linger_start() != 0) {
        perror("h2server: lingering thread");
        srv_server_cleanup(&srv);
        return 1;
    }

    if (o.root != NULL) {
        srv.root_path = realpath(o.root, NULL);
        srv.root_fd =
            srv.root_path != NULL ? open(srv.root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (srv.root_fd < 0) {
            fprintf(stderr, "h2server: --root %s: %s\n", o.root, strerror(errno));
            goto out;
        }
    }
    if (o.tls_port >= 0 && (srv.tls = ex_tls_server_ctx_new(o.cert, o.key)) == NULL)
        goto out;

    h2_svc_config cfg;
    h2_svc_config_init(&cfg);
    cfg.workers = o.workers;
    cfg.on_event = srv_orphan_event;
    /* Room for bursts of responses posted from the workers' own callbacks. */
    cfg.mailbox_capacity = H2SERVER_MAILBOX_SLOTS;
    int rv = h2_svc_new(&srv.svc, &cfg);
    if (rv != 0) {
        fprintf(stderr, "h2server: cannot start the service: %s\n", h2_strerror(rv));
        goto out;
    }

    if ((o.port >= 0 && (l.http_fd = listen_on(o.host, o.port, "http", o.reuseport)) < 0) ||
        (o.tls_port >= 0 && (l.https_fd = listen_on(o.host, o.tls_port, "https", o.reuseport)) < 0))
        goto out;

    if (srv_accept_loop(&srv, &l) == 0)
        status = 0;

    drain(&srv, &l, o.verbose);

out:
    /* Stops the workers; every remaining connection closes and its state is freed. */
    h2_svc_free(srv.svc);
    srv_linger_stop(); /* the sockets closed last may still be lingering */
    if (l.http_fd >= 0)
        close(l.http_fd);
    if (l.https_fd >= 0)
        close(l.https_fd);
    if (l.signal_fd >= 0)
        close(l.signal_fd);
    if (srv.tls != NULL)
        SSL_CTX_free(srv.tls);
    if (srv.root_fd >= 0)
        close(srv.root_fd);
    free(srv.root_path);
    srv_server_cleanup(&srv);
    return status;
}
