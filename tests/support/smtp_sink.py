#!/usr/bin/python3
"""smtp_sink - a real SMTP server for Postern's tests, built on aiosmtpd.

Run it with Debian's /usr/bin/python3 (the one that has aiosmtpd).

    smtp_sink.py --host 127.0.0.1 --port 0 --maildir DIR --port-file F [--mode MODE]
                 [--fail-count K] [--fail-seconds S] [--reply-delay S]
                 [--tls-cert CERT --tls-key KEY] [--no-fsync] [--verbose]

Every accepted message is written atomically as DIR/<n>.eml (the DATA exactly as
received, CRLF line endings, dot-unstuffed) next to DIR/<n>.json holding the
envelope, {"mail_from": ..., "rcpt_tos": [...], "received_at": <Unix time, s>}
(the bench times mail latency from it). The .json lands before the .eml,
so a test that sees <n>.eml can read its sidecar at once. Numbers continue after
the highest one already in DIR, so a restarted sink never overwrites a message.

The chosen port is written to the port file (atomically) once the server listens.

Modes, for fault tests:
  ok            accept everything (default)
  reject-550    answer 550 at the end of DATA: a permanent failure
  tempfail-451  answer 451 at the end of DATA for the first --fail-count K
                messages (and/or for the first --fail-seconds S seconds), then accept
  hang          accept TCP connections and never say a word (per-stage timeouts)

--reply-delay S stores an accepted message, then waits S seconds before the final
250, so a test can kill the client between DATA and the reply (fault F1).

With --tls-cert and --tls-key the server offers STARTTLS and requires it: MAIL
before STARTTLS is refused (530), so a delivered message proves TLS was used.

--no-fsync writes messages whole but without fsync: for the benchmark, where the
sink stands in for a relay on another machine and its fsyncs are not what is measured.

Rejected messages are not written. SIGTERM and SIGINT stop the server cleanly.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP

MODES = ("ok", "reject-550", "tempfail-451", "hang")


def write_atomically(path, data, durable=True):
    """Readers must never see a half-written file: write aside, fsync, rename.
    Without durable the file is renamed into place unsynced: readers still see it
    whole, but a crash of the host may lose it."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        if durable:
            out.flush()
            os.fsync(out.fileno())
    os.rename(tmp, path)


def highest_number(maildir):
    numbers = [int(m.group(1)) for m in
               (re.fullmatch(r"(\d+)\.(eml|json)", name) for name in os.listdir(maildir)) if m]
    return max(numbers, default=0)


class SinkHandler:
    def __init__(self, maildir, mode, fail_count, fail_seconds, reply_delay, durable):
        self.maildir = maildir
        self.durable = durable
        self.reply_delay = reply_delay
        self.mode = mode
        self.fail_count = fail_count
        self.fail_until = time.monotonic() + fail_seconds if fail_seconds > 0 else None
        self.seen = 0
        self.number = highest_number(maildir)

    def _tempfail(self):
        self.seen += 1
        if self.fail_until is not None and time.monotonic() < self.fail_until:
            return True
        return self.seen <= self.fail_count

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "reject-550":
            return "550 5.7.1 Message rejected by test sink"
        if self.mode == "tempfail-451" and self._tempfail():
            return "451 4.3.0 Temporary failure, try again later"
        self.number += 1
        base = os.path.join(self.maildir, str(self.number))
        sidecar = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                   "received_at": time.time()}
        write_atomically(base + ".json", json.dumps(sidecar).encode("utf-8"), self.durable)
        write_atomically(base + ".eml", envelope.original_content, self.durable)
        if self.reply_delay > 0:
            await asyncio.sleep(self.reply_delay)
        return "250 2.0.0 Message accepted for delivery"


async def hang_connection(reader, writer):
    """Say nothing and read nothing until the peer gives up."""
    try:
        await reader.read()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def serve(args):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    if args.mode == "hang":
        server = await asyncio.start_server(hang_connection, args.host, args.port)
    else:
        handler = SinkHandler(args.maildir, args.mode, args.fail_count, args.fail_seconds,
                              args.reply_delay, not args.no_fsync)
        tls = None
        if args.tls_cert:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="postern-smtp-sink", loop=loop,
                         tls_context=tls, require_starttls=tls is not None),
            args.host, args.port)

    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        write_atomically(args.port_file, ("%d\n" % port).encode("ascii"))
    print("smtp_sink listening on %s:%d mode %s" % (args.host, port, args.mode),
          file=sys.stderr, flush=True)

    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description="SMTP sink for Postern tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--port-file", default=None)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--fail-count", type=int, default=0,
                        help="tempfail-451: messages refused before accepting")
    parser.add_argument("--fail-seconds", type=float, default=0.0,
                        help="tempfail-451: refuse everything for this long after start")
    parser.add_argument("--reply-delay", type=float, default=0.0,
                        help="seconds between storing a message and answering 250")
    parser.add_argument("--no-fsync", action="store_true",
                        help="store messages without fsync (benchmarks: the sink is not what is measured)")
    parser.add_argument("--verbose", action="store_true",
                        help="log aiosmtpd's session errors (failed TLS handshakes...)")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: offer and require STARTTLS")
    parser.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the sink only listens on the loopback interface")
    #  Clients that give up (bad certificate, timeouts) are what fault tests do
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    os.makedirs(args.maildir, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
