#!/usr/bin/env python3
"""Writes src/core/huffman_table.c: the HPACK Huffman code tables (RFC 7541 Appendix B).

Usage: python3 tools/gen_huffman.py > src/core/huffman_table.c

Tables written:
  h2_huff_enc[256]      (len << 32) | code, for the encoder's bit accumulator
  h2_huff_enc_len[256]  code length in bits, for measuring an encoding
  h2_huff_dec_fast[]    indexed by the next DEC_BITS bits of input: up to two
                        whole symbols that fit in those bits (see huffman.h)
  h2_huff_dec_limit[]   canonical decoding of longer codes: for each length L,
                        the first left-aligned 32-bit pattern past the codes of
                        length L
  h2_huff_dec_first[]   first code of each length
  h2_huff_dec_offset[]  position in h2_huff_dec_sym of the first symbol of each length
  h2_huff_dec_sym[]     symbols sorted by (length, symbol)
"""

import sys

DEC_BITS = 12

# (code, length) for symbols 0..256, 256 being EOS. From RFC 7541 Appendix B.
CODES = [
    (0x1ff8, 13), (0x7fffd8, 23), (0xfffffe2, 28), (0xfffffe3, 28), (0xfffffe4, 28),
    (0xfffffe5, 28), (0xfffffe6, 28), (0xfffffe7, 28), (0xfffffe8, 28), (0xffffea, 24),
    (0x3ffffffc, 30), (0xfffffe9, 28), (0xfffffea, 28), (0x3ffffffd, 30), (0xfffffeb, 28),
    (0xfffffec, 28), (0xfffffed, 28), (0xfffffee, 28), (0xfffffef, 28), (0xffffff0, 28),
    (0xffffff1, 28), (0xffffff2, 28), (0x3ffffffe, 30), (0xffffff3, 28), (0xffffff4, 28),
    (0xffffff5, 28), (0xffffff6, 28), (0xffffff7, 28), (0xffffff8, 28), (0xffffff9, 28),
    (0xffffffa, 28), (0xffffffb, 28), (0x14, 6), (0x3f8, 10), (0x3f9, 10), (0xffa, 12),
    (0x1ff9, 13), (0x15, 6), (0xf8, 8), (0x7fa, 11), (0x3fa, 10), (0x3fb, 10), (0xf9, 8),
    (0x7fb, 11), (0xfa, 8), (0x16, 6), (0x17, 6), (0x18, 6), (0x0, 5), (0x1, 5), (0x2, 5),
    (0x19, 6), (0x1a, 6), (0x1b, 6), (0x1c, 6), (0x1d, 6), (0x1e, 6), (0x1f, 6), (0x5c, 7),
    (0xfb, 8), (0x7ffc, 15), (0x20, 6), (0xffb, 12), (0x3fc, 10), (0x1ffa, 13), (0x21, 6),
    (0x5d, 7), (0x5e, 7), (0x5f, 7), (0x60, 7), (0x61, 7), (0x62, 7), (0x63, 7), (0x64, 7),
    (0x65, 7), (0x66, 7), (0x67, 7), (0x68, 7), (0x69, 7), (0x6a, 7), (0x6b, 7), (0x6c, 7),
    (0x6d, 7), (0x6e, 7), (0x6f, 7), (0x70, 7), (0x71, 7), (0x72, 7), (0xfc, 8), (0x73, 7),
    (0xfd, 8), (0x1ffb, 13), (0x7fff0, 19), (0x1ffc, 13), (0x3ffc, 14), (0x22, 6), (0x7ffd, 15),
    (0x3, 5), (0x23, 6), (0x4, 5), (0x24, 6), (0x5, 5), (0x25, 6), (0x26, 6), (0x27, 6), (0x6, 5),
    (0x74, 7), (0x75, 7), (0x28, 6), (0x29, 6), (0x2a, 6), (0x7, 5), (0x2b, 6), (0x76, 7),
    (0x2c, 6), (0x8, 5), (0x9, 5), (0x2d, 6), (0x77, 7), (0x78, 7), (0x79, 7), (0x7a, 7),
    (0x7b, 7), (0x7ffe, 15), (0x7fc, 11), (0x3ffd, 14), (0x1ffd, 13), (0xffffffc, 28),
    (0xfffe6, 20), (0x3fffd2, 22), (0xfffe7, 20), (0xfffe8, 20), (0x3fffd3, 22), (0x3fffd4, 22),
    (0x3fffd5, 22), (0x7fffd9, 23), (0x3fffd6, 22), (0x7fffda, 23), (0x7fffdb, 23),
    (0x7fffdc, 23), (0x7fffdd, 23), (0x7fffde, 23), (0xffffeb, 24), (0x7fffdf, 23),
    (0xffffec, 24), (0xffffed, 24), (0x3fffd7, 22), (0x7fffe0, 23), (0xffffee, 24),
    (0x7fffe1, 23), (0x7fffe2, 23), (0x7fffe3, 23), (0x7fffe4, 23), (0x1fffdc, 21),
    (0x3fffd8, 22), (0x7fffe5, 23), (0x3fffd9, 22), (0x7fffe6, 23), (0x7fffe7, 23),
    (0xffffef, 24), (0x3fffda, 22), (0x1fffdd, 21), (0xfffe9, 20), (0x3fffdb, 22), (0x3fffdc, 22),
    (0x7fffe8, 23), (0x7fffe9, 23), (0x1fffde, 21), (0x7fffea, 23), (0x3fffdd, 22),
    (0x3fffde, 22), (0xfffff0, 24), (0x1fffdf, 21), (0x3fffdf, 22), (0x7fffeb, 23),
    (0x7fffec, 23), (0x1fffe0, 21), (0x1fffe1, 21), (0x3fffe0, 22), (0x1fffe2, 21),
    (0x7fffed, 23), (0x3fffe1, 22), (0x7fffee, 23), (0x7fffef, 23), (0xfffea, 20), (0x3fffe2, 22),
    (0x3fffe3, 22), (0x3fffe4, 22), (0x7ffff0, 23), (0x3fffe5, 22), (0x3fffe6, 22),
    (0x7ffff1, 23), (0x3ffffe0, 26), (0x3ffffe1, 26), (0xfffeb, 20), (0x7fff1, 19),
    (0x3fffe7, 22), (0x7ffff2, 23), (0x3fffe8, 22), (0x1ffffec, 25), (0x3ffffe2, 26),
    (0x3ffffe3, 26), (0x3ffffe4, 26), (0x7ffffde, 27), (0x7ffffdf, 27), (0x3ffffe5, 26),
    (0xfffff1, 24), (0x1ffffed, 25), (0x7fff2, 19), (0x1fffe3, 21), (0x3ffffe6, 26),
    (0x7ffffe0, 27), (0x7ffffe1, 27), (0x3ffffe7, 26), (0x7ffffe2, 27), (0xfffff2, 24),
    (0x1fffe4, 21), (0x1fffe5, 21), (0x3ffffe8, 26), (0x3ffffe9, 26), (0xffffffd, 28),
    (0x7ffffe3, 27), (0x7ffffe4, 27), (0x7ffffe5, 27), (0xfffec, 20), (0xfffff3, 24),
    (0xfffed, 20), (0x1fffe6, 21), (0x3fffe9, 22), (0x1fffe7, 21), (0x1fffe8, 21), (0x7ffff3, 23),
    (0x3fffea, 22), (0x3fffeb, 22), (0x1ffffee, 25), (0x1ffffef, 25), (0xfffff4, 24),
    (0xfffff5, 24), (0x3ffffea, 26), (0x7ffff4, 23), (0x3ffffeb, 26), (0x7ffffe6, 27),
    (0x3ffffec, 26), (0x3ffffed, 26), (0x7ffffe7, 27), (0x7ffffe8, 27), (0x7ffffe9, 27),
    (0x7ffffea, 27), (0x7ffffeb, 27), (0xffffffe, 28), (0x7ffffec, 27), (0x7ffffed, 27),
    (0x7ffffee, 27), (0x7ffffef, 27), (0x7fffff0, 27), (0x3ffffee, 26), (0x3fffffff, 30),
]

MAX_LEN = 30


def check_canonical():
    """The decoder relies on the code being canonical; refuse to emit otherwise."""
    order = sorted(range(257), key=lambda s: (CODES[s][1], s))
    code = 0
    prev_len = CODES[order[0]][1]
    for i, sym in enumerate(order):
        c, n = CODES[sym]
        if i:
            code = (code + 1) << (n - prev_len)
        prev_len = n
        if c != code:
            sys.exit("gen_huffman: code is not canonical at symbol %d" % sym)
    return order


def fast_entry(prefix):
    """Decodes up to two whole symbols from the DEC_BITS-bit |prefix|."""
    syms = []
    lens = []
    used = 0
    while len(syms) < 2:
        found = None
        for n in range(5, DEC_BITS - used + 1):
            c = (prefix >> (DEC_BITS - used - n)) & ((1 << n) - 1)
            s = BY_CODE.get((c, n))
            if s is not None:
                found = (s, n)
                break
        if found is None or found[0] == 256:
            break
        syms.append(found[0])
        lens.append(found[1])
        used += found[1]
    if not syms:
        return 0
    sym1 = syms[0]
    sym2 = syms[1] if len(syms) > 1 else 0
    return used | (sym1 << 8) | (sym2 << 16) | (lens[0] << 24) | (len(syms) << 30)


def emit_array(ctype, name, values, fmt, per_line):
    print("const %s %s[%d] = {" % (ctype, name, len(values)))
    for i in range(0, len(values), per_line):
        chunk = values[i:i + per_line]
        print("    " + " ".join(fmt % v + "," for v in chunk))
    print("};")
    print()


def main():
    order = check_canonical()
    global BY_CODE
    BY_CODE = {(c, n): s for s, (c, n) in enumerate(CODES)}

    print("/* Generated by tools/gen_huffman.py - do not edit. */")
    print("/* HPACK Huffman code tables (RFC 7541 Appendix B); layout in huffman.h. */")
    print('#include "core/huffman.h"')
    print()
    print("_Static_assert(H2_HUFF_DEC_BITS == %d, \"huffman.h and the table disagree\");" % DEC_BITS)
    print()
    emit_array("uint64_t", "h2_huff_enc", [(n << 32) | c for c, n in CODES[:256]],
               "0x%010xu", 5)
    emit_array("uint8_t", "h2_huff_enc_len", [n for _, n in CODES[:256]], "%2d", 16)
    emit_array("uint32_t", "h2_huff_dec_fast",
               [fast_entry(p) for p in range(1 << DEC_BITS)], "0x%08xu", 7)

    limit = [0] * (MAX_LEN + 1)
    first = [0] * (MAX_LEN + 1)
    offset = [0] * (MAX_LEN + 1)
    count = [0] * (MAX_LEN + 1)
    for s in range(257):
        count[CODES[s][1]] += 1
    code = 0
    pos = 0
    for n in range(1, MAX_LEN + 1):
        code <<= 1
        first[n] = code
        offset[n] = pos
        code += count[n]
        pos += count[n]
        limit[n] = code << (32 - n)
    # The all-ones 30-bit pattern is EOS, the last code: the limit of length 30 is 2^32.
    emit_array("uint64_t", "h2_huff_dec_limit", limit, "0x%09xu", 4)
    emit_array("uint32_t", "h2_huff_dec_first", first, "0x%08xu", 6)
    emit_array("uint16_t", "h2_huff_dec_offset", offset, "%3d", 12)
    emit_array("uint16_t", "h2_huff_dec_sym", order, "%3d", 12)


if __name__ == "__main__":
    main()
