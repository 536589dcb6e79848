#!/usr/bin/python3
"""GETs one path over TLS through a small TCP receive buffer and saves the body.

usage: tls_small_window_get.py HOST PORT PATH OUTFILE

The socket's receive buffer is set to a few KiB before connecting, so the
server's socket fills and its sends come back short or blocked while its
HTTP/2 windows are wide open (SETTINGS_INITIAL_WINDOW_SIZE 2^31-1 and a
connection WINDOW_UPDATE to the same size). Sends the preface, SETTINGS,
the WINDOW_UPDATE and a HEADERS frame for GET PATH on stream 1, then reads
frames until stream 1 ends, acknowledging the server's SETTINGS. The DATA
payloads go to OUTFILE. stdout gets the :status byte seen ("status 200") and
"end" once the stream ended. Exit status 0 when stream 1 ended, 1 when the
connection ended first or a frame broke the expectations, 2 when the
connection or the handshake failed or ALPN did not select h2.
"""
import socket
import ssl
import struct
import sys

from rawh2 import frame, literal

TIMEOUT_S = 30
MAX_WINDOW = (1 << 31) - 1


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    host, port, path, outfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(TIMEOUT_S)
        raw.connect((host, port))
        sock = ctx.wrap_socket(raw, server_hostname=host)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("connect: %s\n" % e)
        return 2
    if sock.selected_alpn_protocol() != "h2":
        sys.stderr.write("ALPN selected %r\n" % sock.selected_alpn_protocol())
        return 2
    block = (literal(":method", "GET") + literal(":scheme", "https") + literal(":path", path) +
             literal(":authority", "%s:%d" % (host, port)))
    out = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
           frame(4, 0, 0, struct.pack(">HI", 4, MAX_WINDOW)) +
           frame(8, 0, 0, struct.pack(">I", MAX_WINDOW - 65535)) +
           frame(1, 0x5, 1, block))  # END_STREAM | END_HEADERS
    sock.sendall(out)
    with open(outfile, "wb") as body:
        try:
            while True:
                head = read_exact(sock, 9)
                length = int.from_bytes(head[:3], "big")
                ftype, flags = head[3], head[4]
                stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                payload = read_exact(sock, length)
                if ftype == 4 and not flags & 1:
                    sock.sendall(frame(4, 1, 0, b""))
                elif ftype == 7 or ftype == 3:
                    sys.stderr.write("frame type %d from the server\n" % ftype)
                    return 1
                elif stream == 1 and ftype == 1:
                    print("status %d" % (200 if payload[:1] == b"\x88" else 0))
                elif stream == 1 and ftype == 0:
                    body.write(payload)
                if stream == 1 and ftype in (0, 1) and flags & 1:
                    print("end")
                    return 0
        except (EOFError, OSError, ssl.SSLError) as e:
            sys.stderr.write("connection ended: %r\n" % e)
            return 1


if __name__ == "__main__":
    sys.exit(main())
