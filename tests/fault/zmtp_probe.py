#!/usr/bin/python3
"""zmtp_probe - a hostile bus peer for Postern's fault test F10.

    zmtp_probe.py PORT CASE [OP]

Connects to 127.0.0.1:PORT as a ZeroMQ DEALER, speaking ZMTP 3.0 with the NULL
mechanism by hand (standard library only: no pyzmq on the test machines), then
sends one frame and reports what the service did, as one word on stdout:

  reply    a frame came back                 (expected only for CASE valid)
  silent   no frame within 1 s, connection still open (message dropped); shorter
           than the services' 3 s heartbeat timeout, which would drop any quiet peer
  dropped  the service closed the connection

CASEs:
  valid      a well-formed envelope {v, id, op: OP, dl} (OP defaults to fault.probe;
             give mail.check on mfa's jobs socket): the positive control that the
             probe speaks the protocol, so "silent" means something
  garbage    64 random bytes that are not msgpack
  bigcount   a msgpack array declaring 2^32-1 elements in 5 bytes (S18 pre-scan)
  deepnest   200 nested arrays (depth limit 8)
  oversize   one 1 MiB frame (ZMQ_MAXMSGSIZE is 256 KiB)
"""

import os
import socket
import struct
import sys
import time

TIMEOUT_S = 1.0


def greeting():
    return (b"\xff" + b"\x00" * 8 + b"\x7f"     # signature
            + b"\x03\x00"                        # ZMTP 3.0: no heartbeats expected from us
            + b"NULL" + b"\x00" * 16             # mechanism
            + b"\x00"                            # as-server
            + b"\x00" * 31)                      # filler


def command(name, body):
    data = bytes([len(name)]) + name + body
    if len(data) < 256:
        return b"\x04" + bytes([len(data)]) + data
    return b"\x06" + struct.pack(">Q", len(data)) + data


def ready():
    prop = b"Socket-Type"
    value = b"DEALER"
    return command(b"READY", bytes([len(prop)]) + prop + struct.pack(">I", len(value)) + value)


def frame(payload):
    if len(payload) < 256:
        return b"\x00" + bytes([len(payload)]) + payload
    return b"\x02" + struct.pack(">Q", len(payload)) + payload


def mp_str(text):
    raw = text.encode()
    if len(raw) < 32:
        return bytes([0xA0 | len(raw)]) + raw
    return b"\xd9" + bytes([len(raw)]) + raw


def envelope(op):
    deadline = int(time.time() * 1000) + 5000
    fields = [(b"v", b"\x01"), (b"id", mp_str(os.urandom(16).hex())), (b"op", mp_str(op)),
              (b"dl", b"\xcf" + struct.pack(">Q", deadline))]
    body = b""
    if op == "mail.check":
        body = b"\x81" + mp_str("job_id") + mp_str("0" * 32)
        fields.append((b"body", body))
    out = bytes([0x80 | len(fields)])
    for key, value in fields:
        out += mp_str(key.decode()) + value
    return out


DEADLINE = [0.0]


def recv_exact(sock, size):
    """size bytes, or socket.timeout once the probe's overall deadline passes."""
    data = b""
    while len(data) < size:
        left = DEADLINE[0] - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline")
        sock.settimeout(left)
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_frame(sock):
    """Next message frame, skipping commands (READY, PING...)."""
    while True:
        flags = recv_exact(sock, 1)[0]
        size = struct.unpack(">Q", recv_exact(sock, 8))[0] if flags & 0x02 else recv_exact(sock, 1)[0]
        data = recv_exact(sock, size)
        if not flags & 0x04:
            return data


def main():
    port = int(sys.argv[1])
    case = sys.argv[2]
    op = sys.argv[3] if len(sys.argv) > 3 else "fault.probe"
    payloads = {
        "valid": lambda: envelope(op),
        "garbage": lambda: b"\xc1" + os.urandom(63),   # 0xc1 is never valid msgpack
        "bigcount": lambda: b"\xdd\xff\xff\xff\xff",
        "deepnest": lambda: b"\x91" * 200 + b"\xc0",
        "oversize": lambda: b"\x00" * (1024 * 1024),
    }
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    try:
        sock.sendall(greeting())
        DEADLINE[0] = time.monotonic() + TIMEOUT_S
        recv_exact(sock, 64)                     # the service's greeting
        sock.sendall(ready())
        sock.sendall(frame(payloads[case]()))
        DEADLINE[0] = time.monotonic() + TIMEOUT_S
        read_frame(sock)                         # skips their READY; a reply if any
        print("reply")
    except socket.timeout:
        print("silent")
    except (ConnectionError, OSError):
        print("dropped")
    finally:
        sock.close()


if __name__ == "__main__":
    main()
