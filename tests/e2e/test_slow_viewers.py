"""Slow viewers: one that does not read overflows --max-queue-bytes and is skipped ahead
(policy skip: a gap notice, then live messages; for SSE a gap event) or closed (policy close);
others keep pace."""
import asyncio
import json
import socket
import time

from rcutil import (HOST, CloseReceived, RawWS, check_msg, check_welcome, close_all, join,
                    recv_next, run, send_and_ack, send_op)

ROOM = "slow-room"
QUEUE_BYTES = 262144
WINDOW = 24
# ~2 KB per message (500 four-byte code points): 3500 messages are ~7.4 MB, more than the
# kernel buffers of one loopback connection can absorb (tcp_wmem max 4 MB + a tiny receiver)
# plus QUEUE_BYTES.
N = 3500
TEXT = "\U0001F600" * 500


async def open_slow_viewer(server):
    # A 4 KB receive buffer and a small stream limit: the client stops taking data early.
    raw, _ = await RawWS.connect(server.port, f"/ws?room={ROOM}&user=slowpoke", rcvbuf=4096,
                                 limit=4096)
    welcome = check_welcome(await raw.recv_json(), ROOM, "slowpoke")
    return raw, welcome


async def flood(server, head):
    """Fast viewer + sender: N messages; the fast viewer must get them all, in order."""
    fast, fw = await join(server, ROOM, user="fast")
    sender, _sw = await join(server, ROOM, user="flooder")
    try:
        assert fw["seq"] == head
        acks = []

        async def sender_reader():
            own = 0
            while len(acks) < N or own < N:
                f = await recv_next(sender, 30)
                if f.get("type") == "ack":
                    acks.append(f["seq"])
                elif f.get("type") == "msg":
                    own += 1
                else:
                    raise AssertionError(f"sender got {f}")

        async def fast_reader():
            expect = head + 1
            while expect <= head + N:
                m = await recv_next(fast, 30)
                assert m.get("type") == "msg", f"fast viewer got {m}"
                assert m["seq"] == expect, f"fast viewer: seq {m['seq']}, want {expect}"
                expect += 1

        t0 = time.monotonic()
        tasks = [asyncio.create_task(sender_reader()), asyncio.create_task(fast_reader())]
        # At most WINDOW messages unacknowledged: the sender (a viewer of the room too) and the
        # fast viewer then always keep up, so neither may see a gap or a close.
        for i in range(N):
            while i - len(acks) >= WINDOW:
                if any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.001)
            await send_op(sender, {"op": "send", "text": TEXT, "cid": f"f-{i}"})
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        elapsed = time.monotonic() - t0
        assert acks == list(range(head + 1, head + N + 1))
        return elapsed
    finally:
        await close_all([fast, sender])


async def drain(raw, idle=1.0, limit=60.0):
    """Read everything the slow viewer has (until `idle` s of silence); returns frames and
    whether the connection ended (close frame, EOF or reset)."""
    frames, ended = [], False
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            f = await raw.recv_json(idle)
        except asyncio.TimeoutError:
            return frames, ended
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return frames, True
        except CloseReceived:
            return frames, True
        frames.append(f)
    raise AssertionError(f"slow viewer still receiving after {limit} s")


def test_slow_viewer_skipped_ahead(roomcast):
    server = roomcast("--slow-policy", "skip", "--max-queue-bytes", QUEUE_BYTES,
                      "--max-frame", 65536)

    async def scenario():
        raw, w = await open_slow_viewer(server)
        head = w["seq"]
        try:
            await flood(server, head)
            frames, ended = await drain(raw)
            assert not ended, "policy skip must keep the slow viewer connected"
            # One more live message after the viewer caught up: it must arrive.
            sender, _ = await join(server, ROOM, user="late")
            try:
                await send_and_ack(sender, ROOM, "late", "after the flood", "late-1")
            finally:
                await close_all([sender])
            while True:
                f = await raw.recv_json(10)
                frames.append(f)
                if f.get("type") == "msg" and f.get("id") == "late-1":
                    break
            # Every seq from head+1 to head+N+1 is delivered or covered by a gap, in order.
            expect, gaps, got = head + 1, 0, 0
            for f in frames:
                if f.get("type") == "gap":
                    assert f.get("room") == ROOM, f
                    assert f["from"] == expect and f["to"] >= f["from"], (
                        f"gap {f} does not start at the next missing seq {expect}")
                    expect = f["to"] + 1
                    gaps += 1
                else:
                    check_msg(f, ROOM, seq=expect)
                    expect += 1
                    got += 1
            assert expect == head + N + 2, f"coverage ends at {expect - 1}, want {head + N + 1}"
            assert gaps >= 1, (
                f"no gap: the slow viewer got all {got} messages, it was never skipped "
                f"(queue limit {QUEUE_BYTES} B never reached?)")
            assert got < N + 1
            assert frames[-1].get("id") == "late-1"
        finally:
            raw.abort()
    run(scenario(), 110)


def test_slow_viewer_closed(roomcast):
    server = roomcast("--slow-policy", "close", "--max-queue-bytes", QUEUE_BYTES,
                      "--max-frame", 65536)

    async def scenario():
        raw, w = await open_slow_viewer(server)
        head = w["seq"]
        try:
            await flood(server, head)
            frames, ended = await drain(raw, idle=3.0)
            assert ended, f"policy close: the slow viewer is still open after {len(frames)} frames"
            msgs = [f for f in frames if f.get("type") == "msg"]
            assert len(msgs) == len(frames), "only messages expected before the close"
            assert [m["seq"] for m in msgs] == list(range(head + 1, head + 1 + len(msgs)))
            assert len(msgs) < N, "closed, so it cannot have received everything"
        finally:
            raw.abort()
    run(scenario(), 110)


async def open_slow_sse(server):
    """An SSE viewer with a 4 KB receive buffer that reads only up to its welcome event."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((HOST, server.port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    writer.write(f"GET /rooms/{ROOM}/events?user=slowsse HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200"), head
    welcome = None
    while welcome is None:
        event = await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)
        for line in event.decode().splitlines():
            if line.startswith("data: ") and '"welcome"' in line:
                welcome = json.loads(line[len("data: "):])
    return reader, writer, welcome


async def read_sse_events(reader, idle=1.0, limit=60.0):
    """Every event until `idle` s of silence: [(id or None, event name, data object)]."""
    events, deadline = [], time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            block = await asyncio.wait_for(reader.readuntil(b"\n\n"), idle)
        except asyncio.TimeoutError:
            return events
        fields = {}
        for line in block.decode().splitlines():
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields.get("event") in ("state", "reactions"):
            continue  # unsequenced news (presence), not part of the seq coverage checked here
        if "data" in fields:
            events.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
    raise AssertionError(f"slow SSE viewer still receiving after {limit} s")


def test_slow_sse_viewer_skipped_ahead_with_a_gap_event(roomcast):
    """The slow-viewer policy for SSE: a gap event whose id is its `to`, then live messages;
    every seq is delivered or covered, in order."""
    server = roomcast("--slow-policy", "skip", "--max-queue-bytes", QUEUE_BYTES,
                      "--max-frame", 65536)

    async def scenario():
        reader, writer, w = await open_slow_sse(server)
        head = w["seq"]
        try:
            await flood(server, head)
            events = await read_sse_events(reader)
            expect, gaps, got = head + 1, 0, 0
            for eid, name, data in events:
                if name == "gap":
                    assert data["from"] == expect and data["to"] >= expect, (data, expect)
                    assert eid == f"{data['to']}:{w['epoch']}", (
                        f"gap event id {eid}, want its end {data['to']} and the epoch")
                    expect = data["to"] + 1
                    gaps += 1
                else:
                    assert name == "msg" and eid == f"{expect}:{w['epoch']}", (eid, name, expect)
                    check_msg(data, ROOM, seq=expect)
                    expect += 1
                    got += 1
            assert expect == head + N + 1, f"coverage ends at {expect - 1}, want {head + N}"
            assert gaps >= 1, f"no gap event: the slow SSE viewer got all {got} messages"
        finally:
            writer.close()
    run(scenario(), 110)
