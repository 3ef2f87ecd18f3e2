#!/usr/bin/python3
"""The chat-explosion scenario (issue 12): V viewers in one room, a calm baseline of 20 msg/s,
then a burst of --rate msg/s for --duration s from --publishers senders, with one priority message
a second throughout. The burst and the viewers are roomcast-load's `fanout` scenario (room load-0);
this script runs the rest around it with one probe viewer:

- the probe sends the calm baseline (20 msg/s, user "calm") and the priority messages (1/s: an
  admin publish with "prio":true on roomcast; on nchan a plain publish, it has no priority lane),
  and watches the room as a viewer for the whole run;
- the calm lane starts once every viewer has its welcome (the load tool's "all joined" line),
  --calm-secs before the burst (roomcast-load --pause-before), and runs until --calm-secs after;
- it reports the probe's priority messages received (%) and their latency p99, the calm messages'
  latency, and "back to normal": from the last burst message the probe saw to the first whole
  second after it in which the probe got every calm message sent in it within 250 ms;
- roomcast only: the server's bytes out (/metrics roomcast_bytes_out_total) over the load run, per
  viewer per second.

Every loop is bounded (--calm-secs before and after, the load tool's own deadline). Loopback only.

  perf/explosion.py --target roomcast --url 127.0.0.1:PORT --admin-key KEY --server-pid PID \\
      --viewers 5000 --publishers 200 --rate 5000 --duration 10 --load build/perf/roomcast-load
  perf/explosion.py --target nchan --url 127.0.0.1:PORT --server-pid PIDS ... (perf/peers/nchan.sh)
"""
import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import websockets

ROOM = "load-0"


def now_ns():
    return time.time_ns()


def room_report(a):
    """roomcast's GET /admin/rooms/load-0 (the owner's view: lag_ms_p99 is the worst viewer
    shard's p99 from sequencing to the shard queueing the message for its viewers' sockets)."""
    req = urllib.request.Request(f"http://{a.url}/admin/rooms/{ROOM}",
                                 headers={"Authorization": f"Bearer {a.admin_key}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


async def watch_server(a, p):
    """Once a second while the load runs: the server's own fan-out lag and sampling state."""
    while not p.stop:
        rep = await asyncio.to_thread(room_report, a)
        if rep is not None:
            p.server_lag.append(rep.get("lag_ms_p99", 0))
            p.sampling_secs += 1 if rep.get("sampled") else 0
        await asyncio.sleep(1.0)


def http_post(url, body, headers):
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.read()


def bytes_out(base):
    try:
        with urllib.request.urlopen(f"http://{base}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    total = 0
    for line in text.splitlines():
        if line.startswith("roomcast_bytes_out_total"):
            total += float(line.split()[-1])
    return total


class Probe:
    def __init__(self, a):
        self.a = a
        self.sent_calm = {}   # i -> send ns
        self.sent_prio = {}
        self.got_calm = {}    # i -> receive ns
        self.got_prio = {}
        self.burst_seen = []  # receive ns of burst messages (stamped by roomcast-load)
        self.markers = 0
        self.stop = False
        self.server_lag = []  # roomcast: lag_ms_p99 from /admin/rooms/load-0, once a second
        self.sampling_secs = 0
        self.prio_acked = {}  # roomcast: i -> when the admin publish was answered (numbered)

    def text_of(self, raw):
        if self.a.target == "nchan":
            return raw
        o = json.loads(raw)
        if o.get("type") == "sampled":
            self.markers += 1
        return o.get("text", "") if o.get("type") == "msg" else ""

    async def watch(self):
        path = f"/sub/{ROOM}" if self.a.target == "nchan" else f"/ws?room={ROOM}&user=probe"
        async with websockets.connect(f"ws://{self.a.url}{path}", max_queue=None,
                                      ping_interval=None, max_size=None) as ws:
            while not self.stop:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                t = now_ns()
                text = self.text_of(raw)
                if text.startswith("calm "):
                    self.got_calm.setdefault(int(text.split()[1]), t)
                elif text.startswith("prio "):
                    self.got_prio.setdefault(int(text.split()[1]), t)
                elif text.startswith("t="):
                    self.burst_seen.append(t)

    async def calm(self, ws, i):
        text = f"calm {i} {now_ns()}"
        self.sent_calm[i] = now_ns()
        if self.a.target == "nchan":
            await asyncio.to_thread(http_post, f"http://{self.a.url}/pub/{ROOM}", text,
                                    {"Content-Type": "text/plain"})
        else:
            await ws.send(json.dumps({"op": "send", "text": text, "cid": f"calm-{i}"}))

    async def prio(self, i):
        text = f"prio {i} {now_ns()}"
        self.sent_prio[i] = now_ns()
        if self.a.target == "nchan":
            await asyncio.to_thread(http_post, f"http://{self.a.url}/pub/{ROOM}", text,
                                    {"Content-Type": "text/plain"})
        else:
            await asyncio.to_thread(
                self.timed_post, i, f"http://{self.a.url}/admin/rooms/{ROOM}/publish",
                json.dumps({"text": text, "prio": True}),
                {"Authorization": f"Bearer {self.a.admin_key}",
                 "Content-Type": "application/json"})

    def timed_post(self, i, url, body, headers):
        """A priority publish; notes when its answer (the message numbered) came."""
        r = http_post(url, body, headers)
        self.prio_acked[i] = now_ns()
        return r

    async def send_loop(self, until):
        ws = None
        if self.a.target != "nchan":
            ws = await websockets.connect(f"ws://{self.a.url}/ws?room={ROOM}&user=calm",
                                          ping_interval=None, max_queue=None)
        start = time.monotonic()
        i = 0
        while not self.stop and time.monotonic() < until():
            due = start + i / 20.0
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            asyncio.ensure_future(self.calm(ws, i))
            if i % 20 == 0:
                asyncio.ensure_future(self.prio(i // 20))
            i += 1
        if ws is not None:
            await ws.close()


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def back_to_normal(p, burst_end):
    """Seconds from burst_end to the start of the first whole second (of calm sends) after it in
    which every calm message reached the probe within 250 ms."""
    by_sec = {}
    t0 = min(p.sent_calm.values())
    for i, s in p.sent_calm.items():
        by_sec.setdefault((s - t0) // 1_000_000_000, []).append(i)
    for sec in sorted(by_sec):
        start = t0 + sec * 1_000_000_000
        if start < burst_end:
            continue
        ok = all(i in p.got_calm and p.got_calm[i] - p.sent_calm[i] < 250_000_000
                 for i in by_sec[sec])
        if ok:
            return (start - burst_end) / 1e9
    return None


async def main(a):
    p = Probe(a)
    load_done_at = [None]
    watcher = asyncio.ensure_future(p.watch())
    server_watch = (asyncio.ensure_future(watch_server(a, p))
                    if a.target == "roomcast" and a.admin_key else None)
    await asyncio.sleep(0.5)
    b0 = bytes_out(a.url) if a.target == "roomcast" else None
    t_load = time.monotonic()
    # The viewers join first; the load tool then waits --pause-before (the calm seconds) before
    # its burst, and the calm lane starts at its "all joined" line, so that the calm baseline
    # runs in a full room and not during the joins.
    cmd = [a.load, "fanout", "--target", a.target, "--url", f"ws://{a.url}",
           "--viewers", str(a.viewers), "--rooms", "1", "--publishers", str(a.publishers),
           "--rate", str(a.rate), "--size", "100", "--duration", str(a.duration),
           "--pause-before", str(a.calm_secs),
           "--source-ips", "16", "--straggler-secs", "10", "--json"]
    if a.server_pid:
        cmd += ["--server-pid", a.server_pid]
    if a.target == "nchan":
        cmd += ["--nchan-publish", "ws"]
    print("$ " + " ".join(cmd), file=sys.stderr)
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    sender = None
    while True:
        line = await proc.stderr.readline()
        if not line:
            break
        sys.stderr.write(line.decode(errors="replace"))
        if sender is None and line.startswith(b"roomcast-load: all joined"):
            sender = asyncio.ensure_future(
                p.send_loop(lambda: (load_done_at[0] or float("inf")) + a.calm_secs))
    out = await proc.stdout.read()
    await proc.wait()
    load_secs = time.monotonic() - t_load
    load_done_at[0] = time.monotonic()
    b1 = bytes_out(a.url) if a.target == "roomcast" else None
    if sender is not None:
        await sender
    await asyncio.sleep(1.0)
    p.stop = True
    await watcher
    if server_watch is not None:
        await server_watch
    report = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    lat_prio = [p.got_prio[i] - p.sent_prio[i] for i in p.got_prio if i in p.sent_prio]
    burst_end = max(p.burst_seen) if p.burst_seen else None
    res = {
        "target": a.target,
        "viewers": a.viewers, "burst_rate": a.rate, "burst_secs": a.duration,
        "load": {k: report.get(k) for k in (
            "members", "sent", "acked", "unacked", "received", "delivered_pct",
            "deliveries_per_s", "latency_p50_ms", "latency_p99_ms", "latency_max_ms",
            "server_cpu_s", "server_cpu_pct", "window_s", "straggler_s", "gap_notices",
            "foreign", "late_sends", "client_cpu_pct", "send_rate", "viewers_with_holes")},
        "deliveries_per_viewer_per_s": (report["deliveries_per_s"] / report["members"]
                                        if report.get("members") else None),
        "probe_prio_sent": len(p.sent_prio), "probe_prio_got": len(p.got_prio),
        "probe_prio_p99_ms": (pct(lat_prio, 0.99) or 0) / 1e6 if lat_prio else None,
        # roomcast: from the publish to its answer (queued at the owner and numbered), p50/p99
        "prio_numbered_p50_ms": pct([p.prio_acked[i] - p.sent_prio[i] for i in p.prio_acked
                                     if i in p.sent_prio], 0.5) / 1e6 if p.prio_acked else None,
        "prio_numbered_p99_ms": pct([p.prio_acked[i] - p.sent_prio[i] for i in p.prio_acked
                                     if i in p.sent_prio], 0.99) / 1e6 if p.prio_acked else None,
        "probe_calm_sent": len(p.sent_calm), "probe_calm_got": len(p.got_calm),
        "probe_markers": p.markers,
        "probe_burst_msgs_seen": len(p.burst_seen),
        "back_to_normal_s": back_to_normal(p, burst_end) if burst_end else None,
    }
    if p.server_lag:
        res["server_lag_p99_ms_max"] = max(p.server_lag)
        res["server_lag_p99_ms_by_s"] = p.server_lag
        res["server_sampling_secs"] = p.sampling_secs
    if b0 is not None and b1 is not None and report.get("members") and report.get("window_s"):
        # Everything the server sent during the load run (joins, the calm and priority lanes,
        # markers), per viewer, over the burst's seconds.
        res["bytes_per_viewer_per_burst_s"] = (b1 - b0) / report["members"] / a.duration
        res["load_run_s"] = load_secs
    print(json.dumps(res))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", choices=["roomcast", "nchan"], default="roomcast")
    ap.add_argument("--url", required=True, help="HOST:PORT on loopback")
    ap.add_argument("--admin-key", default="")
    ap.add_argument("--server-pid", default="")
    ap.add_argument("--viewers", type=int, default=5000)
    ap.add_argument("--publishers", type=int, default=200)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--calm-secs", type=float, default=5)
    ap.add_argument("--load", default="build/perf/roomcast-load")
    args = ap.parse_args()
    assert args.url.startswith(("127.", "localhost", "[::1]")), "loopback only"
    asyncio.run(main(args))
