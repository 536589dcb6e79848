/*
 * libh2: definitions shared by every public header.
 *
 * H2_API marks the functions exported from libh2.so. Everything else in the
 * library is built with hidden visibility.
 */
#ifndef H2_COMMON_H
#define H2_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__) || defined(__clang__)
#define H2_API __attribute__((visibility("default")))
#define H2_NODISCARD __attribute__((warn_unused_result))
#else
#define H2_API
#define H2_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * @struct
 *
 * Optional allocator hook. Every object that allocates takes a pointer to one
 * of these at creation; NULL means the C library's malloc/realloc/free.
 * libh2 copies the struct, so the caller's copy may go away after the call,
 * but |user_data| must stay valid for as long as any object created with it.
 *
 * |malloc| and |realloc| return NULL on failure; libh2 then fails the call
 * that needed memory with H2_ENOMEM and leaves the object as it was.
 * |free| accepts NULL. None of the three may be NULL.
 */
typedef struct h2_mem {
    void *user_data;
    void *(*malloc)(size_t size, void *user_data);
    void *(*realloc)(void *ptr, size_t size, void *user_data);
    void (*free)(void *ptr, void *user_data);
} h2_mem;

#ifdef __cplusplus
}
#endif

#endif /* H2_COMMON_H */
