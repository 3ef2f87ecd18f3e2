"""Many nodes over Redis (--redis; PROTOCOL.md "Many nodes", docs/cluster.md): each test starts
its own redis-server on a free loopback port (no persistence, killed by its PID at the end) and
three roomcast nodes with two shards each, sharing one --cursor-key."""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest

from metricsutil import fetch_metrics, metric_sum
from rcutil import recv_msgs as collect  # noqa: F401 (test_cluster_* import it too)
from rcutil import (check_welcome, close_all, free_port, http, post_message, recv_json,
                    recv_next, run, ws_connect)

CURSOR_KEY = "ab" * 32
REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed "
                                "(scripts/install-deps.sh installs it)")


class Redis:
    """One redis-server on 127.0.0.1:<free port>; only this PID is ever signalled."""

    def __init__(self, log_path):
        self.port = free_port()
        self.log_path = log_path
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--protected-mode", "no"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run(["redis-cli", "-p", str(self.port), "PING"], capture_output=True,
                               text=True, timeout=5) if shutil.which("redis-cli") else None
            if r is None or r.stdout.strip() == "PONG":
                if r is None:
                    time.sleep(0.5)
                return self
            time.sleep(0.05)
        raise AssertionError("redis-server did not answer PING within 10 s")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def cli(self, *args):
        """One redis-cli command against this instance; its output, stripped."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def redis(tmp_path):
    r = Redis(tmp_path / "redis.log").start()
    yield r
    r.kill()


@pytest.fixture
def nodes(roomcast, redis):
    def start(n=3, *extra):
        return [roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY,
                         *extra, shards=2) for _ in range(n)]
    return start


def kill9(node):
    """kill -9 this node's PID; the fixture then leaves it alone."""
    os.kill(node.proc.pid, signal.SIGKILL)
    node.proc.wait(timeout=10)
    node.proc = None


def post(node, room, user, text, cid=None):
    body = {"text": text}
    if cid is not None:
        body["cid"] = cid
    st, _h, raw = post_message(node, room, user, body)
    return st, json.loads(raw) if raw else {}


async def viewer(node, room, user, **params):
    ws = await ws_connect(node.ws_url(room, user=user, **params))
    w = check_welcome(await recv_json(ws, 10), room, user)
    return ws, w


async def nothing_more(ws, wait=0.5):
    try:
        obj = await recv_next(ws, wait)
    except (asyncio.TimeoutError, TimeoutError):
        return
    raise AssertionError(f"unexpected frame {obj}")


def send_from_all(ns, room, per_node):
    """Each node gets per_node messages from its own thread; returns {cid: seq} of the acks."""
    acks, errors = {}, []

    def sender(i, node):
        for k in range(per_node):
            cid = f"n{i}-{k}"
            st, ans = post(node, room, f"sender{i}", f"from node {i} #{k}", cid)
            if st != 200 or ans.get("id") != cid:
                errors.append((cid, st, ans))
            else:
                acks[cid] = ans["seq"]

    threads = [threading.Thread(target=sender, args=(i, n)) for i, n in enumerate(ns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    return acks


def test_cross_node_order_and_exactly_once(nodes):
    ns = nodes(3)
    room = "fleet"
    per_node = 30

    async def go():
        vs = [await viewer(n, room, f"v{i}-{j}") for i, n in enumerate(ns) for j in range(2)]
        epochs = {w["epoch"] for _ws, w in vs}
        assert len(epochs) == 1, f"every node answers with Redis's epoch: {epochs}"
        acks = await asyncio.to_thread(send_from_all, ns, room, per_node)
        assert sorted(acks.values()) == list(range(1, 3 * per_node + 1)), sorted(acks.values())
        got = [await collect(ws, 3 * per_node) for ws, _w in vs]
        first = [(m["seq"], m["id"]) for m in got[0]]
        assert [s for s, _ in first] == list(range(1, 3 * per_node + 1)), first
        for msgs in got:
            assert [(m["seq"], m["id"]) for m in msgs] == first, "one order on every node"
        assert {i: s for s, i in first} == acks, "each message at the seq its ack named"
        for ws, _w in vs:
            await nothing_more(ws)
        await close_all([ws for ws, _w in vs])

    run(go(), 120)


def test_resume_on_another_node_after_kill9(nodes):
    ns = nodes(3)
    room = "failover"

    async def go():
        ws, w = await viewer(ns[0], room, "mover")
        first = [post(ns[1], room, "writer", f"before {k}", f"b{k}") for k in range(5)]
        assert all(st == 200 for st, _ in first), first
        seen = await collect(ws, 5)
        kill9(ns[0])
        # Sent while the viewer has no connection: it must get them on resume, once.
        later = [post(ns[2], room, "writer", f"during {k}", f"d{k}") for k in range(5)]
        assert all(st == 200 for st, _ in later), later
        ws2 = await ws_connect(ns[1].ws_url(room, user="mover", since=seen[-1]["seq"],
                                            epoch=w["epoch"]))
        w2 = check_welcome(await recv_json(ws2, 10), room, "mover")
        assert w2["epoch"] == w["epoch"]
        resumed = await collect(ws2, 5)
        ids = [m["id"] for m in seen + resumed]
        assert ids == [f"b{k}" for k in range(5)] + [f"d{k}" for k in range(5)], ids
        assert [m["seq"] for m in seen + resumed] == list(range(1, 11))
        st, ans = post(ns[2], room, "writer", "after", "a0")
        assert st == 200
        assert [m["id"] for m in await collect(ws2, 1)] == ["a0"]
        await nothing_more(ws2)
        await close_all([ws2])

    run(go(), 60)


def test_history_cursor_and_sse_on_any_node(nodes):
    ns = nodes(3)
    room = "reads"
    for k in range(6):
        assert post(ns[k % 3], room, "w", f"t{k}", f"c{k}")[0] == 200
    # GET history on a node that has never seen the room reads its Redis stream.
    st, _h, body = http("GET", ns[2].url(f"/rooms/{room}/history?after=2&limit=10"))
    assert st == 200, body
    hist = json.loads(body)
    assert [m["id"] for m in hist["messages"]] == ["c2", "c3", "c4", "c5"], hist
    # A long-poll cursor made on one node is good on another (one --cursor-key).
    st, _h, body = http("GET", ns[0].url(f"/rooms/{room}/messages?history=2"))
    assert st == 200, body
    ans = json.loads(body)
    assert [m["id"] for m in ans["messages"]] == ["c4", "c5"], ans
    assert post(ns[1], room, "w", "t6", "c6")[0] == 200
    q = urllib.parse.urlencode({"cursor": ans["cursor"]})
    st, _h, body = http("GET", ns[1].url(f"/rooms/{room}/messages?{q}"))
    assert st == 200, body
    assert [m["id"] for m in json.loads(body)["messages"]] == ["c6"]
    # SSE with Last-Event-ID on a third node.
    out = subprocess.run(["curl", "-sS", "-N", "--max-time", "2", "-H", "Last-Event-ID: 5",
                          ns[2].url(f"/rooms/{room}/events?user=s")], capture_output=True,
                         text=True, timeout=10)
    ids = [json.loads(line[5:].strip())["id"] for line in out.stdout.splitlines()
           if line.startswith("data:") and '"type":"msg"' in line]
    assert ids == ["c5", "c6"], out.stdout


def test_cid_dedup_across_nodes(nodes):
    ns = nodes(3)
    room = "dedup"
    st, a = post(ns[0], room, "alice", "hello", "same-cid")
    assert st == 200 and a["id"] == "same-cid" and not a.get("duplicate"), a
    for n in ns[1:]:
        st, b = post(n, room, "alice", "hello", "same-cid")
        assert st == 200 and b.get("duplicate") is True and b["seq"] == a["seq"], b
    st, _h, body = http("GET", ns[2].url(f"/rooms/{room}/history?after=0&limit=10"))
    assert [m["id"] for m in json.loads(body)["messages"]] == ["same-cid"]


def test_node_without_viewers_receives_nothing(nodes):
    ns = nodes(3)
    room = "quiet"

    async def go():
        ws, _w = await viewer(ns[0], room, "only")
        for k in range(10):
            assert post(ns[1], room, "w", f"m{k}", f"q{k}")[0] == 200
        await collect(ws, 10)
        await close_all([ws])

    run(go(), 60)
    counts = [metric_sum(fetch_metrics(n)[2], "roomcast_redis_messages_received_total")
              for n in ns]
    assert counts[0] == 10, counts
    assert counts[1] == 0 and counts[2] == 0, f"nodes without viewers got messages: {counts}"


def test_redis_outage_refuses_sends_and_repairs(nodes, redis):
    ns = nodes(2)
    room = "outage"

    async def go():
        vs = [await viewer(n, room, f"v{i}") for i, n in enumerate(ns)]
        assert post(ns[0], room, "w", "before", "o0")[0] == 200
        for ws, _w in vs:
            assert [m["id"] for m in await collect(ws, 1)] == ["o0"]
        redis.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            st, ans = await asyncio.to_thread(post, ns[1], room, "w", "lost", "o-refused")
            took = time.monotonic() - t0
            assert st == 503 and ans.get("error") == "unavailable", (st, ans)
            assert took < 1.0, f"refused after {took:.2f} s"
        finally:
            redis.signal(signal.SIGCONT)
        # The late script call was not sequenced; viewers stayed connected; sends work again.
        deadline = time.monotonic() + 10
        while True:
            st, ans = await asyncio.to_thread(post, ns[1], room, "w", "after", "o1")
            if st == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert st == 200 and ans["seq"] == 2, ans
        for ws, _w in vs:
            assert [m["id"] for m in await collect(ws, 1)] == ["o1"]
            await nothing_more(ws)
        await close_all([ws for ws, _w in vs])

    run(go(), 60)


def test_redis_restart_viewers_get_what_they_missed(nodes, redis, tmp_path):
    """Redis killed and started again on the same port (empty: no persistence): viewers stay
    connected, and what is sent after it returns reaches them in order."""
    ns = nodes(2)
    room = "restart"

    async def go():
        ws, _w = await viewer(ns[0], room, "stays")
        assert post(ns[1], room, "w", "one", "r0")[0] == 200
        assert [m["id"] for m in await collect(ws, 1)] == ["r0"]
        port = redis.port
        redis.kill()
        st, ans = await asyncio.to_thread(post, ns[1], room, "w", "nowhere", "r-refused")
        assert st == 503 and ans.get("error") == "unavailable", (st, ans)
        redis.port = port
        redis.start()
        deadline = time.monotonic() + 15
        while True:
            st, ans = await asyncio.to_thread(post, ns[1], room, "w", "back", "r1")
            if st == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert st == 200, ans
        frames = []
        while not any(f.get("id") == "r1" for f in frames):
            frames.append(await recv_next(ws, 10))
        assert all(f.get("id") != "r-refused" for f in frames), frames
        await close_all([ws])

    run(go(), 60)
