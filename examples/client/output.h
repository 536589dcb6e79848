/*
 * h2client: where response bodies go. A URL with -o writes its file as its
 * DATA arrives. Bodies for stdout come out in URL order, never mixed: the
 * first unfinished stdout URL writes through, later ones are held in memory
 * until every stdout URL before them has finished.
 */
#ifndef H2CLIENT_OUTPUT_H
#define H2CLIENT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One URL's body destination. */
typedef struct output_slot {
    const char *path; /* -o FILE, or NULL for stdout; not owned */
    FILE *file;       /* open -o file */
    bool finished;    /* output_finish() was called */
    uint8_t *held;    /* stdout bytes waiting for their turn (malloc'd) */
    size_t held_len;
    size_t held_cap;
    bool failed; /* a write, open or close failed */
    char *error; /* its first message (malloc'd); NULL when memory ran out */
} output_slot;

typedef struct outputs {
    output_slot *slots;
    size_t n;
    size_t head; /* the stdout slot that writes through; n when none is left */
} outputs;

/* Sets up |n| slots; |paths|[i] is URL i's -o file or NULL. Returns 0 or -1 (no memory). */
int outputs_init(outputs *o, size_t n, char *const *paths);

/* Closes files and frees everything. */
void outputs_free(outputs *o);

/* Opens URL |i|'s -o file, truncating it (nothing for stdout). Returns 0 or -1 (error recorded). */
int output_open(outputs *o, size_t i);

/* Writes body bytes of URL |i|. Returns 0, or -1 when a write failed (error recorded). */
int output_write(outputs *o, size_t i, const uint8_t *data, size_t len);

/*
 * URL |i| has no more body: closes its file, or lets the next stdout URLs
 * write what they held. Returns 0, or -1 when closing or a held write failed
 * (recorded on the slot whose bytes failed).
 */
int output_finish(outputs *o, size_t i);

/* The recorded write error of URL |i| (never NULL once one happened), or NULL. */
const char *output_error(const outputs *o, size_t i);

#endif /* H2CLIENT_OUTPUT_H */
