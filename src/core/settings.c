/* SETTINGS values, validation and the queue of unacknowledged frames. */
#include <string.h>
#include "core/settings.h"
#include "core/mem.h"

void h2_settings_defaults(h2_settings_vals *s)
{
    memset(s, 0, sizeof(*s));
    h2_settings_put(s, H2_SETTING_HEADER_TABLE_SIZE, 4096);
    h2_settings_put(s, H2_SETTING_ENABLE_PUSH, 1);
    h2_settings_put(s, H2_SETTING_INITIAL_WINDOW_SIZE, 65535);
    h2_settings_put(s, H2_SETTING_MAX_FRAME_SIZE, 16384);
    h2_settings_put(s, H2_SETTING_ENABLE_CONNECT_PROTOCOL, 0);
}

uint32_t h2_settings_check(uint16_t id, uint32_t value, bool from_server)
{
    switch (id) {
    case H2_SETTING_ENABLE_PUSH:
        if (value > 1 || (from_server && value != 0))
            return H2_PROTOCOL_ERROR;
        return H2_NO_ERROR;
    case H2_SETTING_INITIAL_WINDOW_SIZE:
        return value > H2_MAX_WINDOW_SIZE ? H2_FLOW_CONTROL_ERROR : H2_NO_ERROR;
    case H2_SETTING_MAX_FRAME_SIZE:
        return value < 16384 || value > 16777215 ? H2_PROTOCOL_ERROR : H2_NO_ERROR;
    case H2_SETTING_ENABLE_CONNECT_PROTOCOL:
    case H2_SETTING_NO_RFC7540_PRIORITIES:
        return value > 1 ? H2_PROTOCOL_ERROR : H2_NO_ERROR;
    default:
        return H2_NO_ERROR;
    }
}

bool h2_settings_change_allowed(const h2_settings_vals *cur, uint16_t id, uint32_t value,
                                bool first)
{
    uint32_t old = h2_settings_get(cur, id);
    if (id == H2_SETTING_ENABLE_CONNECT_PROTOCOL)
        return !(old == 1 && value == 0);
    if (id == H2_SETTING_NO_RFC7540_PRIORITIES)
        return first || value == (old == H2_SETTING_UNSET ? 0 : old);
    return true;
}

void h2_settings_pending_init(h2_settings_pending *p)
{
    memset(p, 0, sizeof(*p));
}

void h2_settings_pending_free(h2_settings_pending *p, const h2_mem *mem)
{
    h2_mem_free(mem, p->entries);
    memset(p, 0, sizeof(*p));
}

int h2_settings_pending_push(h2_settings_pending *p, const h2_mem *mem, const h2_setting *e,
                             size_t n)
{
    if (p->n_frames >= H2_SETTINGS_MAX_PENDING || n > H2_SETTINGS_MAX_PER_FRAME)
        return H2_EAGAIN;
    if (p->n_entries + n > p->cap) {
        size_t cap = p->cap == 0 ? 8 : p->cap;
        while (cap < p->n_entries + n)
            cap *= 2;
        h2_setting *ne = h2_mem_realloc(mem, p->entries, cap * sizeof(*ne));
        if (ne == NULL)
            return H2_ENOMEM;
        p->entries = ne;
        p->cap = cap;
    }
    if (n > 0)
        memcpy(p->entries + p->n_entries, e, n * sizeof(*e));
    p->n_entries += n;
    p->counts[p->n_frames++] = (uint8_t)n;
    return 0;
}

int h2_settings_pending_pop(h2_settings_pending *p, const h2_mem *mem, h2_setting *out)
{
    if (p->n_frames == 0)
        return -1;
    size_t n = p->counts[0];
    if (n > 0)
        memcpy(out, p->entries, n * sizeof(*out));
    memmove(p->counts, p->counts + 1, (size_t)(p->n_frames - 1));
    p->n_frames--;
    p->n_entries -= n;
    if (p->n_entries > 0)
        memmove(p->entries, p->entries + n, p->n_entries * sizeof(*p->entries));
    if (p->n_frames == 0) {
        h2_mem_free(mem, p->entries);
        p->entries = NULL;
        p->cap = 0;
        p->n_entries = 0;
    }
    return (int)n;
}
