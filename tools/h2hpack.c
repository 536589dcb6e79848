/*
 * h2hpack: runs libh2's HPACK decoder or encoder over a story file in the
 * hpack-test-case JSON format and prints the resulting story as JSON.
 *
 *   h2hpack decode STORY.json   decode every case's "wire", print "headers"
 *   h2hpack encode STORY.json   encode every case's "headers", print "wire"
 *
 * All cases of a story share one compression context, as the format
 * requires. Names and values are handled as byte strings: their lengths come
 * from the JSON string lengths, so embedded NUL bytes survive.
 *
 * Exit status: 0 on success, 1 on bad input or a decoding error (with a
 * message on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "h2/h2.h"

#define PROG "h2hpack"

enum mode { MODE_DECODE, MODE_ENCODE };

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " decode STORY.json\n"
               "       " PROG " encode STORY.json\n"
               "       " PROG " --help\n"
               "\n"
               "Reads a story in the hpack-test-case JSON format and prints it back as JSON.\n"
               "  decode  decodes each case's \"wire\" in order with one decoder (honouring\n"
               "          \"header_table_size\") and replaces \"headers\" with the result.\n"
               "  encode  encodes each case's \"headers\" in order with one encoder (table\n"
               "          cap 4096, honouring \"header_table_size\") and sets \"wire\" to the\n"
               "          output in lowercase hex.\n"
               "Exit status: 0 on success, 1 on bad input or an HPACK error, 2 on bad usage.\n");
}

static void fail(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(const char *path, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, PROG ": %s: ", path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Decodes |len| hex characters into a new buffer (*out, *out_len).
 * Returns 0, or the offset + 1 of the first bad character (or len + 1 for an
 * odd length); -1 when out of memory.
 */
static long hex_decode(const char *hex, size_t len, uint8_t **out, size_t *out_len)
{
    if (len % 2 != 0) {
        return (long)len + 1;
    }
    uint8_t *buf = malloc(len / 2 + 1);
    if (buf == NULL) {
        return -1;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit(hex[i]);
        int lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return (long)(hi < 0 ? i : i + 1) + 1;
        }
        buf[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out = buf;
    *out_len = len / 2;
    return 0;
}

static char *hex_encode(const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(len * 2 + 1);
    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        s[2 * i] = digits[in[i] >> 4];
        s[2 * i + 1] = digits[in[i] & 0xf];
    }
    s[len * 2] = '\0';
    return s;
}

/*
 * Reads the optional "header_table_size" of case |i|: 1 present, 0 absent
 * (or null, which some stories write for "not sent"), -1 bad.
 */
static int get_table_size(const char *path, size_t i, json_t *c, size_t *size)
{
    json_t *v = json_object_get(c, "header_table_size");
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (unsigned long long)json_integer_value(v) > UINT32_MAX) {
        fail(path, "case %zu: \"header_table_size\" must be an integer in [0, 2^32-1]", i);
        return -1;
    }
    *size = (size_t)json_integer_value(v);
    return 1;
}

/*
 * Builds the output case: "seqno" (from the input, or the index), then
 * "header_table_size" when present, "wire", "headers", then any other field
 * of the input case unchanged. Takes the references to |wire| and |headers|.
 */
static json_t *make_case(json_t *in, size_t i, json_t *wire, json_t *headers)
{
    json_t *out = json_object();
    json_t *seqno = json_object_get(in, "seqno");
    json_t *ts = json_object_get(in, "header_table_size");
    int rv = 0;
    if (out == NULL) {
        json_decref(wire);
        json_decref(headers);
        return NULL;
    }
    rv |=
        json_object_set_new(out, "seqno", seqno ? json_incref(seqno) : json_integer((json_int_t)i));
    if (ts != NULL) {
        rv |= json_object_set(out, "header_table_size", ts);
    }
    rv |= json_object_set_new(out, "wire", wire);
    rv |= json_object_set_new(out, "headers", headers);
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (json_object_get(out, key) == NULL) {
            rv |= json_object_set(out, key, v);
        }
    }
    if (rv != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Returns the decoded headers of one case as a JSON array, or NULL (message printed). */
static json_t *headers_to_json(const char *path, size_t i, const h2_header *h, size_t n)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        fail(path, "out of memory");
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        json_t *obj = json_object();
        json_t *val = json_stringn((const char *)h[k].value, h[k].value_len);
        if (obj == NULL || val == NULL ||
            json_object_setn_new(obj, (const char *)h[k].name, h[k].name_len, val) != 0) {
            if (val == NULL) {
                fail(path,
                     "case %zu: header %zu: decoded value is not valid UTF-8 and "
                     "cannot be written as a JSON string",
                     i, k);
            } else {
                fail(path,
                     "case %zu: header %zu: decoded name is not valid UTF-8 and "
                     "cannot be written as a JSON string",
                     i, k);
            }
            json_decref(obj);
            json_decref(arr);
            return NULL;
        }
        if (json_array_append_new(arr, obj) != 0) {
            fail(path, "out of memory");
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *decode_case(const char *path, size_t i, json_t *c, h2_hpack_decoder *dec)
{
    json_t *wire = json_object_get(c, "wire");
    size_t ts;
    int has_ts = get_table_size(path, i, c, &ts);
    if (has_ts < 0) {
        return NULL;
    }
    if (!json_is_string(wire)) {
        fail(path, "case %zu: \"wire\" must be a string of hex digits", i);
        return NULL;
    }
    uint8_t *block = NULL;
    size_t block_len = 0;
    long bad = hex_decode(json_string_value(wire), json_string_length(wire), &block, &block_len);
    if (bad < 0) {
        fail(path, "out of memory");
        return NULL;
    }
    if (bad > 0) {
        if ((size_t)bad == json_string_length(wire) + 1) {
            fail(path, "case %zu: \"wire\" has an odd number of hex digits", i);
        } else {
            fail(path, "case %zu: \"wire\" has a bad hex digit at offset %ld", i, bad - 1);
        }
        return NULL;
    }
    if (has_ts) {
        int rv = h2_hpack_decoder_set_max_table_size(dec, ts);
        if (rv != 0) {
            fail(path, "case %zu: setting header table size %zu: %s", i, ts, h2_strerror(rv));
            free(block);
            return NULL;
        }
    }
    const h2_header *fields = NULL;
    size_t n = 0;
    int rv = h2_hpack_decode(dec, block, block_len, &fields, &n);
    free(block);
    if (rv != 0) {
        fail(path, "case %zu: HPACK decode error: %s (%s)", i, h2_errname(rv), h2_strerror(rv));
        return NULL;
    }
    json_t *headers = headers_to_json(path, i, fields, n);
    h2_hpack_decoder_reset_output(dec);
    if (headers == NULL) {
        return NULL;
    }
    json_t *out = make_case(c, i, json_incref(wire), headers);
    if (out == NULL) {
        fail(path, "out of memory");
    }
    return out;
}

/* Fills |*fields| from a case's "headers"; pointers refer into the JSON strings. */
static int read_headers(const char *path, size_t i, json_t *c, h2_header **fields, size_t *n)
{
    json_t *headers = json_object_get(c, "headers");
    if (!json_is_array(headers)) {
        fail(path, "case %zu: \"headers\" must be an array", i);
        return -1;
    }
    size_t count = json_array_size(headers);
    h2_header *f = calloc(count + 1, sizeof(*f));
    if (f == NULL) {
        fail(path, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        json_t *h = json_array_get(headers, k);
        if (!json_is_object(h) || json_object_size(h) != 1) {
            fail(path, "case %zu: header %zu must be an object with exactly one member", i, k);
            free(f);
            return -1;
        }
        void *it = json_object_iter(h);
        json_t *v = json_object_iter_value(it);
        if (!json_is_string(v)) {
            fail(path, "case %zu: header %zu: the value must be a string", i, k);
            free(f);
            return -1;
        }
        f[k].name = (const uint8_t *)json_object_iter_key(it);
        f[k].name_len = json_object_iter_key_len(it);
        f[k].value = (const uint8_t *)json_string_value(v);
        f[k].value_len = json_string_length(v);
        f[k].flags = 0;
    }
    *fields = f;
    *n = count;
    return 0;
}

static json_t *encode_case(const char *path, size_t i, json_t *c, h2_hpack_encoder *enc)
{
    size_t ts;
    int has_ts = get_table_size(path, i, c, &ts);
    if (has_ts < 0) {
        return NULL;
    }
    h2_header *fields;
    size_t n;
    if (read_headers(path, i, c, &fields, &n) != 0) {
        return NULL;
    }
    if (has_ts) {
        int rv = h2_hpack_encoder_set_peer_max_table_size(enc, ts);
        if (rv != 0) {
            fail(path, "case %zu: setting header table size %zu: %s", i, ts, h2_strerror(rv));
            free(fields);
            return NULL;
        }
    }
    size_t cap = h2_hpack_encode_bound(enc, fields, n);
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) {
        fail(path, "out of memory");
        free(fields);
        return NULL;
    }
    size_t len = 0;
    int rv = h2_hpack_encode(enc, fields, n, buf, cap, &len);
    free(fields);
    if (rv != 0) {
        fail(path, "case %zu: HPACK encode error: %s (%s)", i, h2_errname(rv), h2_strerror(rv));
        free(buf);
        return NULL;
    }
    char *hex = hex_encode(buf, len);
    free(buf);
    json_t *wire = hex ? json_string(hex) : NULL;
    free(hex);
    if (wire == NULL) {
        fail(path, "out of memory");
        return NULL;
    }
    json_t *out = make_case(c, i, wire, json_incref(json_object_get(c, "headers")));
    if (out == NULL) {
        fail(path, "out of memory");
    }
    return out;
}

/* Processes the whole story; returns the output story or NULL (message printed). */
static json_t *run(const char *path, json_t *story, enum mode mode)
{
    if (!json_is_object(story)) {
        fail(path, "the top level must be a JSON object");
        return NULL;
    }
    json_t *cases = json_object_get(story, "cases");
    if (!json_is_array(cases)) {
        fail(path, "\"cases\" must be an array");
        return NULL;
    }
    h2_hpack_decoder *dec = NULL;
    h2_hpack_encoder *enc = NULL;
    int rv = mode == MODE_DECODE ? h2_hpack_decoder_new(&dec, NULL)
                                 : h2_hpack_encoder_new(&enc, H2_HPACK_DEFAULT_TABLE_SIZE, NULL);
    if (rv != 0) {
        fail(path, "creating the HPACK context: %s", h2_strerror(rv));
        return NULL;
    }
    if (dec != NULL) {
        h2_hpack_decoder_set_limits(dec, 0, 0);
    }
    json_t *out_cases = json_array();
    json_t *out = json_object();
    if (out_cases == NULL || out == NULL) {
        fail(path, "out of memory");
        goto error;
    }
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        if (!json_is_object(c)) {
            fail(path, "case %zu must be a JSON object", i);
            goto error;
        }
        json_t *oc =
            mode == MODE_DECODE ? decode_case(path, i, c, dec) : encode_case(path, i, c, enc);
        if (oc == NULL || json_array_append_new(out_cases, oc) != 0) {
            goto error;
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(story, key, v)
    {
        int r = strcmp(key, "cases") == 0 ? json_object_set(out, key, out_cases)
                                          : json_object_set(out, key, v);
        if (r != 0) {
            fail(path, "out of memory");
            goto error;
        }
    }
    json_decref(out_cases);
    h2_hpack_decoder_free(dec);
    h2_hpack_encoder_free(enc);
    return out;

error:
    json_decref(out_cases);
    json_decref(out);
    h2_hpack_decoder_free(dec);
    h2_hpack_encoder_free(enc);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 3) {
        usage(stderr);
        return 2;
    }
    enum mode mode;
    if (strcmp(argv[1], "decode") == 0) {
        mode = MODE_DECODE;
    } else if (strcmp(argv[1], "encode") == 0) {
        mode = MODE_ENCODE;
    } else {
        fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    const char *path = argv[2];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail(path, "cannot open: %s", strerror(errno));
        return 1;
    }
    json_error_t jerr;
    json_t *story = json_loadf(f, JSON_ALLOW_NUL, &jerr);
    fclose(f);
    if (story == NULL) {
        fail(path, "bad JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return 1;
    }
    json_t *out = run(path, story, mode);
    json_decref(story);
    if (out == NULL) {
        return 1;
    }
    int rv = json_dumpf(out, stdout, JSON_INDENT(2));
    json_decref(out);
    if (rv != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, PROG ": writing the output failed\n");
        return 1;
    }
    return 0;
}
