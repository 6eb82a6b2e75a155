#!/usr/bin/python3
"""front_door - HTTP clients that attack the gateway's front door, for tests/security.

    front_door.py upload --port P [--tls --cafile F] --size N [--chunked] [--count 20]
    front_door.py flood  --port P [--tls --cafile F] --source 127.0.0.2 --connections N
                         --seconds S [--probe-path /nope]

upload: sends `count` POSTs of an N-byte body to /oauth/token, each on its own
connection, the whole body before reading the answer (no Expect: 100-continue, as
most clients do), and prints a JSON summary: how many answers were a 413 with the
request_entity_too_large error, how many attempts ended in a connection reset or a
broken pipe instead, and anything else seen.

flood: a slowloris from one loopback address. Opens N connections bound to the
source address (over TLS: with the handshake done), sends a partial request on each
and then one more header byte per connection every second, for S seconds. Two
seconds in, it asks the gateway from 127.0.0.1 (a plain request on a fresh
connection) three times. Prints a JSON summary: how many connections failed at
once, how many the gateway held at most at the same time (from the second second
on), the probe answers (status, or the error that ended the probe), how many flood
connections were still open at the end, and how long the longest-lived one was.

Loopback addresses only. Standard library only.
"""

import argparse
import http.client
import json
import select
import socket
import ssl
import sys
import time

TARGET = "127.0.0.1"    # the development certificate names it too


def tls_context(args):
    return ssl.create_default_context(cafile=args.cafile)


def connection(args, timeout):
    if args.tls:
        return http.client.HTTPSConnection(TARGET, args.port, timeout=timeout,
                                           context=tls_context(args))
    return http.client.HTTPConnection(TARGET, args.port, timeout=timeout)


def upload_once(args, body):
    conn = connection(args, 20)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if args.chunked:
            pieces = (body[i:i + 16384] for i in range(0, len(body), 16384))
            conn.request("POST", "/oauth/token", body=pieces, headers=headers,
                         encode_chunked=True)
        else:
            conn.request("POST", "/oauth/token", body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()
        try:
            error = json.loads(text).get("error")
        except (ValueError, AttributeError):
            error = None
        if response.status == 413 and error == "request_entity_too_large":
            return "413"
        return "status %d %s" % (response.status, error)
    except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
        return "reset"
    except (ssl.SSLError, OSError, http.client.HTTPException) as exc:
        return "error %s" % type(exc).__name__
    finally:
        conn.close()


def upload(args):
    body = b"a" * args.size
    summary = {"size": args.size, "chunked": args.chunked, "tls": args.tls,
               "count": args.count, "413": 0, "reset": 0, "other": []}
    for _ in range(args.count):
        outcome = upload_once(args, body)
        if outcome in ("413", "reset"):
            summary[outcome] += 1
        else:
            summary["other"].append(outcome)
    print(json.dumps(summary))


class Slow:
    """One slowloris connection: a partial request, then a byte at a time."""

    HEAD = b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    DRIP = b"X-Slow: " + b"a" * 4096

    def __init__(self, args):
        self.opened = time.monotonic()
        self.closed = None
        self.sent = 0
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.settimeout(2)
        raw.bind((args.source, 0))
        raw.connect((TARGET, args.port))
        if args.tls:
            raw = tls_context(args).wrap_socket(raw, server_hostname=TARGET)
        self.sock = raw
        self.sock.sendall(self.HEAD)

    def alive(self):
        """False once the gateway closed (or reset) the connection."""
        if self.closed is not None:
            return False
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            if poller.poll(0) and not self.sock.recv(1024):
                raise ConnectionResetError
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                self.sock.recv(1024)
        except ssl.SSLWantReadError:
            pass
        except (OSError, ssl.SSLError):
            self.close()
        return self.closed is None

    def drip(self):
        if not self.alive():
            return
        try:
            self.sock.send(self.DRIP[self.sent % len(self.DRIP):][:1])
            self.sent += 1
        except (OSError, ssl.SSLError):
            self.close()

    def close(self):
        if self.closed is None:
            self.closed = time.monotonic()
        try:
            self.sock.close()
        except OSError:
            pass


def probe(args):
    """One plain request from 127.0.0.1: its status, or the error that ended it."""
    conn = connection(args, 5)
    try:
        conn.request("GET", args.probe_path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        conn.close()


def flood(args):
    started = time.monotonic()
    slows = []
    refused = 0
    for _ in range(args.connections):
        try:
            slows.append(Slow(args))
        except (OSError, ssl.SSLError):
            refused += 1
    held_max = 0
    probes = []
    next_probe = time.monotonic() + 2
    rounds = 0
    while time.monotonic() - started < args.seconds:
        for slow in slows:
            slow.drip()
        held = sum(1 for slow in slows if slow.alive())
        rounds += 1
        if rounds > 1:      # the gateway has had a second to close what it refuses
            held_max = max(held_max, held)
        if len(probes) < 3 and time.monotonic() >= next_probe:
            probes.append(probe(args))
            next_probe = time.monotonic() + 0.5
        time.sleep(1)
    alive = [slow for slow in slows if slow.alive()]
    lifetimes = [(slow.closed if slow.closed is not None else time.monotonic()) - slow.opened
                 for slow in slows]
    summary = {"connections": args.connections, "refused_at_connect": refused,
               "held_max": held_max, "probes": probes, "alive_at_end": len(alive),
               "longest_open_s": round(max(lifetimes) if lifetimes else 0, 1)}
    for slow in slows:
        slow.close()
    print(json.dumps(summary))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["upload", "flood"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--cafile")
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--chunked", action="store_true")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--source", default="127.0.0.2")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--probe-path", default="/nope")
    args = parser.parse_args()
    if not args.source.startswith("127."):
        sys.exit("loopback source addresses only")
    if args.mode == "upload":
        upload(args)
    else:
        flood(args)


if __name__ == "__main__":
    main()
