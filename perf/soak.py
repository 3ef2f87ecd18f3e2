#!/usr/bin/env python3
"""perf/soak.py: a long mixed churn against one roomcast, reporting once a minute (issue 15).

For SOAK_MINUTES (30) it keeps, at the same time, on 127.0.0.1 only:
  - WebSocket viewers joining and leaving ROOMS rooms (each lives 1-5 s, a few resume with since),
  - HTTP publishers sending with cids and recording every ack (seq, id) they get,
  - long-pollers and SSE readers, short-lived,
  - slow viewers that join and never read (the slow-viewer policy must bound them),
and restarts the server once, midway, on the same --data-dir (SIGTERM, then start again).
Every minute it prints RSS (VmRSS) and PSS of the server, its connections and rooms (/metrics)
and the requests so far. At the end it counts unanswered requests (asked, no answer in 10 s;
target 0) and acked messages lost (every acked (room, seq) still inside --history 500 is looked up
with GET /rooms/R/history; target 0), and exits 1 when either is not 0 or RSS after warm-up grew over 5%.

  python3 perf/soak.py --binary build/src/roomcast [--minutes 30] [--port 19800]
Only this process's children are stopped, by their PID.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOMS = 20


class Server:
    def __init__(self, binary: str, port: int, data_dir: str, log: Path, shards: int):
        self.argv = [binary, "--listen", f"127.0.0.1:{port}", "--shards", str(shards),
                     "--dev-auth", "--rate-limit", "off", "--hot-msgs-per-sec", "0", "--max-visible-rate", "0", "--data-dir", data_dir, "--history", "500",
                     "--max-queue-bytes", "65536"]
        self.port, self.log, self.proc = port, log, None

    def start(self) -> None:
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(self.argv, stdout=f, stderr=f, stdin=subprocess.DEVNULL)
        for _ in range(400):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("soak: server did not start")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def memory_kib(self) -> tuple[int, int]:
        rss = pss = 0
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        try:
            for line in Path(f"/proc/{self.proc.pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
        except OSError:
            pass
        return rss, pss


class Stats:
    def __init__(self):
        self.asked = self.answered = self.unanswered = self.errors = 0
        self.acked: dict[tuple[str, int], str] = {}  # (room, seq) -> id
        self.restarting = False


async def timed(stats: Stats, coro, timeout: float = 10.0):
    stats.asked += 1
    try:
        r = await asyncio.wait_for(coro, timeout)
        stats.answered += 1
        return r
    except asyncio.TimeoutError:
        if not stats.restarting:
            stats.unanswered += 1
    except (OSError, websockets.exceptions.WebSocketException, json.JSONDecodeError):
        stats.errors += 1  # a connection cut by the restart, or refused while it restarts
    return None


def http(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


async def publisher(srv: Server, stats: Stats, stop: float, n: int) -> None:
    i = 0
    while time.monotonic() < stop:
        room, cid = f"soak-{random.randrange(ROOMS)}", f"p{n}-{i}"
        body = json.dumps({"text": f"soak {n} {i}", "cid": cid}).encode()
        url = f"http://127.0.0.1:{srv.port}/rooms/{room}/messages?user=pub{n}"
        r = await timed(stats, asyncio.to_thread(http, url, body))
        if r and r[0] == 200:
            ans = json.loads(r[1])
            stats.acked[(room, ans["seq"])] = ans["id"]
        i += 1
        await asyncio.sleep(0.05)


async def viewer(srv: Server, stats: Stats, stop: float, slow: bool) -> None:
    while time.monotonic() < stop:
        room = f"soak-{random.randrange(ROOMS)}"
        url = f"ws://127.0.0.1:{srv.port}/ws?room={room}&user=v{random.randrange(10**6)}"

        async def visit():
            async with websockets.connect(url, max_size=None) as ws:
                await ws.recv()  # welcome
                if slow:
                    await asyncio.sleep(random.uniform(3, 8))  # reads nothing meanwhile
                    return
                end = time.monotonic() + random.uniform(1, 5)
                while time.monotonic() < end:
                    try:
                        await asyncio.wait_for(ws.recv(), 0.5)
                    except asyncio.TimeoutError:
                        pass
        await timed(stats, visit(), 20)
        await asyncio.sleep(0.1)


async def poller(srv: Server, stats: Stats, stop: float, sse: bool) -> None:
    while time.monotonic() < stop:
        room = f"soak-{random.randrange(ROOMS)}"
        if sse:
            url = f"http://127.0.0.1:{srv.port}/rooms/{room}/events?history=5"

            def read_a_bit():  # the head and the welcome event, then leave
                with urllib.request.urlopen(url, timeout=10) as r:
                    while (line := r.readline()) and not line.startswith(b"event: welcome"):
                        pass
                    return r.readline()
            await timed(stats, asyncio.to_thread(read_a_bit))
        else:
            url = f"http://127.0.0.1:{srv.port}/rooms/{room}/messages?history=5"
            await timed(stats, asyncio.to_thread(http, url))
        await asyncio.sleep(0.2)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/src/roomcast")
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)))
    ap.add_argument("--port", type=int, default=19800)
    ap.add_argument("--shards", type=int, default=2)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="roomcast-soak.")
    srv = Server(args.binary, args.port, data, Path(data) / "server.log", args.shards)
    srv.start()
    stats = Stats()
    t0 = time.monotonic()
    stop = t0 + args.minutes * 60
    tasks = [asyncio.create_task(publisher(srv, stats, stop, n)) for n in range(4)]
    tasks += [asyncio.create_task(viewer(srv, stats, stop, slow=(k % 10 == 0)))
              for k in range(40)]
    tasks += [asyncio.create_task(poller(srv, stats, stop, sse=(k % 2 == 0))) for k in range(6)]
    print("minute  rss_kib  pss_kib  connections  rooms  asked  answered  unanswered  errors  acked",
          flush=True)
    rss_after_warmup = None
    # The minute whose RSS is the baseline: six minutes into each process, once the dedup windows
    # (--dedup-secs 300) and the histories (--history 500 per room) have filled.
    warm_at = 6
    restarted = False
    minute = 0
    while time.monotonic() < stop:
        await asyncio.sleep(min(60, max(0.1, stop - time.monotonic())))
        minute += 1
        if not restarted and time.monotonic() - t0 >= args.minutes * 30:
            stats.restarting = True
            rc = await asyncio.to_thread(srv.stop)
            await asyncio.to_thread(srv.start)
            stats.restarting = False
            restarted = True
            print(f"restart: old server exited {rc}, new one up", flush=True)
            rss_after_warmup = None  # a new process: its own warm-up
            warm_at = minute + 6
        rss, pss = srv.memory_kib()
        _st, body = http(f"http://127.0.0.1:{srv.port}/metrics")
        conns = rooms = 0
        for line in body.decode().splitlines():
            if line.startswith("roomcast_connections{"):
                conns += int(float(line.split()[-1]))
            if line.startswith("roomcast_rooms_owned{"):
                rooms += int(float(line.split()[-1]))
        if rss_after_warmup is None and minute >= warm_at:
            rss_after_warmup = rss
        print(f"{minute:6} {rss:8} {pss:8} {conns:12} {rooms:6} {stats.asked:6} "
              f"{stats.answered:9} {stats.unanswered:11} {stats.errors:7} {len(stats.acked):6}",
              flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    lost = 0
    for room in sorted({r for r, _s in stats.acked}):
        have: dict[int, str] = {}
        gone_upto = 0  # older than what history keeps (--history 500): in the log, not served
        after = 0
        while True:
            st, body = http(f"http://127.0.0.1:{srv.port}/rooms/{room}/history?after={after}"
                            "&limit=1000")
            page = json.loads(body)
            for m in page["messages"]:
                if m.get("type") == "msg":
                    have[m["seq"]] = m["id"]
                elif m.get("type") == "gap" and after == 0:
                    gone_upto = m["to"]
            if not page.get("more") or not page["messages"]:
                break
            after = max(m.get("seq", m.get("to", after)) for m in page["messages"])
        lost += sum(1 for (r, s), i in stats.acked.items()
                    if r == room and s > gone_upto and have.get(s) != i)
    rss_end, _pss = srv.memory_kib()
    growth = (rss_end - rss_after_warmup) / rss_after_warmup if rss_after_warmup else 0.0
    rc = srv.stop()
    print(f"end: acked {len(stats.acked)}, acked lost {lost}, unanswered {stats.unanswered}, "
          f"errors (restart window) {stats.errors}, RSS after warm-up {rss_after_warmup} KiB, "
          f"at end {rss_end} KiB ({growth:+.1%}), server exit {rc}", flush=True)
    return 0 if lost == 0 and stats.unanswered == 0 and growth <= 0.05 and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
