#!/usr/bin/python3
"""tcp_switch - a loopback TCP forwarder for Postern's fault tests.

    tcp_switch.py --port-file F --first N --first-port A --then-port B

Listens on 127.0.0.1 (a free port, written atomically to the port file), and
forwards the first N connections it accepts to 127.0.0.1:A and every later one to
127.0.0.1:B, both ways, until either side closes. Each connection is logged to
stderr as one line: "conn <n> -> <port> at <unix ms>", and "conn <n> closed at
<unix ms>" when it ends.

Fault F6 puts it between the mailer and two SMTP sinks: a `hang` sink behind the
first connection, an `ok` sink behind the others. That is a relay pool with one
stuck backend: one delivery worker hangs, the others must keep mail flowing.
Standard library only; SIGTERM stops it.
"""

import argparse
import asyncio
import os
import signal
import sys
import time


def log(text):
    print("%s at %d" % (text, int(time.time() * 1000)), file=sys.stderr, flush=True)


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--first-port", type=int, required=True)
    parser.add_argument("--then-port", type=int, required=True)
    args = parser.parse_args()
    count = 0

    async def handle(reader, writer):
        nonlocal count
        count += 1
        number = count
        port = args.first_port if number <= args.first else args.then_port
        log("conn %d -> %d" % (number, port))
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            log("conn %d backend refused" % number)
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        log("conn %d closed" % number)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tmp = os.path.join(os.path.dirname(args.port_file) or ".",
                       "." + os.path.basename(args.port_file) + ".tmp")
    with open(tmp, "w") as out:
        out.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
