/* The frame trace hook: received frames, and sent frames parsed from the output. */
#include <string.h>
#include "core/conn_internal.h"
#include "core/mem.h"

static void emit(h2_trace_fn fn, void *user, int dir, const h2_frame_hd *hd, const uint8_t *payload)
{
    h2_frame_trace t = {dir,        hd->type,
                        hd->flags,  hd->stream_id & H2_MAX_STREAM_ID,
                        hd->length, hd->length > 0 ? payload : NULL};
    fn(user, &t);
}

void h2_conn_trace_received(h2_conn *c, const h2_frame_hd *hd, const uint8_t *payload)
{
    emit(c->cfg.trace, c->cfg.trace_user, H2_TRACE_RECEIVED, hd, payload);
}

/* The current sent frame is complete. */
static void sent_done(h2_trace_out *t)
{
    h2_frame_hd hd;
    h2_frame_hd_unpack(&hd, t->hd);
    emit(t->fn, t->user, H2_TRACE_SENT, &hd, t->split ? NULL : t->payload);
    t->hd_len = 0;
    t->split = false;
    t->payload = NULL;
}

/* Output tap: |n| bytes at |p| were just queued, after everything before them. */
void h2_obuf_tap(h2_trace_out *t, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (t->skip > 0) {
            size_t k = n < t->skip ? n : t->skip;
            t->skip = (uint8_t)(t->skip - k);
            p += k;
            n -= k;
        } else if (t->hd_len < H2_FRAME_HEADER_LEN) {
            size_t k = H2_FRAME_HEADER_LEN - t->hd_len;
            if (k > n)
                k = n;
            memcpy(t->hd + t->hd_len, p, k);
            t->hd_len = (uint8_t)(t->hd_len + k);
            p += k;
            n -= k;
            if (t->hd_len == H2_FRAME_HEADER_LEN) {
                h2_frame_hd hd;
                h2_frame_hd_unpack(&hd, t->hd);
                t->left = hd.length;
                if (t->left == 0)
                    sent_done(t);
            }
        } else {
            size_t k = n < t->left ? n : t->left;
            if (t->payload == NULL && !t->split && k == t->left)
                t->payload = p;
            else
                t->split = true;
            t->left -= (uint32_t)k;
            p += k;
            n -= k;
            if (t->left == 0)
                sent_done(t);
        }
    }
}

int h2_conn_trace_init(h2_conn *c)
{
    if (c->cfg.trace == NULL)
        return 0;
    /* the tracer hangs off the segment records, made now */
    if (h2_obuf_reserve_segs(&c->out, c->mem, 0) != 0)
        return H2_ENOMEM;
    h2_trace_out *t = h2_mem_calloc(c->mem, 1, sizeof(*t));
    if (t == NULL)
        return H2_ENOMEM;
    t->fn = c->cfg.trace;
    t->user = c->cfg.trace_user;
    t->skip = h2_conn_is_client(c) ? (uint8_t)H2_CLIENT_PREFACE_LEN : 0;
    c->out.segs->tap = t;
    return 0;
}
