"""Hot rooms (PROTOCOL.md, "Presence, counts and hot rooms"), through real clients: automatic slow
mode turned on by a burst and off after the cool-down, announced in `state` ("auto", "hot") and in
`welcome`, refusing a second send within its interval, surviving a restart with --data-dir, and
giving way to a moderator's slow mode; honest sampling above --max-visible-rate: a viewer gets the
sample and `sampled` markers (WebSocket and SSE), the sender gets every own message and
"sampled":true acks (WebSocket and HTTP), priority messages and @mentions are never sampled out,
and history keeps every message."""
import asyncio
import json
import socket
import time

from rcutil import HOST, http, post_message, recv_json, run, send_op, ws_connect

ROOM = "hot-room"
KEY = "e2e-hot-admin-key-0123456789"


async def open_ws(srv, user, room=ROOM):
    ws = await ws_connect(srv.ws_url(room, user=user))
    w = await recv_json(ws)
    assert w["type"] == "welcome", w
    return ws, w


async def frames_until(ws, pred, timeout):
    """Frames received until one satisfies pred (that one last); AssertionError on timeout."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"nothing matched within {timeout} s; got {got[-5:]}"
        try:
            obj = await recv_json(ws, left)
        except asyncio.TimeoutError:
            raise AssertionError(f"nothing matched within {timeout} s; got {got[-5:]}")
        got.append(obj)
        if pred(obj):
            return got


async def drain(ws, secs):
    """Every frame received within secs."""
    got = []
    deadline = time.monotonic() + secs
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await recv_json(ws, left))
        except asyncio.TimeoutError:
            break
    return got


def history(srv):
    st, _h, raw = http("GET", srv.url(f"/rooms/{ROOM}/history?after=0&limit=1000"))
    assert st == 200, raw
    return json.loads(raw)["messages"]


def burst(srv, n, prefix):
    """n HTTP sends from n users (slow mode is per user), as fast as they go."""
    acks = []
    for i in range(n):
        st, _h, raw = post_message(srv, ROOM, f"{prefix}{i}", {"text": f"{prefix} line {i}"})
        acks.append((st, json.loads(raw)))
    return acks


def is_state(pred):
    return lambda o: o.get("type") == "state" and pred(o)


def test_auto_slow_mode_on_then_off(roomcast):
    """A burst over --hot-msgs-per-sec turns slow mode on by itself: a `state` with
    "auto":true, "hot":true and the automatic interval; a join meanwhile sees it in `welcome`; a
    second send within the interval is refused slow_mode. Once the rate stays under half of it
    for --hot-cool-down-secs, a `state` without "auto" and slow_secs 0 lifts it."""
    srv = roomcast("--hot-msgs-per-sec", "4", "--max-visible-rate", "0",
                   "--hot-cool-down-secs", "2", "--admin-key", KEY)

    async def go():
        viewer, w = await open_ws(srv, "watcher")
        assert "auto" not in w["modes"] and w["modes"]["slow_secs"] == 0, w
        acks = burst(srv, 60, "burster")
        assert all(st == 200 for st, _ in acks), acks[:3]
        got = await frames_until(viewer, is_state(lambda o: o["modes"].get("auto")), 8)
        on = got[-1]
        assert on["modes"]["slow_secs"] == 3 and on.get("hot") is True, on
        assert on["room"] == ROOM and isinstance(on["seq"], int), on
        late, w2 = await open_ws(srv, "latecomer")
        assert w2["modes"].get("auto") is True and w2["modes"]["slow_secs"] == 3, w2
        st, _h, raw = post_message(srv, ROOM, "talker", {"text": "one"})
        assert st == 200, raw
        st, _h, raw = post_message(srv, ROOM, "talker", {"text": "two"})
        assert st == 429 and json.loads(raw)["error"] == "slow_mode", (st, raw)
        got = await frames_until(viewer, is_state(lambda o: "auto" not in o["modes"]), 20)
        off = got[-1]
        assert off["modes"]["slow_secs"] == 0 and "hot" not in off, off
        assert off["seq"] > on["seq"], (on, off)
        st, _h, raw = post_message(srv, ROOM, "talker", {"text": "three"})
        assert st == 200, raw
        # The audit names the automatic acts.
        st, _h, raw = http("GET", srv.url(f"/admin/rooms/{ROOM}/audit"),
                           headers={"Authorization": f"Bearer {KEY}"})
        assert st == 200 and raw.count(b'"actor":"auto"') >= 2, raw
        for ws in (viewer, late):
            await ws.close()
    run(go(), 60)


def test_auto_slow_mode_survives_restart_and_yields_to_a_moderator(roomcast, tmp_path):
    """Automatic slow mode is a control record like a moderator's mode change: a restart with
    --data-dir keeps it on (welcome says so) until the room cools down. A moderator's explicit
    slow mode wins while both are on, and a moderator's "slow_secs":0 lifts the automatic one."""
    data = tmp_path / "data"
    data.mkdir()
    flags = ("--hot-msgs-per-sec", "4", "--max-visible-rate", "0", "--hot-cool-down-secs", "30",
             "--data-dir", data, "--admin-key", KEY)
    srv = roomcast(*flags)

    async def heat():
        viewer, _ = await open_ws(srv, "watcher")
        burst(srv, 60, "burster")
        await frames_until(viewer, is_state(lambda o: o["modes"].get("auto")), 8)
        await viewer.close()
    run(heat(), 30)
    srv.stop()
    again = roomcast(*flags)
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    async def after():
        viewer, w = await open_ws(again, "watcher")
        assert w["modes"].get("auto") is True and w["modes"]["slow_secs"] == 3, w
        st, _h, raw = http("POST", again.url(f"/admin/rooms/{ROOM}/modes"),
                           json.dumps({"slow_secs": 20}), auth)
        assert st == 200, raw
        got = await frames_until(viewer, is_state(lambda o: o["modes"]["slow_secs"] == 20), 5)
        assert "auto" not in got[-1]["modes"], got[-1]
        st, _h, raw = http("POST", again.url(f"/admin/rooms/{ROOM}/modes"),
                           json.dumps({"slow_secs": 0}), auth)
        assert st == 200, raw
        got = await frames_until(viewer, is_state(lambda o: o["modes"]["slow_secs"] == 0), 5)
        assert "auto" not in got[-1]["modes"], got[-1]
        _ws2, w2 = await open_ws(again, "second")
        assert w2["modes"]["slow_secs"] == 0 and "auto" not in w2["modes"], w2
        await _ws2.close()
        await viewer.close()
    run(after(), 30)


def sse_frames(port, secs):
    """The raw SSE stream of ROOM for secs (user "ssev")."""
    s = socket.create_connection((HOST, port), timeout=secs + 5)
    s.sendall(f"GET /rooms/{ROOM}/events?user=ssev HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buf = b""
    deadline = time.monotonic() + secs
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf.decode(errors="replace")


def test_honest_sampling(roomcast):
    """Above --max-visible-rate a viewer gets a sample: every ack without "sampled" is a message
    it gets, none with it is, except priority messages and messages mentioning it; it gets a
    `sampled` marker with shown < total (SSE too). The sender's own connection gets all of its
    messages. HTTP sends answer "sampled":true like WebSocket acks. History keeps every message."""
    srv = roomcast("--hot-msgs-per-sec", "0", "--max-visible-rate", "5", "--admin-key", KEY)
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    async def go():
        vic, _ = await open_ws(srv, "vic")
        alice, _ = await open_ws(srv, "alice")
        alice_tab, _ = await open_ws(srv, "alice")  # the sender's second connection
        sse_task = asyncio.get_running_loop().run_in_executor(None, sse_frames, srv.port, 4.0)
        await asyncio.sleep(0.3)
        acks = {}
        for i in range(40):
            await send_op(alice, {"op": "send", "text": f"burst {i}", "cid": f"a{i}"})
        http_acks = []
        for i in range(5):
            st, _h, raw = post_message(srv, ROOM, "bob", {"text": f"hey @vic number {i}"})
            assert st == 200, raw
            http_acks.append(json.loads(raw))
        st, _h, raw = http("POST", srv.url(f"/admin/rooms/{ROOM}/publish"),
                           json.dumps({"text": "goal!", "prio": True}), auth)
        assert st == 200, raw
        prio_seq = json.loads(raw)["seq"]
        alice_got = await drain(alice, 2.5)
        for o in alice_got:
            if o.get("type") == "ack":
                acks[o["id"]] = o
        assert len(acks) == 40, alice_got[:3]
        sampled = {a["seq"] for a in acks.values() if a.get("sampled")}
        shown = {a["seq"] for a in acks.values() if not a.get("sampled")}
        assert sampled and shown, acks
        bob_sampled = {a["seq"] for a in http_acks if a.get("sampled") is True}
        assert bob_sampled, f"mentions were sent past the visible rate: {http_acks}"
        vic_got = await drain(vic, 1.5)
        vic_msgs = {o["seq"] for o in vic_got if o.get("type") == "msg"}
        mention_seqs = {a["seq"] for a in http_acks}
        assert shown <= vic_msgs, (shown - vic_msgs)
        assert not (sampled & vic_msgs), sampled & vic_msgs
        assert mention_seqs <= vic_msgs, mention_seqs - vic_msgs
        assert prio_seq in vic_msgs
        markers = [o for o in vic_got if o.get("type") == "sampled"]
        assert markers and all(m["room"] == ROOM and m["shown"] < m["total"] for m in markers), \
            vic_got[-3:]
        assert sum(m["total"] - m["shown"] for m in markers) >= len(sampled), markers
        tab_got = await drain(alice_tab, 0.5)
        tab_msgs = {o["seq"] for o in alice_got + tab_got if o.get("type") == "msg"}
        assert set(acks[k]["seq"] for k in acks) <= tab_msgs  # the sender sees all its own
        kept = {m["seq"] for m in history(srv)}
        assert sampled | shown | mention_seqs | {prio_seq} <= kept
        sse = await sse_task
        assert "event: sampled" in sse and '"type":"sampled"' in sse, sse[-500:]
        assert '"text":"goal!"' in sse
        for ws in (vic, alice, alice_tab):
            await ws.close()
    run(go(), 60)
