"""Reactions and presence (PROTOCOL.md v2, "Presence, counts and hot rooms"), through real clients:
{"op":"react"} aggregated at the room's owner into one `reactions` event per window for every
WebSocket and SSE viewer on every shard, its own rate limit (--react-rate-limit, per user and
per anonymous connection), bad emotes, the snapshot's `reactions`, and the throttled presence
`state` with the exact online count across shards (--state-interval-ms)."""
import asyncio
import json
import time

from httputil import SSEStream, room_path
from metricsutil import fetch_metrics, metric_sum
from rcutil import HOST, check_welcome, http, recv_json, run, send_op, ws_connect

ROOM = "stage"
THUMBS = "\U0001F44D"
PARTY = "\U0001F389"


async def open_ws(srv, user=None, room=ROOM):
    q = f"room={room}" + (f"&user={user}" if user else "")
    ws = await ws_connect(f"ws://{HOST}:{srv.port}/ws?{q}")
    w = check_welcome(await recv_json(ws), room)
    return ws, w


async def frames_of(ws, kind, seconds):
    """Every frame of type `kind` received in the next `seconds` (other frames are dropped)."""
    out = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            obj = await recv_json(ws, left)
        except asyncio.TimeoutError:
            break
        if obj.get("type") == kind:
            out.append((time.monotonic(), obj))
    return out


def total(events):
    counts = {}
    for _, ev in events:
        for k, n in ev["counts"].items():
            counts[k] = counts.get(k, 0) + n
    return counts


def test_reactions_are_aggregated_per_window_for_every_viewer(roomcast):
    srv = roomcast("--reaction-window-ms", "1000", shards=2)

    async def go():
        # Enough connections that both shards have viewers (connections are spread over them).
        viewers = [await open_ws(srv, f"v{i}") for i in range(4)]
        anon, _ = await open_ws(srv)
        sse = SSEStream(srv.port, room_path(ROOM, "events"))
        assert sse.next_event(5).get("event") == "welcome"
        for _ in range(3):
            await send_op(viewers[0][0], {"op": "react", "emoji": THUMBS})
        for _ in range(2):
            await send_op(viewers[1][0], {"op": "react", "emoji": PARTY})
        await send_op(viewers[2][0], {"op": "react", "emoji": ":pog:"})
        await send_op(anon, {"op": "react", "emoji": THUMBS})
        want = {THUMBS: 4, PARTY: 2, ":pog:": 1}
        got = await asyncio.gather(*(frames_of(ws, "reactions", 3.0)
                                     for ws, _ in viewers + [(anon, None)]))
        for events in got:
            assert total(events) == want, events
            # One event per window: never two within one window of each other.
            for (t0, _), (t1, _) in zip(events, events[1:]):
                assert t1 - t0 > 0.8, events
            for _, ev in events:
                assert ev["room"] == ROOM and ev["window_ms"] == 1000, ev
                # Most first, then by name.
                keys = list(ev["counts"])
                assert keys == sorted(keys, key=lambda k: (-ev["counts"][k], k)), ev
        sse_counts = {}
        deadline = time.monotonic() + 2
        while sse_counts != want and time.monotonic() < deadline:
            ev = sse.next_event(max(0.01, deadline - time.monotonic()), skip=("state",))
            if ev.get("event") == "reactions":
                assert "id" not in ev, f"a reactions event takes no id: {ev}"
                for k, n in ev["data"]["counts"].items():
                    sse_counts[k] = sse_counts.get(k, 0) + n
        assert sse_counts == want
        assert metric_sum(fetch_metrics(srv)[2], "roomcast_reactions_total") == 7
        sse.close()
        for ws, _ in viewers:
            await ws.close()
        await anon.close()

    run(go(), 30)


def test_snapshot_carries_the_last_windows_reactions(roomcast):
    srv = roomcast("--reaction-window-ms", "3000")

    def snapshot_reactions():
        st, _, body = http("GET", srv.url(f"/rooms/{ROOM}/snapshot"))
        assert st == 200
        return json.loads(body)["reactions"]

    async def go():
        ws, _ = await open_ws(srv, "dave")
        assert snapshot_reactions() == {}
        for _ in range(2):
            await send_op(ws, {"op": "react", "emoji": PARTY})
        got = await frames_of_first(ws, "reactions", 6.0)
        assert got["counts"] == {PARTY: 2}, got
        # Within the next window (3 s), the snapshot shows the last window's totals ...
        assert snapshot_reactions() == {PARTY: 2}
        # ... and once a whole window passed without reactions, none.
        await asyncio.sleep(4.5)
        assert snapshot_reactions() == {}
        await ws.close()

    run(go(), 30)


async def frames_of_first(ws, kind, timeout):
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") == kind:
            return obj


def test_react_rate_limit_per_user_and_per_anonymous_connection(roomcast):
    srv = roomcast("--react-rate-limit", "3/10", shards=2)

    async def go():
        a, _ = await open_ws(srv, "alice")
        a2, _ = await open_ws(srv, "alice")  # the same user on another connection
        b, _ = await open_ws(srv, "bob")
        anon1, _ = await open_ws(srv)
        anon2, _ = await open_ws(srv)
        for ws in (a, a2, a):
            await send_op(ws, {"op": "react", "emoji": THUMBS})
        # The two connections may be on two shards: let those three reach the owner first.
        await asyncio.sleep(0.5)
        await send_op(a2, {"op": "react", "emoji": THUMBS})  # alice's 4th in 10 s
        err = await next_error(a2)
        assert err["code"] == "rate_limited" and err["op"] == "react", err
        assert 2000 <= err["retry_ms"] <= 4000, err  # a token back every 3.33 s
        # Others are not limited by alice.
        for ws in (b, anon1, anon1, anon1, anon2):
            await send_op(ws, {"op": "react", "emoji": PARTY})
        got = total(await frames_of(b, "reactions", 2.5))
        assert got == {THUMBS: 3, PARTY: 5}, got
        await send_op(anon1, {"op": "react", "emoji": PARTY})  # this connection's 4th (one shard)
        err = await next_error(anon1)
        assert err["code"] == "rate_limited", err
        assert metric_sum(fetch_metrics(srv)[2], "roomcast_reactions_refused_total") == 2
        for ws in (a, a2, b, anon1, anon2):
            await ws.close()

    run(go(), 30)


async def next_error(ws, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") == "error":
            return obj


def test_bad_reactions_are_refused(roomcast):
    srv = roomcast()

    async def go():
        ws, _ = await open_ws(srv, "carol")
        for bad in ("hello", THUMBS + THUMBS, ":no spaces:", "::", "", "x" * 40, 7, None):
            await send_op(ws, {"op": "react", "emoji": bad})
            err = await next_error(ws)
            assert err["code"] == "bad_request", (bad, err)
            assert err["op"] == "react", err  # never taken for a send's refusal
        await send_op(ws, {"op": "react"})
        assert (await next_error(ws))["code"] == "bad_request"
        # Nothing of that reached the room.
        assert await frames_of(ws, "reactions", 1.5) == []
        # Still connected and served.
        await send_op(ws, {"op": "ping"})
        assert (await recv_json(ws))["type"] == "pong"
        await ws.close()

    run(go(), 20)


def test_presence_state_counts_every_shard_throttled(roomcast):
    srv = roomcast("--state-interval-ms", "500", shards=2)

    async def go():
        watcher, w = await open_ws(srv, "watcher")
        assert w["online"] == 1, w
        others = [await open_ws(srv, f"u{i}") for i in range(9)]
        sse = SSEStream(srv.port, room_path(ROOM, "events"))
        assert sse.next_event(5).get("event") == "welcome"
        states = await frames_of(watcher, "state", 2.0)
        assert states, "no presence state after joins"
        last = states[-1][1]
        assert last["online"] == 11, states
        assert last["room"] == ROOM and "seq" not in last, last
        assert last["unique_5m"] == 11, last  # ten users and the anonymous SSE viewer
        assert last["modes"]["slow_secs"] == 0, last
        # Throttled: 10 joins gave at most one state per interval.
        assert len(states) <= 4, states
        for (t0, _), (t1, _) in zip(states, states[1:]):
            assert t1 - t0 > 0.25, states  # 0.5 s apart when sent; receive times jitter
        # Leaves are counted too, on both shards.
        for ws, _ in others[:5]:
            await ws.close()
        sse.close()
        deadline = time.monotonic() + 3
        online = None
        while online != 5 and time.monotonic() < deadline:
            got = await frames_of(watcher, "state", 0.6)
            if got:
                online = got[-1][1]["online"]
        assert online == 5
        # No change, no state.
        assert await frames_of(watcher, "state", 1.5) == []
        for ws, _ in others[5:]:
            await ws.close()
        await watcher.close()

    run(go(), 30)


def test_no_presence_state_with_interval_zero(roomcast):
    srv = roomcast("--state-interval-ms", "0")

    async def go():
        watcher, _ = await open_ws(srv, "watcher")
        others = [await open_ws(srv, f"u{i}") for i in range(3)]
        assert await frames_of(watcher, "state", 1.5) == []
        for ws, _ in others:
            await ws.close()
        await watcher.close()

    run(go(), 20)


def test_bad_reaction_and_state_settings_exit_2():
    import subprocess
    from rcutil import binary_path
    for flag, value in (("--reaction-window-ms", "5"), ("--state-interval-ms", "70000"),
                        ("--react-rate-limit", "10/0"), ("--react-rate-limit", "fast")):
        p = subprocess.run([str(binary_path()), flag, value, "--listen", "127.0.0.1:1"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (flag, value, p.stderr)
        assert flag.lstrip("-") in p.stderr, p.stderr
