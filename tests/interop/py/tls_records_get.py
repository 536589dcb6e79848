#!/usr/bin/python3
"""GETs a path on several streams, each request in its own TLS record, all
records in one TCP send.

usage: tls_records_get.py HOST PORT PATH COUNT

After the handshake (certificate not checked, ALPN h2 required) the client
encrypts the connection preface with SETTINGS (INITIAL_WINDOW_SIZE
2^31-1) and a connection WINDOW_UPDATE to the same size as one TLS record and a
HEADERS frame (GET PATH, END_STREAM) for each of the streams 1, 3, ...
(COUNT of them) as one record each, then sends all the records with a
single send. It then only reads: nothing more is sent until every stream
has ended (the server's SETTINGS are acknowledged at the end), so a server
that takes records from the socket ahead of time must decrypt them without
waiting for the socket to become readable again. stdout gets one line per
stream once all ended, by stream id: "stream N status S bytes B", then
"records R small S": the TLS records the server sent after the requests
left, and how many of them carried fewer than SMALL_RECORD bytes of
ciphertext.
Exit status 0 when every stream ended, 1 when the server sent GOAWAY or
RST_STREAM, the connection ended or nothing came for TIMEOUT_S seconds, 2
when the connection or the handshake failed or ALPN did not select h2.
"""
import socket
import ssl
import struct
import sys

from rawh2 import frame, literal

TIMEOUT_S = 10
SMALL_RECORD = 1024
MAX_WINDOW = (1 << 31) - 1


class Tls:
    """An SSLObject over memory BIOs, so the client decides what one send holds."""

    def __init__(self, raw, host):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        self.raw = raw
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=host)
        self.counting = False
        self.raw_left = 0  # bytes of the current record not yet seen
        self.head = b""  # the start of a record header split between reads
        self.records = 0
        self.small = 0

    def count(self, chunk):
        """Follows the record boundaries of the server's ciphertext."""
        i = 0
        while i < len(chunk):
            if self.raw_left > 0:
                step = min(self.raw_left, len(chunk) - i)
                self.raw_left -= step
                i += step
                continue
            take = min(5 - len(self.head), len(chunk) - i)
            self.head += chunk[i:i + take]
            i += take
            if len(self.head) == 5:
                length = int.from_bytes(self.head[3:5], "big")
                if self.counting:
                    self.records += 1
                    self.small += length < SMALL_RECORD
                self.raw_left = length
                self.head = b""

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.raw.sendall(data)

    def fill(self):
        chunk = self.raw.recv(65536)
        if not chunk:
            raise EOFError
        self.count(chunk)
        self.incoming.write(chunk)

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()

    def read(self):
        while True:
            try:
                data = self.obj.read(65536)
                if not data:
                    raise EOFError
                return data
            except ssl.SSLWantReadError:
                self.fill()


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    host, port, path, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    try:
        raw = socket.create_connection((host, port), timeout=TIMEOUT_S)
        tls = Tls(raw, host)
        tls.handshake()
    except (OSError, ssl.SSLError, EOFError) as e:
        sys.stderr.write("connect: %r\n" % e)
        return 2
    if tls.obj.selected_alpn_protocol() != "h2":
        sys.stderr.write("ALPN selected %r\n" % tls.obj.selected_alpn_protocol())
        return 2
    block = (literal(":method", "GET") + literal(":scheme", "https") + literal(":path", path) +
             literal(":authority", "%s:%d" % (host, port)))
    # One SSLObject.write is one record: the preface and SETTINGS, then a HEADERS each.
    tls.obj.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
                  frame(4, 0, 0, struct.pack(">HI", 4, MAX_WINDOW)) +
                  frame(8, 0, 0, struct.pack(">I", MAX_WINDOW - 65535)))
    streams = [1 + 2 * i for i in range(count)]
    for s in streams:
        tls.obj.write(frame(1, 0x5, s, block))  # END_STREAM | END_HEADERS
    tls.flush()
    tls.counting = True
    status = {}
    size = {s: 0 for s in streams}
    left = set(streams)
    buf = b""
    try:
        while left:
            buf += tls.read()
            while len(buf) >= 9:
                length = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + length:
                    break
                ftype, flags = buf[3], buf[4]
                stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                payload = buf[9:9 + length]
                buf = buf[9 + length:]
                if ftype in (3, 7):
                    sys.stderr.write("frame type %d on stream %d\n" % (ftype, stream))
                    return 1
                if stream in left and ftype == 1:
                    status[stream] = 200 if payload[:1] == b"\x88" else 0
                elif stream in left and ftype == 0:
                    size[stream] += length
                if stream in left and ftype in (0, 1) and flags & 1:
                    left.discard(stream)
        tls.obj.write(frame(4, 1, 0, b""))
        tls.flush()
    except (EOFError, OSError, ssl.SSLError) as e:
        sys.stderr.write("connection ended: %r (streams left: %s)\n" % (e, sorted(left)))
        return 1
    for s in streams:
        print("stream %d status %d bytes %d" % (s, status.get(s, 0), size[s]))
    print("records %d small %d" % (tls.records, tls.small))
    return 0


if __name__ == "__main__":
    sys.exit(main())
