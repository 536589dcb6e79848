/*
 * RFC 9218 extensible priorities: the Priority header field / PRIORITY_UPDATE
 * field value, a Structured Fields Dictionary (RFC 8941 section 3.2) whose
 * members "u" (urgency, Integer 0..7, default 3) and "i" (incremental,
 * Boolean, default false) a scheduler can act on.
 *
 * Parsing follows RFC 8941 section 4.2.2 for the whole dictionary; unknown
 * keys, parameters, out-of-range values and values of the wrong type are
 * ignored (RFC 9218 section 4). A value that is not a valid dictionary
 * yields the defaults, as the RFC asks of receivers.
 */
#ifndef H2_PRIORITY_H
#define H2_PRIORITY_H

#include "h2/common.h"
#include "h2/errors.h"
#include "h2/hpack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define H2_PRIORITY_DEFAULT_URGENCY 3u
#define H2_PRIORITY_MAX_URGENCY 7u

/* @struct Priority parameters: |urgency| 0 (highest) .. 7, |incremental|. */
typedef struct h2_priority {
    uint8_t urgency;
    bool incremental;
} h2_priority;

/* @function Sets |p| to the defaults (urgency 3, not incremental). */
H2_API void h2_priority_init(h2_priority *p);

/*
 * @function
 *
 * Parses one field value |v| of |len| bytes (surrounding spaces allowed)
 * into |*out|. Members not given keep their default. |v| is only read.
 *
 * Returns 0, H2_EINVAL (|out| NULL, or |v| NULL with a length; |*out|
 * untouched) or H2_EHEADER (not a valid Structured Fields Dictionary;
 * |*out| holds the defaults).
 */
H2_API int h2_priority_parse(const uint8_t *v, size_t len, h2_priority *out);

/*
 * @function
 *
 * The priority of a request or response from its header list: every field
 * named "priority" (lowercase), joined in order as one field value (RFC
 * 9110 section 5.3), parsed as by h2_priority_parse(). No such field gives
 * the defaults and 0. Returns 0, H2_EINVAL or H2_EHEADER as
 * h2_priority_parse().
 */
H2_API int h2_priority_from_headers(const h2_header *fields, size_t n, h2_priority *out);

/*
 * @function
 *
 * Writes the field value for |p| to |out| (|cap| bytes, NUL-terminated):
 * members equal to their default are left out, so the defaults give "".
 * Examples: "u=0", "i", "u=5, i". At most 9 bytes with the NUL.
 *
 * Returns the length without the NUL, H2_EINVAL (a NULL pointer or an
 * urgency above 7) or H2_ENOBUFS (|cap| too small).
 */
H2_API int h2_priority_format(const h2_priority *p, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* H2_PRIORITY_H */
