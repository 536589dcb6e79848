/*
 * libh2 version.
 *
 * The ABI policy
 * --------------
 * Releases with the same major version are ABI compatible; the shared
 * library's soname is libh2.so.<major>. New functions may appear in minor
 * releases; nothing is removed or changed before the next major one.
 *
 * Public structs fall in four groups.
 *
 * 1. Versioned input structs, filled by the application and read by the
 *    library: h2_conn_config, h2_svc_config, h2_svc_conn_config (and
 *    the h2_conn_config inside it). Each starts with a |size_t size| that
 *    its *_init() function sets to sizeof the struct as the application
 *    was compiled; always call the init function, then change fields. The
 *    init functions are inline wrappers that pass that sizeof to the
 *    library's *_init_size(), which writes no byte past it.
 *    Every function that takes such a struct reads it through one import
 *    step: a private copy is filled with the defaults, then the first
 *    min(size, sizeof as the library was compiled) bytes of the
 *    application's struct are copied over it. So:
 *      - fields past the application's |size| (added by a later release)
 *        take their defaults, and the library never reads a byte past
 *        |size|;
 *      - a |size| below the struct's H2_..._MIN_SIZE (0 included: a struct
 *        not filled by its init function) is refused with H2_EINVAL;
 *      - a |size| above the library's own (a program built against a newer
 *        release, run with an older library) is accepted: the fields the
 *        library does not know are ignored, so the program gets the older
 *        behaviour for them.
 *    In h2_svc_conn_config the fields after |conn| are found from
 *    |conn.size| (at the first pointer-aligned offset past |conn|), so
 *    h2_conn_config may grow without moving them for older programs. The
 *    configuration the library hands to an h2_svc_accept_fn has the layout
 *    of the one given to h2_svc_listen().
 *
 * 2. Versioned output structs, filled by the library in the caller's
 *    memory: h2_conn_stats, h2_svc_queue_stats, h2_svc_worker_stats. The
 *    caller sets |size| (first field) to sizeof the struct before the call;
 *    the library writes at most min(size, its own sizeof) bytes and leaves
 *    |size| as it was; a |size| below H2_..._MIN_SIZE is refused with
 *    H2_EINVAL and nothing is written. Arrays indexed by an enum
 *    (|limit_exceeded|, |timer_expired|) keep their length for the major
 *    version; new entries are counted in appended fields.
 *
 * 3. Structs allocated by the library and only read by the application,
 *    through a pointer: h2_svc_event, h2_frame_trace, and the
 *    h2_conn_stats behind h2_svc_event.core_stats. They may grow at the
 *    end; an application reads the fields it was compiled with.
 *    The h2_svc_conn_state behind h2_svc_event.state (h2_svc_query_state())
 *    is one of them too, and versioned: its first field |size| is set by
 *    the library to its own sizeof, so a program built against a later
 *    release reads a field only when |size| covers it.
 *
 * 4. Frozen structs, whose layout never changes within a major version:
 *    h2_mem, h2_event (handed out as an array), h2_header, h2_setting,
 *    h2_changed_setting, h2_priority,
 *    h2_priority_args, h2_stream_info, h2_conn_error, h2_svc_transport and
 *    h2_svc_conn_stats (embedded in h2_svc_event). They are small value
 *    types, array elements or function tables; a change to one comes as a
 *    new struct with new functions (or, for a transport hook, a new field
 *    of the versioned h2_svc_conn_config).
 *
 * In every versioned struct new fields are only ever appended at the end,
 * each with a default that keeps the earlier behaviour; no field is
 * removed, reordered, resized or given a new meaning before the next
 * major version. An input struct's layout never ends in padding (an
 * explicit reserved field fills it, checked when the library is built),
 * so every byte below an older program's |size| is a field it knew.
 */
#ifndef H2_VERSION_H
#define H2_VERSION_H

#include "h2/common.h"

#define H2_VERSION_MAJOR 0
#define H2_VERSION_MINOR 1
#define H2_VERSION_PATCH 0
/* "MAJOR.MINOR.PATCH", spelled from the three numbers above. */
#define H2_VERSION_STRING                                                                          \
    H2_VERSION_STR_(H2_VERSION_MAJOR) "." H2_VERSION_STR_(H2_VERSION_MINOR) "." H2_VERSION_STR_(   \
        H2_VERSION_PATCH)
#define H2_VERSION_STR_(n) H2_VERSION_STR2_(n)
#define H2_VERSION_STR2_(n) #n
#define H2_VERSION_HEX                                                                             \
    ((H2_VERSION_MAJOR << 16) | (H2_VERSION_MINOR << 8) | (H2_VERSION_PATCH))

#ifdef __cplusplus
extern "C" {
#endif

/* @function Returns H2_VERSION_HEX of the library actually loaded. */
H2_API unsigned h2_version(void);

/* @function Returns H2_VERSION_STRING of the library actually loaded (static storage). */
H2_API const char *h2_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* H2_VERSION_H */
