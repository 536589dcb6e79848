#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Frames are built here byte by byte; header blocks use a small HPACK writer
(static-table references, literals with and without indexing, a dynamic
table reference). The HPACK seeds are converted from the hpack-test-case
stories in tests/data/hpack-test-case. Run from the repository root:
    python3 fuzz/make_corpus.py [path-to-hpack-test-case]
"""
import json
import os
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MARK = b"--MARK--"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINDOW, CONT = range(10)
ALTSVC, PRIORITY_UPDATE = 0xA, 0x10
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in pairs))


def hint(n, prefix_bits, first):
    """HPACK integer with an N-bit prefix; |first| holds the pattern bits."""
    limit = (1 << prefix_bits) - 1
    if n < limit:
        return bytes([first | n])
    out = [first | limit]
    n -= limit
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def hstr(s):
    return hint(len(s), 7, 0) + s


def lit(name, value, kind=0x00):
    """Literal with a new name: 0x00 without indexing, 0x40 incremental, 0x10 never."""
    return bytes([kind]) + hstr(name) + hstr(value)


def request_block(path=b"/", method=0x82, extra=b""):
    # :method GET (2) / POST (3), :scheme https (7), :path from a literal, :authority indexed name 1
    return (bytes([method, 0x87]) + hint(4, 4, 0x00) + hstr(path) + hint(1, 6, 0x40) +
            hstr(b"example.com") + lit(b"user-agent", b"seed", 0x40) + extra)


def response_block(status=0x88, extra=b""):
    # :status 200 is static index 8
    return bytes([status]) + lit(b"content-type", b"text/plain", 0x40) + extra


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def every_frame_type(sid=1):
    ping = b"12345678"
    return [
        ("data", frame(DATA, END_STREAM, sid, b"hello")),
        ("data_padded", frame(DATA, PADDED, sid, b"\x03abc\0\0\0")),
        ("headers", frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block())),
        ("headers_prio_padded", frame(HEADERS, END_HEADERS | PADDED | PRIO, sid,
                                      b"\x02" + struct.pack(">IB", 0x80000000 | 3, 200) +
                                      request_block() + b"\0\0")),
        ("priority", frame(PRIORITY, 0, sid + 2, struct.pack(">IB", 1, 15))),
        ("rst", frame(RST, 0, sid, struct.pack(">I", 8))),
        ("settings", settings((1, 4096), (2, 0), (3, 100), (4, 65535), (5, 16384), (6, 8192),
                              (8, 1), (9, 1))),
        ("settings_ack", settings(ack=True)),
        ("push_promise", frame(PUSH, END_HEADERS, sid, struct.pack(">I", 2) + request_block(b"/s"))),
        ("ping", frame(PING, 0, 0, ping)),
        ("ping_ack", frame(PING, ACK, 0, ping)),
        ("goaway", frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0) + b"debug")),
        ("window_update", frame(WINDOW, 0, 0, struct.pack(">I", 1000))),
        ("window_update_stream", frame(WINDOW, 0, sid, struct.pack(">I", 65535))),
        ("continuation", frame(HEADERS, 0, sid, request_block()[:3]) +
         frame(CONT, END_HEADERS, sid, request_block()[3:])),
        ("altsvc", frame(ALTSVC, 0, 0, struct.pack(">H", 19) + b"https://example.com" +
                         b'h2=":443"; ma=60')),
        ("priority_update", frame(PRIORITY_UPDATE, 0, 0, struct.pack(">I", sid) + b"u=2, i")),
        ("unknown", frame(0x42, 0xff, 7, b"whatever")),
    ]


def frame_seeds():
    frames = every_frame_type()
    for i, (name, f) in enumerate(frames):
        write("frame", name, bytes([0x00]) + f)
    write("frame", "all_split", bytes([0x50]) + b"".join(f for _, f in frames))
    write("frame", "all_bytewise", bytes([0x10]) + b"".join(f for _, f in frames))
    write("frame", "small_limit", bytes([0x02]) + frame(DATA, 0, 1, b"x" * 120))
    write("frame", "oversized", bytes([0x00]) + b"\x00\x40\x01\x00\x00\x00\x00\x00\x01")


def client_exchange():
    """A client's side of a request/response exchange, after the preface."""
    b = settings((1, 4096), (2, 0), (4, 65535), (3, 100))
    b += settings(ack=True)
    b += frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(b"/index.html"))
    b += frame(HEADERS, END_HEADERS, 3, request_block(b"/upload", 0x83, bytes([0xbe])))
    b += frame(DATA, 0, 3, b"a" * 100)
    b += frame(DATA, END_STREAM, 3, b"b" * 10)
    return b


def server_seeds():
    base = client_exchange()
    write("server", "exchange", b"\x00\x00" + base)
    write("server", "exchange_split", b"\x55\xff" + base + MARK + frame(PING, 0, 0, b"pingpong") +
          MARK + frame(WINDOW, 0, 0, struct.pack(">I", 100000)) + frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0)))
    write("server", "exchange_small", b"\x11\x0f" + base)
    write("server", "exchange_bytewise_ref", b"\x41\x4a" + base)
    write("server", "exchange_oom", b"\x20\x00\x00\x40" + base)
    write("server", "exchange_novalidate", b"\x80\x08" + base)
    frames = b"".join(f for n, f in every_frame_type(5) if n not in ("push_promise", "altsvc", "goaway"))
    write("server", "every_frame", b"\x03\x3f" + settings((4, 100)) + frames)
    # Many streams, resets and a CONTINUATION chain.
    b = settings()
    for sid in range(1, 40, 2):
        b += frame(HEADERS, END_HEADERS | (END_STREAM if sid % 3 else 0), sid, request_block(b"/%d" % sid))
        if sid % 5 == 0:
            b += frame(RST, 0, sid, struct.pack(">I", 8))
    blk = request_block(b"/c", extra=lit(b"cookie", b"x" * 300, 0x40))
    b += frame(HEADERS, END_STREAM, 41, blk[:10]) + frame(CONT, 0, 41, blk[10:100]) + frame(CONT, END_HEADERS, 41, blk[100:])
    write("server", "many_streams", b"\x07\xb5" + b)
    write("server", "many_streams_small", b"\x17\x01" + b)
    # h2c-style extended CONNECT and trailers
    tr = lit(b"grpc-status", b"0")
    b = settings() + frame(HEADERS, END_HEADERS, 1, request_block(b"/t", 0x83)) + frame(DATA, 0, 1, b"xyz") + \
        frame(HEADERS, END_HEADERS | END_STREAM, 1, tr)
    write("server", "trailers", b"\x00\x08" + b)
    # Abuse limits, with the small-limits option (bit 4) so that they trip.
    b = settings()
    for sid in range(1, 24, 2):
        b += frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block(b"/r"))
        b += frame(RST, 0, sid, struct.pack(">I", 8))
    write("server", "abuse_rapid_reset", b"\x11\x00" + b)
    write("server", "abuse_rapid_reset_split", b"\x16\x00" + b)
    write("server", "abuse_ping_flood", b"\x10\x00" + settings() +
          b"".join(frame(PING, 0, 0, b"%08d" % i) for i in range(12)))
    write("server", "abuse_settings_entries", b"\x10\x00" + settings((1, 0), (2, 0), (3, 9), (4, 9), (5, 16384)))
    many = b"".join(lit(b"x-f%d" % i, b"v") for i in range(7))
    write("server", "abuse_header_fields", b"\x10\x00" + settings() +
          frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(b"/h", extra=many)))
    b = settings() + frame(HEADERS, END_HEADERS, 1, request_block(b"/p", 0x83))
    b += b"".join(frame(DATA, 0, 1, b"") for _ in range(10))
    write("server", "abuse_empty_data", b"\x10\x00" + b)


def server_exchange():
    b = settings((3, 100), (4, 65535), (5, 16384))
    b += settings(ack=True)
    b += frame(HEADERS, END_HEADERS, 1, response_block())
    b += frame(DATA, END_STREAM, 1, b"hello world")
    b += frame(HEADERS, END_HEADERS, 3, bytes([0x89]))  # :status 204
    b += frame(DATA, END_STREAM, 3, b"")
    return b


def client_seeds():
    base = server_exchange()
    write("client", "exchange", b"\x00\x00" + base)
    write("client", "exchange_split", b"\x56\xff" + base + MARK + frame(PING, 0, 0, b"12345678") + MARK +
          frame(GOAWAY, 0, 0, struct.pack(">II", 5, 0) + b"bye"))
    write("client", "exchange_small", b"\x12\x06" + base)
    write("client", "exchange_oom", b"\x20\x00\x00\x60" + base)
    push = settings() + frame(PUSH, END_HEADERS, 1, struct.pack(">I", 2) + request_block(b"/style.css"))
    push += frame(HEADERS, END_HEADERS, 1, response_block())
    push += frame(HEADERS, END_HEADERS, 2, response_block())
    push += frame(DATA, END_STREAM, 2, b"body{}") + frame(DATA, END_STREAM, 1, b"<html>")
    write("client", "push", b"\x00\x01" + push)
    write("client", "push_disabled", b"\x80\x00" + push)
    info = settings() + frame(HEADERS, END_HEADERS, 1, bytes([0x08, 0x03]) + b"103" +
                              lit(b"link", b"</a>; rel=preload"))
    info += frame(HEADERS, END_HEADERS, 1, response_block()) + frame(DATA, 0, 1, b"x" * 50)
    info += frame(HEADERS, END_HEADERS | END_STREAM, 1, lit(b"x-trailer", b"1"))
    info += frame(WINDOW, 0, 3, struct.pack(">I", 100000)) + frame(WINDOW, 0, 0, struct.pack(">I", 100000))
    info += frame(ALTSVC, 0, 1, struct.pack(">H", 0) + b'h2=":443"')
    info += frame(RST, 0, 5, struct.pack(">I", 7))
    write("client", "informational", b"\x04\x3e" + info)
    frames = b"".join(f for n, f in every_frame_type(1))
    write("client", "every_frame", b"\x03\x1f" + settings() + frames)
    # Abuse limits with the small-limits option: PRIORITY frames and unsolicited PING ACKs.
    b = settings() + b"".join(frame(PRIORITY, 0, 1, struct.pack(">IB", 0, 16)) for _ in range(6))
    b += b"".join(frame(PING, 1, 0, b"%08d" % i) for i in range(6))
    write("client", "abuse_glitches", b"\x10\x00" + b)


def service_seeds():
    base = client_exchange()
    write("service_feed", "exchange", b"\x00\x00" + base)
    write("service_feed", "exchange_split", b"\x05\x00" + base + MARK + frame(PING, 0, 0, b"pingpong") +
          MARK + frame(RST, 0, 3, struct.pack(">I", 8)))
    b = settings()
    for sid in range(1, 20, 2):
        b += frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block(b"/%d" % sid))
    write("service_feed", "many_streams", b"\x01\x00" + b)
    write("service_feed", "bad_frame", b"\x00\x00" + settings() + frame(DATA, 0, 0, b"x"))
    write("service_feed", "exchange_oom", b"\x80\x04\x05" + base)


def hpack_seeds(case_dir):
    if not os.path.isdir(case_dir):
        print("no hpack-test-case at", case_dir, file=sys.stderr)
        return
    for impl in sorted(os.listdir(case_dir)):
        d = os.path.join(case_dir, impl)
        if not os.path.isdir(d) or impl == "raw-data":
            continue
        stories = sorted(f for f in os.listdir(d) if f.endswith(".json"))
        for story in stories[:4]:
            with open(os.path.join(d, story)) as f:
                cases = json.load(f)["cases"]
            out = bytearray([0x00])
            for case in cases[:40]:
                size = case.get("header_table_size")
                if size is not None:
                    out += bytes([0x80]) + struct.pack(">H", min((size + 3) // 4, 0xffff))
                wire = bytes.fromhex(case["wire"])
                out += bytes([0x00]) + struct.pack(">H", len(wire)) + wire
            write("hpack", "%s_%s" % (impl, story.replace(".json", "")), bytes(out))
    # Table size updates inside blocks, a tight-limit run, allocation failure.
    blk = hint(0, 5, 0x20) + hint(100, 5, 0x20) + lit(b"a", b"b" * 80, 0x40) + bytes([0xbe])
    write("hpack", "size_updates", bytes([0x00, 0x80, 0x00, 0x19, 0x00, 0x00, len(blk)]) + blk +
          bytes([0x40, 0x00, 0x00, len(blk)]) + blk)
    big = lit(b"cookie", b"c" * 600, 0x40)
    write("hpack", "tight_limits", bytes([0x01, 0x00]) + struct.pack(">H", len(big)) + big)
    write("hpack", "oom", bytes([0x02, 0x03, 0x00]) + struct.pack(">H", len(big)) + big)


def main():
    case_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "hpack-test-case")
    frame_seeds()
    server_seeds()
    client_seeds()
    service_seeds()
    hpack_seeds(case_dir)


if __name__ == "__main__":
    main()
