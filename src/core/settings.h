/*
 * SETTINGS bookkeeping (RFC 9113 section 6.5): value sets, validation, and
 * the FIFO of SETTINGS frames we sent that still await an ACK.
 */
#ifndef H2_CORE_SETTINGS_H
#define H2_CORE_SETTINGS_H

#include "h2/conn.h"

/* Highest setting id we keep a value for. */
#define H2_SETTINGS_MAX_KNOWN 9u
/* Settings per h2_conn_update_settings() call, and frames awaiting an ACK. */
#define H2_SETTINGS_MAX_PER_FRAME 64u
#define H2_SETTINGS_MAX_PENDING 16u

/* Values of the known settings; |set| has bit (1 << id) when a value is present. */
typedef struct h2_settings_vals {
    uint32_t v[H2_SETTINGS_MAX_KNOWN + 1];
    uint16_t set;
} h2_settings_vals;

/* Protocol defaults (RFC 9113 6.5.2); MAX_CONCURRENT_STREAMS and
 * MAX_HEADER_LIST_SIZE are absent (unlimited). */
void h2_settings_defaults(h2_settings_vals *s);

static inline bool h2_settings_known(uint16_t id)
{
    return id >= 1 && id <= H2_SETTINGS_MAX_KNOWN && id != 7;
}

static inline uint32_t h2_settings_get(const h2_settings_vals *s, uint16_t id)
{
    if (!h2_settings_known(id) || !(s->set & (1u << id)))
        return H2_SETTING_UNSET;
    return s->v[id];
}

static inline void h2_settings_put(h2_settings_vals *s, uint16_t id, uint32_t value)
{
    if (!h2_settings_known(id))
        return;
    s->v[id] = value;
    s->set = (uint16_t)(s->set | (1u << id));
}

/*
 * Checks one value against RFC 9113 6.5.2, RFC 8441 and RFC 9218. |from_server|:
 * the value comes from a server (ENABLE_PUSH must then be 0). Returns
 * H2_NO_ERROR or the wire error code (PROTOCOL_ERROR, FLOW_CONTROL_ERROR).
 */
uint32_t h2_settings_check(uint16_t id, uint32_t value, bool from_server);

/*
 * Rules on changing a value the peer set before (|cur|): ENABLE_CONNECT_PROTOCOL
 * may not go from 1 back to 0 (RFC 8441 section 3), NO_RFC7540_PRIORITIES
 * may not change after the first SETTINGS frame (RFC 9218 section 2.1; an
 * absent value counts as 0). |first|: the value is in the peer's first
 * SETTINGS frame. Returns false when the change breaks a rule.
 */
bool h2_settings_change_allowed(const h2_settings_vals *cur, uint16_t id, uint32_t value,
                                bool first);

/* SETTINGS frames we sent and that the peer has not acknowledged yet. */
typedef struct h2_settings_pending {
    h2_setting *entries; /* all frames' entries, oldest frame first */
    size_t n_entries;
    size_t cap;
    uint8_t counts[H2_SETTINGS_MAX_PENDING]; /* entries per frame */
    uint8_t n_frames;
} h2_settings_pending;

void h2_settings_pending_init(h2_settings_pending *p);
void h2_settings_pending_free(h2_settings_pending *p, const h2_mem *mem);

/* Appends one frame's entries. Returns 0, H2_EAGAIN (too many frames) or H2_ENOMEM. */
int h2_settings_pending_push(h2_settings_pending *p, const h2_mem *mem, const h2_setting *e,
                             size_t n);

/*
 * Removes the oldest frame. Its entries are copied to |out| (room for
 * H2_SETTINGS_MAX_PER_FRAME) and their number returned; -1 when nothing was
 * pending. Frees the storage when the queue becomes empty.
 */
int h2_settings_pending_pop(h2_settings_pending *p, const h2_mem *mem, h2_setting *out);

#endif /* H2_CORE_SETTINGS_H */
