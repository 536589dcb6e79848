#!/usr/bin/python3
"""A small HTTP/2 server built on the h2 package, one thread per connection.

usage: h2_serve.py ROOT [CERT KEY]

Listens on 127.0.0.1, on a port the kernel picks, and prints
"listening http 127.0.0.1:<port>" (or "https" with CERT and KEY: TLS with
ALPN h2) on stdout, flushed. Cleartext connections use prior knowledge.

  GET /<name>   the file ROOT/<name> (no subfolders), 404 otherwise
  POST /echo    the request body, sent back once the request has ended

Response bodies go out within the peer's flow-control windows, in frames no
larger than its MAX_FRAME_SIZE, each padded with PAD bytes where the window
and the frame size leave room. With the first request of each connection
the server also sends a PING and a SETTINGS frame (MAX_CONCURRENT_STREAMS
changed), so the client must answer both while its streams run.

Lines on stdout: "served <method> <path> <status> <bytes>" per response,
"header <name>: <value>" for each request field whose name starts with
"x-", "ping acked" and "settings acked" when the client answers. SIGTERM
ends the process with status 0.
"""
import os
import signal
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

TIMEOUT_S = 60
PAD = 10
print_lock = threading.Lock()


def log(line):
    with print_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


class Connection:
    def __init__(self, sock, root):
        self.sock = sock
        self.root = root
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding='utf-8'))
        self.requests = {}   # stream id -> {'method', 'path', 'body'}
        self.pending = {}    # stream id -> [body, offset]
        self.probed = False  # PING and SETTINGS sent
        self.settings_acks = 0  # the first acknowledges the initial SETTINGS

    def respond(self, sid):
        req = self.requests.pop(sid)
        status, body = 404, b'not found\n'
        if req['method'] == 'POST' and req['path'] == '/echo':
            status, body = 200, bytes(req['body'])
        elif req['method'] == 'GET':
            name = req['path'].lstrip('/')
            path = os.path.join(self.root, name)
            if name and '/' not in name and os.path.isfile(path):
                with open(path, 'rb') as f:
                    status, body = 200, f.read()
        self.conn.send_headers(sid, [(':status', str(status)),
                                     ('content-length', str(len(body))),
                                     ('server', 'python-h2-serve')],
                               end_stream=len(body) == 0)
        log('served %s %s %d %d' % (req['method'], req['path'], status, len(body)))
        if body:
            self.pending[sid] = [body, 0]

    def pump(self):
        for sid in list(self.pending):
            body, off = self.pending[sid]
            while off < len(body):
                try:
                    window = self.conn.local_flow_control_window(sid)
                except h2.exceptions.StreamClosedError:
                    off = len(body)
                    break
                room = min(window, self.conn.max_outbound_frame_size)
                pad = PAD if room > PAD + 1 else 0
                n = min(room - (pad + 1 if pad else 0), len(body) - off)
                if n <= 0:
                    break
                end = off + n == len(body)
                if pad:
                    self.conn.send_data(sid, body[off:off + n], end_stream=end, pad_length=pad)
                else:
                    self.conn.send_data(sid, body[off:off + n], end_stream=end)
                off += n
            if off >= len(body):
                del self.pending[sid]
            else:
                self.pending[sid][1] = off

    def run(self):
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    hdrs = dict(ev.headers)
                    for name, value in ev.headers:
                        if name.startswith('x-'):
                            log('header %s: %s' % (name, value))
                    if not self.probed:
                        self.probed = True
                        self.conn.ping(b'libh2-pi')
                        self.conn.update_settings(
                            {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 50})
                    self.requests[ev.stream_id] = {'method': hdrs.get(':method'),
                                                   'path': hdrs.get(':path'),
                                                   'body': bytearray()}
                elif isinstance(ev, h2.events.DataReceived):
                    if ev.stream_id in self.requests:
                        self.requests[ev.stream_id]['body'] += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                        ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    if ev.stream_id in self.requests:
                        self.respond(ev.stream_id)
                elif isinstance(ev, h2.events.StreamReset):
                    self.requests.pop(ev.stream_id, None)
                    self.pending.pop(ev.stream_id, None)
                elif isinstance(ev, h2.events.PingAckReceived):
                    log('ping acked')
                elif isinstance(ev, h2.events.SettingsAcknowledged):
                    self.settings_acks += 1
                    if self.settings_acks == 2:
                        log('settings acked')
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    self.sock.sendall(self.conn.data_to_send())
                    return
            self.pump()
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)


def serve(sock, root):
    try:
        sock.settimeout(TIMEOUT_S)
        Connection(sock, root).run()
    except (OSError, h2.exceptions.ProtocolError) as e:
        log('connection error: %r' % (e,))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    if len(sys.argv) not in (2, 4):
        sys.stderr.write(__doc__)
        return 2
    root = sys.argv[1]
    ctx = None
    if len(sys.argv) == 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        ctx.set_alpn_protocols(['h2'])
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(16)
    log('listening %s 127.0.0.1:%d' % ('https' if ctx else 'http', lsock.getsockname()[1]))
    while True:
        sock, _ = lsock.accept()
        if ctx is not None:
            try:
                sock.settimeout(TIMEOUT_S)
                sock = ctx.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as e:
                log('TLS handshake failed: %r' % (e,))
                sock.close()
                continue
            if sock.selected_alpn_protocol() != 'h2':
                log('ALPN did not select h2')
                sock.close()
                continue
        threading.Thread(target=serve, args=(sock, root), daemon=True).start()


if __name__ == '__main__':
    sys.exit(main())
