/*
 * Test helpers for the connection core:
 *  - h2t_buf: a growable byte buffer;
 *  - a frame factory (h2t_f_*) that writes exact frames with the frame
 *    serializers and its own HPACK encoder;
 *  - an event log that deep-copies events (their views die at the next
 *    receive) and compares logs;
 *  - in-memory exchanges between two connections;
 *  - h2t_replay(): feeds an input to fresh connections whole, split at every
 *    offset and byte by byte, and checks that events, return codes and
 *    output are the same every time.
 */
#ifndef H2_TESTS_CONN_HELPERS_H
#define H2_TESTS_CONN_HELPERS_H

#include <stddef.h>
#include "h2/h2.h"

typedef struct h2t_buf {
    uint8_t *p;
    size_t len, cap;
} h2t_buf;

void h2t_buf_init(h2t_buf *b);
void h2t_buf_free(h2t_buf *b);
void h2t_buf_put(h2t_buf *b, const void *p, size_t n);
uint8_t *h2t_buf_grow(h2t_buf *b, size_t n); /* room for n more bytes; caller adds to len */

/* A header field from two string literals. */
#define H2T_HDR(n, v)                                                                              \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0                \
    }
#define H2T_HDR_NI(n, v)                                                                           \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1,                  \
            H2_HEADER_NEVER_INDEX                                                                  \
    }
#define H2T_N(arr) (sizeof(arr) / sizeof((arr)[0]))

/* ---- frame factory --------------------------------------------------------------- */

typedef struct h2t_ff {
    h2_hpack_encoder *enc;
} h2t_ff;

void h2t_ff_init(h2t_ff *ff);
void h2t_ff_free(h2t_ff *ff);
/* HPACK-encodes |fields| with the factory's encoder into |out| (appended). */
void h2t_ff_encode(h2t_ff *ff, const h2_header *fields, size_t n, h2t_buf *out);

void h2t_f_preface(h2t_buf *b);
void h2t_f_settings(h2t_buf *b, uint8_t flags, const h2_setting *e, size_t n);
/* HEADERS carrying an encoded block of |fields|; |flags| as on the wire. */
void h2t_f_headers(h2t_ff *ff, h2t_buf *b, uint32_t id, uint8_t flags, const h2_header *fields,
                   size_t n);
/* HEADERS with a raw block fragment; |prio| may be NULL, |pad| -1 for none. */
void h2t_f_headers_raw(h2t_buf *b, uint32_t id, uint8_t flags, const uint8_t *block, size_t len,
                       int weight, uint32_t depends_on, bool exclusive, int pad);
void h2t_f_continuation(h2t_buf *b, uint32_t id, uint8_t flags, const uint8_t *block, size_t len);
void h2t_f_data(h2t_buf *b, uint32_t id, uint8_t flags, const void *data, size_t len, int pad);
void h2t_f_rst(h2t_buf *b, uint32_t id, uint32_t code);
void h2t_f_ping(h2t_buf *b, uint8_t flags, const uint8_t opaque[8]);
void h2t_f_goaway(h2t_buf *b, uint32_t last, uint32_t code, const void *debug, size_t len);
void h2t_f_window_update(h2t_buf *b, uint32_t id, uint32_t inc);
void h2t_f_priority(h2t_buf *b, uint32_t id, uint32_t depends_on, int weight, bool exclusive);
void h2t_f_push_promise(h2t_ff *ff, h2t_buf *b, uint32_t id, uint32_t promised,
                        const h2_header *fields, size_t n);
void h2t_f_unknown(h2t_buf *b, uint8_t type, uint8_t flags, uint32_t id, const void *payload,
                   size_t len);

/* ---- event log -------------------------------------------------------------------- */

typedef struct h2t_hdr {
    char *name, *value; /* NUL-terminated copies */
    size_t name_len, value_len;
    uint32_t flags;
} h2t_hdr;

typedef struct h2t_ev {
    int type;
    uint32_t stream_id;
    h2t_hdr *hdrs;
    size_t n_hdrs;
    int32_t stream_ended;     /* relative: linked index - own index, or -1 */
    int32_t priority_updated; /* same */
    uint8_t *data;
    size_t len;
    size_t fcl;
    uint32_t window_delta;
    h2_changed_setting settings[32];
    size_t n_settings;
    uint8_t ping[8];
    uint32_t error_code;
    bool remote_reset;
    uint32_t depends_on;
    uint16_t weight;
    bool exclusive;
    uint32_t last_stream_id;
    uint8_t frame_type, flags;
    uint32_t parent_id;  /* PushedStreamReceived */
    char *origin;        /* AlternativeServiceAvailable (NUL-terminated; NULL when none) */
    size_t origin_len;   /* its field value is in data/len */
    uint8_t urgency;     /* PriorityUpdateReceived (field value in data/len) */
    bool incremental;
} h2t_ev;

typedef struct h2t_log {
    h2t_ev *ev;
    size_t n, cap;
} h2t_log;

void h2t_log_init(h2t_log *l);
void h2t_log_free(h2t_log *l);
void h2t_log_clear(h2t_log *l);
void h2t_log_add(h2t_log *l, const h2_event *ev, size_t n);
bool h2t_log_eq(const h2t_log *a, const h2t_log *b);
void h2t_log_print(const h2t_log *l); /* to stderr, for failing tests */
const char *h2t_ev_name(int type);
/* Number of events of |type|. */
size_t h2t_log_count(const h2t_log *l, int type);
/* The |nth| (0-based) event of |type|, or NULL. */
const h2t_ev *h2t_log_find(const h2t_log *l, int type, size_t nth);
/* Value of header |name| in an event, or NULL. */
const char *h2t_ev_header(const h2t_ev *e, const char *name);

/* ---- connections -------------------------------------------------------------------- */

/* A connection with |cfg| (NULL: defaults for |role|); asserts success. */
h2_conn *h2t_conn_new(h2_role role, const h2_conn_config *cfg);
/* Receives |n| bytes and logs the events (|log| may be NULL); returns the rv. */
int h2t_feed(h2_conn *c, const void *p, size_t n, h2t_log *log);
/* Moves all queued output of |c| to |out| (appended; |out| may be NULL to drop). */
void h2t_take(h2_conn *c, h2t_buf *out);
/* Moves |from|'s output into |to|; returns |to|'s receive rv. */
int h2t_transfer(h2_conn *from, h2_conn *to, h2t_log *to_log);
/* Initiates both and exchanges until quiet; asserts no error. */
void h2t_handshake(h2_conn *client, h2_conn *server);

/*
 * Ready-made connections for feeding frames: initiated, the peer's preface
 * and SETTINGS (empty) received and our SETTINGS acknowledged, output
 * dropped. |cfg| may be NULL.
 */
h2_conn *h2t_server_ready(const h2_conn_config *cfg);
h2_conn *h2t_client_ready(const h2_conn_config *cfg);

/* ---- split replay --------------------------------------------------------------------- */

typedef h2_conn *(*h2t_setup_fn)(void *arg);

typedef struct h2t_result {
    h2t_log log;
    int rv;        /* first non-zero receive rv, or 0 */
    h2t_buf out;   /* output queued while feeding */
    h2_conn *conn; /* the connection fed whole (kept for further checks) */
} h2t_result;

/*
 * Feeds |in| to connections made by |setup|: whole (result kept in |res|,
 * connection left open in res->conn), then split at every offset, then
 * byte by byte, asserting the same events, rv and output each time.
 */
void h2t_replay(h2t_setup_fn setup, void *arg, const uint8_t *in, size_t len, h2t_result *res);
void h2t_result_free(h2t_result *res);

/* Setups for h2t_replay: |arg| is an h2_conn_config * or NULL. */
h2_conn *h2t_setup_server(void *arg);
h2_conn *h2t_setup_client(void *arg);

/* ---- output frames ------------------------------------------------------------------------ */

typedef struct h2t_frame {
    uint8_t type, flags;
    uint32_t id;
    uint32_t len;
    const uint8_t *payload;
} h2t_frame;

/* Splits |p| into frames (at most |max|); asserts it ends on a frame boundary. */
size_t h2t_parse_frames(const uint8_t *p, size_t n, h2t_frame *out, size_t max);
/* Big-endian 32-bit value at |p| with the top bit cleared when |mask|. */
uint32_t h2t_u32(const uint8_t *p);
/* Asserts the output holds exactly one frame: RST_STREAM(id, code) / GOAWAY(last, code). */
void h2t_expect_rst(const h2t_buf *out, uint32_t id, uint32_t code);
void h2t_expect_goaway(const h2t_buf *out, uint32_t last, uint32_t code);
/* Number of frames of |type| in |out|. */
size_t h2t_count_frames(const h2t_buf *out, uint8_t type);

/*
 * Asserts that a replay ended in a connection error |code|: rv H2_EPROTO,
 * the last output frame is GOAWAY(code), h2_conn_last_error() agrees, and a
 * later receive returns H2_ECLOSED without queuing anything.
 */
void h2t_expect_conn_error(h2t_result *res, uint32_t code);
/* Replays |in| on |setup| and asserts success with no output; returns the log in |res|. */
void h2t_replay_ok(h2t_setup_fn setup, void *arg, const h2t_buf *in, h2t_result *res);
/* Replays |in| and asserts a connection error |code|. */
void h2t_replay_conn_error(h2t_setup_fn setup, void *arg, const h2t_buf *in, uint32_t code);

/* ---- client/server pairs ------------------------------------------------------------------- */

typedef struct h2t_pair {
    h2_conn *cl, *sv;
    h2t_log cl_log, sv_log; /* events of the last transfer in each direction */
} h2t_pair;

/* Makes both ends (configs may be NULL) and completes the handshake. */
void h2t_pair_init(h2t_pair *p, const h2_conn_config *ccfg, const h2_conn_config *scfg);
void h2t_pair_free(h2t_pair *p);
/* Client -> server (clears sv_log first); returns the server's receive rv. */
int h2t_c2s(h2t_pair *p);
int h2t_s2c(h2t_pair *p);

/* A GET request for |path| ("/" when NULL) on the client of |p|. */
int h2t_send_get(h2_conn *c, uint32_t id, bool end_stream);
extern const h2_header h2t_req_get[4];
extern const h2_header h2t_req_post[4];
extern const h2_header h2t_resp_200[2];

/*
 * Setups for h2t_replay: a ready client that sent a GET on stream 1
 * (END_STREAM) / a POST on stream 1 without END_STREAM. |arg| as above.
 */
h2_conn *h2t_setup_client_get(void *arg);
h2_conn *h2t_setup_client_post(void *arg);

#endif /* H2_TESTS_CONN_HELPERS_H */
