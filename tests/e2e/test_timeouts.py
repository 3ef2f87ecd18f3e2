"""Connection timeouts: --handshake-timeout-secs, --keepalive-secs, --ping-secs/--pong-timeout-secs.

The server sweeps idle connections once a second and counts idle time in whole seconds, so a
1 s timeout fires some time within (0, ~2] s; the tests allow up to ~3.5 s."""
import asyncio
import json
import socket
import struct
import time

from rcutil import (HOST, OP_CLOSE, OP_PING, OP_TEXT, RawWS, check_msg, check_welcome, close_all,
                    join, parse_head, recv_next, run, send_and_ack)

ROOM = "timeouts"


def read_until_eof(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Read until the peer closes; returns (all bytes, seconds waited). Fails on timeout."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"connection still open after {timeout} s (read so far: {data!r})"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            raise AssertionError(
                f"connection still open after {timeout} s (read so far: {data!r})") from None
        if not chunk:
            return data, time.monotonic() - t0
        data += chunk


def check_closed_response(data: bytes) -> None:
    """What a timed-out connection may see before EOF: nothing, or one 4xx response."""
    if not data:
        return
    head, sep, _body = data.partition(b"\r\n\r\n")
    assert sep, f"partial data before EOF: {data!r}"
    status, _headers = parse_head(head)
    assert 400 <= status < 500, f"unexpected response before close: {data!r}"


def read_response(sock: socket.socket, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """One HTTP response with a Content-Length body, read exactly (nothing beyond it)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\r\n\r\n" not in buf:
        assert time.monotonic() < deadline, f"no response head: {buf!r}"
        chunk = sock.recv(1)
        assert chunk, f"EOF before a response head: {buf!r}"
        buf += chunk
    status, headers = parse_head(buf[:-4])
    n = int(headers.get("content-length", "0"))
    body = b""
    while len(body) < n:
        assert time.monotonic() < deadline, f"short body: {body!r}"
        chunk = sock.recv(n - len(body))
        assert chunk, f"EOF inside the body: {body!r}"
        body += chunk
    return status, headers, body


def test_handshake_timeout_silent_connection(roomcast):
    server = roomcast("--handshake-timeout-secs", 1)
    with socket.create_connection((HOST, server.port), timeout=5) as s:
        data, waited = read_until_eof(s, 4.0)
    check_closed_response(data)
    assert waited <= 3.5, f"closed only after {waited:.2f} s"
    # The server still serves new connections normally.
    with socket.create_connection((HOST, server.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _h, _b = read_response(s)
        assert status == 200


def test_handshake_timeout_partial_head(roomcast):
    """A request head that never completes (slowloris) is closed by the same timeout."""
    server = roomcast("--handshake-timeout-secs", 1)
    with socket.create_connection((HOST, server.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        data, waited = read_until_eof(s, 4.0)
    check_closed_response(data)
    assert waited <= 3.5, f"closed only after {waited:.2f} s"


def test_a_request_trickling_in_is_closed_at_the_deadline(roomcast):
    """Every byte resets the idle clock, so a head sent one byte at a time used to keep its
    connection (and slot) for hours (issue 15, fault 6). A request must arrive whole within
    --handshake-timeout-secs of its first byte: 408 request_timeout, then the close."""
    server = roomcast("--handshake-timeout-secs", 1)
    with socket.create_connection((HOST, server.port), timeout=5) as s:
        t0 = time.monotonic()
        closed = False
        for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
            try:
                s.sendall(bytes([ch]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.25)
            if time.monotonic() - t0 > 6:
                break
        assert closed or time.monotonic() - t0 <= 6, "still open after 6 s of trickling"
        data, _waited = read_until_eof(s, 2.0)
    waited = time.monotonic() - t0
    assert waited <= 5.0, f"closed only after {waited:.2f} s"
    status, _h = parse_head(data.partition(b"\r\n\r\n")[0])
    assert status == 408 and b'"error":"request_timeout"' in data, data


def test_keepalive_timeout_after_request(roomcast):
    server = roomcast("--keepalive-secs", 1)
    with socket.create_connection((HOST, server.port), timeout=5) as s:
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(req)
        status, headers, body = read_response(s)
        assert status == 200, body
        assert headers.get("connection", "").lower() != "close", headers
        # Still open right away: a second request on the same connection is answered.
        s.sendall(req)
        status, _h, body = read_response(s)
        assert status == 200, body
        data, waited = read_until_eof(s, 4.0)
    assert data == b"", f"bytes sent on an idle keep-alive connection: {data!r}"
    assert waited <= 3.5, f"idle keep-alive connection closed only after {waited:.2f} s"


async def read_frames_until_close(raw: RawWS, timeout: float):
    """Never answers pings. Returns ([(seconds, opcode, payload)] up to the close, close code)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    seen = []
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no close within {timeout} s; frames: {seen}"
        try:
            _fin, op, payload = await raw.recv_frame(remaining)
        except asyncio.TimeoutError:
            raise AssertionError(f"no close within {timeout} s; frames: {seen}") from None
        seen.append((time.monotonic() - t0, op, payload))
        if op == OP_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            return seen, code


def test_ping_timeout_closes_silent_client_only(roomcast):
    server = roomcast("--ping-secs", 1, "--pong-timeout-secs", 1)

    async def scenario():
        # The library client answers pings by itself (ping_interval=None only stops its own).
        lib, w = await join(server, ROOM, user="answerer")
        raw, _h = await RawWS.connect(server.port, f"/ws?room={ROOM}&user=silent")
        try:
            _fin, op, payload = await raw.recv_frame(5)
            assert op == OP_TEXT, (op, payload)
            check_welcome(json.loads(payload), ROOM, "silent")
            t_start = time.monotonic()
            frames, code = await read_frames_until_close(raw, 6.0)
            ops = [op for _t, op, _p in frames]
            assert OP_PING in ops, f"no ping before the close: {frames}"
            t_ping = frames[ops.index(OP_PING)][0]
            assert t_ping <= 3.0, f"first ping only after {t_ping:.2f} s"
            assert ops.index(OP_PING) < len(ops) - 1, frames
            assert code == 1001, f"close code {code}, want 1001 (going away): {frames}"
            t_close = frames[-1][0]
            assert t_close <= 5.0, f"close only after {t_close:.2f} s"
            assert t_close >= t_ping, frames
            await raw.expect_eof(3)

            # The answering client is still open 4+ s after joining and still gets traffic.
            left = 4.0 - (time.monotonic() - t_start)
            if left > 0:
                await asyncio.sleep(left)
            sender, _sw = await join(server, ROOM, user="late")
            try:
                ack, _m = await send_and_ack(sender, ROOM, "late", "after 4 s", "late-1")
            finally:
                await close_all([sender])
            m = await recv_next(lib, 5)
            check_msg(m, ROOM, seq=ack["seq"], id="late-1", user="late", text="after 4 s")
            assert ack["seq"] == w["seq"] + 1, ack
            await lib.send(json.dumps({"op": "ping"}))
            assert (await recv_next(lib, 5)).get("type") == "pong"
        finally:
            raw.abort()
            await close_all([lib])

    run(scenario(), 25)
