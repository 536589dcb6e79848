/*
 * The service's main path, every request crossing threads, against nghttp2
 * used the way a multithreaded C server uses it.
 *
 * Both servers run in this process on a listening socket of 127.0.0.1 and
 * are driven by h2load (a separate process) over loopback TCP:
 *     h2load -n N -c C -m M -t T http://127.0.0.1:PORT/api/v1/items/42
 * Every request goes from the thread that owns its connection to an
 * application thread, which checks it (:method GET, :path) and answers 200
 * with a B-byte body (copied by the application into the response); the
 * response goes back to the connection's thread, which sends it.
 *
 *   libh2    a service of W workers owning the connections; events on one
 *            h2_svc_queue per application thread; responses posted with
 *            h2_svc_respond (head and copied body in one command)
 *            (bench/bench_threads_ours.h). Two transports: "fd" (the
 *            workers read and write the sockets, h2_svc_listen) and
 *            "feed" (W I/O threads read the sockets and call
 *            h2_svc_feed; the output callback writes on the worker).
 *   nghttp2  W epoll event-loop threads owning the sessions; requests to the
 *            application threads through mutex + condition variable
 *            queues, responses back through a mutex-protected inbox and an
 *            eventfd per loop (bench/bench_threads_ng.h). The same server
 *            is measured against both libh2 transports.
 *
 * Configurations: W x A = 1 x 1, and 2 x 2 when the machine has 4 CPUs or
 * more. The server's threads (this process) are pinned to the first W CPUs
 * allowed, h2load (-t W) to the next W: for 1 x 1 the server on CPU 0 and
 * h2load on CPU 1. With fewer CPUs 2 x 2 is skipped (--force runs it on
 * the 1 x 1 pinning, which measures nothing useful) and with one CPU
 * nothing is pinned.
 *
 * Figures: requests per second as h2load reports them, and the server's
 * CPU time per request: user + system time of every thread of this process
 * (getrusage RUSAGE_SELF) over the h2load run, minus that of the main
 * thread (RUSAGE_THREAD), which only waits for h2load. Each sample starts
 * a fresh server; each round runs both servers, alternating which goes
 * first, after one unmeasured warm-up sample of each (N / 10 requests).
 * A sample counts only when h2load reports every request succeeded and
 * the application threads answered exactly N. Medians over the rounds:
 *
 *   RESULT service-threads-<WxA>-<fd|feed> ours=<req/s> nghttp2=<req/s>
 *          better=<ours/nghttp2> cpu_ours=<us/req> cpu_ng=<us/req>
 *
 * Each round's line also gives how busy the server and h2load were (CPU
 * time over the run's wall time: both far below 100% means the machine was
 * busy with other work) and, per request, the server's context switches
 * (getrusage, main thread excluded), the turns of the connection-owning
 * threads' loops (libh2: h2_svc_worker_get_stats loops; nghttp2:
 * epoll_wait returns), and the requests an application thread took per
 * hand-over ("req/batch").
 *
 * usage: bench_service_threads [--rounds R] [--requests N] [--conns C]
 *            [--streams M] [--body B] [--only ours|nghttp2]
 *            [--config 1x1|2x2] [--transport fd|feed] [--force] [--quick]
 *            [--verbose] [--count-allocs] [--app-yield] [--sched-batch]
 * Defaults: 5 rounds, N 100000, C 10, M 50, B 1024. --quick (or
 * BENCH_QUICK=1): 1 round of 5000 requests. --verbose adds h2load's
 * traffic line (the response bytes, equal for both servers). Diagnostics:
 * --count-allocs counts both servers' allocations per request (through
 * h2_mem and nghttp2_mem; costs an atomic add each); --app-yield makes
 * libh2's application threads yield once after a wait that found events;
 * --sched-batch runs the server under SCHED_BATCH (no wake-up preemption).
 * The last two change how the servers run, so their lines read DIAGNOSTIC
 * instead of RESULT, as do those of a configuration --force ran on too few
 * CPUs. Without h2load it says so and exits 0.
 */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "bench_threads_common.h"
#include "bench_threads_ng_loop.h"
#include "bench_threads_ours.h"

#define MAX_ROUNDS 31
#define H2LOAD_TIMEOUT_MS 120000

static char h2load_path[4096];
static int rounds = 5;
static unsigned long requests = 100000;
static unsigned conns = 10, streams = 50;
static size_t body = 1024;
static bool force, verbose, sched_batch;

enum { IMPL_OURS = 0, IMPL_NG = 1 };

typedef struct impl {
    const char *name;
    void *(*start)(const th_params *p, int lfd, th_error *err);
    void (*stop)(void *state, th_stats *st);
} impl;

static const impl impls[2] = {{"libh2", ours_start, ours_stop}, {"nghttp2", ng_start, ng_stop}};

/* The CPUs of one configuration: server and h2load (empty sets: not pinned). */
typedef struct pinning {
    cpu_set_t server, client;
    bool pinned;
    bool forced; /* --force: fewer CPUs than the configuration needs */
    unsigned h2load_threads;
} pinning;

/* ------------------------------------------------------------------------ */
/* Small utilities                                                           */
/* ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_us(const struct timeval *tv)
{
    return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

/* CPU time (user + system, microseconds) and context switches of |who|. */
typedef struct usage {
    double cpu_us, switches;
} usage;

static usage usage_of(int who)
{
    struct rusage ru;
    usage u = {-1, -1};
    if (getrusage(who, &ru) == 0) {
        u.cpu_us = tv_us(&ru.ru_utime) + tv_us(&ru.ru_stime);
        u.switches = (double)(ru.ru_nvcsw + ru.ru_nivcsw);
    }
    return u;
}

static bool find_program(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(out, cap, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

static void print_loadavg(const char *when)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) == NULL)
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("load average %s: %s\n", when, buf);
}

/* ------------------------------------------------------------------------ */
/* h2load                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct h2load_result {
    double rps;        /* h2load's req/s; 0 on failure */
    double cpu_us;     /* h2load's own CPU time */
    double wall_s;     /* its run's wall time */
    char traffic[160]; /* its "traffic:" line */
} h2load_result;

/* Waits for |pid| at most H2LOAD_TIMEOUT_MS (SIGKILL after that); exit status or -1. */
static int wait_child(pid_t pid, struct rusage *ru)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd pf = {.fd = pfd, .events = POLLIN};
        int rc;
        do
            rc = poll(&pf, 1, H2LOAD_TIMEOUT_MS);
        while (rc < 0 && errno == EINTR);
        close(pfd);
        if (rc == 0)
            kill(pid, SIGKILL);
    }
    int status = 0;
    while (wait4(pid, &status, 0, ru) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs h2load for |n| requests against |port|; the output is checked and parsed. */
static int run_h2load(uint16_t port, unsigned long n, const pinning *pin, h2load_result *res)
{
    char out_path[] = "/tmp/h2-threads-XXXXXX";
    int out = mkstemp(out_path);
    if (out < 0)
        return -1;
    unlink(out_path);
    char url[96], ns[24], cs[16], ms[16], ts[16];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, th_path);
    snprintf(ns, sizeof ns, "%lu", n);
    snprintf(cs, sizeof cs, "%u", conns);
    snprintf(ms, sizeof ms, "%u", streams);
    snprintf(ts, sizeof ts, "%u", pin->h2load_threads);
    char *argv[] = {h2load_path, "-n", ns, "-c", cs, "-m", ms, "-t", ts, url, NULL};
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        if (pin->pinned && sched_setaffinity(0, sizeof pin->client, &pin->client) != 0)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int rc = pid < 0 ? -1 : wait_child(pid, &ru);
    res->wall_s = now_s() - t0;
    res->cpu_us = tv_us(&ru.ru_utime) + tv_us(&ru.ru_stime);
    char text[8192];
    ssize_t len = pread(out, text, sizeof text - 1, 0);
    close(out);
    text[len > 0 ? len : 0] = '\0';
    char want[96];
    snprintf(want, sizeof want, "%lu succeeded, 0 failed", n);
    const char *fin = strstr(text, "finished in ");
    const char *comma = fin != NULL ? strchr(fin, ',') : NULL;
    if (rc != 0 || comma == NULL || strstr(text, want) == NULL) {
        fprintf(stderr, "bench_service_threads: h2load failed (status %d):\n%s\n", rc, text);
        res->rps = 0;
        return -1;
    }
    res->rps = strtod(comma + 1, NULL);
    const char *tr = strstr(text, "traffic: ");
    snprintf(res->traffic, sizeof res->traffic, "%.*s", tr ? (int)strcspn(tr, "\n") : 0,
             tr ? tr : "");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Samples and rounds                                                        */
/* ------------------------------------------------------------------------ */

typedef struct sample {
    double rps, cpu; /* req/s; server CPU us per request */
} sample;

/* One sample of |im| with a fresh server; returns 0, or -1 (message printed). */
static int run_sample(const impl *im, const th_params *p, const pinning *pin, unsigned long n,
                      const char *label, sample *out)
{
    th_error err;
    memset(&err, 0, sizeof err);
    uint16_t port = 0;
    int lfd = th_listen(&port);
    if (lfd < 0) {
        fprintf(stderr, "bench_service_threads: listening socket: %s\n", strerror(errno));
        return -1;
    }
    void *srv = im->start(p, lfd, &err);
    if (srv == NULL) {
        fprintf(stderr, "bench_service_threads: %s: %s\n", im->name, th_message(&err));
        return -1;
    }
    unsigned long long allocs0 = atomic_load(&th_allocs);
    usage all0 = usage_of(RUSAGE_SELF), main0 = usage_of(RUSAGE_THREAD);
    h2load_result hr;
    memset(&hr, 0, sizeof hr);
    int rc = run_h2load(port, n, pin, &hr);
    usage all1 = usage_of(RUSAGE_SELF), main1 = usage_of(RUSAGE_THREAD);
    unsigned long long allocs = atomic_load(&th_allocs) - allocs0;
    th_stats st;
    memset(&st, 0, sizeof st);
    im->stop(srv, &st);
    uint64_t answered = st.answered;
    if (rc == 0 && th_failed(&err)) {
        fprintf(stderr, "bench_service_threads: %s: %s\n", im->name, th_message(&err));
        rc = -1;
    }
    if (rc == 0 && answered != n) {
        fprintf(stderr, "bench_service_threads: %s answered %llu of %lu requests\n", im->name,
                (unsigned long long)answered, n);
        rc = -1;
    }
    if (rc != 0)
        return -1;
    double server_us = (all1.cpu_us - all0.cpu_us) - (main1.cpu_us - main0.cpu_us);
    double switches = (all1.switches - all0.switches) - (main1.switches - main0.switches);
    out->rps = hr.rps;
    out->cpu = server_us / (double)n;
    if (label != NULL) {
        printf("%-8s %-7s %8.0f req/s %5.2f us/req  busy: server %3.0f%% h2load %3.0f%%  "
               "per req: %.3f cs %.3f turns  %.1f req/batch",
               label, im->name, out->rps, out->cpu, 100 * server_us / 1e6 / hr.wall_s,
               100 * hr.cpu_us / 1e6 / hr.wall_s, switches / (double)n,
               (double)st.turns / (double)n,
               st.batches > 0 ? (double)st.answered / (double)st.batches : 0.0);
        if (th_counting)
            printf(" %.2f allocs", (double)allocs / (double)n);
        if (verbose)
            printf("\n         %s", hr.traffic);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}

/* All rounds of one configuration and transport; prints the RESULT line. */
static int run_config(const th_params *p, const pinning *pin, int only)
{
    char name[64];
    snprintf(name, sizeof name, "service-threads-%ux%u-%s", p->workers, p->apps,
             p->feed ? "feed" : "fd");
    printf("\n%s: %u worker%s + %u application thread%s%s; h2load -n %lu -c %u -m %u -t %u, "
           "%zu-byte bodies, %d rounds\n",
           name, p->workers, p->workers > 1 ? "s" : "", p->apps, p->apps > 1 ? "s" : "",
           p->feed ? " + I/O threads (libh2 feed mode)" : "", requests, conns, streams,
           pin->h2load_threads, p->body, rounds);
    sample warm, v[2][MAX_ROUNDS];
    for (int i = 0; i < 2; i++) {
        unsigned long n = requests / 10 > 0 ? requests / 10 : 1;
        if ((only < 0 || only == i) && run_sample(&impls[i], p, pin, n, NULL, &warm) != 0)
            return -1;
    }
    for (int r = 0; r < rounds; r++) {
        char label[24];
        snprintf(label, sizeof label, "round %d", r + 1);
        for (int j = 0; j < 2; j++) {
            int i = (r + j) % 2;
            if (only >= 0 && only != i)
                continue;
            if (run_sample(&impls[i], p, pin, requests, label, &v[i][r]) != 0)
                return -1;
        }
    }
    double rps[2] = {0}, cpu[2] = {0};
    for (int i = 0; i < 2; i++) {
        if (only >= 0 && only != i)
            continue;
        double a[MAX_ROUNDS], b[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            a[r] = v[i][r].rps;
            b[r] = v[i][r].cpu;
        }
        rps[i] = median(a, rounds);
        cpu[i] = median(b, rounds);
        printf("median   %-7s %8.0f req/s %5.2f us/req\n", impls[i].name, rps[i], cpu[i]);
    }
    /* The diagnostics change how the servers run: their lines are not RESULTs. */
    if (only < 0)
        printf("%s %s ours=%.0f nghttp2=%.0f better=%.2f cpu_ours=%.2f cpu_ng=%.2f\n",
               th_app_yield || sched_batch || pin->forced ? "DIAGNOSTIC" : "RESULT", name,
               rps[IMPL_OURS], rps[IMPL_NG], rps[IMPL_OURS] / rps[IMPL_NG], cpu[IMPL_OURS],
               cpu[IMPL_NG]);
    fflush(stdout);
    return 0;
}

/* The CPUs this process may use, read before any pinning. */
static int cpus[CPU_SETSIZE], n_cpus;

static void read_cpus(void)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &allowed))
                cpus[n_cpus++] = c;
}

/*
 * The pinning of a configuration of |w| server threads per side: the first
 * |w| allowed CPUs for the server, the next |w| for h2load. Returns false
 * when the configuration is to be skipped (note printed).
 */
static bool choose_pinning(unsigned w, pinning *pin)
{
    memset(pin, 0, sizeof *pin);
    int n = n_cpus;
    pin->h2load_threads = w;
    if ((unsigned)n < 2 * w) {
        if (w > 1 && !force) {
            printf("\nservice-threads-%ux%u: skipped, %d CPUs (needs %u; --force runs it "
                   "anyway)\n",
                   w, w, n, 2 * w);
            return false;
        }
        printf("\nservice-threads-%ux%u: forced on %d CPUs, pinned as 1x1: not a measurement\n", w,
               w, n);
        w = 1;
        pin->h2load_threads = 1;
        pin->forced = true;
    }
    if (n < 2) {
        printf("one CPU: the server and h2load are not pinned\n");
        return true;
    }
    pin->pinned = true;
    for (unsigned i = 0; i < w; i++) {
        CPU_SET(cpus[i], &pin->server);
        CPU_SET(cpus[w + i], &pin->client);
    }
    printf("server threads on CPU %d%s, h2load on CPU %d%s\n", cpus[0], w > 1 ? "+" : "",
           cpus[w], w > 1 ? "+" : "");
    return true;
}

static void print_usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--rounds R] [--requests N] [--conns C] [--streams M] [--body B]\n"
            "          [--only ours|nghttp2] [--config 1x1|2x2] [--transport fd|feed] [--force]\n"
            "          [--quick] [--verbose] [--count-allocs] [--app-yield] [--sched-batch]\n",
            argv0);
}

/* Reads the options into the globals and |*only|, |*configs|, |*transports|; -1 when bad. */
static int parse_args(int argc, char **argv, int *only, unsigned *configs, unsigned *transports)
{
    const char *q = getenv("BENCH_QUICK");
    bool quick = q != NULL && strcmp(q, "0") != 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        if (strcmp(a, "--quick") == 0)
            quick = true;
        else if (strcmp(a, "--force") == 0)
            force = true;
        else if (strcmp(a, "--verbose") == 0)
            verbose = true;
        else if (strcmp(a, "--count-allocs") == 0)
            th_counting = true;
        else if (strcmp(a, "--app-yield") == 0)
            th_app_yield = true;
        else if (strcmp(a, "--sched-batch") == 0)
            sched_batch = true;
        else if (strcmp(a, "--rounds") == 0 && v)
            rounds = atoi(argv[++i]);
        else if (strcmp(a, "--requests") == 0 && v)
            requests = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--conns") == 0 && v)
            conns = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--streams") == 0 && v)
            streams = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--body") == 0 && v)
            body = strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--only") == 0 && v)
            *only = strcmp(argv[++i], "ours") == 0 ? IMPL_OURS : IMPL_NG;
        else if (strcmp(a, "--config") == 0 && v)
            *configs |= strcmp(argv[++i], "2x2") == 0 ? 2u : 1u;
        else if (strcmp(a, "--transport") == 0 && v)
            *transports |= strcmp(argv[++i], "feed") == 0 ? 2u : 1u;
        else {
            return -1;
        }
    }
    if (quick) {
        rounds = 1;
        requests = 5000;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || requests < 1 || conns < 1 ||
        conns > TH_MAX_CONNS || streams < 1 || body > TH_MAX_BODY) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int only = -1;
    unsigned configs = 0, transports = 0; /* bit 0: 1x1 / fd, bit 1: 2x2 / feed; 0: all */
    if (parse_args(argc, argv, &only, &configs, &transports) != 0) {
        print_usage(argv[0]);
        return 2;
    }
    if (!find_program("h2load", h2load_path, sizeof h2load_path)) {
        printf("bench_service_threads: h2load is not installed (make deps); nothing measured\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    th_init_messages(body);
    read_cpus();
    print_loadavg("at the start");
    static const unsigned shapes[2] = {1, 2};
    for (int k = 0; k < 2; k++) {
        if (configs != 0 && !(configs & (1u << k)))
            continue;
        pinning pin;
        if (!choose_pinning(shapes[k], &pin))
            continue;
        if (sched_batch) {
            struct sched_param sp = {0};
            if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
                perror("bench_service_threads: SCHED_BATCH");
        }
        /* This thread's CPUs are inherited by every server thread it starts. */
        if (pin.pinned && sched_setaffinity(0, sizeof pin.server, &pin.server) != 0) {
            fprintf(stderr, "bench_service_threads: sched_setaffinity: %s\n", strerror(errno));
            return 1;
        }
        for (int t = 0; t < 2; t++) {
            if (transports != 0 && !(transports & (1u << t)))
                continue;
            th_params p = {.workers = shapes[k], .apps = shapes[k], .feed = t == 1, .body = body};
            if (run_config(&p, &pin, only) != 0)
                return 1;
        }
    }
    print_loadavg("at the end");
    return 0;
}
