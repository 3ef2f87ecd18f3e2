"""--max-conns-per-ip (issue 15, "Limits"): one client address holds at most N connections across
the whole server (every shard counts into one table); the next gets 503 too_many_connections and
is closed before any request is read, other addresses still connect, and a closed connection
frees its count. Client addresses are other loopback addresses (127.0.0.2, 127.0.0.3)."""
import asyncio
import json
import socket
import time

import pytest
import websockets

from metricsutil import fetch_metrics, metric_sum
from rcutil import run

CAP = 6


def open_from(server, source: str, request: bool = True) -> tuple[socket.socket, int, bytes]:
    """A connection from `source`; with request, GET /healthz (keep-alive) and its status and
    body; else what the server says unasked within 5 s (0 and b"" when nothing)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((source, 0))
    s.connect(("127.0.0.1", server.port))
    if request:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        data = head + b"\r\n\r\n" + body
    except socket.timeout:
        pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return s, status, data.partition(b"\r\n\r\n")[2]


def closes_soon(s: socket.socket) -> bool:
    """True when the server closes s (EOF) within 5 s."""
    s.settimeout(5)
    try:
        while s.recv(4096):
            pass
        return True
    except (socket.timeout, ConnectionResetError):
        return False


def test_an_address_over_the_cap_is_refused_and_others_still_connect(roomcast):
    server = roomcast("--max-conns-per-ip", CAP, shards=2)
    time.sleep(0.3)  # the fixture's /healthz probe (from 127.0.0.1) is closed by now
    held = []
    try:
        for _ in range(CAP):  # SO_REUSEPORT spreads them over both shards: one count anyway
            s, st, _b = open_from(server, "127.0.0.2")
            held.append(s)
            assert st == 200, st
        extra, st, body = open_from(server, "127.0.0.2", request=False)
        assert st == 503, (st, body)
        assert json.loads(body)["error"] == "too_many_connections", body
        assert closes_soon(extra), "a refused connection is closed"
        extra.close()
        # Another address is not affected, nor is a WebSocket from it.
        other, st, _b = open_from(server, "127.0.0.3")
        assert st == 200, st
        other.close()

        async def ws_from(source):
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws?room=ip",
                                          local_addr=(source, 0), open_timeout=5) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"]
        assert run(ws_from("127.0.0.3"), 10) == "welcome"
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
            run(ws_from("127.0.0.2"), 10)
        assert refused.value.status_code == 503
        _h, _text, samples = fetch_metrics(server)  # from 127.0.0.1
        assert metric_sum(samples, "roomcast_refused_per_ip_total") == 2, _text
        assert "--max-conns-per-ip" in server.log_text() and "127.0.0.2" in server.log_text()

        # A closed connection frees its count: the next one from 127.0.0.2 is served (after the
        # server has seen the close; bounded retries).
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:
            s, st, _b = open_from(server, "127.0.0.2")
            if st == 200:
                held.append(s)
                break
            s.close()
            assert time.monotonic() < deadline, "the closed connection's count was not freed"
            time.sleep(0.1)
        # And the cap holds again.
        extra, st, _b = open_from(server, "127.0.0.2", request=False)
        extra.close()
        assert st == 503, st
    finally:
        for s in held:
            s.close()


def test_without_the_flag_one_address_is_not_limited(roomcast):
    """The default (0) counts nothing: 3 x CAP connections from one address are all served."""
    server = roomcast(shards=2)
    held = []
    try:
        for _ in range(3 * CAP):
            s, st, _b = open_from(server, "127.0.0.2")
            held.append(s)
            assert st == 200, st
        assert metric_sum(fetch_metrics(server)[2], "roomcast_refused_per_ip_total") == 0
    finally:
        for s in held:
            s.close()
