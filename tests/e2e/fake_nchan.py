"""A stand-in for nginx + nchan's WebSocket endpoints, for test_load_counts.py: it speaks the wire
roomcast-load's --target nchan speaks (perf/load/nchan_wire.h) and can be told to lose or
duplicate one message for one subscriber, so that the load generator's per-viewer counting can be
checked against a known answer.

  /usr/bin/python3 fake_nchan.py PORT [--hole-at N] [--dup-at N]

  GET /sub/ROOM  WebSocket subscriber: each published text arrives as one text frame.
  GET /pub/ROOM  WebSocket publisher: every text frame is one message, answered with one
                 channel-info frame ("queued messages: K ...") as nchan does.
  --hole-at N    the message whose stamp says n=N is not sent to the first subscriber
  --dup-at N     the message whose stamp says n=N is sent twice to the second subscriber
Listens on 127.0.0.1:PORT only; prints "ready" once it listens. Ends on SIGTERM.
"""
import argparse
import asyncio
import re
import signal

import websockets

STAMP_COUNTER = re.compile(r"\bn=(\d+)\b")


class Channels:
    def __init__(self, hole_at: int, dup_at: int):
        self.subs: dict[str, list] = {}
        self.queued: dict[str, int] = {}
        self.hole_at = hole_at
        self.dup_at = dup_at

    async def subscriber(self, ws, room: str) -> None:
        self.subs.setdefault(room, []).append(ws)
        try:
            await ws.wait_closed()
        finally:
            self.subs[room].remove(ws)

    async def publisher(self, ws, room: str) -> None:
        async for text in ws:
            m = STAMP_COUNTER.search(text)
            counter = int(m.group(1)) if m else -1
            for i, sub in enumerate(list(self.subs.get(room, []))):
                if i == 0 and counter == self.hole_at:
                    continue
                copies = 2 if i == 1 and counter == self.dup_at else 1
                for _ in range(copies):
                    await sub.send(text)
            self.queued[room] = self.queued.get(room, 0) + 1
            await ws.send(f"queued messages: {self.queued[room]}\r\nlast requested: 0 sec. ago\r\n"
                          f"active subscribers: {len(self.subs.get(room, []))}\r\n"
                          f"last message id: 1:{self.queued[room]}")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--hole-at", type=int, default=-1)
    ap.add_argument("--dup-at", type=int, default=-1)
    args = ap.parse_args()
    channels = Channels(args.hole_at, args.dup_at)

    async def handler(ws, path):
        kind, _, room = path.strip("/").partition("/")
        if kind == "sub":
            await channels.subscriber(ws, room)
        elif kind == "pub":
            await channels.publisher(ws, room)
        else:
            await ws.close(1008, "no such location")

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", args.port, compression=None):
        print("ready", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
