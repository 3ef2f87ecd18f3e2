"""--data-dir with --redis: the node's local cache (docs/cluster.md, "--data-dir with --redis").
What Redis delivered to a node's copies is kept in <data-dir>/cache and replayed at a restart, so
the restarted node reads from the streams only what came after; Redis stays the one truth: a
copy Redis disagrees with (another epoch, a lower seq, another last event) is forgotten and read
anew. Redis and the nodes are the fixtures of test_cluster.py."""
import json
import re
import shutil
import time

from metricsutil import fetch_metrics, metric_sum, poll_metrics
from rcutil import close_all, http, recv_msgs, run
from test_cluster import CURSOR_KEY, kill9, post, pytestmark, redis, viewer  # noqa: F401


# Redis "restored from an older snapshot": the room's stream keeps its events up to seq N (the
# stream is rebuilt: XADD takes no id at or below one the stream held) and its seq goes back to N.
REWIND = """
local keep = redis.call('XRANGE', KEYS[2], '-', ARGV[1] .. '-0')
redis.call('DEL', KEYS[2])
for _, e in ipairs(keep) do redis.call('XADD', KEYS[2], e[1], unpack(e[2])) end
redis.call('HSET', KEYS[1], 'seq', ARGV[1])
return #keep
"""


def history(node, room, limit=200):
    st, _h, body = http("GET", node.url(f"/rooms/{room}/history?after=0&limit={limit}"))
    assert st == 200, body
    return json.loads(body)["messages"]


def welcome_epoch(node, room):
    async def go():
        ws, w = await viewer(node, room, "peek")
        await close_all([ws])
        return w["epoch"]
    return run(go(), 20)


def metric(node, name):
    return metric_sum(fetch_metrics(node)[2], name)


def rewind(r, room, seq):
    return int(r.cli("EVAL", REWIND, "2", f"rc:{{{room}}}:m", f"rc:{{{room}}}:s", str(seq)))


ADMIN = "cluster-cache-admin-key-0123456789"


def start_cached(roomcast, redis, data, *extra):  # noqa: F811
    return roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY,
                    "--data-dir", data, *extra)


def start_plain(roomcast, redis, *extra):  # noqa: F811
    return roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY, *extra)


def act(node, method, path, body=None):
    st, _h, raw = http(method, node.url(path), None if body is None else json.dumps(body),
                       {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    assert st == 200, (st, raw)
    return json.loads(raw)


def fill(node_viewed, sender, room, n, prefix):
    """n messages sent on `sender`, received by a viewer of `node_viewed` (so that node follows
    the room and its copy, and cache, hold them). Returns the messages the viewer got."""
    async def go():
        ws, _w = await viewer(node_viewed, room, "watcher")
        for k in range(n):
            st, ans = post(sender, room, "talker", f"{prefix} {k}", f"{prefix}-{k}")
            assert st == 200, ans
        got = await recv_msgs(ws, n)
        await close_all([ws])
        return got
    return run(go(), 60)


def test_restarted_node_reads_only_what_came_after(roomcast, redis, tmp_path):  # noqa: F811
    data = tmp_path / "data"
    cached = start_cached(roomcast, redis, data)
    other = start_plain(roomcast, redis)
    room = "cached"
    before = fill(cached, other, room, 40, "early")
    assert [m["seq"] for m in before] == list(range(1, 41))
    assert metric(cached, "roomcast_log_records_total") >= 40
    assert list((data / "cache" / "log").glob("shard-*/*.seg")), "the cache is in <data-dir>/cache"
    assert cached.stop() == 0
    for k in range(5):
        assert post(other, room, "talker", f"late {k}", f"late-{k}")[0] == 200

    cached.start()
    # The 40 events, and the reset records that began each copy (this room's, and that of "*",
    # the server-wide terms' room: no events, no room).
    assert re.search(r"local cache in \S+/cache/log: replayed 4[1-3] records .* into 1 rooms",
                     cached.log_text()), cached.log_text()[-2000:]
    assert metric(cached, "roomcast_redis_stream_events_total") == 0

    async def resume():
        # A viewer that had seq 40 resumes on the restarted node: what followed, once, in order.
        ws, w = await viewer(cached, room, "back", since=40)
        got = await recv_msgs(ws, 5)
        await close_all([ws])
        return w, got
    w, got = run(resume(), 30)
    assert [m["id"] for m in got] == [f"late-{k}" for k in range(5)], got
    assert [m["seq"] for m in got] == list(range(41, 46))
    assert w["epoch"] == redis.cli("HGET", f"rc:{{{room}}}:m", "epoch")
    msgs = history(cached, room)
    assert [m["id"] for m in msgs] == [f"early-{k}" for k in range(40)] + \
        [f"late-{k}" for k in range(5)]
    # The resume's read: the 5 new events and the copy's last one (checked against Redis); the
    # history ask's (the room was let go when the viewer left): the copy's last one. Not 45.
    assert metric(cached, "roomcast_redis_stream_events_total") == 6 + 1
    assert metric(cached, "roomcast_redis_copy_resets_total") == 0
    # A node without a cache reads the whole stream for the same answer.
    fresh = start_plain(roomcast, redis)
    assert history(fresh, room) == msgs
    assert metric(fresh, "roomcast_redis_stream_events_total") == 45


def test_a_node_killed_with_9_restarts_from_its_cache(roomcast, redis, tmp_path):  # noqa: F811
    """kill -9: whatever the cache had written comes back (a torn tail is cut), the rest is read
    from Redis; the restarted node answers exactly as Redis says."""
    data = tmp_path / "data"
    cached = start_cached(roomcast, redis, data)
    other = start_plain(roomcast, redis)
    fill(cached, other, "crashy", 30, "a")
    # The cache has them written (a write, no fsync: kill -9 spares the page cache).
    poll_metrics(cached, lambda s: metric_sum(s, "roomcast_log_records_total") >= 30, 5)
    kill9(cached)
    for k in range(3):
        assert post(other, "crashy", "talker", f"b {k}", f"b-{k}")[0] == 200
    cached.start()
    # The restart's line (the log holds both starts): the 30 events and reset records (this
    # room's, the room "*"'s).
    found = re.findall(r"local cache in \S+: replayed (\d+) records", cached.log_text())
    assert len(found) == 2 and 30 <= int(found[-1]) <= 33, cached.log_text()[-2000:]
    want = [f"a-{k}" for k in range(30)] + [f"b-{k}" for k in range(3)]
    assert [m["id"] for m in history(cached, "crashy")] == want
    # From the cache, not the stream: the 3 new events and the copy's last one.
    assert metric(cached, "roomcast_redis_stream_events_total") == 4
    assert metric(cached, "roomcast_redis_copy_resets_total") == 0


def test_cache_keeps_retractions_and_clears(roomcast, redis, tmp_path):  # noqa: F811
    """The cache replays a retraction (its target stays hidden) and a clear (what came before
    stays hidden) into the copy: after a restart the copy, read only at its last event, answers
    as a node that reads the whole stream does."""
    data = tmp_path / "data"
    cached = start_cached(roomcast, redis, data, "--admin-key", ADMIN)
    other = start_plain(roomcast, redis, "--admin-key", ADMIN)
    fill(cached, other, "retracted", 3, "r")
    act(other, "DELETE", "/admin/rooms/retracted/messages/2")
    fill(cached, other, "cleared", 3, "c")
    act(other, "POST", "/admin/rooms/cleared/clear", {})
    fill(cached, other, "cleared", 1, "after")
    deadline = time.monotonic() + 10  # the copy has the retraction once its history hides it
    while [m["seq"] for m in history(cached, "retracted") if m["type"] == "msg"] != [1, 3]:
        assert time.monotonic() < deadline, history(cached, "retracted")
        time.sleep(0.05)
    assert cached.stop() == 0
    cached.start()
    fresh = start_plain(roomcast, redis)
    got = history(cached, "retracted")
    assert [m["id"] for m in got if m["type"] == "msg"] == ["r-0", "r-2"], got
    assert got == history(fresh, "retracted")
    got = history(cached, "cleared")
    assert [m["id"] for m in got if m["type"] == "msg"] == ["after-0"], got
    assert got == history(fresh, "cleared")
    assert metric(cached, "roomcast_redis_stream_events_total") == 2  # each copy's last event
    assert metric(cached, "roomcast_redis_copy_resets_total") == 0


def test_redis_wins_over_the_cache(roomcast, redis, tmp_path):  # noqa: F811
    data = tmp_path / "data"
    cached = start_cached(roomcast, redis, data)
    other = start_plain(roomcast, redis)
    room = "truth"
    fill(cached, other, room, 10, "old")
    epoch = welcome_epoch(cached, room)
    assert cached.stop() == 0

    # 1. Redis went back to an older snapshot (seq 7), then numbered new events 8..12: the
    # cached copy holds other events at 8..10, and Redis's seq (12) is above the copy's (10).
    assert rewind(redis, room, 7) == 7
    for k in range(5):
        assert post(other, room, "talker", f"new {k}", f"new-{k}")[0] == 200
    cached.start()
    ids = [m["id"] for m in history(cached, room)]
    assert ids == [f"old-{k}" for k in range(7)] + [f"new-{k}" for k in range(5)], ids
    assert metric(cached, "roomcast_redis_copy_resets_total") == 1
    assert "differs from Redis's event at its last seq" in cached.log_text()
    assert cached.stop() == 0

    # 2. Redis went back below the copy's last seq (12 -> 3) and numbered nothing since.
    assert rewind(redis, room, 3) == 3
    cached.start()
    ids = [m["id"] for m in history(cached, room)]
    assert ids == [f"old-{k}" for k in range(3)], ids
    assert metric(cached, "roomcast_redis_copy_resets_total") == 1
    assert "is ahead of Redis's seq" in cached.log_text()
    assert post(other, room, "talker", "after", "after-0")[1]["seq"] == 4
    assert cached.stop() == 0

    # 3. Redis lost everything: a new epoch; the cached copy of the old one is never served.
    redis.cli("FLUSHALL")
    assert post(other, room, "talker", "reborn", "reborn-0")[1]["seq"] == 1
    cached.start()
    ids = [m["id"] for m in history(cached, room)]
    assert ids == ["reborn-0"], ids
    assert welcome_epoch(cached, room) == redis.cli("HGET", f"rc:{{{room}}}:m", "epoch") != epoch
    assert metric(cached, "roomcast_redis_copy_resets_total") == 1


def test_a_cache_that_cannot_be_opened_is_skipped(roomcast, redis, tmp_path):  # noqa: F811
    """The cache is only a head start: a shard whose cache cannot be opened warns and runs
    without it; the node serves every room from Redis and stays ready."""
    data = tmp_path / "data"
    cached = start_cached(roomcast, redis, data)
    other = start_plain(roomcast, redis)
    fill(cached, other, "kept", 3, "k")
    assert cached.stop() == 0
    shard0 = data / "cache" / "log" / "shard-0"
    shutil.rmtree(shard0)
    shard0.write_text("not a directory\n")
    cached.start()
    assert "cannot open the local cache in" in cached.log_text()
    assert [m["id"] for m in history(cached, "kept")] == ["k-0", "k-1", "k-2"]
    st, ans = post(cached, "kept", "talker", "still sending", "s-0")
    assert st == 200 and ans["seq"] == 4, ans
    st, _h, _b = http("GET", cached.url("/readyz"))
    assert st == 200


def test_restarted_node_serves_its_cache_while_redis_is_down(roomcast, redis, tmp_path):  # noqa: F811
    """Redis down while a node restarts: its restored copies answer history, but only after the
    hold limit (2 s, RedisRooms::kHoldMs): a copy never checked against Redis is not served at
    once. Sends are refused `unavailable`."""
    data = tmp_path / "data"
    cached = start_cached(roomcast, redis, data)
    other = start_plain(roomcast, redis)
    fill(cached, other, "outage", 4, "o")
    assert cached.stop() == 0
    redis.kill()
    cached.start()
    t0 = time.monotonic()
    assert [m["id"] for m in history(cached, "outage")] == [f"o-{k}" for k in range(4)]
    assert time.monotonic() - t0 >= 1.8, "an unchecked copy was served before the hold limit"
    st, ans = post(cached, "outage", "talker", "while down", "down-0")
    assert (st, ans.get("error")) == (503, "unavailable"), (st, ans)
