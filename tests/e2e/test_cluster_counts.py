"""Counts across nodes (--redis; docs/cluster.md, "Counts across nodes"): welcome.online, `state`
events and GET /admin/rooms/R give the fleet's online count (each node reports its own about once
a second, a report stays counted 3 s), a node killed with -9 leaves the count within that bound,
and unique_5m / unique_total count distinct viewers over every node (Redis HyperLogLogs).
Redis and the nodes are started as in test_cluster.py (its fixtures)."""
import asyncio
import json
import time

from rcutil import check_welcome, close_all, http, recv_json, run, ws_connect
from test_cluster import CURSOR_KEY, kill9, pytestmark, redis  # noqa: F401 (fixture)

ADMIN = "fleet-admin-key-0123456789abcdef"


def fleet(roomcast, redis, n=3):  # noqa: F811
    return [roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY,
                     "--admin-key", ADMIN, "--state-interval-ms", "500", shards=2)
            for _ in range(n)]


def report(node, room):
    st, _h, body = http("GET", node.url(f"/admin/rooms/{room}"),
                        headers={"Authorization": f"Bearer {ADMIN}"})
    assert st == 200, body
    return json.loads(body)


def wait_report(node, room, ok, timeout):
    deadline = time.monotonic() + timeout
    while True:
        rep = report(node, room)
        if ok(rep):
            return rep
        assert time.monotonic() < deadline, rep
        time.sleep(0.1)


class Viewer:
    """A WebSocket viewer and the online count it was told last (welcome, then `state`s)."""

    def __init__(self, ws, welcome):
        self.ws = ws
        self.welcome = welcome
        self.online = welcome["online"]

    async def told(self, n, timeout):
        """Reads frames until this viewer was told `n` (at once if it already was)."""
        deadline = time.monotonic() + timeout
        while self.online != n:
            left = deadline - time.monotonic()
            try:
                assert left > 0
                obj = await recv_json(self.ws, left)
            except (AssertionError, asyncio.TimeoutError, TimeoutError):
                raise AssertionError(f"not told online={n} within {timeout} s "
                                     f"(told {self.online})") from None
            if obj.get("type") == "state":
                self.online = obj["online"]


async def watch(node, room, user):
    ws = await ws_connect(node.ws_url(room, user=user))
    return Viewer(ws, check_welcome(await recv_json(ws, 10), room, user))


def test_online_count_across_nodes(roomcast, redis):  # noqa: F811
    ns = fleet(roomcast, redis)
    room = "crowd"

    async def go():
        vs = []
        for i, per in enumerate((2, 1, 3)):
            for k in range(per):
                vs.append(await watch(ns[i], room, f"u{i}-{k}"))
        # Every node's viewers learn the fleet's 6 (from a state event, or their welcome).
        for v in vs:
            await v.told(6, 6)
        for n in ns:
            assert wait_report(n, room, lambda r: r["online"] == 6, 4)["online"] == 6
        # A later viewer's welcome counts the whole fleet (and itself).
        late = await watch(ns[1], room, "late")
        assert late.welcome["online"] == 7, late.welcome
        await close_all([late.ws] + [v.ws for v in vs[:3]])
        # Leaves are counted everywhere within the report bound.
        for v in vs[3:]:
            await v.told(3, 6)
        await close_all([v.ws for v in vs[3:]])

    run(go(), 90)


async def crowd(ns, room):
    """One viewer on node 0 and three on node 2, once node 0's has been told all 4."""
    stay = await watch(ns[0], room, "stays")
    leaving = [await watch(ns[2], room, f"l{k}") for k in range(3)]
    await stay.told(4, 6)
    return stay, leaving


def test_killed_node_leaves_the_count(roomcast, redis):  # noqa: F811
    ns = fleet(roomcast, redis)
    room = "dying"

    async def go():
        stay, doomed = await crowd(ns, room)
        kill9(ns[2])
        t0 = time.monotonic()
        await stay.told(1, 10)
        took = time.monotonic() - t0
        # 3 s for its last report to expire, 1 s for the next read, the state's pacing (0.5 s),
        # and a margin for a loaded machine (sanitizer builds).
        assert took < 7, f"the dead node's viewers left the count after {took:.1f} s"
        assert report(ns[0], room)["online"] == 1
        await close_all([stay.ws])
        for v in doomed:
            v.ws.transport.abort()

    run(go(), 60)


def test_stopped_node_leaves_the_count_at_once(roomcast, redis):  # noqa: F811
    """A node stopped with SIGTERM deletes its count fields before it exits: by the time its
    process is gone, Redis holds only the other nodes' fields, and their viewers are told."""
    ns = fleet(roomcast, redis)
    room = "leaving"

    async def go():
        stay, going = await crowd(ns, room)
        key = f"rc:{{{room}}}:o"
        assert int(redis.cli("HLEN", key)) == 2
        assert ns[2].stop() == 0
        assert int(redis.cli("HLEN", key)) == 1, "the stopped node's field outlived its process"
        t0 = time.monotonic()
        await stay.told(1, 10)
        took = time.monotonic() - t0
        # The next read (1 s) and the state's pacing (0.5 s), not the 3 s expiry of a field and
        # the read after it (the check that tells the two apart is the HLEN above).
        assert took < 3.5, f"the stopped node's viewers left the count after {took:.1f} s"
        await close_all([stay.ws])
        for v in going:
            v.ws.transport.abort()

    run(go(), 60)


def test_unique_viewers_across_nodes(roomcast, redis):  # noqa: F811
    ns = fleet(roomcast, redis)
    room = "distinct"

    async def go():
        vs = []
        # 5 distinct users over 3 nodes; "twice" joins on two nodes and counts once.
        for i, user in enumerate(["a", "b", "c", "twice", "d"]):
            vs.append(await watch(ns[i % 3], room, user))
        vs.append(await watch(ns[2], room, "twice"))
        for n in ns:
            rep = wait_report(n, room, lambda r: r["unique_5m"] == 5 and r["online"] == 6, 5)
            assert rep["unique_total"] == 5, rep
        # A gone viewer stays a distinct viewer of the last five minutes.
        await close_all([vs[1].ws])
        rep = wait_report(ns[0], room, lambda r: r["online"] == 5, 5)
        assert rep["unique_5m"] == 5 and rep["unique_total"] == 5, rep
        await close_all([v.ws for v in vs[:1] + vs[2:]])

    run(go(), 60)
