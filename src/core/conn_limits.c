/*
 * Abuse limits of a connection: the clock, token buckets (glitches and
 * received resets), limit trips (counter, event, GOAWAY debug data), request
 * slots (max_active_requests) and the statistics.
 */
#include <string.h>
#include "core/abi.h"
#include "core/conn_internal.h"
#include "core/mem.h"

static const char *const limit_names[H2_LIMIT_COUNT] = {
    [H2_LIMIT_GLITCHES] = "glitches",
    [H2_LIMIT_RESET_RATE] = "reset_rate",
    [H2_LIMIT_QUEUED_REPLIES] = "queued_replies",
    [H2_LIMIT_QUEUED_REPLY_BYTES] = "queued_reply_bytes",
    [H2_LIMIT_SETTINGS_ENTRIES] = "settings_entries",
    [H2_LIMIT_CONTINUATION_FRAMES] = "continuation_frames",
    [H2_LIMIT_HEADER_BLOCK_SIZE] = "header_block_size",
    [H2_LIMIT_HEADER_LIST_SIZE] = "header_list_size",
    [H2_LIMIT_HEADER_FIELD_SIZE] = "header_field_size",
    [H2_LIMIT_HEADER_FIELDS] = "header_fields",
    [H2_LIMIT_HEADER_FIELDS_HARD] = "header_fields_hard",
    [H2_LIMIT_HPACK_TABLE_SIZE] = "hpack_table_size",
    [H2_LIMIT_CONCURRENT_STREAMS] = "concurrent_streams",
    [H2_LIMIT_ACTIVE_REQUESTS] = "active_requests",
    [H2_LIMIT_REQUESTS_PER_CONNECTION] = "requests_per_connection",
    [H2_LIMIT_RESERVED_STREAMS] = "reserved_streams",
};

const char *h2_limit_name(int limit)
{
    if (limit < 0 || limit >= H2_LIMIT_COUNT)
        return "unknown";
    return limit_names[limit];
}

void h2_conn_set_time(h2_conn *c, uint64_t now_ms)
{
    if (c != NULL && now_ms > c->now_ms)
        c->now_ms = now_ms;
}

int h2_conn_get_stats(const h2_conn *c, h2_conn_stats *out)
{
    if (c == NULL || out == NULL)
        return H2_EINVAL;
    h2_conn_stats full = c->stats;
    full.size = sizeof(full);
    full.active_requests = c->n_slots;
    return h2_abi_export(out, &full, sizeof(full), H2_CONN_STATS_MIN_SIZE);
}

/* ---- effective limits ------------------------------------------------------ */

#define DEFAULT_MAX_QUEUED_REPLIES 1000u
#define DEFAULT_MAX_SETTINGS_ENTRIES 32u
#define DEFAULT_MAX_FIELDS 100u
#define DEFAULT_MAX_FIELDS_HARD 1000u

uint32_t h2_conn_max_settings_entries(const h2_conn *c)
{
    return c->cfg.max_settings_entries ? c->cfg.max_settings_entries : DEFAULT_MAX_SETTINGS_ENTRIES;
}

size_t h2_conn_max_header_block(const h2_conn *c)
{
    if (c->cfg.max_header_block_size != 0)
        return c->cfg.max_header_block_size;
    uint32_t list = h2_settings_get(&c->local, H2_SETTING_MAX_HEADER_LIST_SIZE);
    size_t base = list == H2_SETTING_UNSET || list < 16384 ? 16384 : list;
    return 2 * base + h2_settings_get(&c->local, H2_SETTING_MAX_FRAME_SIZE);
}

uint32_t h2_conn_max_fields_soft(const h2_conn *c)
{
    return c->cfg.max_header_fields ? c->cfg.max_header_fields : DEFAULT_MAX_FIELDS;
}

uint32_t h2_conn_max_fields_hard(const h2_conn *c)
{
    return c->cfg.max_header_fields_hard ? c->cfg.max_header_fields_hard : DEFAULT_MAX_FIELDS_HARD;
}

uint32_t h2_conn_max_field_size(const h2_conn *c)
{
    if (c->cfg.max_header_field_size != 0)
        return c->cfg.max_header_field_size;
    return h2_settings_get(&c->local, H2_SETTING_MAX_HEADER_LIST_SIZE);
}

uint32_t h2_conn_max_active(const h2_conn *c)
{
    if (c->cfg.max_active_requests != 0)
        return c->cfg.max_active_requests;
    /* our MAX_CONCURRENT_STREAMS in force (it may change by SETTINGS) */
    return h2_settings_get(&c->local, H2_SETTING_MAX_CONCURRENT_STREAMS);
}

/* ---- trips ------------------------------------------------------------------- */

int h2_conn_limit_note(h2_conn *c, h2_limit lim, uint32_t stream_id, uint32_t code, bool connection)
{
    c->stats.limit_exceeded[lim]++;
    h2_event *e = h2_conn_push_event(c, H2_EV_LIMIT_EXCEEDED, stream_id);
    if (e == NULL)
        return H2_ENOMEM;
    e->u.limit.limit = (int)lim;
    e->u.limit.error_code = code;
    e->u.limit.connection = connection;
    return 0;
}

int h2_conn_limit_fail(h2_conn *c, h2_limit lim, uint32_t code, const char *message)
{
    if (h2_conn_limit_note(c, lim, 0, code, true) != 0) {
        c->flags |= H2_CF_ERROR;
        return H2_ENOMEM;
    }
    return h2_conn_fail_debug(c, code, message, limit_names[lim]);
}

/*
 * Takes one token from |b| (burst |burst|, |rate| per second). True when
 * there was one; a burst of 0 means no limit.
 */
static bool bucket_take(h2_bucket *b, uint64_t now, uint32_t burst, uint32_t rate)
{
    if (burst == 0)
        return true;
    uint64_t full = (uint64_t)burst * 1000u;
    if (!b->started) {
        b->started = true;
        b->milli = full;
        b->last_ms = now;
    } else if (now > b->last_ms) {
        uint64_t dt = now - b->last_ms;
        /* rate <= 2^32 and dt below 2^31 ms cannot overflow 64 bits */
        uint64_t add = dt >= (1ull << 31) ? full : dt * (uint64_t)rate;
        if (add >= full - b->milli)
            b->milli = full;
        else
            b->milli += add;
        b->last_ms = now;
    }
    if (b->milli < 1000u)
        return false;
    b->milli -= 1000u;
    return true;
}

int h2_conn_glitch(h2_conn *c)
{
    c->stats.glitches++;
    if (bucket_take(&c->glitch_bucket, c->now_ms, c->cfg.glitch_burst, c->cfg.glitch_rate))
        return 0;
    return h2_conn_limit_fail(c, H2_LIMIT_GLITCHES, H2_ENHANCE_YOUR_CALM,
                              "too many frames or stream errors provoked by the peer");
}

int h2_conn_charge_reset(h2_conn *c)
{
    if (bucket_take(&c->reset_bucket, c->now_ms, c->cfg.reset_burst, c->cfg.reset_rate))
        return 0;
    return h2_conn_limit_fail(c, H2_LIMIT_RESET_RATE, H2_ENHANCE_YOUR_CALM,
                              "peer resets streams too fast");
}

/* ---- request slots ------------------------------------------------------------- */

/* Index of |id| in the slots, or n_slots. */
static uint32_t slot_find(const h2_conn *c, uint32_t id)
{
    uint32_t lo = 0, hi = c->n_slots;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->slots[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_slots && c->slots[lo].id == id ? lo : c->n_slots;
}

static void slot_remove(h2_conn *c, uint32_t i)
{
    if (c->slots[i].release_at != 0)
        c->n_deferred--;
    memmove(&c->slots[i], &c->slots[i + 1], (c->n_slots - i - 1) * sizeof(*c->slots));
    c->n_slots--;
}

int h2_conn_slot_take(h2_conn *c, uint32_t id)
{
    if (c->n_slots == c->cap_slots) {
        uint32_t cap = c->cap_slots ? c->cap_slots * 2 : 16;
        h2_req_slot *p = h2_mem_realloc(c->mem, c->slots, cap * sizeof(*p));
        if (p == NULL)
            return H2_ENOMEM;
        c->slots = p;
        c->cap_slots = cap;
    }
    /* ids of new requests only grow, so appending keeps the order */
    c->slots[c->n_slots].id = id;
    c->slots[c->n_slots].release_at = 0;
    c->n_slots++;
    return 0;
}

void h2_conn_slot_on_close(h2_conn *c, uint32_t id, h2_closed_how how)
{
    if (c->cfg.explicit_request_done)
        return;
    uint32_t i = slot_find(c, id);
    if (i == c->n_slots)
        return;
    if (how == H2_CLOSED_END_STREAM || !c->in_receive) {
        slot_remove(c, i);
        return;
    }
    if (c->cfg.hold_reset_requests)
        return; /* until h2_conn_request_done() */
    /* Reset during a receive call: held until the end of the next call. */
    if (c->slots[i].release_at == 0)
        c->n_deferred++;
    uint32_t at = c->recv_calls + 1;
    c->slots[i].release_at = at == 0 ? 1 : at;
}

void h2_conn_slots_sweep(h2_conn *c)
{
    if (c->n_deferred == 0)
        return;
    uint32_t w = 0;
    for (uint32_t r = 0; r < c->n_slots; r++) {
        h2_req_slot sl = c->slots[r];
        if (sl.release_at != 0 && sl.release_at == c->recv_calls) {
            c->n_deferred--;
            continue;
        }
        c->slots[w++] = sl;
    }
    c->n_slots = w;
}

void h2_conn_slots_free(h2_conn *c)
{
    h2_mem_free(c->mem, c->slots);
    c->slots = NULL;
    c->n_slots = c->cap_slots = 0;
}

int h2_conn_request_done(h2_conn *c, uint32_t id)
{
    if (c == NULL)
        return H2_EINVAL;
    uint32_t i = slot_find(c, id);
    if (i == c->n_slots)
        return H2_ENOSTREAM;
    slot_remove(c, i);
    return 0;
}
