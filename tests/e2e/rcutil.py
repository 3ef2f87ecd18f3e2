"""Helpers for the roomcast end-to-end tests: server process, HTTP, WebSocket (library and raw)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import websockets

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
READY_TIMEOUT = 10.0
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Server frame types a client may receive at any time and must ignore (PROTOCOL.md).
IGNORABLE_TYPES = {"state", "reactions"}


def binary_path() -> Path:
    p = Path(os.environ.get("ROOMCAST_BIN", "build/src/roomcast"))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def version_from_meson() -> str:
    text = (REPO_ROOT / "meson.build").read_text()
    m = re.search(r"version\s*:\s*'([^']+)'", text)
    assert m, "no version in meson.build"
    return m.group(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


_help_cache: dict[str, str] = {}


def help_text(binary: Path) -> str:
    key = str(binary)
    if key not in _help_cache:
        try:
            r = subprocess.run([key, "--help"], capture_output=True, text=True, timeout=10)
            _help_cache[key] = r.stdout + r.stderr
        except (OSError, subprocess.TimeoutExpired):
            _help_cache[key] = ""
    return _help_cache[key]


def base_flags(binary: Path, rate_limit_off: bool = True) -> list[str]:
    """Flags every test server gets besides --listen/--shards.

    PROTOCOL.md makes `?user=NAME` a development switch (`--dev-auth`); pass it when the binary
    knows it. The suites send far faster than a chat user may (--rate-limit 20/30 by default), so
    the limit is off unless a test turns it on (a later --rate-limit wins). ROOMCAST_E2E_ARGS adds
    more (shell-quoted)."""
    flags = []
    if "--dev-auth" in help_text(binary):
        flags.append("--dev-auth")
    if rate_limit_off and "--rate-limit" in help_text(binary):
        flags += ["--rate-limit", "off"]
    # Likewise a suite's bursts would make its rooms hot (automatic slow mode, sampling): both
    # reflexes are off unless a test turns them on (test_hot_rooms.py; later flags win).
    if "--max-visible-rate" in help_text(binary):
        flags += ["--hot-msgs-per-sec", "0", "--max-visible-rate", "0"]
    flags += shlex.split(os.environ.get("ROOMCAST_E2E_ARGS", ""))
    return flags


class Server:
    """One roomcast process on 127.0.0.1:<free port>, log (stdout+stderr) in a file."""

    def __init__(self, binary: Path, args: list[str], log_path: Path, shards: int = 2,
                 env: dict | None = None, rate_limit_off: bool = True):
        self.binary = binary
        self.env = env  # the whole environment of the process (None: this one's)
        self.extra_args = list(args)
        self.shards = shards
        self.rate_limit_off = rate_limit_off  # False: the rate limit as the settings say
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.returncode: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def argv(self) -> list[str]:
        return [str(self.binary), "--listen", f"{HOST}:{self.port}", "--shards", str(self.shards),
                *base_flags(self.binary, self.rate_limit_off), *self.extra_args]

    def start(self) -> "Server":
        assert self.binary.exists(), (
            f"server binary {self.binary} does not exist: build it (make build) or set ROOMCAST_BIN")
        last_err = ""
        for _attempt in range(3):  # a freed port can be taken again before the server binds it
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                log.write(f"$ {shlex.join(self.argv())}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=log, start_new_session=True,
                                             env=self.env)
            err = self._wait_ready()
            if err is None:
                return self
            last_err = err
            if self.proc.poll() is None:
                self.stop()
                break
            if "in use" not in self.log_text().lower():
                break
        raise AssertionError(f"roomcast did not become ready: {last_err}\n--- server log ---\n"
                             f"{self.log_text()}")

    def _wait_ready(self) -> str | None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                return f"process exited with {rc} before /healthz answered"
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=1) as r:
                    if r.status == 200:
                        return None
                    last = f"status {r.status}"
            except urllib.error.HTTPError as e:
                last = f"status {e.code}"
            except (OSError, urllib.error.URLError) as e:
                last = repr(e)
            time.sleep(0.05)
        return f"/healthz not 200 within {READY_TIMEOUT} s (last: {last})"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sigterm(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM this PID only, wait, SIGKILL it as a last resort. Returns the exit code
        (negative for a signal, None when it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.returncode = None
            return None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- addresses ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def ws_url(self, room: str | None, **params) -> str:
        q = {}
        if room is not None:
            q["room"] = room
        q.update({k: v for k, v in params.items() if v is not None})
        return f"ws://{HOST}:{self.port}/ws" + ("?" + urllib.parse.urlencode(q) if q else "")


# -- HTTP -------------------------------------------------------------------------------------
def http(method: str, url: str, body: bytes | str | None = None,
         headers: dict | None = None, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def post_message(server: Server, room: str, user: str, payload, timeout: float = 5.0):
    """POST /rooms/R/messages?user=U; payload is a dict (sent as JSON) or raw str/bytes."""
    if isinstance(payload, dict):
        payload = json.dumps(payload, ensure_ascii=False)
    # ':' is allowed unencoded in a path segment (RFC 3986); real clients send it as is.
    path = f"/rooms/{urllib.parse.quote(room, safe=':')}/messages?user={urllib.parse.quote(user)}"
    return http("POST", server.url(path), payload,
                {"Content-Type": "application/json"}, timeout)


def curl(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run curl; returns the CompletedProcess (stdout as text)."""
    return subprocess.run(["curl", "-sS", "--max-time", str(int(timeout)), *args],
                          capture_output=True, text=True, timeout=timeout + 5)


def raw_http(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Send bytes, read one HTTP response (head + Content-Length body, or until close)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(request)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete HTTP response head: {buf!r}")
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed before a complete HTTP head: {buf!r}")
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        status, headers = parse_head(head)
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(body) < n and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            assert len(body) >= n, f"body shorter than Content-Length {n}: {body!r}"
            body = body[:n]
        return status, headers, body


def parse_head(head: bytes) -> tuple[int, dict]:
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers


def upgrade_request(path: str, key: str | None = "dGhlIHNhbXBsZSBub25jZQ==",
                    version: str | None = "13", extra: str = "") -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}", "Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


# -- WebSocket via the websockets library -------------------------------------------------------
def is_int(v) -> bool:
    return type(v) is int


def check_welcome(w: dict, room: str, user: str | None = None) -> dict:
    assert w.get("type") == "welcome", f"first frame is not welcome: {w}"
    assert w.get("room") == room, w
    assert isinstance(w.get("epoch"), str) and re.fullmatch(r"[0-9a-fA-F]+", w["epoch"]), w
    assert is_int(w.get("seq")) and w["seq"] >= 0, w
    assert is_int(w.get("online")) and w["online"] >= 0, w
    assert isinstance(w.get("modes"), dict), w
    if user is not None:
        assert w.get("user") == user, w
    return w


def check_msg(m: dict, room: str, *, seq=None, id=None, user=None, text=None,
              ts_window: tuple[int, int] | None = None) -> dict:
    assert m.get("type") == "msg", m
    assert m.get("room") == room, f"message of another room: {m} (expected room {room})"
    assert is_int(m.get("seq")), m
    assert isinstance(m.get("id"), str) and m["id"], m
    assert isinstance(m.get("user"), str), m
    assert isinstance(m.get("text"), str), m
    assert is_int(m.get("ts")), m
    if seq is not None:
        assert m["seq"] == seq, f"expected seq {seq}: {m}"
    if id is not None:
        assert m["id"] == id, f"expected id {id}: {m}"
    if user is not None:
        assert m["user"] == user, f"expected user {user}: {m}"
    if text is not None:
        assert m["text"] == text, f"expected text {text!r}: {m}"
    if ts_window is not None:
        lo, hi = ts_window
        assert lo <= m["ts"] <= hi, f"ts {m['ts']} not within [{lo}, {hi}]: {m}"
    return m


def now_ms() -> int:
    return int(time.time() * 1000)


async def ws_connect(url: str, **kw):
    opts = dict(open_timeout=5, close_timeout=2, ping_interval=None, max_queue=4096,
                max_size=4 * 1024 * 1024)
    opts.update(kw)
    return await websockets.connect(url, **opts)


async def recv_json(ws, timeout: float = 5.0) -> dict:
    data = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(data, str), f"expected a text frame, got binary {data!r}"
    obj = json.loads(data)
    assert isinstance(obj, dict), f"frame is not a JSON object: {data!r}"
    return obj


async def recv_next(ws, timeout: float = 5.0) -> dict:
    """Next frame whose type is not one a client ignores."""
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") not in IGNORABLE_TYPES:
            return obj


async def recv_msgs(ws, n: int, timeout: float = 20.0) -> list[dict]:
    """The next n objects a client does not ignore; each must be a msg (a gap fails)."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        obj = await recv_next(ws, max(0.01, deadline - time.monotonic()))
        assert obj.get("type") == "msg", f"after {len(out)} msgs: {obj}"
        out.append(obj)
    return out


async def join(server: Server, room: str, user: str | None = None, history: int | None = None,
               **kw):
    """Open /ws?room=..&user=..; returns (ws, welcome)."""
    ws = await ws_connect(server.ws_url(room, user=user, history=history), **kw)
    try:
        welcome = check_welcome(await recv_json(ws, 5), room, user)
    except BaseException:
        await ws.close()
        raise
    return ws, welcome


async def send_op(ws, obj: dict) -> None:
    await ws.send(json.dumps(obj, ensure_ascii=False))


async def barrier(ws, timeout: float = 5.0) -> list[dict]:
    """Send {"op":"ping"} and return every non-ignorable frame received before the pong."""
    await send_op(ws, {"op": "ping"})
    before = []
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_next(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") == "pong":
            return before
        before.append(obj)


async def send_and_ack(ws, room: str, user: str, text: str, cid: str,
                       timeout: float = 5.0) -> tuple[dict, dict]:
    """Send one message on a joined socket; returns (ack, own msg) and checks them."""
    await send_op(ws, {"op": "send", "text": text, "cid": cid})
    ack = msg = None
    deadline = time.monotonic() + timeout
    while ack is None or msg is None:
        obj = await recv_next(ws, max(0.01, deadline - time.monotonic()))
        t = obj.get("type")
        if t == "ack" and ack is None:
            assert obj.get("cid") == cid and is_int(obj.get("seq")), obj
            ack = obj
        elif t == "msg" and obj.get("id") == cid and msg is None:
            msg = obj
        else:
            raise AssertionError(f"unexpected frame while waiting for ack/msg of {cid}: {obj}")
    check_msg(msg, room, seq=ack["seq"], id=cid, user=user, text=text)
    return ack, msg


async def close_all(sockets, timeout: float = 10.0) -> None:
    async def one(ws):
        try:
            await ws.close()
        except Exception:
            pass
    if sockets:
        await asyncio.wait_for(asyncio.gather(*(one(w) for w in sockets)), timeout)


# -- raw WebSocket client (frames under full control) -------------------------------------------
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class CloseReceived(Exception):
    """A close frame arrived where a text message was expected."""

    def __init__(self, code):
        super().__init__(f"close frame received, code {code}")
        self.code = code


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
                 rsv: int = 0) -> bytes:
    """One client frame; rsv is OR-ed into the first byte (0x40 = RSV1)."""
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + _mask(payload, key)


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


async def close_writer(writer) -> None:
    """Closes an asyncio stream and waits up to 2 s for it; a connection already gone is fine."""
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2)
    except Exception:
        pass


class RawWS:
    """Minimal RFC 6455 client on asyncio streams. Checks the server side as it goes: valid
    Sec-WebSocket-Accept, server frames unmasked, control frames small and final."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()

    @classmethod
    async def connect(cls, port: int, path: str, *, rcvbuf: int | None = None,
                      limit: int = 65536, timeout: float = 5.0) -> tuple["RawWS", dict]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, (HOST, port)), timeout)
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(upgrade_request(path, key=key))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status, headers = parse_head(head[:-4])
        assert status == 101, f"upgrade answered {status}"
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == want, headers
        assert headers.get("upgrade", "").lower() == "websocket", headers
        return cls(reader, writer), headers

    async def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True,
                         mask: bool = True) -> None:
        self.writer.write(client_frame(opcode, payload, fin=fin, mask=mask))
        await self.writer.drain()

    async def send_text(self, text: str | bytes) -> None:
        await self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text)

    async def send_json(self, obj: dict) -> None:
        await self.send_text(json.dumps(obj, ensure_ascii=False))

    async def _fill(self, n: int, deadline: float) -> None:
        # Reads into our own buffer, so a timeout never loses half a frame.
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError()
            chunk = await asyncio.wait_for(self.reader.read(65536), remaining)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self.buf), n)
            self.buf += chunk

    # RSV bits a server frame may carry (none: no extension is negotiated by this client).
    RSV_ALLOWED = 0

    async def _read_frame(self, deadline: float) -> tuple[int, bytes]:
        """(first byte, payload) of the next server frame, checked as RFC 6455 asks."""
        await self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        assert (b0 & 0x70 & ~self.RSV_ALLOWED) == 0, f"server frame with RSV bits set: {b0:#x}"
        assert not masked, "server frame is masked (RFC 6455 5.1 forbids it)"
        hlen = 2
        if n == 126:
            await self._fill(4, deadline)
            n, hlen = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            await self._fill(10, deadline)
            n, hlen = struct.unpack("!Q", self.buf[2:10])[0], 10
        if opcode >= 8:
            assert fin and n <= 125, f"bad control frame opcode={opcode} fin={fin} len={n}"
        await self._fill(hlen + n, deadline)
        payload = bytes(self.buf[hlen:hlen + n])
        del self.buf[:hlen + n]
        return b0, payload

    async def recv_frame(self, timeout: float = 5.0) -> tuple[bool, int, bytes]:
        b0, payload = await self._read_frame(time.monotonic() + timeout)
        return bool(b0 & 0x80), b0 & 0x0F, payload

    async def recv_json(self, timeout: float = 5.0) -> dict:
        """Next text message as JSON (answers server pings, skips ignorable types)."""
        deadline = time.monotonic() + timeout
        while True:
            fin, op, payload = await self.recv_frame(max(0.01, deadline - time.monotonic()))
            if op == OP_PING:
                await self.send_frame(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                raise CloseReceived(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            assert op == OP_TEXT and fin, (
                f"expected a final text frame, got opcode {op} fin={fin} {payload[:200]!r}")
            obj = json.loads(payload.decode("utf-8"))
            if obj.get("type") in IGNORABLE_TYPES:
                continue
            return obj

    async def expect_close(self, timeout: float = 5.0) -> tuple[int | None, list]:
        """Read until a close frame; returns (close code or None, text frames before it)."""
        deadline = time.monotonic() + timeout
        before = []
        while True:
            fin, op, payload = await self.recv_frame(max(0.01, deadline - time.monotonic()))
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if len(payload) > 2:
                    payload[2:].decode("utf-8")  # the reason must be valid UTF-8
                return code, before
            if op == OP_PING:
                continue
            before.append((op, payload))

    async def expect_eof(self, timeout: float = 5.0) -> None:
        """The server must close the TCP connection (after its close frame)."""
        self.buf.clear()

        async def drain():
            while True:
                try:
                    chunk = await self.reader.read(65536)
                except ConnectionResetError:
                    return
                if not chunk:
                    return
        await asyncio.wait_for(drain(), timeout)

    def abort(self) -> None:
        try:
            self.writer.transport.abort()
        except Exception:
            pass

    async def close(self) -> None:
        await close_writer(self.writer)


def run(coro, timeout: float):
    """asyncio.run with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


# -- long-poll, SSE and keep-alive HTTP helpers (tests/e2e/test_longpoll.py, test_sse.py, ...) --
