"""HTTP clients for the end-to-end tests: long-poll requests and answers, keep-alive and pipelined
connections on raw sockets (blocking and asyncio), and a server-sent-events reader."""
from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import urllib.parse

from rcutil import HOST, Server, close_writer, http, is_int, parse_head, post_message


CURSOR_RE = re.compile(r"[A-Za-z0-9_-]+")


def room_path(room: str, tail: str, **params) -> str:
    """/rooms/<room>/<tail>?k=v... (None values left out)."""
    q = {k: v for k, v in params.items() if v is not None}
    return (f"/rooms/{urllib.parse.quote(room, safe=':')}/{tail}"
            + ("?" + urllib.parse.urlencode(q) if q else ""))


def poll_answer(server: "Server", room: str, cursor=None, timeout=5.0, **params) -> tuple[dict, float]:
    """A long-poll that must answer 200 with a well-formed body; returns (answer, seconds)."""
    status, headers, obj, took = longpoll(server, room, cursor, timeout, **params)
    assert status == 200, f"poll {room} cursor={cursor!r} {params}: {status} {obj!r}"
    assert "application/json" in headers.get("content-type", ""), headers
    assert "no-store" in headers.get("cache-control", "").lower(), headers
    return check_poll_answer(obj, room), took


def check_poll_answer(obj, room: str) -> dict:
    """Shape of a long-poll answer (docs/protocol.md, "Long-poll")."""
    assert isinstance(obj, dict), obj
    assert isinstance(obj.get("messages"), list), f"no messages list: {obj}"
    assert isinstance(obj.get("cursor"), str) and CURSOR_RE.fullmatch(obj["cursor"]), (
        f"cursor missing or not URL-safe: {obj}")
    assert is_int(obj.get("timeoutMs")) and obj["timeoutMs"] >= 0, f"bad timeoutMs: {obj}"
    assert isinstance(obj.get("epoch"), str) and obj["epoch"], f"bad epoch: {obj}"
    assert is_int(obj.get("seq")) and obj["seq"] >= 0, f"bad seq: {obj}"
    for m in obj["messages"]:
        assert isinstance(m, dict) and isinstance(m.get("type"), str), f"bad object {m} in {obj}"
        if m["type"] in ("msg", "gap"):
            assert m.get("room") == room, f"object of another room in {obj}"
    return obj


def longpoll(server: Server, room: str, cursor: str | None = None, timeout: float = 5.0,
             headers: dict | None = None, **params) -> tuple[int, dict, dict | bytes, float]:
    """GET /rooms/R/messages[?cursor=..]; returns (status, headers, JSON or raw body, seconds)."""
    t0 = time.monotonic()
    status, h, body = http("GET", server.url(room_path(room, "messages", cursor=cursor, **params)),
                           headers=headers, timeout=timeout)
    took = time.monotonic() - t0
    try:
        obj = json.loads(body)
    except ValueError:
        obj = body
    return status, h, obj, took


def post_many(server: Server, room: str, n: int, user: str = "writer",
              prefix: str = "m") -> list[tuple[int, str, str]]:
    """POST n messages one after another; returns [(seq, id, text)] and checks seqs are +1."""
    out = []
    for i in range(n):
        cid, text = f"{prefix}-{i}", f"{prefix} line {i}"
        st, _h, body = post_message(server, room, user, {"text": text, "cid": cid})
        assert st == 200, f"POST {cid}: {st} {body!r}"
        ans = json.loads(body)
        assert is_int(ans.get("seq")) and ans.get("id") == cid, ans
        if out:
            assert ans["seq"] == out[-1][0] + 1, f"seq not +1 after {out[-1]}: {ans}"
        out.append((ans["seq"], cid, text))
    return out


class HttpConn:
    """One keep-alive client connection on a raw socket that reads successive responses
    (Content-Length bodies); `response()` also returns the arrival time (monotonic)."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self, deadline: float, what: str) -> None:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {what}; buffered: {self.buf!r}"
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"timed out waiting for {what}; buffered: {self.buf!r}") from None
        assert chunk, f"EOF while waiting for {what}; buffered: {self.buf!r}"
        self.buf += chunk

    def response(self, timeout: float | None = None) -> tuple[int, dict, bytes, float]:
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._more(deadline, "a response head")
        arrived = time.monotonic()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status, headers = parse_head(head)
        assert "content-length" in headers, f"response without Content-Length: {head!r}"
        n = int(headers["content-length"])
        while len(self.buf) < n:
            self._more(deadline, "a response body")
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body, arrived

    def expect_eof(self, timeout: float = 3.0) -> None:
        """The server closes the connection, sending nothing more."""
        assert self.buf == b"", f"extra bytes after the last response: {self.buf!r}"
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return
        except socket.timeout:
            raise AssertionError(f"connection still open {timeout} s after the response") from None
        assert chunk == b"", f"data instead of EOF: {chunk!r}"


def get_request(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{extra}\r\n".encode()


class AsyncHttpConn:
    """Minimal asyncio HTTP/1.1 keep-alive client (Content-Length bodies only), for many
    concurrent pollers in one test."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, timeout: float = 5.0) -> "AsyncHttpConn":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes = b"",
                      timeout: float = 5.0) -> tuple[int, dict, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
        if body or method == "POST":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)

        async def read():
            await self.writer.drain()
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status, headers = parse_head(raw[:-4])
            assert "content-length" in headers, f"no Content-Length: {raw!r}"
            data = await self.reader.readexactly(int(headers["content-length"]))
            return status, headers, data
        return await asyncio.wait_for(read(), timeout)

    async def close(self) -> None:
        await close_writer(self.writer)


class SSEStream:
    """A text/event-stream reader on a raw socket (blocking, every read bounded).

    events() yields dicts: {"event","id","data","retry"} for events (data parsed as JSON when
    it is JSON) and {"comment": text} for comment lines. Handles a chunked body too."""

    def __init__(self, port: int, path: str, headers: dict | None = None, timeout: float = 5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(get_request(path, "Accept: text/event-stream\r\n" + extra))
        self.raw = b""
        self.text = ""          # de-chunked body text not yet parsed
        import codecs
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.eof = False
        self.chunked = False
        self.pending: dict = {}
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.raw:
            self._recv(deadline, "the response head")
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        self.status, self.headers = parse_head(head)
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.body_prefix = b""  # for non-200 answers (Content-Length body)
        if self.status != 200 and "content-length" in self.headers:
            n = int(self.headers["content-length"])
            while len(self.raw) < n:
                self._recv(deadline, "the error body")
            self.body_prefix = self.raw[:n]
        else:
            self._decode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self, deadline: float, what: str) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {what}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"timed out waiting for {what}") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise EOFError(f"EOF while waiting for {what}")
        self.raw += chunk

    def _decode(self) -> None:
        if not self.chunked:
            self.text += self.utf8.decode(self.raw)
            self.raw = b""
            return
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            size = int(line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            self.text += self.utf8.decode(rest[:size])
            self.raw = rest[size + 2:]
            if size == 0:
                self.eof = True
                return

    def next_item(self, timeout: float = 5.0) -> dict:
        """The next event or comment; raises TimeoutError or EOFError."""
        deadline = time.monotonic() + timeout
        while True:
            while "\n" in self.text:
                line, _, self.text = self.text.partition("\n")
                line = line.rstrip("\r")
                if line == "":
                    if self.pending:
                        ev, self.pending = self.pending, {}
                        if "data" in ev:
                            try:
                                ev["data"] = json.loads(ev["data"])
                            except ValueError:
                                pass
                        return ev
                    continue
                if line.startswith(":"):
                    return {"comment": line[1:].strip()}
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "data" and "data" in self.pending:
                    self.pending["data"] += "\n" + value
                else:
                    self.pending[field] = value
            if self.eof:
                raise EOFError("stream ended")
            self._recv(deadline, "an SSE event")
            self._decode()

    def next_event(self, timeout: float = 5.0, skip=("state", "reactions")) -> dict:
        """The next event, skipping comments and event types a client ignores."""
        deadline = time.monotonic() + timeout
        while True:
            it = self.next_item(max(0.01, deadline - time.monotonic()))
            if "comment" in it or "event" not in it and "data" not in it:
                continue
            if it.get("event") in skip:
                continue
            return it


class BackgroundPoster:
    """Sends n messages over HTTP from a thread, `pause` seconds apart, while a test reads.
    `posted` holds (seq, cid, text) in order; `done` is set when the thread ends. As a context
    manager it starts the thread and, on exit, waits for it and raises what it raised."""

    def __init__(self, server: Server, room: str, n: int, prefix: str, pause: float):
        self.server, self.room, self.n, self.prefix, self.pause = server, room, n, prefix, pause
        self.posted: list[tuple[int, str, str]] = []
        self.done = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for i in range(self.n):
                cid, text = f"{self.prefix}-{i}", f"{self.prefix} line {i}"
                st, _h, body = post_message(self.server, self.room, "poster",
                                            {"text": text, "cid": cid})
                assert st == 200, body
                self.posted.append((json.loads(body)["seq"], cid, text))
                time.sleep(self.pause)
        except BaseException as e:  # raised again in the test's thread
            self.errors.append(e)
        finally:
            self.done.set()

    def finished(self, timeout: float) -> list[tuple[int, str, str]]:
        """Waits for the last post; returns what was posted."""
        assert self.done.wait(timeout), "poster did not finish"
        assert not self.errors, self.errors
        return self.posted

    def __enter__(self) -> "BackgroundPoster":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(10)
        if exc[0] is None and self.errors:
            raise self.errors[0]
