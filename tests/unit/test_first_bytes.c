/*
 * h2server's first-bytes rule on the cleartext port
 * (examples/server/first_bytes.h): HTTP/2 preface, HTTP/1.x request line,
 * or bad preface. Every case is fed whole, byte by byte, and split in two
 * at every offset; the verdict must come at exactly the deciding byte and
 * never change after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>

#include "../../examples/server/first_bytes.h"

typedef struct fb_case {
    const char *name;
    const uint8_t *data;
    size_t len;
    srv_first want;
    size_t at; /* bytes it takes to decide (0 when |want| is SRV_FIRST_MORE) */
} fb_case;

static const char *verdict_name(srv_first v)
{
    switch (v) {
    case SRV_FIRST_MORE:
        return "more";
    case SRV_FIRST_H2:
        return "h2";
    case SRV_FIRST_H1:
        return "h1";
    default:
        return "bad";
    }
}

/* Whole, byte by byte (decided at |at| and not before), and split at every offset. */
static void check_case(const fb_case *c)
{
    srv_first whole = srv_first_classify(c->data, c->len);
    cr_assert_eq(whole, c->want, "%s: whole gives %s, expected %s", c->name, verdict_name(whole),
                 verdict_name(c->want));

    srv_first_bytes s;
    srv_first_init(&s);
    size_t decided = 0;
    for (size_t i = 0; i < c->len; i++) {
        srv_first v = srv_first_feed(&s, c->data + i, 1);
        if (v != SRV_FIRST_MORE && decided == 0)
            decided = i + 1;
        if (decided != 0)
            cr_assert_eq(v, c->want, "%s: byte %zu gives %s after deciding %s", c->name, i,
                         verdict_name(v), verdict_name(c->want));
    }
    cr_assert_eq(decided, c->at, "%s: decided after %zu bytes, expected %zu", c->name, decided,
                 c->at);
    cr_assert_eq(srv_first_feed(&s, NULL, 0), c->want, "%s: an empty feed changed it", c->name);

    for (size_t cut = 0; cut <= c->len; cut++) {
        srv_first_init(&s);
        srv_first a = srv_first_feed(&s, c->data, cut);
        srv_first b = srv_first_feed(&s, c->data + cut, c->len - cut);
        cr_assert_eq(b, c->want, "%s: split at %zu gives %s", c->name, cut, verdict_name(b));
        srv_first first = srv_first_classify(c->data, cut);
        cr_assert_eq(a, first, "%s: the first %zu bytes differ fed alone", c->name, cut);
        cr_assert_eq(a, cut >= c->at && c->at > 0 ? c->want : SRV_FIRST_MORE,
                     "%s: the first %zu bytes give %s", c->name, cut, verdict_name(a));
    }
}

#define TEXT(name, s, want, at)                                                                    \
    {                                                                                              \
        name, (const uint8_t *)(s), sizeof(s) - 1, want, at                                        \
    }

Test(first_bytes, http2_preface)
{
    const fb_case cases[] = {
        TEXT("preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", SRV_FIRST_H2, 24),
        TEXT("preface and SETTINGS",
             "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00", SRV_FIRST_H2,
             24),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

Test(first_bytes, prefixes_of_the_preface_wait)
{
    const char *p = SRV_PREFACE;
    for (size_t n = 0; n < SRV_PREFACE_LEN; n++) {
        cr_assert_eq(srv_first_classify(p, n), SRV_FIRST_MORE, "%zu bytes of the preface", n);
        fb_case c = {"prefix", (const uint8_t *)p, n, SRV_FIRST_MORE, 0};
        check_case(&c);
    }
}

Test(first_bytes, bad_prefaces)
{
    const fb_case cases[] = {
        /* "INVALID " "CONNECTION " then 'P' where "HTTP/1." must start. */
        TEXT("invalid", "INVALID CONNECTION PREFACE\r\n\r\n", SRV_FIRST_BAD, 20),
        /* The preface's first 18 bytes, then 'X' where 'S' belongs. */
        TEXT("damaged tail", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", SRV_FIRST_BAD, 19),
        TEXT("last byte wrong", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", SRV_FIRST_BAD, 24),
        TEXT("PRI as HTTP/1.1", "PRI * HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 12),
        TEXT("PRI with a path", "PRI / HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 5),
        TEXT("HTTP/2.0 request line", "GET / HTTP/2.0\r\n\r\n", SRV_FIRST_BAD, 12),
        TEXT("HTTP/3", "GET / HTTP/3\r\n\r\n", SRV_FIRST_BAD, 12),
        TEXT("lower-case version", "GET / http/1.1\r\n\r\n", SRV_FIRST_BAD, 7),
        TEXT("two-digit minor", "GET / HTTP/1.10\r\n\r\n", SRV_FIRST_BAD, 15),
        TEXT("no minor", "GET / HTTP/1\r\n\r\n", SRV_FIRST_BAD, 13),
        TEXT("bare LF", "GET / HTTP/1.1\n\n", SRV_FIRST_BAD, 15),
        TEXT("space before CRLF", "GET / HTTP/1.1 \r\n\r\n", SRV_FIRST_BAD, 15),
        TEXT("no version", "GET /\r\n\r\n", SRV_FIRST_BAD, 6),
        TEXT("empty line first", "\r\nGET / HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 1),
        TEXT("leading space", " GET / HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 1),
        TEXT("empty target", "GET  / HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 5),
        TEXT("control in target", "GET /a\tb HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 7),
        TEXT("DEL in target", "GET /a\x7f HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 7),
        TEXT("separator in method", "GE(T / HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 3),
        TEXT("TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", SRV_FIRST_BAD, 1),
        TEXT("a frame header", "\x00\x00\x12\x04\x00\x00\x00\x00\x00", SRV_FIRST_BAD, 1),
        TEXT("high bytes", "\xff\xfe\xfd", SRV_FIRST_BAD, 1),
        TEXT("NUL in method", "G\0T / HTTP/1.1\r\n\r\n", SRV_FIRST_BAD, 2),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

Test(first_bytes, http1_request_lines)
{
    const fb_case cases[] = {
        TEXT("GET 1.1", "GET / HTTP/1.1\r\n", SRV_FIRST_H1, 16),
        TEXT("GET 1.0", "GET / HTTP/1.0\r\n", SRV_FIRST_H1, 16),
        TEXT("GET 1.1 with fields", "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", SRV_FIRST_H1, 21),
        TEXT("higher minor", "GET / HTTP/1.2\r\n\r\n", SRV_FIRST_H1, 16),
        TEXT("h2c upgrade", "OPTIONS * HTTP/1.1\r\nUpgrade: h2c\r\n", SRV_FIRST_H1, 20),
        /* Diverge from the preface before "PRI ": the line decides. */
        TEXT("POST", "POST /echo HTTP/1.1\r\n", SRV_FIRST_H1, 21),
        TEXT("PUT", "PUT /x HTTP/1.1\r\n", SRV_FIRST_H1, 17),
        TEXT("PRIX", "PRIX / HTTP/1.1\r\n", SRV_FIRST_H1, 17),
        TEXT("lower-case method", "get / HTTP/1.1\r\n", SRV_FIRST_H1, 16),
        TEXT("token method", "M-SEARCH * HTTP/1.1\r\n", SRV_FIRST_H1, 21),
        TEXT("absolute target", "GET http://a/b HTTP/1.1\r\n", SRV_FIRST_H1, 25),
        TEXT("UTF-8 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n", SRV_FIRST_H1, 21),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

Test(first_bytes, prefixes_of_both_wait)
{
    const char *waiting[] = {"",
                             "P",
                             "PR",
                             "PRI",
                             "PRI ",
                             "PRI *",
                             "PRI * HTTP/2.0\r\n",
                             "PRI * HTTP/2.0\r\n\r\nSM\r\n\r",
                             "G",
                             "GET",
                             "GET ",
                             "GET /",
                             "GET / ",
                             "GET / HTTP/1.",
                             "GET / HTTP/1.1",
                             "GET / HTTP/1.1\r"};
    for (size_t i = 0; i < sizeof(waiting) / sizeof(waiting[0]); i++)
        cr_assert_eq(srv_first_classify(waiting[i], strlen(waiting[i])), SRV_FIRST_MORE,
                     "\"%s\" must wait", waiting[i]);
}

/* "GET /" + |fill| bytes of path + " HTTP/1.1\r\n" (malloc'd). */
static uint8_t *long_line(size_t fill, size_t *len)
{
    *len = 5 + fill + 11;
    uint8_t *b = malloc(*len);
    cr_assert_not_null(b);
    memcpy(b, "GET /", 5);
    memset(b + 5, 'a', fill);
    memcpy(b + 5 + fill, " HTTP/1.1\r\n", 11);
    return b;
}

Test(first_bytes, line_length_limit)
{
    /* A first line of exactly SRV_FIRST_LINE_MAX bytes, CR LF included, is a request line. */
    size_t len;
    uint8_t *fits = long_line(SRV_FIRST_LINE_MAX - 16, &len);
    cr_assert_eq(len, SRV_FIRST_LINE_MAX);
    fb_case ok = {"longest line", fits, len, SRV_FIRST_H1, SRV_FIRST_LINE_MAX};
    check_case(&ok);
    free(fits);
    /* One byte longer: undecided after SRV_FIRST_LINE_MAX bytes, so bad. */
    uint8_t *over = long_line(SRV_FIRST_LINE_MAX - 15, &len);
    fb_case bad = {"line one byte too long", over, len, SRV_FIRST_BAD, SRV_FIRST_LINE_MAX};
    check_case(&bad);
    free(over);
    /* A method that never ends. */
    uint8_t *method = malloc(SRV_FIRST_LINE_MAX + 100);
    cr_assert_not_null(method);
    memset(method, 'A', SRV_FIRST_LINE_MAX + 100);
    fb_case m = {"endless method", method, SRV_FIRST_LINE_MAX + 100, SRV_FIRST_BAD,
                 SRV_FIRST_LINE_MAX};
    check_case(&m);
    free(method);
}

/*
 * Inputs made of the bytes that matter to the rule, in a fixed pseudo-random
 * order: fed byte by byte and split, they must agree with the whole feed.
 */
Test(first_bytes, random_inputs_agree_however_split)
{
    static const char alphabet[] = "PRI * HTTP/1.2.0\r\nGSMx\t";
    uint32_t x = 12345;
    for (int round = 0; round < 2000; round++) {
        uint8_t buf[40];
        size_t len = (size_t)(round % 40);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
        }
        srv_first whole = srv_first_classify(buf, len);
        srv_first_bytes s;
        srv_first_init(&s);
        size_t at = 0;
        for (size_t i = 0; i < len && at == 0; i++)
            if (srv_first_feed(&s, buf + i, 1) != SRV_FIRST_MORE)
                at = i + 1;
        fb_case c = {"random", buf, len, whole, at};
        check_case(&c);
    }
}
