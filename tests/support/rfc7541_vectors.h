/*
 * The examples of RFC 7541 Appendix C.2 to C.6, shared by the HPACK tests:
 * for each, its section, its encoding in hex, the dynamic table size after
 * it and the header list it carries.
 */
#ifndef H2_TESTS_SUPPORT_RFC7541_VECTORS_H
#define H2_TESTS_SUPPORT_RFC7541_VECTORS_H

#include <stddef.h>

typedef struct rfc7541_nv {
    const char *name;
    const char *value;
} rfc7541_nv;

typedef struct rfc7541_case {
    const char *id;  /* "C.2.1" ... "C.6.3" */
    const char *hex; /* the header block */
    size_t table_size;
    size_t n;
    rfc7541_nv fields[8];
} rfc7541_case;

extern const rfc7541_case rfc7541_cases[];
extern const size_t rfc7541_n_cases;

/* The example named |id|; fails the running test when there is none. */
const rfc7541_case *rfc7541_find(const char *id);

#endif /* H2_TESTS_SUPPORT_RFC7541_VECTORS_H */
