"""HTTP/2 bytes written by hand, for the scripts that talk to h2server
without an HTTP/2 library (tls_small_window_get.py, tls_records_get.py)."""
import struct


def frame(ftype, flags, stream, payload):
    """A frame: 9-byte header, then the payload."""
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """A header field literal without indexing, new name, no Huffman coding."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
