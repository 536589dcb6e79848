#!/usr/bin/python3
"""Fetches several paths over one cleartext HTTP/2 connection (prior knowledge)
with the h2 package, all requests in flight at once.

usage: h2_fetch.py HOST PORT OUTDIR PATH...

Each response body is written to OUTDIR/<n>.body (n = position of the path,
from 0); one line per path goes to stdout: "<path> <status> <body bytes>".
Exit status 0 when every response has status 200, 1 otherwise, 2 on a
connection or protocol failure.
"""
import os
import socket
import sys

import h2.config
import h2.connection
import h2.events

TIMEOUT_S = 60


def main():
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    host, port, outdir, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    sock = socket.create_connection((host, port), timeout=TIMEOUT_S)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    streams = {}
    for i, path in enumerate(paths):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(':method', 'GET'), (':scheme', 'http'),
                                (':authority', '%s:%d' % (host, port)), (':path', path),
                                ('user-agent', 'python-h2-fetch')], end_stream=True)
        streams[sid] = {'index': i, 'path': path, 'status': None, 'body': bytearray(),
                        'ended': False}
    sock.sendall(conn.data_to_send())
    remaining = len(streams)
    while remaining > 0:
        data = sock.recv(65536)
        if not data:
            sys.stderr.write('connection closed with %d streams open\n' % remaining)
            return 2
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                for name, value in ev.headers:
                    if name == b':status':
                        streams[ev.stream_id]['status'] = int(value)
            elif isinstance(ev, h2.events.DataReceived):
                streams[ev.stream_id]['body'] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                streams[ev.stream_id]['ended'] = True
                remaining -= 1
            elif isinstance(ev, h2.events.StreamReset):
                sys.stderr.write('stream %d reset (%s)\n' % (ev.stream_id, ev.error_code))
                return 2
            elif isinstance(ev, h2.events.ConnectionTerminated):
                sys.stderr.write('GOAWAY (%s)\n' % ev.error_code)
                return 2
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    ok = True
    for sid in sorted(streams):
        s = streams[sid]
        with open(os.path.join(outdir, '%d.body' % s['index']), 'wb') as f:
            f.write(s['body'])
        print('%s %s %d' % (s['path'], s['status'], len(s['body'])))
        ok = ok and s['status'] == 200
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
