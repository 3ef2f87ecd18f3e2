"""--redis links that stall silently (docs/cluster.md, "Failures"): a node reaches Redis through a
small TCP proxy started by the test, which can stop forwarding on the node's pub/sub connections
(it holds their bytes both ways, as a dead middlebox or a half-open socket would). Redis and the
nodes are the fixtures of test_cluster.py."""
import asyncio
import json
import select
import socket
import threading
import time

from metricsutil import fetch_metrics, metric_sum
from rcutil import check_welcome, close_all, http, recv_json, run, ws_connect
from test_cluster import CURSOR_KEY, collect, post, pytestmark, redis, viewer  # noqa: F401


class StallProxy:
    """127.0.0.1:<port> -> Redis. A node's command links begin with SCRIPT LOAD; every other
    connection is a pub/sub link (one per shard, silent until it subscribes). stall_pubsub()
    stops forwarding on every pub/sub connection open now (new ones flow)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []  # [client, upstream, is_command, stalled]
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stall_pubsub(self):
        with self.lock:
            stalled = 0
            for p in self.pairs:
                if not p[2] and not p[3]:
                    p[3] = True
                    stalled += 1
        return stalled

    def pubsub_open(self):
        with self.lock:
            return sum(1 for p in self.pairs if not p[2] and not p[3])

    def close(self):
        self.stop = True
        self.thread.join(5)
        with self.lock:
            for p in self.pairs:
                p[0].close()
                p[1].close()
        self.listener.close()

    def _run(self):
        deadline = time.monotonic() + 300  # bounded, whatever the test does
        while not self.stop and time.monotonic() < deadline:
            with self.lock:
                live = [p for p in self.pairs if not p[3]]
            socks = [self.listener] + [s for p in live for s in (p[0], p[1])]
            readable, _w, _x = select.select(socks, [], [], 0.05)
            for s in readable:
                if s is self.listener:
                    c, _a = s.accept()
                    up = socket.create_connection(self.target)
                    with self.lock:
                        self.pairs.append([c, up, False, False])
                    continue
                self._forward(s, live)

    def _forward(self, s, live):
        for p in live:
            if s is p[0] or s is p[1]:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    with self.lock:
                        p[3] = True  # gone: never selected again
                    return
                if s is p[0] and data.upper().startswith(b"*3\r\n$6\r\nSCRIPT"):
                    p[2] = True
                (p[1] if s is p[0] else p[0]).sendall(data)
                return


def start_pair(roomcast, redis, proxy, *extra):
    """Node 0 reaches Redis through the proxy, node 1 directly."""
    a = roomcast("--redis", f"127.0.0.1:{proxy.port}", "--cursor-key", CURSOR_KEY, *extra,
                 shards=2)
    b = roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY, shards=2)
    return a, b


def wait_until(ok, timeout, what):
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_idle_probe_finds_a_stalled_pubsub_link(roomcast, redis):  # noqa: F811
    proxy = StallProxy(redis.port)
    a, b = start_pair(roomcast, redis, proxy, "--redis-probe-ms", "500")
    room = "stalled"

    async def go():
        ws, _w = await viewer(a, room, "watcher")
        assert post(b, room, "w", "before", "s0")[0] == 200
        assert [m["id"] for m in await collect(ws, 1)] == ["s0"]
        assert proxy.stall_pubsub() >= 1
        t0 = time.monotonic()
        assert post(b, room, "w", "while stalled", "s1")[0] == 200
        # Without the probe nothing would ever come: the stalled link looks alive.
        got = await collect(ws, 1, timeout=6)
        took = time.monotonic() - t0
        assert [m["id"] for m in got] == ["s1"] and got[0]["seq"] == 2, got
        assert took < 4, f"repaired after {took:.1f} s"
        assert post(b, room, "w", "after", "s2")[0] == 200
        assert [m["id"] for m in await collect(ws, 1)] == ["s2"]
        await close_all([ws])

    try:
        run(go(), 60)
        samples = fetch_metrics(a)[2]
        assert metric_sum(samples, "roomcast_redis_probe_reconnects_total") >= 1
        assert metric_sum(samples, "roomcast_redis_probes_total") >= 1
        # Node 1's links were never stalled: no probe of theirs went unanswered.
        assert metric_sum(fetch_metrics(b)[2], "roomcast_redis_probe_reconnects_total") == 0
    finally:
        proxy.close()


def test_healthy_links_answer_probes(roomcast, redis):  # noqa: F811
    """A quiet but healthy pub/sub link is probed and answers: no reconnect."""
    proxy = StallProxy(redis.port)
    a, _b = start_pair(roomcast, redis, proxy, "--redis-probe-ms", "200")

    async def go():
        ws, _w = await viewer(a, "calm", "watcher")
        await asyncio.sleep(1.5)
        await close_all([ws])

    try:
        run(go(), 30)
        samples = fetch_metrics(a)[2]
        assert metric_sum(samples, "roomcast_redis_probes_total") >= 4, samples
        assert metric_sum(samples, "roomcast_redis_probe_reconnects_total") == 0
    finally:
        proxy.close()


def test_join_held_for_an_unconfirmed_subscription_is_answered(roomcast, redis):  # noqa: F811
    """The subscription of a new room goes out on a stalled link and is never confirmed: the
    join is answered from the node's copy after the hold limit (2 s), not held forever; the
    idle probe (5 s by default) then brings the room in step."""
    proxy = StallProxy(redis.port)
    a, b = start_pair(roomcast, redis, proxy)
    room = "unconfirmed"

    async def go():
        ws0, _w = await viewer(a, "warmup", "w0")
        wait_until(lambda: proxy.pubsub_open() >= 2, 5, "not 2 pub/sub links through the proxy")
        for k in range(3):
            assert post(b, room, "w", f"t{k}", f"u{k}")[0] == 200
        assert proxy.stall_pubsub() >= 1
        t0 = time.monotonic()
        ws = await ws_connect(a.ws_url(room, user="late"))
        w = check_welcome(await recv_json(ws, 6), room, "late")
        took = time.monotonic() - t0
        assert 1.5 <= took < 4, f"welcome after {took:.1f} s"
        # After the probe reconnects the link, the viewer gets the room's messages in order.
        assert post(b, room, "w", "t3", "u3")[0] == 200
        # ... all of them, what it missed while the link stalled included, and no gap.
        ids = []
        while "u3" not in ids:
            obj = await recv_json(ws, 12)
            assert obj.get("type") != "gap", (w, ids, obj)
            if obj.get("type") == "msg":
                ids.append(obj["id"])
        assert ids == ["u0", "u1", "u2", "u3"], (w, ids)
        await close_all([ws, ws0])

    try:
        run(go(), 60)
    finally:
        proxy.close()


def test_data_dir_with_redis_keeps_the_log_out_of_it(roomcast, redis, tmp_path):  # noqa: F811
    """--data-dir with --redis (docs/cluster.md): Redis is the only history; a log left in the
    directory by a single-node run is neither replayed nor written (the node's local cache lives
    in <data-dir>/cache), and is still there after."""
    data = tmp_path / "data"
    alone = roomcast("--data-dir", data, "--cursor-key", CURSOR_KEY)
    for k in range(3):
        assert post(alone, "kept", "w", f"local {k}", f"l{k}")[0] == 200
    assert alone.stop() == 0
    node = roomcast("--data-dir", data, "--redis", f"127.0.0.1:{redis.port}",
                    "--cursor-key", CURSOR_KEY)
    assert "local cache in" in node.log_text()
    st, _h, body = http("GET", node.url("/rooms/kept/history?after=0&limit=10"))
    assert st == 200 and json.loads(body)["messages"] == [], body
    st, ans = post(node, "kept", "w", "through redis", "r0")
    assert st == 200 and ans["seq"] == 1, ans
    st, _h, body = http("GET", node.url("/rooms/kept/history?after=0&limit=10"))
    assert [m["id"] for m in json.loads(body)["messages"]] == ["r0"], body
    assert node.stop() == 0
    assert list((data / "cache" / "log").glob("shard-*/*.seg"))
    again = roomcast("--data-dir", data, "--cursor-key", CURSOR_KEY)
    st, _h, body = http("GET", again.url("/rooms/kept/history?after=0&limit=10"))
    assert [m["id"] for m in json.loads(body)["messages"]] == ["l0", "l1", "l2"], body
