"""GET /rooms/R/snapshot (PROTOCOL.md, "Snapshot for mega rooms"): the last N messages, epoch,
seq and online count; ETag and Cache-Control; If-None-Match -> 304; one build per room and limit
per shard per second, shared by every request (roomcast_snapshot_builds_total); limit bounds."""
import json
import time

import pytest

from httputil import post_many
from metricsutil import fetch_metrics, metric_sum
from rcutil import curl, http

ROOM = "snap-room"


def snapshot(server, room=ROOM, headers=None, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return http("GET", server.url(f"/rooms/{room}/snapshot" + (f"?{q}" if q else "")),
                headers=headers)


def builds(server) -> float:
    _h, _text, samples = fetch_metrics(server)
    return metric_sum(samples, "roomcast_snapshot_builds_total")


def test_snapshot_body_etag_and_304(roomcast):
    server = roomcast(shards=1)
    sent = post_many(server, ROOM, 60, prefix="s")
    st, h, body = snapshot(server)
    assert st == 200, body
    assert h["cache-control"] == "public, max-age=1"
    assert "json" in h["content-type"]
    etag = h["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    snap = json.loads(body)
    assert set(snap) == {"room", "epoch", "seq", "online", "messages", "reactions"}, snap
    assert snap["room"] == ROOM and snap["seq"] == sent[-1][0] and snap["online"] == 0
    assert isinstance(snap["epoch"], str) and snap["epoch"]
    # The default is the last 50, in seq order.
    assert [m["seq"] for m in snap["messages"]] == [s for s, _i, _t in sent[-50:]]
    assert [m["text"] for m in snap["messages"]] == [t for _s, _i, t in sent[-50:]]
    assert snap["reactions"] == {}
    # The current ETag -> 304 without a body, with the ETag again (curl, as a cache would).
    r = curl("-o", "/dev/null", "-D", "-", "-H", f"If-None-Match: {etag}",
             server.url(f"/rooms/{ROOM}/snapshot"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HTTP/1.1 304"), r.stdout
    assert f"etag: {etag}".lower() in r.stdout.lower()
    # Another ETag -> 200 with the body.
    st, _h, body2 = snapshot(server, headers={"If-None-Match": '"0000000000000000"'})
    assert st == 200 and json.loads(body2) == snap
    _h, text, samples = fetch_metrics(server)
    assert metric_sum(samples, "roomcast_snapshot_not_modified_total") == 1
    # A new message: after the second is over the snapshot is rebuilt with it, new ETag.
    post_many(server, ROOM, 1, prefix="late")
    time.sleep(1.1)
    st, h2, body3 = snapshot(server, headers={"If-None-Match": etag})
    assert st == 200, "the old ETag must not be answered 304 once the room moved on"
    assert h2["etag"] != etag
    assert json.loads(body3)["messages"][-1]["text"] == "late line 0"


def test_snapshot_built_once_per_second_and_shared(roomcast):
    server = roomcast(shards=1)
    post_many(server, ROOM, 3, prefix="b")
    before = builds(server)
    t0 = time.monotonic()
    bodies = set()
    n = 0
    while time.monotonic() - t0 < 0.6:  # bounded: at most 0.6 s of requests
        st, h, body = snapshot(server)
        assert st == 200
        bodies.add((h["etag"], body))
        n += 1
    assert n >= 5, f"only {n} requests in 0.6 s"
    assert builds(server) - before == 1, f"{n} requests within a second must share one build"
    assert len(bodies) == 1
    time.sleep(1.05)
    snapshot(server)
    assert builds(server) - before == 2, "a request after the second is over rebuilds"
    # Another limit is another entry (built once too).
    snapshot(server, limit=2)
    snapshot(server, limit=2)
    assert builds(server) - before == 3


def test_snapshot_limit_bounds_and_bad_input(roomcast):
    server = roomcast("--max-history-request", "5")
    post_many(server, ROOM, 8, prefix="l")
    st, _h, body = snapshot(server)  # default 50, capped at --max-history-request
    assert st == 200 and len(json.loads(body)["messages"]) == 5
    st, _h, body = snapshot(server, limit=2)
    msgs = json.loads(body)["messages"]
    assert [m["text"] for m in msgs] == ["l line 6", "l line 7"]
    st, _h, body = snapshot(server, limit=0)
    assert st == 200 and json.loads(body)["messages"] == []
    st, _h, body = snapshot(server, limit=5)
    assert st == 200 and len(json.loads(body)["messages"]) == 5
    for bad in ("6", "-1", "abc", "", "1e3"):
        st, _h, body = snapshot(server, limit=bad)
        assert st == 400, f"limit={bad!r}: {st} {body!r}"
        err = json.loads(body)
        assert err["error"] == "bad_request" and "--max-history-request" in err["message"]
    st, _h, body = snapshot(server, room="bad%20room")
    assert st == 400 and json.loads(body)["error"] == "bad_request"
    st, _h, body = http("POST", server.url(f"/rooms/{ROOM}/snapshot"), b"{}")
    assert st == 405
    # A room nobody created: an empty snapshot, epoch null, 200 (a cache may keep it).
    st, _h, body = snapshot(server, room="nobody-here")
    assert st == 200
    snap = json.loads(body)
    assert snap["epoch"] is None and snap["seq"] == 0 and snap["messages"] == []


@pytest.mark.parametrize("shards", [2])
def test_snapshot_counts_online_viewers(roomcast, shards):
    import asyncio

    from rcutil import close_all, join

    server = roomcast(shards=shards)

    async def go():
        socks = []
        for i in range(3):
            ws, _w = await join(server, ROOM, user=f"v{i}")
            socks.append(ws)
        try:
            st, _h, body = await asyncio.to_thread(snapshot, server, ROOM, None, limit=1)
            assert st == 200
            return json.loads(body)["online"]
        finally:
            await close_all(socks)

    assert asyncio.run(asyncio.wait_for(go(), 10)) == 3
