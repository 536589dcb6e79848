/*
 * h2server: the first-bytes rule of the cleartext port.
 *
 * A client on the cleartext port either starts HTTP/2 with prior knowledge
 * (the 24-byte connection preface P = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") or
 * sends an HTTP/1.x request (plain, or asking for an h2c upgrade). The
 * first bytes B decide, by this rule, applied to B as it grows:
 *
 *   1. B is a proper prefix of P: wait for more bytes ("P", "PRI ",
 *      "PRI * HTTP/2.0\r\n" all wait). B begins with all of P: HTTP/2.
 *   2. B begins with "PRI " and then differs from P: a bad preface. PRI is
 *      the method an HTTP/1 parser sees in the preface and nothing else
 *      (RFC 9113 section 11), so "PRI * HTTP/1.1\r\n" is a damaged preface
 *      too, not a request.
 *   3. Otherwise the first line decides. It is an HTTP/1.x request line
 *      when it reads
 *          method SP target SP "HTTP/1." DIGIT CR LF
 *      with method one or more token characters (RFC 9110 section 5.6.2)
 *      and target one or more bytes other than controls, SP and DEL (bytes
 *      0x80 and up pass, as in h1_parse()). The version is case-sensitive
 *      and the minor version one digit: HTTP/1.0 and HTTP/1.1, and a higher
 *      minor such as HTTP/1.2, which an HTTP/1.1 server answers as 1.1
 *      (RFC 9110 section 2.5). That is exactly the request line
 *      h1_parse() accepts. Anything else is a bad preface, decided at the
 *      first byte that cannot continue that grammar: "GET / HTTP/2.0",
 *      "http/1.1", a bare LF, an empty line before the request line, binary
 *      bytes, a missing version ("GET /\r\n").
 *   4. A first line that has not ended (and been decided) within
 *      SRV_FIRST_LINE_MAX bytes, its CR LF included, is a bad preface.
 *
 * The verdict comes at the first byte that settles it and never changes
 * after that: more bytes cannot turn it around. The bytes are fed in any
 * pieces; the verdict depends only on the bytes, not on how they were cut.
 *
 * Header-only and pure (no I/O, no allocation), so that a unit test can
 * include it alone.
 */
#ifndef H2_EXAMPLES_SERVER_FIRST_BYTES_H
#define H2_EXAMPLES_SERVER_FIRST_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SRV_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define SRV_PREFACE_LEN 24u
/* Longest first line (CR LF included) that can be an HTTP/1.x request line. */
#define SRV_FIRST_LINE_MAX 8192u

typedef enum srv_first {
    SRV_FIRST_MORE = 0, /* undecided: feed more bytes */
    SRV_FIRST_H2,       /* the HTTP/2 connection preface */
    SRV_FIRST_H1,       /* an HTTP/1.x request line */
    SRV_FIRST_BAD       /* neither: a connection error of type PROTOCOL_ERROR */
} srv_first;

/* Where the request-line scanner is. */
enum { SRV_FL_METHOD, SRV_FL_TARGET, SRV_FL_VERSION, SRV_FL_BAD };

/* The classifier's state; zero it (or call srv_first_init()) to start. */
typedef struct srv_first_bytes {
    srv_first verdict;
    int part;        /* SRV_FL_*: the part of the request line being read */
    size_t part_len; /* bytes of that part read so far */
    size_t seen;     /* bytes fed and taken so far */
    bool diverged;   /* a byte differed from the preface */
} srv_first_bytes;

static inline void srv_first_init(srv_first_bytes *s)
{
    *s = (srv_first_bytes){.verdict = SRV_FIRST_MORE};
}

static inline bool srv_first_is_tchar(uint8_t ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    static const char others[] = "!#$%&'*+-.^_`|~";
    return memchr(others, ch, sizeof(others) - 1) != NULL;
}

/* One byte of the request line (rule 3): SRV_FIRST_MORE, _H1 or _BAD. */
static inline srv_first srv_first_line_step(srv_first_bytes *s, uint8_t ch)
{
    static const char version[] = "HTTP/1.";
    size_t at = s->part_len++;
    switch (s->part) {
    case SRV_FL_METHOD:
        if (srv_first_is_tchar(ch))
            return SRV_FIRST_MORE;
        if (ch == ' ' && at > 0) {
            s->part = SRV_FL_TARGET;
            s->part_len = 0;
            return SRV_FIRST_MORE;
        }
        break;
    case SRV_FL_TARGET:
        if (ch > 0x20 && ch != 0x7f)
            return SRV_FIRST_MORE;
        if (ch == ' ' && at > 0) {
            s->part = SRV_FL_VERSION;
            s->part_len = 0;
            return SRV_FIRST_MORE;
        }
        break;
    case SRV_FL_VERSION:
        if (at < 7 && ch == (uint8_t)version[at])
            return SRV_FIRST_MORE;
        if (at == 7 && ch >= '0' && ch <= '9')
            return SRV_FIRST_MORE;
        if (at == 8 && ch == '\r')
            return SRV_FIRST_MORE;
        if (at == 9 && ch == '\n')
            return SRV_FIRST_H1;
        break;
    default:
        break;
    }
    s->part = SRV_FL_BAD;
    return SRV_FIRST_BAD;
}

/* One byte: the verdict after it. */
static inline srv_first srv_first_step(srv_first_bytes *s, uint8_t ch)
{
    size_t i = s->seen++;
    /* Rule 3 runs from the first byte; its answer counts once the preface is out. */
    srv_first line = s->part == SRV_FL_BAD ? SRV_FIRST_BAD : srv_first_line_step(s, ch);
    if (!s->diverged) {
        if (i < SRV_PREFACE_LEN && ch == (uint8_t)SRV_PREFACE[i])
            return i + 1 == SRV_PREFACE_LEN ? SRV_FIRST_H2 : SRV_FIRST_MORE;
        s->diverged = true;
        if (i >= 4) /* rule 2: "PRI " and then not the preface */
            return SRV_FIRST_BAD;
    }
    if (line != SRV_FIRST_MORE)
        return line;
    return s->seen >= SRV_FIRST_LINE_MAX ? SRV_FIRST_BAD : SRV_FIRST_MORE; /* rule 4 */
}

/*
 * Feeds |len| bytes at |data| (may be NULL when |len| is 0) and returns the
 * verdict. Bytes after the deciding one are not looked at; once decided,
 * every later call returns the same verdict.
 */
static inline srv_first srv_first_feed(srv_first_bytes *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len && s->verdict == SRV_FIRST_MORE; i++)
        s->verdict = srv_first_step(s, p[i]);
    return s->verdict;
}

/* The verdict for the bytes |data|[0..|len|) seen from the start of a connection. */
static inline srv_first srv_first_classify(const void *data, size_t len)
{
    srv_first_bytes s;
    srv_first_init(&s);
    return srv_first_feed(&s, data, len);
}

#endif
