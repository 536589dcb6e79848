/* The versioned public structs: importing configurations, exporting counters. */
#include <string.h>
#include "core/abi.h"
#include "h2/errors.h"

/* A layout ending in padding would let a later release put a field where
 * an older program has indeterminate bytes (the ABI policy in h2/version.h). */
_Static_assert(sizeof(h2_conn_config) ==
                   offsetof(h2_conn_config, trace_user) + sizeof(((h2_conn_config *)0)->trace_user),
               "h2_conn_config ends in padding");

void h2_abi_import(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

int h2_abi_export(void *out, const void *full, size_t full_size, size_t min_size)
{
    size_t size;
    memcpy(&size, out, sizeof(size));
    if (size < min_size)
        return H2_EINVAL;
    size_t n = size < full_size ? size : full_size;
    /* The size field stays the caller's own. */
    memcpy((unsigned char *)out + sizeof(size), (const unsigned char *)full + sizeof(size),
           n - sizeof(size));
    return 0;
}

static void conn_config_defaults(h2_conn_config *cfg, h2_role role)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->role = role;
    cfg->validate_inbound_headers = true;
    cfg->normalize_inbound_headers = true;
    cfg->validate_outbound_headers = true;
    cfg->normalize_outbound_headers = true;
    cfg->split_outbound_cookies = false;
    cfg->header_table_size = 4096;
    cfg->enable_push = role == H2_ROLE_CLIENT ? 1 : 0;
    cfg->max_concurrent_streams = 100;
    cfg->initial_window_size = 65535;
    cfg->max_frame_size = 16384;
    cfg->max_header_list_size = 65536;
    cfg->enable_connect_protocol = 0;
    cfg->no_rfc7540_priorities = 0;
    cfg->max_reserved_streams = 100;
    cfg->assumed_peer_max_concurrent_streams = role == H2_ROLE_CLIENT ? 100 : 0;
    cfg->max_send_header_list_size = 65536;
    cfg->connection_window_size = 65535;
    cfg->max_continuation_frames = 9;
    cfg->max_closed_streams = 65536;
    cfg->encoder_table_cap = 4096;
    cfg->output_high_water = 1u << 16;
    cfg->glitch_burst = 10000;
    cfg->glitch_rate = 330;
    cfg->reset_burst = 1000;
    cfg->reset_rate = 33;
    cfg->max_queued_replies = 1000;
    cfg->max_settings_entries = 32;
    cfg->max_header_block_size = 0;
    cfg->max_header_fields = 100;
    cfg->max_header_fields_hard = 1000;
    cfg->max_header_field_size = 0;
    cfg->max_active_requests = 0;
    cfg->explicit_request_done = false;
    cfg->hold_reset_requests = false;
    cfg->max_requests_per_connection = 0;
    cfg->mem = NULL;
}

void h2_conn_config_init_size(h2_conn_config *cfg, size_t size, h2_role role)
{
    if (cfg == NULL || size < sizeof(size_t))
        return;
    h2_conn_config full;
    conn_config_defaults(&full, role);
    memcpy(cfg, &full, size < sizeof(full) ? size : sizeof(full));
    cfg->size = size;
}

int h2_conn_config_import(h2_conn_config *dst, const h2_conn_config *src)
{
    if (src == NULL || src->size < H2_CONN_CONFIG_MIN_SIZE)
        return H2_EINVAL;
    conn_config_defaults(dst, src->role);
    h2_abi_import(dst, sizeof(*dst), src, src->size);
    dst->size = sizeof(*dst);
    return 0;
}
