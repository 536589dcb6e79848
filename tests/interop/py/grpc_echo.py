#!/usr/bin/python3
"""Runs one case against h2server's gRPC echo service (/h2server.Echo/...)
with Debian's python3-grpcio, through generic calls on raw bytes (no
generated stubs, identity serialisation), or with a raw python3-h2 client
for what a gRPC client cannot send.

usage: grpc_echo.py CASE HOST PORT [small]

CASE is one of the functions named case_<CASE> below; "small" lowers the
counts (for runs under valgrind). Prints one line per check that passed;
exit status 0 when the case passed, 1 when a check failed, 2 on a
connection or protocol failure.
"""
import queue
import socket
import struct
import sys
import threading

import grpc

MIB = 1024 * 1024
SMALL = False
PREFIX = '/h2server.Echo/'

# Messages up to 8 MiB both ways (the default receive limit is 4 MiB).
OPTIONS = [('grpc.max_receive_message_length', 8 * MIB),
           ('grpc.max_send_message_length', 8 * MIB)]


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)
    print('ok ' + what, flush=True)


def pattern(n, seed=0):
    """n bytes of a repeating pattern that depends on seed."""
    unit = bytes((i * 7 + seed) & 0xff for i in range(251))
    return (unit * (n // len(unit) + 1))[:n]


def channel(host, port):
    return grpc.insecure_channel('%s:%d' % (host, port), options=OPTIONS)


def unary(ch, method='Unary'):
    return ch.unary_unary(PREFIX + method, request_serializer=None, response_deserializer=None)


def stream(ch):
    return ch.unary_stream(PREFIX + 'Stream', request_serializer=None,
                           response_deserializer=None)


def bidi(ch):
    return ch.stream_stream(PREFIX + 'Bidi', request_serializer=None,
                            response_deserializer=None)


def case_unary(host, port):
    with channel(host, port) as ch:
        call = unary(ch)
        check(call(b'x', timeout=30) == b'x', 'unary 1 byte')
        check(call(b'', timeout=30) == b'', 'unary 0 bytes')
        big = pattern(4 * MIB, 3)
        check(call(big, timeout=60) == big, 'unary 4 MiB')


def case_stream(host, port):
    n = 1000 if SMALL else 10000
    payload = b'message body %d' % n
    with channel(host, port) as ch:
        got = 0
        for m in stream(ch)(struct.pack('>I', n) + payload, timeout=120):
            if m != payload:
                raise Failed('message %d is %r' % (got, m[:40]))
            got += 1
        check(got == n, 'stream %d messages' % n)
        check(list(stream(ch)(struct.pack('>I', 0), timeout=30)) == [], 'stream 0 messages')
        big = pattern(300 * 1024, 5)
        msgs = list(stream(ch)(struct.pack('>I', 3) + big, timeout=60))
        check(msgs == [big] * 3, 'stream 3 messages of 300 KiB')


class Feeder:
    """A request iterator fed from another thread; None ends it."""

    def __init__(self):
        self.q = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self.q.get()
        if item is None:
            raise StopIteration
        return item

    def put(self, item):
        self.q.put(item)


def case_bidi(host, port):
    sizes = [1, 256 * 1024, MIB, 100, 3 * MIB + 17, 256 * 1024]
    with channel(host, port) as ch:
        # Lockstep: each echo arrives while the request stream is still
        # open, so the server echoes messages as they come.
        feed = Feeder()
        responses = bidi(ch)(feed, timeout=120)
        for i, size in enumerate(sizes):
            m = pattern(size, i)
            feed.put(m)
            echo = next(responses)
            check(echo == m, 'bidi lockstep message %d of %d bytes' % (i, size))
        feed.put(None)
        check(list(responses) == [], 'bidi ends after the client')
        # All at once: large messages both ways with no reading in between.
        msgs = [pattern(s, 10 + i) for i, s in enumerate(sizes * 2)]
        got = list(bidi(ch)(iter(msgs), timeout=120))
        check(got == msgs, 'bidi %d messages sent at once' % len(msgs))


def case_deadline(host, port):
    with channel(host, port) as ch:
        try:
            for _ in stream(ch)(struct.pack('>I', 0xffffffff) + pattern(1000), timeout=0.5):
                pass
            raise Failed('the stream ended without an error')
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
                  'stream past its deadline: %s' % e.code())
        feed = Feeder()
        try:
            list(bidi(ch)(feed, timeout=0.3))
            raise Failed('the bidi call ended without an error')
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
                  'silent bidi past its deadline: %s' % e.code())
        feed.put(None)
        check(unary(ch)(b'after', timeout=30) == b'after', 'unary after the deadlines')


def case_cancel(host, port):
    payload = pattern(1000, 9)
    with channel(host, port) as ch:
        call = stream(ch)(struct.pack('>I', 0xffffffff) + payload, timeout=120)
        got = 0
        for m in call:
            if m != payload:
                raise Failed('message %d differs' % got)
            got += 1
            if got == 50:
                call.cancel()
                break
        check(call.code() == grpc.StatusCode.CANCELLED, 'stream cancelled after 50 messages')
        feed = Feeder()
        responses = bidi(ch)(feed, timeout=120)
        feed.put(b'one')
        check(next(responses) == b'one', 'bidi echo before cancelling')
        responses.cancel()
        feed.put(None)
        check(responses.code() == grpc.StatusCode.CANCELLED, 'bidi cancelled')
        check(unary(ch)(b'after', timeout=30) == b'after', 'unary after the cancellations')


def case_concurrent(host, port):
    n = 100
    with channel(host, port) as ch:
        call = unary(ch)
        futures = [call.future(pattern(1000 + i * 100, i), timeout=120) for i in range(n)]
        ok = all(f.result() == pattern(1000 + i * 100, i) for i, f in enumerate(futures))
        check(ok, '%d concurrent unary calls' % n)
        # Streams at once too, each with its own count.
        calls = [stream(ch)(struct.pack('>I', i + 1) + b'%d' % i, timeout=120)
                 for i in range(n)]
        ok = all(list(c) == [b'%d' % i] * (i + 1) for i, c in enumerate(calls))
        check(ok, '%d concurrent streaming calls' % n)


def case_unimplemented(host, port):
    with channel(host, port) as ch:
        for method in ('Nope', 'unary'):
            try:
                unary(ch, method)(b'x', timeout=30)
                raise Failed('%s answered' % method)
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.UNIMPLEMENTED,
                      'unknown method %s: %s' % (method, e.code()))
        check(unary(ch)(b'still', timeout=30) == b'still', 'unary after them')


# ---- raw HTTP/2 (python3-h2) ------------------------------------------------------

def raw_call(host, port, method, body, extra=(), end=True):
    """Sends one gRPC request with |body| as its raw DATA (ended when |end|);
    returns (headers, trailers, data) as dicts and bytes. Without |end| the
    request stays open until the server ends the response."""
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection((host, port), timeout=30)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(':method', 'POST'), (':scheme', 'http'),
                            (':authority', '%s:%d' % (host, port)),
                            (':path', PREFIX + method), ('content-type', 'application/grpc'),
                            ('te', 'trailers')] + list(extra))
    conn.send_data(sid, body, end_stream=end)
    sock.sendall(conn.data_to_send())
    headers, trailers, data = None, None, bytearray()
    ended = False
    while not ended:
        chunk = sock.recv(65536)
        if not chunk:
            raise Failed('the connection closed')
        for ev in conn.receive_data(chunk):
            if isinstance(ev, h2.events.ResponseReceived):
                headers = dict(ev.headers)
            elif isinstance(ev, h2.events.TrailersReceived):
                trailers = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                data += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ended = True
            elif isinstance(ev, h2.events.StreamReset):
                raise Failed('stream reset (%s)' % ev.error_code)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                raise Failed('GOAWAY (%s)' % ev.error_code)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    sock.close()
    return headers, trailers, bytes(data)


def status_of(headers, trailers):
    """grpc-status from the trailers, or from a trailers-only answer."""
    fields = trailers if trailers is not None else headers
    return int(fields.get(b'grpc-status', b'-1'))


def frame(body, flag=0):
    return struct.pack('>BI', flag, len(body)) + body


def case_raw(host, port):
    h, t, d = raw_call(host, port, 'Unary', frame(b'hello'))
    check(h[b':status'] == b'200' and h[b'content-type'] == b'application/grpc'
          and status_of(h, t) == 0 and d == frame(b'hello'), 'raw unary echo')
    cases = [
        ('Unary', frame(b'abc', flag=2), (), 'compressed flag 2'),
        ('Unary', frame(b'abc', flag=1), (), 'compressed flag without grpc-encoding'),
        ('Bidi', frame(b'abc', flag=1), (), 'bidi: compressed flag without grpc-encoding'),
        ('Unary', frame(b'abcdef')[:8], (), 'a message cut short'),
        ('Unary', b'\x00\x00', (), 'a prefix cut short'),
        ('Bidi', frame(b'one') + frame(b'two')[:6], (), 'bidi: second message cut short'),
        ('Unary', frame(b'a') + frame(b'b'), (), 'two messages on a unary call'),
        ('Unary', b'', (), 'no message on a unary call'),
    ]
    for method, body, extra, what in cases:
        h, t, d = raw_call(host, port, method, body, extra)
        check(status_of(h, t) == 13, 'INTERNAL for %s' % what)
    h, t, d = raw_call(host, port, 'Bidi', frame(b'one') + frame(b'two')[:6])
    check(d == frame(b'one') and t is not None, 'bidi: the whole message before the error')
    h, t, d = raw_call(host, port, 'Unary', frame(b'abc', flag=1), [('grpc-encoding', 'gzip')])
    check(status_of(h, t) == 12, 'UNIMPLEMENTED for a compressed message with grpc-encoding')
    h, t, d = raw_call(host, port, 'Stream', frame(b'ab'))
    check(status_of(h, t) == 3, 'INVALID_ARGUMENT for a Stream request under 4 bytes')
    h, t, d = raw_call(host, port, 'Nope', frame(b'x'))
    check(t is None and status_of(h, t) == 12 and h[b'content-type'] == b'application/grpc'
          and d == b'', 'trailers-only UNIMPLEMENTED for an unknown method')
    # grpc-timeout: the server itself ends the call with DEADLINE_EXCEEDED,
    # the request stream still open.
    h, t, d = raw_call(host, port, 'Bidi', frame(b'x'), [('grpc-timeout', '200m')], end=False)
    check(status_of(h, t) == 4 and d == frame(b'x'),
          'DEADLINE_EXCEEDED from the server on an open bidi call after its echo')
    h, t, d = raw_call(host, port, 'Unary', b'', [('grpc-timeout', '100000u')], end=False)
    check(t is None and status_of(h, t) == 4, 'trailers-only DEADLINE_EXCEEDED on a unary call')
    h, t, d = raw_call(host, port, 'Stream', frame(struct.pack('>I', 0xffffffff) + b'z' * 100),
                       [('grpc-timeout', '300m')])
    check(status_of(h, t) == 4 and len(d) > 0, 'DEADLINE_EXCEEDED ends a stream in progress')


def case_noread(host, port):
    """A Bidi client that sends 64 KiB messages as fast as the server's
    windows allow but never reads: it offers a 64 KiB window and never
    acknowledges the echoes. The server must stop granting window once its
    echoes pile up (about 1 MiB), so the client stalls well before 16 MiB.
    A stall is the absence of any WINDOW_UPDATE for QUIET_S seconds; a slow
    server can only make the count smaller, never fail the check."""
    import h2.config
    import h2.connection
    import h2.settings
    quiet_s = 2.0
    sock = socket.create_connection((host, port), timeout=30)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(':method', 'POST'), (':scheme', 'http'),
                            (':authority', '%s:%d' % (host, port)),
                            (':path', PREFIX + 'Bidi'), ('content-type', 'application/grpc')])
    sock.sendall(conn.data_to_send())
    msg = frame(pattern(65536, 1))
    pending, sent, limit = b'', 0, 16 * MIB
    sock.settimeout(quiet_s)
    while sent < limit:
        while True:
            if not pending:
                pending = msg
            w = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if w <= 0:
                break
            n = min(w, len(pending))
            conn.send_data(sid, pending[:n])
            pending = pending[n:]
            sent += n
        sock.sendall(conn.data_to_send())
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            raise Failed('the connection closed')
        conn.receive_data(data)  # DATA is never acknowledged
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    sock.close()
    check(sent < 4 * MIB, 'a client that does not read stalls: %s bytes taken'
          % ('under 4 MiB' if sent < 4 * MIB else str(sent)))


def main():
    global SMALL
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    name, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    SMALL = len(sys.argv) > 4 and sys.argv[4] == 'small'
    fn = globals().get('case_' + name)
    if fn is None:
        sys.stderr.write('unknown case %s\n' % name)
        return 2
    try:
        fn(host, port)
    except Failed as e:
        print('FAILED ' + str(e), flush=True)
        return 1
    except grpc.RpcError as e:
        print('FAILED rpc error %s: %s' % (e.code(), e.details()), flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
