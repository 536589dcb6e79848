/*
 * Service: an intrusive, singly linked FIFO, written once for every element
 * type that queues (commands, event records, connections). The list is a
 * struct with |head| and |tail| members (both NULL when empty); elements
 * link through a member of their own, so a FIFO never allocates.
 *
 * SVC_FIFO_DEFINE(name, list_t, elem_t, link) defines, for list_t holding
 * elem_t linked through |link|:
 *   name_push(l, e)         appends |e|
 *   name_pop(l)             takes the first element (NULL when empty); its link is NULL
 *   name_unpop(l, e)        puts |e| back in front
 *   name_unlink(l, e, prev) removes |e|, whose predecessor is |prev| (NULL: |e| is first)
 *   name_append(l, from)    moves every element of |from| behind those of |l|
 */
#ifndef H2_SERVICE_SVC_FIFO_H
#define H2_SERVICE_SVC_FIFO_H

#include <stddef.h>

#define SVC_FIFO_DEFINE(name, list_t, elem_t, link)                                               \
    static inline void name##_push(list_t *l, elem_t *e)                                          \
    {                                                                                             \
        e->link = NULL;                                                                           \
        if (l->tail != NULL)                                                                      \
            l->tail->link = e;                                                                    \
        else                                                                                      \
            l->head = e;                                                                          \
        l->tail = e;                                                                              \
    }                                                                                             \
    static inline elem_t *name##_pop(list_t *l)                                                   \
    {                                                                                             \
        elem_t *e = l->head;                                                                      \
        if (e != NULL) {                                                                          \
            l->head = e->link;                                                                    \
            if (l->head == NULL)                                                                  \
                l->tail = NULL;                                                                   \
            e->link = NULL;                                                                       \
        }                                                                                         \
        return e;                                                                                 \
    }                                                                                             \
    static inline void name##_unpop(list_t *l, elem_t *e)                                         \
    {                                                                                             \
        e->link = l->head;                                                                        \
        l->head = e;                                                                              \
        if (l->tail == NULL)                                                                      \
            l->tail = e;                                                                          \
    }                                                                                             \
    static inline void name##_unlink(list_t *l, elem_t *e, elem_t *prev)                          \
    {                                                                                             \
        if (prev != NULL)                                                                         \
            prev->link = e->link;                                                                 \
        else                                                                                      \
            l->head = e->link;                                                                    \
        if (l->tail == e)                                                                         \
            l->tail = prev;                                                                       \
        e->link = NULL;                                                                           \
    }                                                                                             \
    static inline void name##_append(list_t *l, list_t *from)                                     \
    {                                                                                             \
        if (from->head == NULL)                                                                   \
            return;                                                                               \
        if (l->tail != NULL)                                                                      \
            l->tail->link = from->head;                                                           \
        else                                                                                      \
            l->head = from->head;                                                                 \
        l->tail = from->tail;                                                                     \
        from->head = from->tail = NULL;                                                           \
    }

#endif /* H2_SERVICE_SVC_FIFO_H */
