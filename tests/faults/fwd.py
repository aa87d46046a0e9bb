#!/usr/bin/python3
"""tests/faults/fwd.py: TCP forwarders from addresses on the host ends of the
partition scenario's veth pairs to the services on 127.0.0.1.

    fwd.py LISTEN_HOST:PORT=TARGET_HOST:PORT ...

The services bind 127.0.0.1 only, which a peer in its own network namespace
cannot reach; it reaches these listeners through its veth pair instead, so
a route cut in its namespace cuts it off from one service or both. Runs
until killed; a connection ends when either side ends it.
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def handler(thost, tport):
    async def handle(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection(thost, tport)
        except OSError:
            w1.close()
            return
        await asyncio.gather(pipe(r1, w2), pipe(r2, w1))
    return handle


async def main(specs):
    servers = []
    for spec in specs:
        listen, target = spec.split("=")
        lhost, lport = listen.rsplit(":", 1)
        thost, tport = target.rsplit(":", 1)
        servers.append(await asyncio.start_server(
            handler(thost, int(tport)), lhost, int(lport), reuse_address=True))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
