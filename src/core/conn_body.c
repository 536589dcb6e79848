/*
 * h2_conn_send_body(): a body handed over in as many DATA frames as the
 * flow-control windows, the peer's MAX_FRAME_SIZE and the output's
 * high-water mark allow at the moment of the call.
 */
#include "core/conn_internal.h"

/* The checks h2_conn_send_data() makes before it looks at sizes. */
static int check_body_stream(const h2_conn *c, uint32_t id)
{
    int rv = h2_conn_send_ready(c);
    if (rv != 0)
        return rv;
    h2_stream *s;
    rv = h2_conn_find_stream(c, id, &s);
    if (rv != 0)
        return rv;
    if (s->state == H2_SS_HALF_CLOSED_LOCAL || !(s->flags & H2_SF_SENT_FINAL))
        return H2_ESTATE;
    return 0;
}

/* How many bytes the next frame may carry now: 0 when the window is shut. */
static size_t next_chunk(const h2_conn *c, uint32_t id, size_t left)
{
    int32_t window;
    if (h2_conn_send_window(c, id, &window) != 0 || window <= 0)
        return 0;
    size_t n = left;
    if (n > (size_t)window)
        n = (size_t)window;
    size_t max_frame = h2_conn_max_outbound_frame_size(c);
    if (n > max_frame)
        n = max_frame;
    return n;
}

int h2_conn_send_body(h2_conn *c, uint32_t id, const uint8_t *data, size_t len, bool end_stream,
                      size_t *taken)
{
    if (taken != NULL)
        *taken = 0;
    if (c == NULL || taken == NULL || (data == NULL && len > 0))
        return H2_EINVAL;
    int rv = check_body_stream(c, id);
    if (rv != 0)
        return rv;
    if (len == 0)
        return end_stream ? h2_conn_end_stream(c, id) : 0;
    size_t done = 0;
    while (done < len) {
        size_t n = next_chunk(c, id, len - done);
        if (n == 0)
            break;
        if (h2_conn_over_high_water(c)) {
            if (done == 0)
                return H2_ENOBUFS;
            break;
        }
        bool last = end_stream && done + n == len;
        rv = h2_conn_send_data(c, id, data + done, n, last ? H2_SEND_END_STREAM : 0, -1);
        if (rv != 0) {
            *taken = done;
            return rv;
        }
        done += n;
    }
    *taken = done;
    return 0;
}
