/*
 * End-to-end requests per second over loopback TCP (included by
 * bench/bench_service.c only; every function here is static).
 *
 * K TCP connections over 127.0.0.1 (TCP_NODELAY on both ends), a client and
 * a server in the same process. The client keeps M requests open on every
 * connection: a GET without a body; the server answers each with a 200
 * response and a B-byte body. A request counts when the client holds the
 * whole response (its end of stream), after checking :status 200 and the
 * body (its length, and every byte against the body sent); it then opens the next request on that
 * connection until the sample's N requests are issued. The server checks :method and :path of every
 * request. A sample is timed from the first request posted to the last response completed; the
 * connections are set up, and their SETTINGS and a PING exchanged, before the clock starts.
 *
 * libh2: two services of 1 worker each, a server service and a client
 * service, sockets attached in fd mode (h2_svc_attach_fd), events
 * handled by callbacks on the worker threads (no application threads): the
 * server's callback answers a request with h2_svc_respond() (head and
 * copied body in one command); the client's callback
 * opens the next request with h2_svc_submit_headers(stream 0).
 *
 * nghttp2: a server thread and a client thread, each running a
 * non-blocking epoll loop over its K sockets, the way nghttpd runs its
 * sessions: a read of up to 64 KiB per readable socket fed to
 * nghttp2_session_mem_recv(), then nghttp2_session_mem_send() chunks
 * gathered into a per-connection output buffer written with one send()
 * (EPOLLOUT while the socket is full). The server answers from its
 * on_frame_recv callback with nghttp2_submit_response() and a data provider
 * that copies the body; the client opens the next request from its
 * on_stream_close callback with nghttp2_submit_request(). (The installed
 * nghttp2 1.52 predates the *2 variants of these calls.)
 *
 * Both libraries therefore run on exactly 2 threads doing protocol work,
 * with the main thread asleep.
 */
#ifndef BENCH_SERVICE_E2E_H
#define BENCH_SERVICE_E2E_H

#include "bench_service_e2e_ng.h"
#include "bench_service_e2e_ours.h"
#include "bench_service_e2e_run.h"

/* ------------------------------------------------------------------------ */
/* Rounds                                                                    */
/* ------------------------------------------------------------------------ */

enum { E2E_OURS = 0, E2E_NGHTTP2 = 1 };

/* One sample of |impl| in a fresh run; returns requests/s or -1 (message printed). */
static double e2e_sample(int impl, const e2e_params *p, double *cpu_us)
{
    e2e_run *r = e2e_run_new(p);
    if (r == NULL) {
        fprintf(stderr, "bench_service: out of memory\n");
        return -1;
    }
    double rate = impl == E2E_OURS ? ours_e2e_sample(r, cpu_us) : ng_e2e_sample(r, cpu_us);
    if (rate < 0 || bench_failed(&r->err)) {
        fprintf(stderr, "bench_service: e2e %s: %s\n", impl == E2E_OURS ? "libh2" : "nghttp2",
                bench_message(&r->err));
        rate = -1;
    }
    e2e_run_free(r);
    return rate;
}

/*
 * Runs |rounds| rounds (plus one unmeasured warm-up of each), alternating
 * which library goes first, prints every round and the medians, and the
 * RESULT line when both ran. |only|: -1 both, E2E_OURS or E2E_NGHTTP2.
 * Returns 0 or -1.
 */
static int e2e_part(const e2e_params *p, int rounds, int only)
{
    enum { MAXR = 99 };
    double v[2][MAXR], cpu[2][MAXR], cpu_unused;
    if (rounds < 1 || rounds > MAXR || p->conns < 1 || p->conns > E2E_MAX_CONNS || p->streams < 1 ||
        p->body > E2E_MAX_BODY || p->requests < p->conns) {
        fprintf(stderr, "bench_service: bad e2e parameters\n");
        return -1;
    }
    for (size_t i = 0; i < p->body; i++)
        e2e_body[i] = (uint8_t)('a' + i % 26);
    e2e_build_nv(e2e_req_nv, e2e_req_fields, E2E_N_REQ);
    e2e_build_nv(e2e_resp_nv, e2e_resp_fields, E2E_N_RESP);

    printf("\nend-to-end over loopback TCP: %u connections x %u streams, %zu-byte bodies, "
           "%llu requests per sample, %d rounds\n",
           p->conns, p->streams, p->body, (unsigned long long)p->requests, rounds);
    printf("(libh2: server service + client service, 1 worker each, callbacks on the workers;\n"
           " nghttp2: server thread + client thread, epoll, mem_recv/mem_send)\n");
    for (int impl = 0; impl < 2; impl++)
        if ((only < 0 || only == impl) && e2e_sample(impl, p, &cpu_unused) < 0)
            return -1;
    printf("round    libh2 req/s  nghttp2 req/s   libh2 CPU us/req  nghttp2 CPU us/req\n");
    for (int round = 0; round < rounds; round++) {
        for (int j = 0; j < 2; j++) {
            int impl = (round + j) % 2;
            v[impl][round] = cpu[impl][round] = 0;
            if (only >= 0 && only != impl)
                continue;
            v[impl][round] = e2e_sample(impl, p, &cpu[impl][round]);
            if (v[impl][round] < 0)
                return -1;
        }
        printf("%-5d %14.0f %14.0f %18.2f %19.2f\n", round + 1, v[E2E_OURS][round],
               v[E2E_NGHTTP2][round], cpu[E2E_OURS][round], cpu[E2E_NGHTTP2][round]);
        fflush(stdout);
    }
    double med[2], cmed[2];
    for (int impl = 0; impl < 2; impl++) {
        med[impl] = median(v[impl], rounds);
        cmed[impl] = median(cpu[impl], rounds);
    }
    printf("median %13.0f %14.0f %18.2f %19.2f\n", med[E2E_OURS], med[E2E_NGHTTP2], cmed[E2E_OURS],
           cmed[E2E_NGHTTP2]);
    ng_e2e_callbacks_free();
    if (only < 0)
        printf("RESULT service-e2e ours=%.0f nghttp2=%.0f better=%.2f\n", med[E2E_OURS],
               med[E2E_NGHTTP2], med[E2E_OURS] / med[E2E_NGHTTP2]);
    return 0;
}

#endif /* BENCH_SERVICE_E2E_H */
