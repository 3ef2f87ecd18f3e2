"""Rooms spread over several Redis instances (--redis A,B; docs/cluster.md): every node puts a
room on the same instance (jump consistent hash of the room id), each room's seq and stream live
on exactly one instance, and messages still cross nodes in one order whichever instance holds
the room. Starts its own two redis-servers on free loopback ports (killed by PID)."""
import asyncio
import subprocess

import pytest

from test_cluster import CURSOR_KEY, REDIS, Redis, collect, post, viewer

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed "
                                "(scripts/install-deps.sh installs it)")

ROOMS = [f"spread-{i}" for i in range(24)]


@pytest.fixture
def two_redis(tmp_path):
    rs = [Redis(tmp_path / f"redis-{i}.log").start() for i in range(2)]
    yield rs
    for r in rs:
        r.kill()


def stream_rooms(r):
    """The rooms whose stream key (rc:{R}:s) this instance holds."""
    out = r.cli("--scan", "--pattern", "rc:{*}:s").split()
    return {k[len("rc:{"):-len("}:s")] for k in out}


def test_rooms_spread_over_two_instances_one_order_across_nodes(roomcast, two_redis):
    addrs = ",".join(f"127.0.0.1:{r.port}" for r in two_redis)
    a, b = [roomcast("--redis", addrs, "--cursor-key", CURSOR_KEY, shards=2) for _ in range(2)]

    async def scenario():
        viewers = [await viewer(b, room, "watcher") for room in ROOMS]
        try:
            for i, room in enumerate(ROOMS):  # sent on node a, read on node b
                for k in range(2):
                    st, ans = post(a, room, "sender", f"{room} #{k}", f"c-{i}-{k}")
                    assert st == 200 and ans["seq"] == k + 1, (room, st, ans)
            for room, (ws, _w) in zip(ROOMS, viewers):
                got = await collect(ws, 2)
                assert [m["text"] for m in got] == [f"{room} #0", f"{room} #1"]
                assert [m["seq"] for m in got] == [1, 2]
        finally:
            for ws, _w in viewers:
                await ws.close()

    asyncio.run(scenario())
    held = [stream_rooms(r) for r in two_redis]
    assert held[0] | held[1] == set(ROOMS), "every room has its stream on some instance"
    assert not (held[0] & held[1]), f"a room on both instances: {held[0] & held[1]}"
    # 24 rooms over 2 instances: each holds some (a jump hash puts about half on each).
    assert held[0] and held[1], f"one instance holds every room: {[len(h) for h in held]}"
