"""Configured limits: --max-conns (503 server_full), --max-head/--max-headers (431),
--max-body (413), --max-text (413 / too_large, counted in code points), --max-history-request."""
import asyncio
import json
import socket
import time

import pytest
import websockets

from rcutil import (HOST, barrier, check_msg, close_all, curl, join, parse_head,
                    post_message, recv_next, run, send_and_ack, send_op, ws_connect)

from httputil import longpoll  # noqa: E402
from metricsutil import fetch_metrics, metric_sum  # noqa: E402

ROOM = "limits"


def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, dict, bytes, bool]:
    """Send bytes, read one response; returns (status, headers, body, closed): closed is True
    when the server closed the connection after the response (EOF within 2 s)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\r\n\r\n" not in buf:
            assert time.monotonic() < deadline, f"no response head: {buf!r}"
            chunk = s.recv(65536)
            assert chunk, f"EOF before a complete response head: {buf!r}"
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        status, headers = parse_head(head)
        n = int(headers.get("content-length", "-1"))
        assert n >= 0, f"response without Content-Length: {head!r}"
        while len(body) < n:
            assert time.monotonic() < deadline, f"short body: {body!r}"
            chunk = s.recv(65536)
            assert chunk, f"EOF inside the body: {body!r}"
            body += chunk
        assert len(body) == n, f"bytes after the body: {body[n:]!r}"
        s.settimeout(2.0)
        try:
            closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        return status, headers, body, closed


def json_error(body: bytes, code: str | None = None) -> dict:
    obj = json.loads(body)
    assert isinstance(obj, dict) and isinstance(obj.get("error"), str), body
    if code is not None:
        assert obj["error"] == code, obj
    return obj


# -- --max-conns ---------------------------------------------------------------------------------
def test_max_conns_503_and_recovery(roomcast):
    server = roomcast("--max-conns", 4, shards=1)

    async def scenario():
        await asyncio.sleep(0.3)  # let the server finish closing the fixture's /healthz probe
        viewers = []
        try:
            for i in range(4):
                viewers.append((await join(server, ROOM, user=f"v{i}"))[0])
            # Raw socket: 503 JSON server_full, then the server closes.
            req = f"GET /ws?room={ROOM} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            st, headers, body, closed = await asyncio.to_thread(raw_exchange, server.port, req)
            assert st == 503, body
            assert "json" in headers.get("content-type", ""), headers
            json_error(body, "server_full")
            assert closed, "the refused connection must be closed"
            # curl sees the same.
            r = await asyncio.to_thread(curl, "-o", "-", "-w", "\n%{http_code}",
                                        server.url("/healthz"))
            body, _, code = r.stdout.rpartition("\n")
            assert code == "503", r.stdout + r.stderr
            json_error(body.encode(), "server_full")
            # A WebSocket client gets the 503 as a failed handshake.
            with pytest.raises(websockets.exceptions.InvalidStatusCode) as ei:
                await ws_connect(server.ws_url(ROOM, user="fifth"))
            assert ei.value.status_code == 503
            # The 4 viewers are unaffected.
            ack, _m = await send_and_ack(viewers[0], ROOM, "v0", "still four", "four-1")
            for ws in viewers[1:]:
                check_msg(await recv_next(ws), ROOM, seq=ack["seq"], id="four-1", text="still four")
            # Free one slot: a new viewer gets in within a couple of seconds.
            await close_all([viewers.pop()])
            deadline = time.monotonic() + 3.0
            newcomer = None
            while newcomer is None:
                try:
                    newcomer, _w = await join(server, ROOM, user="newcomer")
                except websockets.exceptions.InvalidStatusCode as e:
                    assert e.status_code == 503, e
                    assert time.monotonic() < deadline, "slot not freed within 3 s after a close"
                    await asyncio.sleep(0.1)
            viewers.append(newcomer)
            ack2, _m = await send_and_ack(newcomer, ROOM, "newcomer", "back to four", "four-2")
            assert ack2["seq"] == ack["seq"] + 1, ack2
            for ws in viewers[:-1]:
                check_msg(await recv_next(ws), ROOM, seq=ack2["seq"], id="four-2")
        finally:
            await close_all(viewers)

    run(scenario(), 30)


def test_max_conns_is_one_limit_for_the_whole_server(roomcast):
    """SO_REUSEPORT spreads connections over the shards unevenly; the limit is the server's, not
    an even split per shard (issue 15, fault 9: a shard refused past its half while the other
    had room). 300 keep-alive connections at --max-conns 300 over 2 shards are all served; the
    301st is refused with 503 server_full, and a freed slot is taken again."""
    limit = 300
    server = roomcast("--max-conns", limit, shards=2)
    time.sleep(0.3)  # the fixture's /healthz probe is closed by now
    socks = []

    def open_one() -> tuple[socket.socket, int]:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
        return s, status

    try:
        statuses = []
        for _ in range(limit):
            s, st = open_one()
            socks.append(s)
            statuses.append(st)
        assert statuses.count(200) == limit, (
            f"{statuses.count(503)} of {limit} refused below --max-conns {limit}")
        extra, st = open_one()
        extra.close()
        assert st == 503, st
        socks.pop().close()
        deadline = time.monotonic() + 3
        while True:
            s, st = open_one()
            if st == 200:
                socks.append(s)
                break
            s.close()
            assert st == 503 and time.monotonic() < deadline, st
            time.sleep(0.1)
    finally:
        for s in socks:
            s.close()


def test_rooms_that_never_had_a_message_are_reclaimed(roomcast):
    """Any anonymous GET made a room that lived until a restart, so a burst of them filled
    --max-rooms and every new room got 503 (issue 15, fault 8). A room with no message and no
    viewer is reclaimed at once; rooms with history stay."""
    server = roomcast("--max-rooms", 200, "--poll-hold-ms", 1000, shards=1)
    st, _h, body = post_message(server, "keeper", "w", {"text": "kept", "cid": "k-1"})
    assert st == 200, body
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        f = s.makefile("rb")
        for i in range(2000):
            s.sendall(f"GET /rooms/drive-by-{i}/messages HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status = int(f.readline().split()[1])
            length = 0
            while (line := f.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
            assert status == 200, (i, status)
    m = fetch_metrics(server)[2]
    assert metric_sum(m, "roomcast_rooms_owned") <= 2, m
    status, _h, obj, _t = longpoll(server, "keeper", None, history=5)
    assert status == 200 and [x["text"] for x in obj["messages"]] == ["kept"], obj

    async def viewers_come_and_go():  # a WebSocket viewer's empty room goes when it leaves
        for i in range(300):
            ws, _w = await join(server, f"visit-{i}", user="v")
            await close_all([ws])
    run(viewers_come_and_go(), 60)
    time.sleep(0.3)
    assert metric_sum(fetch_metrics(server)[2], "roomcast_rooms_owned") <= 2


# -- HTTP request limits ---------------------------------------------------------------------------
@pytest.fixture
def small(roomcast):
    return roomcast("--max-head", 1024, "--max-headers", 8, "--max-body", 256, "--max-text", 10)


def get_with_headers(headers: list[str]) -> bytes:
    return ("GET /healthz HTTP/1.1\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()


def test_head_over_max_head_is_431(small):
    ok = get_with_headers(["Host: x", "X-Pad: " + "a" * 600])
    st, _h, body, _c = raw_exchange(small.port, ok)
    assert st == 200, f"a 650-byte head is within --max-head 1024: {st} {body!r}"
    big = get_with_headers(["Host: x", "X-Big: " + "a" * 4000])
    st, headers, body, closed = raw_exchange(small.port, big)
    assert st == 431, body
    assert "json" in headers.get("content-type", ""), headers
    json_error(body)
    assert closed


def test_too_many_headers_is_431(small):
    st, _h, body, _c = raw_exchange(small.port,
                                    get_with_headers(["Host: x"] + [f"X-H{i}: v" for i in range(5)]))
    assert st == 200, f"6 headers are within --max-headers 8: {st} {body!r}"
    many = get_with_headers(["Host: x"] + [f"X-H{i}: v" for i in range(20)])
    st, headers, body, closed = raw_exchange(small.port, many)
    assert st == 431, body
    assert "json" in headers.get("content-type", ""), headers
    json_error(body)
    assert closed


def post_raw(room: str, body: bytes) -> bytes:
    return (f"POST /rooms/{room}/messages?user=poster HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def test_body_over_max_body_is_413(small):
    base = json.dumps({"text": "hi", "cid": "b-256"}).encode()
    exact = base + b" " * (256 - len(base))  # JSON whitespace pads to exactly --max-body
    st, _h, body, _c = raw_exchange(small.port, post_raw(ROOM, exact))
    assert st == 200, f"a body of exactly --max-body must pass: {st} {body!r}"
    over = json.dumps({"text": "hi", "cid": "b-257"}).encode()
    over += b" " * (257 - len(over))
    st, headers, body, _c = raw_exchange(small.port, post_raw(ROOM, over))
    assert st == 413, body
    assert "json" in headers.get("content-type", ""), headers
    json_error(body)
    big = json.dumps({"text": "hi", "cid": "b-big"}).encode() + b" " * 3000
    st, _h, body, _c = raw_exchange(small.port, post_raw(ROOM, big))
    assert st == 413, body
    json_error(body)


def test_max_text_in_code_points_http_and_ws(small):
    async def scenario():
        watcher, w = await join(small, ROOM, user="watcher")
        client, _ = await join(small, ROOM, user="client")
        try:
            head = w["seq"]
            for text in ("a" * 11, "\u00e9" * 11, "\U0001F600" * 11):
                st, _h, body = await asyncio.to_thread(post_message, small, ROOM, "poster",
                                                       {"text": text, "cid": "too-big"})
                assert st == 413, f"{len(text)} code points over HTTP: {st} {body!r}"
                json_error(body)
                await send_op(client, {"op": "send", "text": text, "cid": "too-big"})
                err = await recv_next(client)
                assert err.get("type") == "error" and err.get("code") == "too_large", err
            assert await barrier(client) == []
            # Exactly 10 code points passes, whatever the byte length.
            st, _h, body = await asyncio.to_thread(post_message, small, ROOM, "poster",
                                                   {"text": "\u00e9" * 10, "cid": "ten-http"})
            assert st == 200, body
            assert json.loads(body).get("seq") == head + 1, body
            check_msg(await recv_next(client), ROOM, seq=head + 1, id="ten-http")
            ack, _m = await send_and_ack(client, ROOM, "client", "\u00e9" * 10, "ten-ws")
            assert ack["seq"] == head + 2, ack
            ack, _m = await send_and_ack(client, ROOM, "client", "\U0001F600" * 10, "ten-emoji")
            assert ack["seq"] == head + 3, ack
            for seq, cid, text in ((head + 1, "ten-http", "\u00e9" * 10),
                                   (head + 2, "ten-ws", "\u00e9" * 10),
                                   (head + 3, "ten-emoji", "\U0001F600" * 10)):
                check_msg(await recv_next(watcher), ROOM, seq=seq, id=cid, text=text)
            assert await barrier(watcher) == [], "rejected messages must not be delivered"
        finally:
            await close_all([watcher, client])

    run(scenario(), 20)


# -- --max-history-request ------------------------------------------------------------------------
def test_history_request_is_capped(roomcast):
    server = roomcast("--max-history-request", 5, "--history", 50)

    async def scenario():
        writer, w = await join(server, ROOM, user="writer")
        sent = []
        try:
            for i in range(10):
                ack, _m = await send_and_ack(writer, ROOM, "writer", f"line {i}", f"hc-{i}")
                sent.append((ack["seq"], f"hc-{i}", f"line {i}"))
        finally:
            await close_all([writer])
        assert [s[0] for s in sent] == list(range(w["seq"] + 1, w["seq"] + 11)), sent
        for history in (100, 5):
            ws, _w = await join(server, ROOM, user=f"reader{history}", history=history)
            try:
                frames = await barrier(ws)
            finally:
                await close_all([ws])
            assert [f.get("seq") for f in frames] == [s[0] for s in sent[-5:]], (
                f"history={history}: got {frames}")
            for f, (seq, cid, text) in zip(frames, sent[-5:]):
                check_msg(f, ROOM, seq=seq, id=cid, user="writer", text=text)
        # Below the cap, the request is honoured as is.
        ws, _w = await join(server, ROOM, user="reader3", history=3)
        try:
            frames = await barrier(ws)
        finally:
            await close_all([ws])
        assert [f.get("seq") for f in frames] == [s[0] for s in sent[-3:]], frames

    run(scenario(), 20)

