#!/usr/bin/python3
"""Sends raw bytes over TLS with ALPN h2 and records the reply up to the end.

usage: tls_exchange.py HOST PORT HEXBYTES OUTFILE

Connects (certificate not checked), requires ALPN to select h2, sends the
bytes given in hex, then reads until the server ends the connection. The
reply goes to OUTFILE; stdout gets one line telling how it ended: "eof"
(close_notify, or the TCP connection closed after the last record),
"reset" or "timeout". Exit status 0 after "eof", 1 after "reset" or
"timeout", 2 when the connection or the handshake failed or ALPN did not
select h2.
"""
import socket
import ssl
import sys

TIMEOUT_S = 10


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    host, port, data, outfile = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    try:
        raw = socket.create_connection((host, port), timeout=TIMEOUT_S)
        sock = ctx.wrap_socket(raw, server_hostname=host)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("connect: %s\n" % e)
        return 2
    if sock.selected_alpn_protocol() != "h2":
        sys.stderr.write("ALPN selected %r\n" % sock.selected_alpn_protocol())
        return 2
    sock.sendall(data)
    reply = b""
    end = "eof"
    while True:
        try:
            chunk = sock.recv(65536)
        except ssl.SSLEOFError:
            break  # closed without close_notify: still the end of the reply
        except socket.timeout:
            end = "timeout"
            break
        except (ConnectionResetError, ssl.SSLError) as e:
            sys.stderr.write("recv: %s\n" % e)
            end = "reset"
            break
        if not chunk:
            break
        reply += chunk
    with open(outfile, "wb") as f:
        f.write(reply)
    print(end)
    return 0 if end == "eof" else 1


if __name__ == "__main__":
    sys.exit(main())
