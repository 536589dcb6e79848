/*
 * libh2 connection core: the abuse limits a connection enforces, its clock
 * for the rate limiters, its counters, and the end of a request's slot
 * (docs/SECURITY.md lists every limit with its default). Included by
 * h2/conn.h.
 */
#ifndef H2_CONN_LIMITS_H
#define H2_CONN_LIMITS_H

#include "h2/conn_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Abuse limits, clock and statistics                                        */
/* ------------------------------------------------------------------------ */

/*
 * @enum
 *
 * The limits a connection enforces against an abusive peer
 * (docs/SECURITY.md). Each one has a counter in h2_conn_stats, a name
 * (h2_limit_name(), also the GOAWAY debug data when it ends the connection)
 * and produces an H2_EV_LIMIT_EXCEEDED event when it trips.
 */
typedef enum h2_limit {
    /* glitch budget empty: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_GLITCHES = 0,
    /* RST_STREAM budget empty: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_RESET_RATE,
    /* too many automatic replies queued: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_QUEUED_REPLIES,
    /* their bytes past output_high_water: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_QUEUED_REPLY_BYTES,
    /* SETTINGS frame with too many entries: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_SETTINGS_ENTRIES,
    /* header block in too many frames: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_CONTINUATION_FRAMES,
    /* encoded header block too large: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_HEADER_BLOCK_SIZE,
    /* decoded list over MAX_HEADER_LIST_SIZE: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_HEADER_LIST_SIZE,
    /* one name or value too long: GOAWAY(ENHANCE_YOUR_CALM) */
    H2_LIMIT_HEADER_FIELD_SIZE,
    /* soft field count: RST_STREAM(ENHANCE_YOUR_CALM) on the stream */
    H2_LIMIT_HEADER_FIELDS,
    /* hard field count: GOAWAY(COMPRESSION_ERROR) */
    H2_LIMIT_HEADER_FIELDS_HARD,
    /* table size update above ours: GOAWAY(COMPRESSION_ERROR) */
    H2_LIMIT_HPACK_TABLE_SIZE,
    /* stream over our MAX_CONCURRENT_STREAMS: RST_STREAM(REFUSED_STREAM) */
    H2_LIMIT_CONCURRENT_STREAMS,
    /* no request slot free: RST_STREAM(REFUSED_STREAM) */
    H2_LIMIT_ACTIVE_REQUESTS,
    /* rotation: graceful GOAWAY(NO_ERROR) */
    H2_LIMIT_REQUESTS_PER_CONNECTION,
    /* client: too many pushes waiting: RST_STREAM(REFUSED_STREAM) */
    H2_LIMIT_RESERVED_STREAMS,
    /* number of limits (not a limit) */
    H2_LIMIT_COUNT
} h2_limit;

/*
 * @function Returns the static name of a limit ("glitches",
 * "reset_rate", ...; the GOAWAY debug data of that limit), or "unknown"
 * for a value that is not an h2_limit. Never returns NULL.
 */
H2_API const char *h2_limit_name(int limit);

/*
 * @function
 *
 * Gives the connection the time: a monotonic clock in milliseconds (any
 * origin, e.g. CLOCK_MONOTONIC), to be set before each h2_conn_receive().
 * The core has no clock of its own; the rate limiters (glitch_rate,
 * reset_rate) refill their budgets from the time that passed between two
 * values. Without calls the time stays 0 and the limiters are plain
 * per-connection budgets of their burst size. A value lower than the last
 * one is ignored (the time never goes back). NULL is allowed.
 */
H2_API void h2_conn_set_time(h2_conn *conn, uint64_t now_ms);

/*
 * @struct
 *
 * Counters of a connection since its creation. Frames sent counts frames
 * queued for sending; bytes sent counts bytes taken from the output
 * (consumed). |limit_exceeded| is indexed by h2_limit. Versioned output
 * (see the ABI policy in h2/version.h): set |size| to sizeof(h2_conn_stats)
 * before the call, for example with `h2_conn_stats st = {.size =
 * sizeof(st)};`; the library writes no more than |size| bytes. The length
 * of |limit_exceeded| is fixed for the major version: limits added later
 * are counted in fields appended at the end.
 */
typedef struct h2_conn_stats {
    size_t size; /* set by the caller; left as it was by the call */
    uint64_t frames_received;
    uint64_t frames_sent;
    uint64_t bytes_received;
    uint64_t bytes_sent;
    uint64_t streams_opened_remote; /* streams the peer opened (requests, or pushes to a client) */
    uint64_t streams_opened_local;  /* streams we opened (requests, or pushes from a server) */
    uint64_t resets_received;       /* RST_STREAM frames received */
    uint64_t resets_sent;           /* RST_STREAM frames queued */
    uint64_t glitches;              /* events charged to the glitch budget */
    uint32_t active_requests;       /* request slots taken now (servers) */
    uint64_t limit_exceeded[H2_LIMIT_COUNT]; /* times each limit tripped */
    /* connection errors the core detected: 1 once a GOAWAY with an error
     * code was queued because of the peer (limit trips that end the
     * connection included), else 0 */
    uint64_t connection_errors;
} h2_conn_stats;

/* Smallest |size| of an h2_conn_stats the library accepts: up to |frames_received|. */
#define H2_CONN_STATS_MIN_SIZE (offsetof(h2_conn_stats, frames_received) + sizeof(uint64_t))

/*
 * @function Copies the counters of |conn| to |*out|: the first
 * min(out->size, sizeof(h2_conn_stats)) bytes, |size| kept. Returns 0 or
 * H2_EINVAL (either NULL, or |out->size| below H2_CONN_STATS_MIN_SIZE;
 * nothing is written).
 */
H2_API int h2_conn_get_stats(const h2_conn *conn, h2_conn_stats *out);

/*
 * @function
 *
 * Servers: the application has finished handling the request of
 * |stream_id| (its response was sent, or it gave up on it): the request's
 * slot (see max_active_requests) is freed at once. The stream itself is not
 * touched. Needed with |explicit_request_done|; optional otherwise (it
 * frees the slot of a reset stream early).
 *
 * Returns 0, H2_EINVAL (|conn| NULL) or H2_ENOSTREAM (no request of that
 * id holds a slot: unknown id, or already done).
 */
H2_API int h2_conn_request_done(h2_conn *conn, uint32_t stream_id);

#ifdef __cplusplus
}
#endif

#endif /* H2_CONN_LIMITS_H */
