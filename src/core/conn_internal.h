/*
 * Internal state of an h2_conn and the helpers shared by conn.c (life cycle,
 * output, queries), conn_send.c (sending API), conn_recv.c (framing and
 * dispatch of received frames) and conn_recv_headers.c (header blocks).
 */
#ifndef H2_CORE_CONN_INTERNAL_H
#define H2_CORE_CONN_INTERNAL_H

#include "h2/conn.h"
#include "core/arena.h"
#include "core/obuf.h"
#include "core/frame.h"
#include "core/headers.h"
#include "core/settings.h"
#include "core/stream.h"
#include "core/conn_trace.h"

enum {
    H2_CF_INITIATED = 1u << 0,
    H2_CF_PREFACE_DONE = 1u << 1, /* server: client magic received */
    H2_CF_GOT_SETTINGS = 1u << 2, /* the peer's first SETTINGS arrived */
    H2_CF_ERROR = 1u << 3,        /* a connection error ended the connection */
    H2_CF_GOAWAY_SENT = 1u << 4,
    H2_CF_GOAWAY_RECV = 1u << 5,
    H2_CF_GOT_SETTINGS_ACK = 1u << 6, /* the first SETTINGS ACK arrived */
};

/* A header block being reassembled from HEADERS/PUSH_PROMISE + CONTINUATION. */
typedef struct h2_hblock {
    bool active;
    uint8_t type;  /* H2_FRAME_HEADERS or H2_FRAME_PUSH_PROMISE */
    uint8_t flags; /* the first frame's flags */
    bool has_priority;
    h2_priority_spec priority;
    uint32_t stream_id;
    uint32_t promised_id;
    uint32_t n_frames;
    uint8_t *buf;
    size_t len, cap;
} h2_hblock;

/* A token bucket in thousandths of a token (conn_limits.c). */
typedef struct h2_bucket {
    uint64_t milli;   /* tokens left, x1000 */
    uint64_t last_ms; /* time of the last refill */
    bool started;
} h2_bucket;

/* A request holding a slot (max_active_requests). */
typedef struct h2_req_slot {
    uint32_t id;
    uint32_t release_at; /* 0: held; else freed at the end of receive call number release_at */
} h2_req_slot;

struct h2_conn {
    const h2_mem *mem; /* the allocator (the configuration's, which outlives us, or libc's) */
    h2_conn_config cfg;
    uint32_t flags; /* H2_CF_* */
    uint8_t preface_matched;
    bool in_receive; /* inside h2_conn_receive() */

    uint32_t highest_inbound;  /* highest stream id opened by the peer */
    uint32_t highest_outbound; /* highest stream id opened by us */
    uint32_t goaway_sent_last;
    uint32_t goaway_recv_last;
    uint32_t n_inbound;  /* open streams the peer opened */
    uint32_t n_outbound; /* open streams we opened */

    int32_t send_window; /* connection send window */
    h2_recv_window recv_window;

    h2_settings_vals local;  /* our settings in force */
    h2_settings_vals remote; /* the peer's settings */
    h2_settings_pending pending;

    h2_hpack_encoder *enc; /* created on first use */
    h2_hpack_decoder *dec;
    h2_obuf out;
    size_t reply_bytes; /* automatic replies queued since the output was last empty */

    h2_frame_reader reader; /* inbound framing; its check is conn_recv.c's */
    h2_hblock hb;

    /* per receive call */
    h2_event *ev;
    uint32_t n_ev, cap_ev;
    h2_arena arena;
    h2_hdr_scratch scratch_in; /* inbound normalisation; reset at each receive */
    h2_hdr_scratch scratch;    /* outbound normalisation; reset at each send */

    h2_stream_set streams;
    h2_conn_error err;

    /* abuse limits (conn_limits.c) */
    uint64_t now_ms;
    h2_bucket glitch_bucket;
    h2_bucket reset_bucket;
    uint32_t reply_frames;  /* automatic replies queued since the output was last empty */
    uint32_t pings_unacked; /* PINGs we sent that no ACK answered yet */
    uint32_t recv_calls;    /* receive calls so far (wraps; 0 skipped) */
    uint32_t n_deferred;    /* slots waiting for release_at */
    h2_req_slot *slots;     /* ascending ids */
    uint32_t n_slots, cap_slots;
    uint64_t requests_accepted;
    h2_conn_stats stats;
};

static inline bool h2_conn_is_client(const h2_conn *c)
{
    return c->cfg.role == H2_ROLE_CLIENT;
}

/* Stream ids this endpoint opens are odd for a client, even for a server. */
static inline bool h2_conn_is_ours(const h2_conn *c, uint32_t id)
{
    return ((id & 1u) == 1u) == h2_conn_is_client(c);
}

/*
 * RFC 9113 5.1 "reserved": a pushed stream before its response headers,
 * promised by us (server: reserved (local)) or by the peer (client:
 * reserved (remote)). Streams a client opens carry H2_SF_OUTBOUND, pushed
 * ones do not; on a server it is the other way round.
 */
static inline bool h2_stream_is_reserved(const h2_conn *c, const h2_stream *s)
{
    if (h2_conn_is_client(c))
        return !(s->flags & H2_SF_OUTBOUND) && !(s->flags & H2_SF_RECV_FINAL);
    return (s->flags & H2_SF_OUTBOUND) && !(s->flags & H2_SF_SENT_FINAL);
}

/* The common precondition of the sending calls: 0, H2_ESTATE or H2_ECLOSED. */
static inline int h2_conn_send_ready(const h2_conn *c)
{
    if (!(c->flags & H2_CF_INITIATED))
        return H2_ESTATE;
    if (c->flags & H2_CF_ERROR)
        return H2_ECLOSED;
    return 0;
}

/* RFC 9218 2.1: a server whose client sent NO_RFC7540_PRIORITIES = 1 ignores
 * RFC 7540 priority signals (no PriorityUpdated events). */
static inline bool h2_conn_ignores_rfc7540(const h2_conn *c)
{
    return !h2_conn_is_client(c) &&
           h2_settings_get(&c->remote, H2_SETTING_NO_RFC7540_PRIORITIES) == 1;
}

/* Output limits. */
static inline bool h2_conn_over_high_water(const h2_conn *c)
{
    return h2_obuf_pending(&c->out) > c->cfg.output_high_water;
}

/* Creates the HPACK encoder/decoder on first use. 0 or H2_ENOMEM. */
int h2_conn_ensure_encoder(h2_conn *c);
int h2_conn_ensure_decoder(h2_conn *c);
/* Applies the header limits in force to the decoder (if created). */
void h2_conn_decoder_limits(h2_conn *c);

/* Frame writers: reserve, pack, commit. Return 0 or H2_ENOMEM. */
int h2_conn_write_rst(h2_conn *c, uint32_t id, uint32_t code);
int h2_conn_write_window_update(h2_conn *c, uint32_t id, uint32_t inc);
int h2_conn_write_goaway(h2_conn *c, uint32_t last_id, uint32_t code, const uint8_t *debug,
                         size_t len);
int h2_conn_write_settings(h2_conn *c, uint8_t flags, const h2_setting *e, size_t n);
int h2_conn_write_ping(h2_conn *c, uint8_t flags, const uint8_t opaque[8]);

/*
 * Looks up an open stream for an API call: 0 with |*s| set, H2_ESTREAM_CLOSED
 * (an id that was used and is closed now) or H2_ENOSTREAM (never opened).
 */
int h2_conn_find_stream(const h2_conn *c, uint32_t id, h2_stream **s);

/* Closes a stream object, keeping the open-stream counters right. */
void h2_conn_close_stream(h2_conn *c, h2_stream *s, h2_closed_how how);

/*
 * Records a connection error: queues GOAWAY(highest inbound id, |code|),
 * marks the connection ended. Returns H2_EPROTO (or H2_ENOMEM when even the
 * GOAWAY could not be queued).
 */
int h2_conn_fail(h2_conn *c, uint32_t code, const char *message);

/* As h2_conn_fail(), with |debug| (NUL-terminated, may be NULL) as GOAWAY debug data. */
int h2_conn_fail_debug(h2_conn *c, uint32_t code, const char *message, const char *debug);

/* ---- abuse limits (conn_limits.c) ---- */

/* Effective limits from the configuration (0 = default resolved). */
uint32_t h2_conn_max_settings_entries(const h2_conn *c);
size_t h2_conn_max_header_block(const h2_conn *c);
uint32_t h2_conn_max_fields_soft(const h2_conn *c);
uint32_t h2_conn_max_fields_hard(const h2_conn *c);
uint32_t h2_conn_max_field_size(const h2_conn *c);
uint32_t h2_conn_max_active(const h2_conn *c);

/*
 * A connection-level limit tripped: counts it, pushes LIMIT_EXCEEDED, queues
 * GOAWAY(|code|) with the limit's name as debug data and ends the
 * connection. Returns H2_EPROTO or H2_ENOMEM.
 */
int h2_conn_limit_fail(h2_conn *c, h2_limit lim, uint32_t code, const char *message);

/* A limit tripped on |stream_id| (or a graceful one): counts it and pushes
 * LIMIT_EXCEEDED. The caller sends the frame. 0 or H2_ENOMEM. */
int h2_conn_limit_note(h2_conn *c, h2_limit lim, uint32_t stream_id, uint32_t code,
                       bool connection);

/* Charges one glitch: 0, or the connection error (H2_EPROTO / H2_ENOMEM). */
int h2_conn_glitch(h2_conn *c);

/* Charges one received RST_STREAM that closed a stream: 0 or the error. */
int h2_conn_charge_reset(h2_conn *c);

/* Request slots: take one for |id| (0 or H2_ENOMEM); release on close. */
int h2_conn_slot_take(h2_conn *c, uint32_t id);
void h2_conn_slot_on_close(h2_conn *c, uint32_t id, h2_closed_how how);
/* Frees deferred slots due at the end of this receive call. */
void h2_conn_slots_sweep(h2_conn *c);
void h2_conn_slots_free(h2_conn *c);

/* Sets up c->reader with the connection's header checks (conn_recv.c). */
void h2_conn_reader_init(h2_conn *c);

/* Events (receive side). Returns the new event or NULL (out of memory). */
h2_event *h2_conn_push_event(h2_conn *c, int type, uint32_t stream_id);

/*
 * Starts a receive call, or ends the last one's events early: forgets the
 * events and the per-call memory (event array, arena, inbound scratch,
 * decoded fields), giving back to the allocator what grew past the
 * retained size (128 events, 4 KiB per buffer).
 */
void h2_conn_begin_receive(h2_conn *c);

/* Receive side entry points used across files. */
int h2_conn_on_headers_frame(h2_conn *c, const h2_frame *f);
int h2_conn_on_push_promise_frame(h2_conn *c, const h2_frame *f);
int h2_conn_on_continuation_frame(h2_conn *c, const h2_frame *f);
int h2_conn_stream_error(h2_conn *c, h2_stream *s, uint32_t id, uint32_t code, bool event);

/* Room for one more automatic reply of |n| bytes (max_queued_replies and
 * the byte mark); 0, or the limit's GOAWAY (H2_EPROTO). conn_recv.c */
int h2_conn_reply_room(h2_conn *c, size_t n);

/* A header list we are about to send: 0, or H2_EHEADER_LIST_SIZE when it is
 * over the peer's MAX_HEADER_LIST_SIZE or our max_send_header_list_size.
 * conn_send.c */
int h2_conn_check_send_list(const h2_conn *c, const h2_header *f, size_t n);
int h2_conn_credit_connection(h2_conn *c, size_t n);

/* A header list made ready to send: views into c->scratch or the caller's
 * fields, valid until the next send call. */
typedef struct h2_outbound_block {
    const h2_header *fields;
    size_t n;
    h2_block_info info;
} h2_outbound_block;

/* How a header block is framed: HEADERS (with |prio| or NULL) or
 * PUSH_PROMISE (with |promised|) on |stream_id|, then CONTINUATIONs.
 * |flags|: END_STREAM or 0; END_HEADERS and PRIORITY are set as needed. */
typedef struct h2_block_frame {
    uint8_t type;
    uint8_t flags;
    uint32_t stream_id;
    const h2_priority_spec *prio; /* not owned; read during the call */
    uint32_t promised;
} h2_block_frame;

/* Normalises and checks |fields| (conn_send_block.c): 0, H2_EHEADER or
 * H2_ENOMEM. Resets c->scratch. */
int h2_conn_prepare_outbound(h2_conn *c, const h2_header *fields, size_t n,
                             const h2_block_expect *ex, h2_outbound_block *out);
/* Encodes |ob| and queues it framed as |b| says. Reserves the output (and,
 * with |new_stream|, a stream) before encoding, so a failure queues
 * nothing: 0, H2_ENOMEM or H2_EINTERNAL. */
int h2_conn_queue_block(h2_conn *c, const h2_block_frame *b, const h2_outbound_block *ob,
                        bool new_stream);
/* Creates stream |id| opened by us (a stream was reserved): counts it,
 * sets its windows from the settings in force. Cannot fail. */
h2_stream *h2_conn_open_local_stream(h2_conn *c, uint32_t id, uint8_t state, uint8_t flags);

/* RFC 7540 priority arguments with their defaults filled in (weight 16,
 * no dependency) and checked against stream |id|: 0 or H2_EINVAL.
 * conn_priority.c */
int h2_conn_priority_spec(const h2_priority_args *prio, uint32_t id, h2_priority_spec *ps);

/* Inbound cookie joining (conn_recv_headers.c): 0 or H2_ENOMEM. */
int h2_conn_normalize_inbound(h2_conn *c, const h2_header **f, size_t *n);

/*
 * A decoded PUSH_PROMISE block on |parent_id| (conn_push.c). The framing
 * checks are done: |promised| is a valid new id (already recorded as the
 * highest inbound), the parent is live and may carry a promise, or was
 * reset by us (|parent| NULL). Accepts or refuses the push.
 */
int h2_conn_on_push_promise(h2_conn *c, h2_stream *parent, uint32_t parent_id, uint32_t promised,
                            const h2_header *f, size_t n);

/* ALTSVC (conn_altsvc.c) and PRIORITY_UPDATE (conn_priority.c) receipt. */
int h2_conn_on_altsvc(h2_conn *c, const h2_frame *f);
int h2_conn_on_priority_update(h2_conn *c, const h2_frame *f);

#endif /* H2_CORE_CONN_INTERNAL_H */
