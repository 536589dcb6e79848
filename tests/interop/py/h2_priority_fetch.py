#!/usr/bin/python3
"""Fetches paths over one cleartext HTTP/2 connection (prior knowledge), each
request with its own RFC 9218 "priority" header field, all in flight at once.
The client's stream windows are large and its connection window stays at
65535 bytes, acknowledged as it reads: the server's responses share that
window, so the order they finish in is the server's scheduling order.

usage: h2_priority_fetch.py HOST PORT PATH PRIORITY [PATH PRIORITY]...

Prints one line per response, in the order the responses ended:
"<path> <status> <body bytes>". Exit status 0 when every response has status
200, 1 otherwise, 2 on a connection or protocol failure.
"""
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings

TIMEOUT_S = 60


def main():
    args = sys.argv[3:]
    if len(sys.argv) < 5 or len(args) % 2 != 0:
        sys.stderr.write(__doc__)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection((host, port), timeout=TIMEOUT_S)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 << 20})
    conn.initiate_connection()
    streams = {}
    for i in range(0, len(args), 2):
        path, prio = args[i], args[i + 1]
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(':method', 'GET'), (':scheme', 'http'),
                                (':authority', '%s:%d' % (host, port)), (':path', path),
                                ('priority', prio)], end_stream=True)
        streams[sid] = {'path': path, 'status': None, 'bytes': 0}
    sock.sendall(conn.data_to_send())
    ended = []
    while len(ended) < len(streams):
        data = sock.recv(65536)
        if not data:
            sys.stderr.write('connection closed with %d streams open\n'
                             % (len(streams) - len(ended)))
            return 2
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                for name, value in ev.headers:
                    if name == b':status':
                        streams[ev.stream_id]['status'] = int(value)
            elif isinstance(ev, h2.events.DataReceived):
                streams[ev.stream_id]['bytes'] += len(ev.data)
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ended.append(ev.stream_id)
            elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                sys.stderr.write('%r\n' % ev)
                return 2
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    ok = True
    for sid in ended:
        s = streams[sid]
        print('%s %s %d' % (s['path'], s['status'], s['bytes']))
        ok = ok and s['status'] == 200
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
