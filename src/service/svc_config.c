/*
 * Service: the versioned configurations (the ABI policy in h2/version.h).
 * Every call that takes an h2_svc_config or an h2_svc_conn_config reads
 * it through an import here, into this library's layout with defaults for
 * the fields the application's layout lacks. A listener also keeps the
 * application's own layout, so that its accept callback sees the struct
 * it was compiled with.
 */
#include <stdalign.h>
#include <string.h>

#include "core/abi.h"
#include "h2/errors.h"
#include "service/svc_config.h"

/* Where |conn| starts, and where the fields after it start in this library. */
#define CONN_OFF offsetof(h2_svc_conn_config, conn)
#define TAIL_OFF offsetof(h2_svc_conn_config, queue)
#define PTR_ALIGN alignof(h2_svc_queue *)

/* The fields after |conn| are found from |conn.size|; that holds only if
 * none of them needs more alignment than the pointer that starts them. */
_Static_assert(alignof(h2_svc_conn_config) <= PTR_ALIGN, "tail alignment");

/* No layout may end in padding (the ABI policy in h2/version.h). */
_Static_assert(sizeof(h2_svc_conn_config) == offsetof(h2_svc_conn_config, reserved_) +
                                                 sizeof(((h2_svc_conn_config *)0)->reserved_),
               "h2_svc_conn_config ends in padding");
_Static_assert(sizeof(h2_svc_config) == offsetof(h2_svc_config, reserved_) +
                                                sizeof(((h2_svc_config *)0)->reserved_),
               "h2_svc_config ends in padding");

/* Offset of the fields after |conn| in a layout whose |conn| has |conn_size| bytes. */
static size_t tail_offset(size_t conn_size)
{
    size_t end = CONN_OFF + conn_size;
    return (end + PTR_ALIGN - 1) / PTR_ALIGN * PTR_ALIGN;
}

static size_t read_size(const void *p)
{
    size_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

int svc_service_config_import(h2_svc_config *dst, const h2_svc_config *src)
{
    if (src == NULL || src->size < H2_SVC_CONFIG_MIN_SIZE)
        return H2_EINVAL;
    svc_service_config_defaults(dst);
    h2_abi_import(dst, sizeof(*dst), src, src->size);
    dst->size = sizeof(*dst);
    return 0;
}

/* The application's layout: |size| and |conn.size| consistent. */
static bool layout_ok(size_t size, size_t conn_size)
{
    return size >= H2_SVC_CONN_CONFIG_MIN_SIZE && conn_size >= H2_CONN_CONFIG_MIN_SIZE &&
           conn_size <= size - CONN_OFF;
}

int svc_conn_config_import(h2_svc_conn_config *dst, const h2_svc_conn_config *src)
{
    if (src == NULL || src->size < H2_SVC_CONN_CONFIG_MIN_SIZE)
        return H2_EINVAL;
    size_t size = src->size;
    size_t conn_size = src->conn.size;
    if (!layout_ok(size, conn_size))
        return H2_EINVAL;
    svc_conn_config_defaults(dst, src->conn.role);
    if (h2_conn_config_import(&dst->conn, &src->conn) != 0)
        return H2_EINVAL;
    size_t tail = tail_offset(conn_size);
    if (size > tail)
        h2_abi_import((unsigned char *)dst + TAIL_OFF, sizeof(*dst) - TAIL_OFF,
                      (const unsigned char *)src + tail, size - tail);
    dst->size = sizeof(*dst);
    return 0;
}

/*
 * Writes |cfg| (this library's layout) over |raw|, an application's layout
 * given by its own |size| and |conn.size|, which are kept, as are the bytes
 * of fields this library does not know.
 */
static void conn_config_export(unsigned char *raw, const h2_svc_conn_config *cfg)
{
    size_t size = read_size(raw);
    size_t conn_size = read_size(raw + CONN_OFF);
    size_t n = conn_size < sizeof(cfg->conn) ? conn_size : sizeof(cfg->conn);
    memcpy(raw + CONN_OFF + sizeof(size_t), (const unsigned char *)&cfg->conn + sizeof(size_t),
           n - sizeof(size_t));
    size_t tail = tail_offset(conn_size);
    if (size > tail) {
        size_t have = sizeof(*cfg) - TAIL_OFF;
        memcpy(raw + tail, (const unsigned char *)cfg + TAIL_OFF,
               size - tail < have ? size - tail : have);
    }
}

void h2_svc_config_init_size(h2_svc_config *cfg, size_t size)
{
    if (cfg == NULL || size < sizeof(size_t))
        return;
    h2_svc_config full;
    svc_service_config_defaults(&full);
    memcpy(cfg, &full, size < sizeof(full) ? size : sizeof(full));
    cfg->size = size;
}

void h2_svc_conn_config_init_size(h2_svc_conn_config *cfg, size_t size, size_t conn_size,
                                  h2_role role)
{
    if (cfg == NULL || !layout_ok(size, conn_size))
        return;
    h2_svc_conn_config full;
    svc_conn_config_defaults(&full, role);
    unsigned char *raw = (unsigned char *)cfg;
    memcpy(raw, &size, sizeof(size));
    memcpy(raw + CONN_OFF, &conn_size, sizeof(conn_size));
    conn_config_export(raw, &full);
}

/* Bytes of one copy of a layout of |size| bytes, rounded for the next one. */
static size_t copy_bytes(size_t size)
{
    return (size + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
}

size_t svc_listener_alloc_size(const h2_svc_conn_config *given)
{
    return sizeof(svc_listener) + 2 * copy_bytes(given->size);
}

void svc_listener_keep_layout(svc_listener *l, const h2_svc_conn_config *given)
{
    size_t size = given->size;
    l->cfg_raw = (unsigned char *)(l + 1);
    l->cfg_scratch = l->cfg_raw + copy_bytes(size);
    memcpy(l->cfg_raw, given, size);
    conn_config_export(l->cfg_raw, &l->cfg);
}

int svc_listener_config(svc_listener *l, int fd, h2_svc_conn_config *cfg)
{
    if (l->on_accept == NULL) {
        *cfg = l->cfg;
        return 0;
    }
    size_t size = read_size(l->cfg_raw);
    memcpy(l->cfg_scratch, l->cfg_raw, size);
    int rv = l->on_accept(l->accept_user, fd, (h2_svc_conn_config *)(void *)l->cfg_scratch);
    if (rv < 0)
        return rv;
    /* The callback must leave both sizes alone; if it did not, the layout
     * cannot be read and the connection is refused. */
    if (read_size(l->cfg_scratch) != size ||
        !layout_ok(size, read_size(l->cfg_scratch + CONN_OFF)))
        return H2_EINVAL;
    return svc_conn_config_import(cfg, (const h2_svc_conn_config *)(void *)l->cfg_scratch);
}
