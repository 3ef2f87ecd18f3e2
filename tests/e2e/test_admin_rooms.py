"""GET /admin/rooms/R and GET /admin/rooms?top=N&by=online|msgs (PROTOCOL.md, "Presence, counts
and hot rooms"): online and per-transport counts exact across 2 shards with WebSocket, SSE and
long-poll viewers, dropping on leave; distinct viewers (HyperLogLog) within 2% for a few
thousand users and anonymous viewers counted by connection; top-N ordering; bad parameters;
unknown rooms; the admin key; the same numbers in /metrics for the busiest rooms only."""
import asyncio
import json
import time
import urllib.parse

from metricsutil import fetch_metrics, poll_metrics
from rcutil import HOST, http, join, post_message, ws_connect

ADMIN = "rooms-admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def start(roomcast, *args, shards=2):
    return roomcast("--admin-key", ADMIN, *args, shards=shards)


def admin_get(server, path, headers=AUTH):
    st, _h, body = http("GET", server.url(path), headers=headers)
    return st, json.loads(body) if body else None


def report(server, room):
    st, rep = admin_get(server, f"/admin/rooms/{room}")
    assert st == 200, rep
    return rep


def wait_report(server, room, ok, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        rep = report(server, room)
        if ok(rep) or time.monotonic() > deadline:
            return rep
        time.sleep(0.05)


async def open_sse(server, room, user):
    """A raw SSE viewer: the stream's head and its welcome read, the socket kept open."""
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(f"GET /rooms/{room}/events?user={user} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = b""
    while b"welcome" not in data:
        chunk = await asyncio.wait_for(reader.read(4096), 5)
        assert chunk, data
        data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data
    return writer


async def open_poll(server, room, user):
    """A parked long-poll: a first poll for the cursor, then a held one on a socket kept open."""
    path = f"/rooms/{room}/messages?user={user}"
    st, _h, body = await asyncio.to_thread(http, "GET", server.url(path))
    assert st == 200, body
    cursor = urllib.parse.quote(json.loads(body)["cursor"])
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(f"GET {path}&cursor={cursor} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    return writer


async def close_raw(writers):
    for w in writers:
        w.close()
        await w.wait_closed()  # the report below blocks this loop: close before it


def counts(rep):
    return rep["online"], rep["viewers"]


def test_online_and_transports_exact_across_shards_and_drop_on_leave(roomcast):
    server = start(roomcast)
    room = "arena"

    async def run():
        wss = [(await join(server, room, user=f"w{i}"))[0] for i in range(7)]
        sses = [await open_sse(server, room, f"s{i}") for i in range(4)]
        polls = [await open_poll(server, room, f"p{i}") for i in range(3)]
        want = {"ws": 7, "sse": 4, "longpoll": 3}
        rep = wait_report(server, room, lambda r: r["viewers"] == want)
        assert counts(rep) == (14, want), rep
        assert set(rep) == {"room", "online", "unique_5m", "unique_total", "msgs_per_s", "viewers",
                            "modes", "hot", "sampled", "lag_ms_p99"}, rep
        assert rep["room"] == room and rep["hot"] is False and rep["sampled"] is False
        assert rep["modes"]["slow_secs"] == 0
        assert rep["unique_total"] == 14 and rep["unique_5m"] == 14  # sparse: exact when small
        # A message reaches every viewer; its rate and (a moment later) its lag are reported.
        st, _h, body = post_message(server, room, "w0", {"text": "hi", "cid": "c1"})
        assert st == 200, body
        for ws in wss[:3]:
            await ws.close()
        await close_raw(sses[:2] + polls[:1])
        # The message answered every parked poll (each leaves): long-poll viewers drop to 0,
        # and count again as their clients poll anew (these raw ones do not).
        want = {"ws": 4, "sse": 2, "longpoll": 0}
        rep = wait_report(server, room, lambda r: r["viewers"] == want)
        assert counts(rep) == (6, want), rep
        rep = wait_report(server, room, lambda r: r["msgs_per_s"] > 0, timeout=7)
        assert rep["msgs_per_s"] == 0.2, rep  # one message over the last five whole seconds
        assert isinstance(rep["lag_ms_p99"], int) and 0 <= rep["lag_ms_p99"] < 1000
        for ws in wss[3:]:
            await ws.close()
        await close_raw(sses[2:] + polls[1:])
        rep = wait_report(server, room, lambda r: r["online"] == 0)
        assert counts(rep) == (0, {"ws": 0, "sse": 0, "longpoll": 0}), rep
        assert rep["unique_total"] == 14  # distinct viewers stay

    asyncio.run(run())


def test_unique_within_two_percent_and_anonymous_by_connection(roomcast):
    server = start(roomcast)
    room = "crowd"
    users = 3000

    async def run():
        keep, _w = await join(server, room, user="keeper")  # the room stays while users come and go
        sem = asyncio.Semaphore(64)

        async def one(i):
            async with sem:
                ws, _w = await join(server, room, user=f"user{i}")
                await ws.close()

        for i in range(0, users, 500):  # bounded: 3000 joins, 64 at a time
            await asyncio.gather(*(one(k) for k in range(i, min(users, i + 500))))
        # The same users again count once.
        await asyncio.gather(*(one(k) for k in range(200)))
        rep = wait_report(server, room, lambda r: r["online"] == 1)
        truth = users + 1
        assert abs(rep["unique_5m"] - truth) / truth <= 0.02, rep
        assert abs(rep["unique_total"] - truth) / truth <= 0.02, rep
        assert rep["online"] == 1 and rep["viewers"]["ws"] == 1
        # Anonymous viewers: one per connection (a second connection is another viewer).
        anon_room = "anon-room"
        keep2, _w = await join(server, anon_room, user="keeper2")
        for _ in range(5):
            ws = await ws_connect(server.ws_url(anon_room))
            await asyncio.wait_for(ws.recv(), 5)
            await ws.close()
        rep = wait_report(server, anon_room, lambda r: r["unique_total"] == 6)
        assert rep["unique_total"] == 6 and rep["unique_5m"] == 6, rep
        await keep.close()
        await keep2.close()

    asyncio.run(run())


def test_top_rooms_by_online_and_msgs_and_metrics(roomcast):
    server = start(roomcast, "--metrics-top-rooms", "2")
    sizes = {"r-a": 4, "r-b": 3, "r-c": 2, "r-d": 1}

    async def run():
        viewers = []
        for room, n in sizes.items():
            for i in range(n):
                viewers.append((await join(server, room, user=f"{room}-{i}"))[0])
        for room, n in sizes.items():
            wait_report(server, room, lambda r, n=n: r["online"] == n)
        st, top = admin_get(server, "/admin/rooms?top=3&by=online")
        assert st == 200, top
        assert [r["room"] for r in top["rooms"]] == ["r-a", "r-b", "r-c"], top
        assert [r["online"] for r in top["rooms"]] == [4, 3, 2]
        st, top = admin_get(server, "/admin/rooms")  # defaults: top 10 by online
        assert st == 200 and [r["room"] for r in top["rooms"]] == ["r-a", "r-b", "r-c", "r-d"]
        # Messages: r-d the busiest, then r-c.
        for i in range(10):
            assert post_message(server, "r-d", "x", {"text": "m", "cid": f"d{i}"})[0] == 200
        for i in range(5):
            assert post_message(server, "r-c", "x", {"text": "m", "cid": f"c{i}"})[0] == 200
        time.sleep(1.1)  # the rate counts whole seconds
        st, top = admin_get(server, "/admin/rooms?top=2&by=msgs")
        assert st == 200, top
        assert [r["room"] for r in top["rooms"]] == ["r-d", "r-c"], top
        assert top["rooms"][0]["msgs_per_s"] == 2.0 and top["rooms"][1]["msgs_per_s"] == 1.0
        # /metrics: the two busiest rooms only, with the same numbers.
        def shown(samples):
            return {s[1].get("room") for s in samples if s[0] == "roomcast_room_online"}
        _t, samples = poll_metrics(server, lambda s: shown(s) == {"r-a", "r-b"})
        assert shown(samples) == {"r-a", "r-b"}
        got = {(s[1]["room"], s[1]["transport"]): s[2] for s in samples
               if s[0] == "roomcast_room_viewers"}
        assert got[("r-a", "ws")] == 4 and got[("r-b", "ws")] == 3 and got[("r-a", "sse")] == 0
        uniq = {s[1]["room"]: s[2] for s in samples if s[0] == "roomcast_room_unique_5m"}
        assert uniq == {"r-a": 4, "r-b": 3}
        for ws in viewers:
            await ws.close()

    asyncio.run(run())


def test_bad_parameters_unknown_room_and_admin_key(roomcast):
    server = start(roomcast)
    for q in ["top=0", "top=101", "top=x", "top=", "by=seq", "top=5&by="]:
        st, body = admin_get(server, f"/admin/rooms?{q}")
        assert st == 400 and body["error"] == "bad_request", (q, body)
    st, body = admin_get(server, "/admin/rooms/nobody-here")
    assert st == 404 and body["error"] == "not_found", body
    st, body = admin_get(server, "/admin/rooms/bad%20room")
    assert st == 400 and body["error"] == "bad_request", body
    st, _h, _b = http("POST", server.url("/admin/rooms"), b"{}", AUTH)
    assert st == 405
    st, _h, _b = http("DELETE", server.url("/admin/rooms/x"), None, AUTH)
    assert st == 405
    for path in ["/admin/rooms", "/admin/rooms?top=5", "/admin/rooms/x"]:
        for headers in [{}, {"Authorization": "Bearer wrong-key-0123456789abcdef"}]:
            st, body = admin_get(server, path, headers)
            assert st == 401 and body["error"] == "unauthorized", (path, body)
    st, top = admin_get(server, "/admin/rooms?top=100&by=msgs")
    assert st == 200 and top == {"rooms": []}
    # Without --admin-key the admin API is off.
    plain = roomcast()
    st, body = admin_get(plain, "/admin/rooms", AUTH)
    assert st == 403 and body["error"] == "forbidden"


def test_presence_off_keeps_online_only(roomcast):
    server = start(roomcast, "--presence=off")

    async def run():
        wss = [(await join(server, "quiet", user=f"u{i}"))[0] for i in range(3)]
        rep = wait_report(server, "quiet", lambda r: r["online"] == 3)
        assert rep["online"] == 3 and rep["unique_total"] == 0 and rep["unique_5m"] == 0
        assert rep["viewers"] == {"ws": 0, "sse": 0, "longpoll": 0}
        _h, text, _s = fetch_metrics(server)
        assert 'roomcast_room_online{room="quiet"}' not in text
        for ws in wss:
            await ws.close()

    asyncio.run(run())
