"""Resumes are complete (PROTOCOL.md, "Resumes are complete"; docs/protocol.md, "WebSocket" and
"Server-sent events"): a WebSocket or SSE resume gets every message after its seq that the room
still keeps, however many (streamed in pages of at most --max-history-request as the connection
drains, never much more than --max-queue-bytes queued), then live ones with no hole and no
duplicate; a `gap` names only what the room no longer keeps."""
import asyncio
import json
import socket
import time

from httputil import BackgroundPoster, room_path
from metricsutil import fetch_metrics, metric_sum, poll_metrics
from rcutil import recv_msgs
from rcutil import (HOST, RawWS, check_msg, check_welcome, close_all, http, join,
                    post_message, recv_next, run, send_op, ws_connect)

ROOM = "catchup-room"
PAGE = ("--history", 5000, "--max-history-request", 500)
# ~2 KB a message: 3,000 of them are more than the kernel buffers of one loopback connection hold
# (tcp_wmem max 4 MB), so a reader that stalls keeps the catch-up going.
BIG = "\U0001F600" * 500


def catching_up(server):
    """Waits (3 s at most) for a catch-up in progress; returns whether there is one."""
    _t, samples = poll_metrics(server, lambda s: metric_sum(s, "roomcast_catchups") >= 1)
    return metric_sum(samples, "roomcast_catchups") >= 1


async def publish(server, n, room=ROOM, text=lambda i: f"m{i}", window=64, cid="c"):
    """Sends n messages over one WebSocket, at most `window` unacknowledged; returns the welcome
    the sender got (its epoch) and the acked seqs."""
    ws, w = await join(server, room, user="writer")
    acks = []
    try:
        sent = 0
        while len(acks) < n:
            while sent < n and sent - len(acks) < window:
                await send_op(ws, {"op": "send", "text": text(sent), "cid": f"{cid}{sent}"})
                sent += 1
            f = await recv_next(ws, 10)
            if f.get("type") == "ack":
                acks.append(f["seq"])
            else:  # its own messages (or a gap: a writer that does not read them is slow)
                assert f.get("type") in ("msg", "gap"), f"writer got {f}"
    finally:
        await close_all([ws])
    assert acks == list(range(w["seq"] + 1, w["seq"] + n + 1)), acks[:10]
    return w, acks


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def assert_seqs(frames, first, last):
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(first, last + 1)), (
        f"{len(seqs)} seqs {seqs[:5]}..{seqs[-5:]}, want {first}..{last}; first wrong at "
        f"{next((i for i, s in enumerate(seqs) if s != first + i), None)}")


# -- 1. WebSocket since=0 gets all 3,000 --------------------------------------------------------
def test_ws_resume_gets_everything_kept_in_pages(roomcast):
    server = roomcast(*PAGE)

    async def scenario():
        w, _ = await publish(server, 3000)
        ws = await ws_connect(server.ws_url(ROOM, since=0, epoch=w["epoch"], user="late"))
        try:
            welcome = check_welcome(await recv_next(ws), ROOM, "late")
            assert welcome["seq"] == 3000 and welcome["epoch"] == w["epoch"], welcome
            msgs = await recv_msgs(ws, 3000, timeout=30)
            assert_seqs(msgs, 1, 3000)
            for m in (msgs[0], msgs[1499], msgs[-1]):
                check_msg(m, ROOM, seq=m["seq"], id=f"c{m['seq'] - 1}", text=f"m{m['seq'] - 1}")
            st, _h, body = await asyncio.to_thread(post_message, server, ROOM, "bob",
                                                    {"text": "live", "cid": "live-1"})
            assert st == 200 and json.loads(body)["seq"] == 3001, body
            live = await recv_next(ws)
            check_msg(live, ROOM, seq=3001, id="live-1", text="live")
        finally:
            await close_all([ws])
        _t, samples = poll_metrics(server, lambda s: metric_sum(s, "roomcast_catchup_pages_total") >= 5)
        assert metric_sum(samples, "roomcast_catchup_pages_total") >= 5
    run(scenario(), 60)


# -- 2. the same over SSE -----------------------------------------------------------------------
def read_sse(reader_sock, n, timeout=30):
    """n events (comments skipped) from a raw socket stream: [(id, event, data)]."""
    events, buf = [], b""
    deadline = time.monotonic() + timeout
    while len(events) < n:
        while b"\n\n" not in buf:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out after {len(events)} events"
            reader_sock.settimeout(remaining)
            chunk = reader_sock.recv(65536)
            assert chunk, f"EOF after {len(events)} events"
            buf += chunk
        block, _, buf = buf.partition(b"\n\n")
        fields = {}
        for line in block.decode().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            events.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
    return events, buf


def open_sse(server, path, headers=None):
    sock = socket.create_connection((HOST, server.port), timeout=5)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n{extra}\r\n"
                 .encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"chunked" not in head.lower(), head
    return sock, rest


def test_sse_resume_gets_everything_kept_in_pages(roomcast):
    server = roomcast(*PAGE)
    w, _ = run(publish(server, 3000), 60)
    sock, rest = open_sse(server, room_path(ROOM, "events", since=0, epoch=w["epoch"],
                                            user="late"))
    try:
        sock.settimeout(5)
        # `rest` holds what came with the head (retry: and perhaps more): feed it back in front.
        events, buf = read_sse(_Prefixed(sock, rest), 3001)
        eid, name, welcome = events[0]
        assert name == "welcome" and welcome["seq"] == 3000, events[0]
        msgs = events[1:]
        assert [e[1] for e in msgs] == ["msg"] * 3000, [e for e in msgs if e[1] != "msg"][:3]
        assert [e[0] for e in msgs] == [f"{s}:{w['epoch']}" for s in range(1, 3001)], (
            "ids must be SEQ:EPOCH, in order")
        assert_seqs([e[2] for e in msgs], 1, 3000)
        st, _h, body = post_message(server, ROOM, "bob", {"text": "live", "cid": "live-1"})
        assert st == 200 and json.loads(body)["seq"] == 3001, body
        (eid, name, data), = read_sse(_Prefixed(sock, buf), 1)[0]
        assert (eid, name) == (f"3001:{w['epoch']}", "msg"), (eid, name, data)
        check_msg(data, ROOM, seq=3001, id="live-1", text="live")
    finally:
        sock.close()
    # Last-Event-ID resumes the same way (from the middle this time).
    sock, rest = open_sse(server, room_path(ROOM, "events", user="late2"),
                          {"Last-Event-ID": "1200"})
    try:
        events, _buf = read_sse(_Prefixed(sock, rest), 1 + 1801)
        assert events[0][1] == "welcome" and events[0][2]["seq"] == 3001
        assert [e[0] for e in events[1:]] == [f"{s}:{w['epoch']}" for s in range(1201, 3002)]
    finally:
        sock.close()


class _Prefixed:
    """A socket whose first recv returns bytes already read."""

    def __init__(self, sock, first):
        self.sock, self.first = sock, first

    def settimeout(self, t):
        self.sock.settimeout(t)

    def recv(self, n):
        if self.first:
            out, self.first = self.first, b""
            return out
        return self.sock.recv(n)


# -- 3. from before what is kept: one gap for exactly what is gone ------------------------------
def test_resume_older_than_history_gaps_only_what_is_gone(roomcast):
    server = roomcast("--history", 1000, "--max-history-request", 100)

    async def scenario():
        w, _ = await publish(server, 3000)
        ws = await ws_connect(server.ws_url(ROOM, since=500, epoch=w["epoch"], user="late"))
        try:
            welcome = check_welcome(await recv_next(ws), ROOM, "late")
            assert welcome["seq"] == 3000
            gap = await recv_next(ws)
            assert gap == {"type": "gap", "room": ROOM, "from": 501, "to": 2000}, gap
            assert_seqs(await recv_msgs(ws, 1000, timeout=30), 2001, 3000)
            st, _h, body = await asyncio.to_thread(post_message, server, ROOM, "bob",
                                                    {"text": "live", "cid": "live-1"})
            assert st == 200
            check_msg(await recv_next(ws), ROOM, seq=3001, id="live-1")
        finally:
            await close_all([ws])
    run(scenario(), 60)


# -- 4. a slow reader: bounded queue and memory, and it still gets everything -------------------
def test_slow_reader_catch_up_is_bounded_and_complete(roomcast):
    queue = 131072
    server = roomcast("--history", 5000, "--max-history-request", 100, "--max-queue-bytes", queue)
    text = "x" * 400

    async def scenario():
        w, _ = await publish(server, 3000, text=lambda i: text)
        rss_before = vm_rss_kb(server.proc.pid)
        raw, _h = await RawWS.connect(server.port,
                                      f"/ws?room={ROOM}&since=0&epoch={w['epoch']}&user=slow",
                                      rcvbuf=4096, limit=4096)
        try:
            welcome = await raw.recv_json()
            assert welcome["type"] == "welcome" and welcome["seq"] == 3000, welcome
            await asyncio.sleep(1.5)  # read nothing: the server must wait for us, not pile up
            rss_stalled = vm_rss_kb(server.proc.pid)
            got = []
            while len(got) < 3000:
                f = await raw.recv_json(10)
                assert f.get("type") == "msg", f"after {len(got)}: {f}"
                got.append(f["seq"])
            assert got == list(range(1, 3001))
        finally:
            raw.abort()
        _h, text_m, samples = fetch_metrics(server)
        peak = metric_sum(samples, "roomcast_catchup_queue_peak_bytes")
        page = 100 * 600  # one page of ~520-byte frames, with room to spare
        assert 0 < peak <= queue + page, f"queue peak {peak} over {queue} + one page"
        # 3,000 x ~500 bytes is ~1.5 MB; all of it at once plus copies would be several times
        # that. A generous bound: the stalled catch-up costs far less than the whole backlog x 4.
        grew = rss_stalled - rss_before
        assert grew < 16 * 1024, f"RSS grew {grew} KB while the reader stalled"
    run(scenario(), 90)


# -- 5. messages published during the catch-up come once, after it, in order -------------------
def test_messages_during_catch_up_arrive_once_in_order(roomcast):
    server = roomcast(*PAGE, "--max-queue-bytes", 65536)

    async def scenario():
        w, _ = await publish(server, 3000, text=lambda i: BIG)
        raw, _h = await RawWS.connect(server.port,
                                      f"/ws?room={ROOM}&since=0&epoch={w['epoch']}&user=mid",
                                      rcvbuf=4096, limit=4096)
        try:
            welcome = await raw.recv_json()
            assert welcome["seq"] == 3000, welcome
            with BackgroundPoster(server, ROOM, 60, "during", 0.01) as poster:
                got = []
                # Read slowly while the poster sends: the catch-up is still going on.
                while len(got) < 600:
                    f = await raw.recv_json(10)
                    got.append(f)
                    if len(got) % 100 == 0:
                        await asyncio.sleep(0.1)
                posted = await asyncio.to_thread(poster.finished, 30)
                assert await asyncio.to_thread(catching_up, server), "the catch-up ended early"
            assert posted[0][0] == 3001 and posted[-1][0] == 3060, posted[:2]
            while len(got) < 3060:
                got.append(await raw.recv_json(10))
            assert all(f.get("type") == "msg" for f in got), [f for f in got if f.get("type") != "msg"]
            assert_seqs(got, 1, 3060)
            for f, (seq, cid, _t) in zip(got[3000:], posted):
                check_msg(f, ROOM, seq=seq, id=cid)
            with_more = asyncio.create_task(raw.recv_json(0.5))
            try:
                extra = await with_more
                raise AssertionError(f"more after the last message: {extra}")
            except asyncio.TimeoutError:
                pass
        finally:
            raw.abort()
    run(scenario(), 90)


# -- 6. a viewer that leaves mid catch-up leaves nothing behind ---------------------------------
def test_disconnect_mid_catch_up_leaves_nothing(roomcast):
    server = roomcast(*PAGE, "--max-queue-bytes", 16384)

    async def online_now():
        ws, w = await join(server, ROOM, user="counter")
        await close_all([ws])
        return w["online"]

    async def wait_online(want):
        """The online count a new viewer sees (itself included), once it is `want` (closes are
        asynchronous) or after 5 s."""
        deadline = time.monotonic() + 5
        while True:
            n = await online_now()
            if n == want or time.monotonic() > deadline:
                return n
            await asyncio.sleep(0.1)

    async def scenario():
        w, _ = await publish(server, 3000, text=lambda i: "z" * 300)
        base = await wait_online(1)
        assert base == 1, f"online {base} with nobody in the room"
        watcher, ww = await join(server, ROOM, user="watcher")  # keeps a replica on its shard
        try:
            # Stalled readers: they get the welcome and the start of the catch-up, then leave.
            for i in range(4):
                raw, _h = await RawWS.connect(
                    server.port, f"/ws?room={ROOM}&since=0&epoch={w['epoch']}&user=q{i}",
                    rcvbuf=4096, limit=4096)
                welcome = await raw.recv_json()
                assert welcome["type"] == "welcome", welcome
                first = await raw.recv_json()
                assert first.get("type") == "msg" and first["seq"] == 1, first
                await asyncio.sleep(0.2)
                raw.abort()
            # Quick ones that leave at once (some while a page request is on its way).
            for i in range(20):
                ws = await ws_connect(server.ws_url(ROOM, since=0, epoch=w["epoch"], user=f"f{i}"))
                await recv_next(ws)
                ws.transport.abort()
            n = await wait_online(2)
            assert n == 2, f"online {n} after the leavers, want the watcher and the counter"
        finally:
            await close_all([watcher])
        n = await wait_online(1)
        assert n == 1, f"online {n} after everyone left"
        _t, samples = poll_metrics(server, lambda s: metric_sum(s, "roomcast_room_replicas") == 0
                                   and metric_sum(s, "roomcast_catchups") == 0)
        assert metric_sum(samples, "roomcast_room_replicas") == 0, "a replica was left behind"
        assert metric_sum(samples, "roomcast_catchups") == 0, "a catch-up was left behind"
        assert metric_sum(samples, "roomcast_catchup_pages_total") > 0
    run(scenario(), 90)


# -- priority events: first, once, and SSE ids that never go backwards -------------------------
def test_priority_events_lead_the_catch_up_and_sse_ids_never_go_backwards(roomcast):
    key = "e2e-admin-key-0123456789"
    server = roomcast(*PAGE, "--max-queue-bytes", 32768, "--admin-key", key)

    def admin_prio(text):
        st, _h, body = http("POST", server.url(f"/admin/rooms/{ROOM}/publish"),
                            json.dumps({"text": text, "prio": True, "kind": "gift"}),
                            {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        assert st == 200, body
        return json.loads(body)["seq"]

    w, _ = run(publish(server, 1500, text=lambda i: BIG), 60)
    old_prio = admin_prio("old gift")
    assert old_prio == 1501
    run(publish(server, 1499, text=lambda i: BIG, cid="d"), 60)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((HOST, server.port))
    try:
        sock.sendall(f"GET {room_path(ROOM, 'events', since=0, epoch=w['epoch'])} HTTP/1.1\r\n"
                     f"Host: {HOST}\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        head, _, rest = buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        events, rest = read_sse(_Prefixed(sock, rest), 3)
        assert events[0][1] == "welcome" and events[0][2]["seq"] == 3000, events[0]
        # The old priority event leads, ahead of seq 1, so without an id.
        assert events[1][2]["seq"] == 1501 and events[1][0] is None, events[1]
        epoch = events[0][2]["epoch"]
        assert events[2][2]["seq"] == 1 and events[2][0] == f"1:{epoch}", events[2]
        time.sleep(0.5)  # stalled: the catch-up is far from done
        assert catching_up(server), "the catch-up ended early"
        new_prio = admin_prio("new gift")
        assert new_prio == 3001
        more, _rest = read_sse(_Prefixed(sock, rest), 3000 - 1)
    finally:
        sock.close()
    body = events[1:] + more
    seqs = [e[2]["seq"] for e in body]
    assert sorted(seqs) == list(range(1, 3002)), "every seq exactly once"
    assert all(e[0].endswith(f":{epoch}") for e in body if e[0] is not None), body[:3]
    ids = [int(e[0].split(":")[0]) for e in body if e[0] is not None]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "SSE ids never go backwards"
    at = seqs.index(3001)
    assert body[at][0] is None, "a priority event ahead of the next page carries no id"
    assert at < seqs.index(3000), "the new priority event does not wait for the catch-up's end"
    plain = [s for s in seqs if s not in (1501, 3001)]
    assert plain == sorted(plain)
