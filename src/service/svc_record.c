/*
 * Service: allocation of event records and command records. Both are one
 * block: the record (a command begins with an event record) and, after it
 * at a 16-byte boundary, room for what it carries (header fields, payload,
 * counters). Freeing a record frees the whole block.
 */
#include <string.h>

#include "core/mem.h"
#include "service/svc_record.h"
#include "service/svc_retbox.h"

svc_event_rec *svc_rec_alloc(const h2_mem *mem, size_t size, size_t extra, uint8_t **tail)
{
    size_t head = (size + 15u) & ~(size_t)15u;
    if (extra > SIZE_MAX - head)
        return NULL;
    uint8_t *block = h2_mem_malloc(mem, head + extra);
    if (block == NULL)
        return NULL;
    svc_event_rec *rec = (svc_event_rec *)(void *)block;
    memset(rec, 0, size);
    rec->mem = *mem;
    rec->block = block;
    if (tail != NULL)
        *tail = block + head;
    return rec;
}

svc_event_rec *svc_event_alloc(const h2_mem *mem, size_t extra, uint8_t **tail)
{
    return svc_rec_alloc(mem, sizeof(svc_event_rec), extra, tail);
}

void svc_event_free(svc_event_rec *rec)
{
    svc_event_drop_ack(rec);
    h2_mem mem = rec->mem;
    h2_mem_free(&mem, rec->block);
}
