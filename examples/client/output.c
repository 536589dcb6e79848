/*
 * h2client: body destinations (see output.h).
 */
#include "client/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the first error of a slot. */
static void record(output_slot *s, const char *what, int err)
{
    if (s->failed)
        return;
    s->failed = true;
    const char *name = s->path != NULL ? s->path : "stdout";
    size_t size = strlen(what) + strlen(name) + 128;
    s->error = malloc(size);
    if (s->error != NULL)
        snprintf(s->error, size, "%s %s: %s", what, name, strerror(err));
}

int outputs_init(outputs *o, size_t n, char *const *paths)
{
    memset(o, 0, sizeof(*o));
    o->slots = calloc(n > 0 ? n : 1, sizeof(output_slot));
    if (o->slots == NULL)
        return -1;
    o->n = n;
    for (size_t i = 0; i < n; i++)
        o->slots[i].path = paths[i];
    /* The first stdout URL writes through from the start. */
    o->head = n;
    for (size_t i = 0; i < n; i++) {
        if (paths[i] == NULL) {
            o->head = i;
            break;
        }
    }
    return 0;
}

void outputs_free(outputs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        if (o->slots[i].file != NULL)
            fclose(o->slots[i].file);
        free(o->slots[i].held);
        free(o->slots[i].error);
    }
    free(o->slots);
    memset(o, 0, sizeof(*o));
}

int output_open(outputs *o, size_t i)
{
    output_slot *s = &o->slots[i];
    if (s->path == NULL || s->file != NULL)
        return 0;
    s->file = fopen(s->path, "wb");
    if (s->file == NULL) {
        record(s, "cannot open", errno);
        return -1;
    }
    return 0;
}

static int write_stream(output_slot *s, FILE *f, const uint8_t *data, size_t len)
{
    if (len == 0 || s->failed)
        return s->failed ? -1 : 0;
    errno = 0;
    if (fwrite(data, 1, len, f) != len) {
        record(s, "cannot write", errno != 0 ? errno : EIO);
        return -1;
    }
    return 0;
}

/* Appends to a held stdout body. */
static int hold(output_slot *s, const uint8_t *data, size_t len)
{
    if (s->held_len + len > s->held_cap) {
        size_t cap = s->held_cap == 0 ? 65536 : s->held_cap;
        while (cap < s->held_len + len)
            cap *= 2;
        uint8_t *p = realloc(s->held, cap);
        if (p == NULL) {
            record(s, "cannot hold the body for", ENOMEM);
            return -1;
        }
        s->held = p;
        s->held_cap = cap;
    }
    memcpy(s->held + s->held_len, data, len);
    s->held_len += len;
    return 0;
}

int output_write(outputs *o, size_t i, const uint8_t *data, size_t len)
{
    output_slot *s = &o->slots[i];
    if (s->failed)
        return -1;
    if (s->path != NULL) {
        if (s->file == NULL && output_open(o, i) != 0)
            return -1;
        return write_stream(s, s->file, data, len);
    }
    if (i == o->head)
        return write_stream(s, stdout, data, len);
    return hold(s, data, len);
}

int output_finish(outputs *o, size_t i)
{
    output_slot *s = &o->slots[i];
    if (s->finished)
        return 0;
    s->finished = true;
    int rv = 0;
    if (s->path != NULL) {
        if (s->file != NULL) {
            errno = 0;
            if (fclose(s->file) != 0) {
                record(s, "cannot write", errno != 0 ? errno : EIO);
                rv = -1;
            }
            s->file = NULL;
        }
        return s->failed ? -1 : rv;
    }
    if (i != o->head)
        return 0; /* its turn comes when the URLs before it finish */
    /* Pass the turn on: each following stdout URL writes what it held. */
    if (fflush(stdout) != 0)
        record(s, "cannot write", errno != 0 ? errno : EIO);
    if (s->failed)
        rv = -1;
    for (;;) {
        size_t next = o->head + 1;
        while (next < o->n && o->slots[next].path != NULL)
            next++;
        o->head = next;
        if (next >= o->n)
            break;
        output_slot *t = &o->slots[next];
        if (write_stream(t, stdout, t->held, t->held_len) != 0)
            rv = -1;
        free(t->held);
        t->held = NULL;
        t->held_len = t->held_cap = 0;
        if (!t->finished)
            break;
        if (fflush(stdout) != 0 && !t->failed) {
            record(t, "cannot write", errno != 0 ? errno : EIO);
            rv = -1;
        }
    }
    return rv;
}

const char *output_error(const outputs *o, size_t i)
{
    const output_slot *s = &o->slots[i];
    if (!s->failed)
        return NULL;
    return s->error != NULL ? s->error : "cannot write the body (no memory for the message)";
}
