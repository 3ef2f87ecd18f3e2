#!/usr/bin/python3
"""Failure drills of issue 13 (docs/cluster.md, "Failure drills"), on loopback, bounded in time:

  kill9         kill -9 one node under load; its viewers reconnect to the next node with
                `since` (and `epoch`) and resume; its publisher resends its unanswered sends,
                same cid, on the next node
  redis-stop    SIGSTOP the redis-server for --outage seconds under load, then SIGCONT; refused
                sends (`unavailable`) are sent again, same cid, until acked
  pubsub-stall  the last node reaches Redis through a TCP proxy (in this process) that, for
                --outage seconds, stops forwarding both ways on that node's pub/sub connections
                (those that sent SUBSCRIBE), command connections untouched; reports whether the
                node reconnected (a new pub/sub connection through the proxy) or simply got the
                held bytes late

A fleet of --nodes nodes (2 shards each) and its own redis-server; --viewers-per-node viewers
(Python websockets) per node in room `drill`, one publisher per node sending --rate msg/s in all
for --duration seconds, each text stamped with its send time. Then every viewer is checked against
the acked messages: lost (acked, never delivered), extra (delivered, never acked), frames
delivered twice (the client de-dups them by id), ids numbered twice (two seqs for one id: a
duplicate that de-dup by id would hide), order (seq must rise by one after de-dup; a `gap` frame
is counted). Exit status 0 when nothing was lost or doubled, 1 otherwise.

  flock /tmp/roomcast-bench.lock /usr/bin/python3 perf/drills/drill.py kill9 [--out DIR]
  --bg-viewers N adds `roomcast-load fanout` in room load-0 over every node (N viewers, 100 msg/s)
  as background load during the drill.
"""
import argparse
import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cluster_fleet import HOST, Node, Redis, start_fleet, stop_fleet  # noqa: E402

ROOM = "drill"
RUN = format(int(time.time() * 1000) & 0xFFFFFFFF, "x")


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 1)


class Viewer:
    def __init__(self, idx, home, nodes):
        self.user = f"v{idx}"
        self.home = home
        self.at = home
        self.nodes = nodes
        self.last_seq = None
        self.epoch = None
        self.ids = {}  # id -> seq (client de-dup by id)
        self.frames = 0
        self.dup_frames = 0  # seq already seen (de-duped)
        self.renumbered = 0  # an id seen again under another seq
        self.order_errors = 0  # seq not last + 1
        self.gaps = []
        self.reconnects = 0
        self.latency = []  # (delivery time, latency s)
        self.joined = asyncio.Event()

    def url(self):
        q = f"room={ROOM}&user={self.user}"
        if self.last_seq is not None:
            q += f"&since={self.last_seq}&epoch={self.epoch}"
        return f"{self.nodes[self.at].ws}/ws?{q}"

    def on_msg(self, m, now):
        self.frames += 1
        seq, mid = m["seq"], m["id"]
        if seq <= self.last_seq:
            self.dup_frames += 1
            return
        if seq != self.last_seq + 1:
            self.order_errors += 1
        self.last_seq = seq
        if mid in self.ids:
            self.renumbered += 1
        self.ids[mid] = seq
        text = m.get("text", "")
        if text.startswith("t="):
            self.latency.append((now, time.monotonic() - float(text[2:].split(" ", 1)[0])))

    async def run(self, stop):
        while not stop.is_set():
            try:
                async with websockets.connect(self.url(), open_timeout=5, close_timeout=1,
                                              max_size=1 << 22) as ws:
                    async for raw in ws:
                        m = json.loads(raw)
                        t = m.get("type")
                        if t == "welcome":
                            if self.epoch is not None and m["epoch"] != self.epoch:
                                self.gaps.append(("epoch", self.epoch, m["epoch"]))
                            self.epoch = m["epoch"]
                            if self.last_seq is None:
                                self.last_seq = m["seq"]
                            self.joined.set()
                        elif t == "msg":
                            self.on_msg(m, time.monotonic())
                        elif t == "gap":
                            self.gaps.append((m.get("from"), m.get("to")))
                        if stop.is_set():
                            break
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
                pass
            if stop.is_set():
                break
            self.reconnects += 1
            self.at = next_alive(self.nodes, self.at + 1)
            await asyncio.sleep(0.1)


def next_alive(nodes, start):
    for k in range(len(nodes)):
        i = (start + k) % len(nodes)
        if nodes[i].alive():
            return i
    return start % len(nodes)


class Publisher:
    def __init__(self, j, home, nodes, rate, size):
        self.user = f"p{j}"
        self.j = j
        self.at = home
        self.nodes = nodes
        self.interval = 1.0 / rate
        self.size = size
        self.texts = {}  # cid -> text (sent at least once)
        self.acked = {}  # cid -> seq
        self.ack_seq_changed = 0
        self.in_flight = collections.deque()  # cids on the current connection, in send order
        self.retry = collections.deque()
        self.sends = 0
        self.refused = 0  # error unavailable
        self.other_errors = collections.Counter()
        self.reconnects = 0
        self.made = 0

    def new_text(self):
        stamp = f"t={time.monotonic():.6f} {self.user}"
        return stamp + " " + "x" * max(0, self.size - len(stamp) - 1)

    async def reader(self, ws):
        async for raw in ws:
            m = json.loads(raw)
            if m.get("type") == "ack" and m.get("cid"):
                cid = m["cid"]
                if cid in self.acked and self.acked[cid] != m["seq"]:
                    self.ack_seq_changed += 1
                self.acked[cid] = m["seq"]
                if cid in self.in_flight:
                    self.in_flight.remove(cid)
            elif m.get("type") == "error" and self.in_flight:
                cid = self.in_flight.popleft()  # an error frame carries no cid: the oldest
                if m.get("code") == "unavailable":
                    self.refused += 1
                else:
                    self.other_errors[m.get("code")] += 1
                self.retry.append((time.monotonic() + 0.2, cid))

    async def run(self, t_end, give_up):
        """New messages until t_end; resends until every one is acked or give_up."""
        self.next_new = time.monotonic()
        while time.monotonic() < give_up:
            url = f"{self.nodes[self.at].ws}/ws?room={ROOM}&user={self.user}"
            try:
                async with websockets.connect(url, open_timeout=5, close_timeout=1) as ws:
                    rd = asyncio.ensure_future(self.reader(ws))
                    try:
                        for cid in list(self.texts):  # unanswered ones, same cid
                            if cid not in self.acked and cid not in self.in_flight:
                                self.retry.append((0, cid))
                        if await self.send_loop(ws, rd, t_end, give_up):
                            return
                    finally:
                        rd.cancel()
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
                pass
            self.in_flight.clear()
            self.reconnects += 1
            self.at = next_alive(self.nodes, self.at + 1)
            await asyncio.sleep(0.1)

    async def send_loop(self, ws, rd, t_end, give_up):
        """True when done (everything acked after t_end, or give_up); False when the
        connection ended."""
        while not rd.done():
            now = time.monotonic()
            if now >= give_up:
                return True
            if now >= t_end and len(self.acked) == len(self.texts):
                return True
            while self.retry and self.retry[0][0] <= now:
                _, cid = self.retry.popleft()
                if cid not in self.acked:
                    await self.send(ws, cid)
            if now >= self.next_new and now < t_end:
                self.made += 1
                self.next_new += self.interval
                cid = f"{RUN}-{self.user}-{self.made}"
                self.texts[cid] = self.new_text()
                await self.send(ws, cid)
            await asyncio.sleep(min(0.005, max(0.0, self.next_new - time.monotonic())))
        return False

    async def send(self, ws, cid):
        self.in_flight.append(cid)
        self.sends += 1
        await ws.send(json.dumps({"op": "send", "text": self.texts[cid], "cid": cid}))


class StallProxy:
    """TCP proxy to Redis; stall() holds every connection that has sent SUBSCRIBE."""

    def __init__(self, redis_port):
        self.redis_port = redis_port
        self.conns = []
        self.stalled_until = 0.0
        self.server = None
        self.port = None

    async def start(self):
        self.server = await asyncio.start_server(self.accept, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def gate(self, c):
        while c["pubsub"] and c["held"] and time.monotonic() < self.stalled_until:
            await asyncio.sleep(0.02)

    async def pump(self, c, r, w, upstream):
        try:
            while True:
                await self.gate(c)
                data = await r.read(65536)
                if not data:
                    break
                if upstream and not c["pubsub"] and b"SUBSCRIBE" in data.upper():
                    c["pubsub"] = True
                await self.gate(c)
                w.write(data)
                await w.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            w.close()

    async def accept(self, cr, cw):
        try:
            ur, uw = await asyncio.open_connection(HOST, self.redis_port)
        except OSError:
            cw.close()
            return
        c = {"pubsub": False, "held": False, "opened": time.monotonic()}
        self.conns.append(c)
        await asyncio.gather(self.pump(c, cr, uw, True), self.pump(c, ur, cw, False))
        c["closed"] = time.monotonic()

    def stall(self, secs):
        for c in self.conns:
            if c["pubsub"] and "closed" not in c:
                c["held"] = True
        self.stalled_until = time.monotonic() + secs

    def summary(self, t0):
        return [{"pubsub": c["pubsub"], "held": c["held"],
                 "opened_s": round(c["opened"] - t0, 2),
                 "closed_s": round(c["closed"] - t0, 2) if "closed" in c else None}
                for c in self.conns]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=["kill9", "redis-stop", "pubsub-stall"])
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--viewers-per-node", type=int, default=20)
    p.add_argument("--rate", type=float, default=100.0, help="msg/s, all publishers together")
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--duration", type=float, default=30.0, help="seconds of publishing")
    p.add_argument("--at", type=float, default=8.0, help="seconds into publishing of the fault")
    p.add_argument("--outage", type=float, default=10.0, help="redis-stop, pubsub-stall: seconds")
    p.add_argument("--bg-viewers", type=int, default=0)
    p.add_argument("--bin", default=os.environ.get("ROOMCAST_BIN", "build/src/roomcast"))
    p.add_argument("--load", default=os.environ.get("ROOMCAST_LOAD_BIN",
                                                    "build/perf/roomcast-load"))
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if not (2 <= a.nodes <= 6 and 1 <= a.viewers_per_node <= 500 and 0 < a.rate <= 2000
            and 5 <= a.duration <= 120 and 0 < a.at < a.duration and 0 < a.outage <= 60
            and 0 <= a.bg_viewers <= 30000):
        p.error("out of bounds: nodes 2..6, viewers per node 1..500, rate <= 2000, duration "
                "5..120 s, 0 < at < duration, outage <= 60 s, bg viewers <= 30000")
    a.out = a.out or time.strftime("perf/out/drills-%Y%m%d-%H%M%S", time.gmtime())
    return a


async def fault(a, redis, nodes, proxy, t0, events):
    """The scenario's fault at --at seconds into publishing."""
    await asyncio.sleep(max(0.0, t0 + a.at - time.monotonic()))
    mark = lambda what: events.append((round(time.monotonic() - t0, 3), what))  # noqa: E731
    if a.scenario == "kill9":
        victim = nodes[-1]
        mark(f"kill -9 {victim.name} pid {victim.pid}")
        victim.kill9()
    elif a.scenario == "redis-stop":
        mark(f"SIGSTOP redis pid {redis.pid}")
        redis.signal(signal.SIGSTOP)
        await asyncio.sleep(a.outage)
        redis.signal(signal.SIGCONT)
        mark(f"SIGCONT redis pid {redis.pid}")
    else:
        proxy.stall(a.outage)
        mark(f"pub/sub of {nodes[-1].name} stalled for {a.outage:g} s "
             f"({sum(1 for c in proxy.conns if c['held'])} connection(s) held)")
        await asyncio.sleep(a.outage)
        mark("stall over")


def background(a, nodes):
    if a.bg_viewers == 0:
        return None
    cmd = [a.load, "fanout", *sum((["--url", n.ws] for n in nodes), []),
           "--viewers", str(a.bg_viewers), "--rooms", "1", "--publishers", "1", "--rate", "100",
           "--duration", f"{a.duration + 5:g}", "--workers", str(len(nodes)),
           "--straggler-secs", "15", "--json"]
    log = open(os.path.join(a.out, f"background-{a.scenario}.txt"), "w")
    log.write(" ".join(cmd) + "\n")
    log.flush()
    return subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)


def metric_deltas(before, nodes):
    out = {}
    for n, b in zip(nodes, before):
        if not n.alive():
            out[n.name] = "killed"
            continue
        try:
            m = n.metrics()
        except OSError:
            out[n.name] = "unreadable"
            continue
        out[n.name] = {k.removeprefix("roomcast_redis_"): m.get(k, 0) - b.get(k, 0)
                       for k in m if k.startswith("roomcast_redis_") and k.endswith("_total")
                       and m.get(k, 0) != b.get(k, 0)}
    return out


async def drill(a, redis, nodes, proxy):
    viewers = [Viewer(i, i % len(nodes), nodes) for i in range(a.viewers_per_node * len(nodes))]
    stop = asyncio.Event()
    vtasks = [asyncio.ensure_future(v.run(stop)) for v in viewers]
    await asyncio.wait_for(asyncio.gather(*(v.joined.wait() for v in viewers)), 30)
    bg = background(a, nodes)
    await asyncio.sleep(2.0 if bg else 0.2)
    before = [n.metrics() for n in nodes]
    pubs = [Publisher(j, j, nodes, a.rate / len(nodes), a.size) for j in range(len(nodes))]
    t0 = time.monotonic()
    t_end = t0 + a.duration
    give_up = t_end + 30
    events = []
    ft = asyncio.ensure_future(fault(a, redis, nodes, proxy, t0, events))
    await asyncio.gather(*(p.run(t_end, give_up) for p in pubs))
    await ft
    events.append((round(time.monotonic() - t0, 3), "publishers done"))
    acked = {cid: seq for p in pubs for cid, seq in p.acked.items()}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(not set(acked) <= set(v.ids) for v in viewers):
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # anything doubled arrives now
    stop.set()
    for t in vtasks:
        t.cancel()
    await asyncio.gather(*vtasks, return_exceptions=True)
    bg_result = None
    if bg:
        try:
            await asyncio.to_thread(bg.wait, 90)
        except subprocess.TimeoutExpired:
            bg.kill()
            bg.wait()
        bg_result = background_result(a)
    r = report(a, pubs, viewers, acked, events, metric_deltas(before, nodes), t0, proxy)
    r["background"] = bg_result
    return r


def background_result(a):
    """The background fanout's own verdict (its JSON line), or None."""
    with open(os.path.join(a.out, f"background-{a.scenario}.txt")) as f:
        lines = [x for x in f.read().splitlines() if x.startswith("{")]
    if not lines:
        return None
    j = json.loads(lines[-1])
    return {k: j.get(k) for k in ("viewers", "sent", "acked", "offered", "delivered_unique",
                                  "lost", "gap_lost", "viewers_with_holes", "viewer_dups",
                                  "closed_during_run", "latency_p99_ms", "latency_max_ms",
                                  "straggler_s", "complete")}


def latency_by_second(viewers, t0):
    """{second after publishing started: the largest latency of what was delivered in it}."""
    worst = {}
    for v in viewers:
        for t, x in v.latency:
            k = int(t - t0)
            worst[k] = max(worst.get(k, 0.0), x)
    return {k: round(worst[k] * 1000) for k in sorted(worst)}


def report(a, pubs, viewers, acked, events, deltas, t0, proxy):
    made = {cid for p in pubs for cid in p.texts}
    lost = sum(len(set(acked) - set(v.ids)) for v in viewers)
    extra = sum(len(set(v.ids) - set(acked)) for v in viewers)
    lat = [x for v in viewers for _, x in v.latency]
    fault_t = t0 + a.at
    lat_after = [x for v in viewers for t, x in v.latency if t >= fault_t]
    r = {
        "scenario": a.scenario, "args": {k: v for k, v in vars(a).items()
                                         if k not in ("bin", "load")},
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "events": events,
        "messages_made": len(made), "acked": len(acked),
        "never_acked": len(made - set(acked)),
        "sends": sum(p.sends for p in pubs), "refused_unavailable": sum(p.refused for p in pubs),
        "other_errors": dict(sum((p.other_errors for p in pubs), collections.Counter())),
        "ack_seq_changed": sum(p.ack_seq_changed for p in pubs),
        "publisher_reconnects": sum(p.reconnects for p in pubs),
        "viewers": len(viewers),
        "expected_deliveries": len(acked) * len(viewers),
        "delivered_unique": sum(len(v.ids) for v in viewers),
        "lost": lost, "extra_not_acked": extra,
        "dup_frames_dedup_by_id": sum(v.dup_frames for v in viewers),
        "ids_numbered_twice": sum(v.renumbered for v in viewers),
        "order_errors": sum(v.order_errors for v in viewers),
        "gap_frames": sum(len(v.gaps) for v in viewers),
        "viewer_reconnects": sum(v.reconnects for v in viewers),
        "viewers_moved": sum(1 for v in viewers if v.at != v.home),
        "latency_p50_ms": pct(lat, 0.5), "latency_p99_ms": pct(lat, 0.99),
        "latency_max_ms": pct(lat, 1.0), "latency_max_after_fault_ms": pct(lat_after, 1.0),
        "latency_max_ms_by_delivery_second": latency_by_second(viewers, t0),
        "node_redis_counter_deltas": deltas,
        "loadavg_end": open("/proc/loadavg").read().split()[:3],
    }
    if proxy:
        r["proxy_connections"] = proxy.summary(t0)
        held = [c for c in proxy.conns if c["held"]]
        r["stalled_link_closed_by_node"] = any("closed" in c for c in held)
        r["new_pubsub_connections_after_stall"] = sum(
            1 for c in proxy.conns if c["pubsub"] and not c["held"]
            and c["opened"] > fault_t)
    r["ok"] = (lost == 0 and r["ids_numbered_twice"] == 0 and r["dup_frames_dedup_by_id"] == 0
               and r["order_errors"] == 0 and r["ack_seq_changed"] == 0 and extra == 0
               and r["never_acked"] == 0)
    return r


async def stall_fleet(a):
    """Redis, the proxy in front of it, and the nodes: the last one reaches Redis through the
    proxy."""
    redis = Redis(a.out)
    proxy = StallProxy(redis.port)
    await proxy.start()
    nodes = []
    try:
        for i in range(a.nodes):
            port = proxy.port if i == a.nodes - 1 else redis.port
            nodes.append(Node(a.bin, a.out, f"node-{i + 1}", 2, f"{HOST}:{port}"))
        for n in nodes:
            await asyncio.to_thread(n.wait_ready)
    except BaseException:
        stop_fleet(redis, nodes)
        raise
    return redis, nodes, proxy


async def amain(a):
    os.makedirs(a.out, exist_ok=True)
    proxy = None
    if a.scenario == "pubsub-stall":
        redis, nodes, proxy = await stall_fleet(a)
    else:
        redis, nodes = start_fleet(a.bin, a.out, a.nodes, 2)
    try:
        return await drill(a, redis, nodes, proxy)
    finally:
        stop_fleet(redis, nodes)
        if proxy:
            proxy.server.close()


def main(argv):
    a = parse_args(argv)
    r = asyncio.run(asyncio.wait_for(amain(a), a.duration + 150))
    path = os.path.join(a.out, f"{a.scenario}.json")
    with open(path, "w") as f:
        json.dump(r, f, indent=1)
    brief = {k: r[k] for k in ("scenario", "acked", "never_acked", "expected_deliveries",
                               "delivered_unique", "lost", "extra_not_acked",
                               "dup_frames_dedup_by_id", "ids_numbered_twice", "order_errors",
                               "gap_frames", "refused_unavailable", "publisher_reconnects",
                               "viewer_reconnects", "viewers_moved", "latency_p99_ms",
                               "latency_max_after_fault_ms", "ok")}
    for k in ("stalled_link_closed_by_node", "new_pubsub_connections_after_stall",
              "background"):
        if k in r:
            brief[k] = r[k]
    print(json.dumps(brief, indent=1))
    print("events:", r["events"])
    print(f"full report: {path}")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
