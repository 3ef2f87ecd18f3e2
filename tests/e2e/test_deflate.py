"""permessage-deflate (RFC 7692; PROTOCOL.md "Compression", docs/protocol.md): negotiation with
real and raw clients, large messages compressed (RSV1 on the wire) and small ones plain, one
deflate call per message per shard whatever the number of compressed viewers, client frames
inflated within --max-frame (a bomb: 1009; a corrupt stream: 1007; RSV1 without the extension:
1002), and --deflate off."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
import zlib

import pytest

from metricsutil import fetch_metrics, metric_sum
from rcutil import (HOST, RawWS, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, client_frame, close_all,
                    close_writer, join, parse_head, recv_next, run, send_op, upgrade_request)

TAIL = b"\x00\x00\xff\xff"
OFFER = "permessage-deflate; client_max_window_bits"
ON = ("--deflate", "on")  # off by default (docs/performance.md)
LONG_TEXTS = ("--deflate", "on", "--max-text", "2000")  # 1-KB chat texts (the default limit is 500 code points)
ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def deflate_message(data: bytes) -> bytes:
    """What a client sends: raw deflate, sync flush, the 00 00 ff ff tail removed."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def inflate_message(payload: bytes) -> bytes:
    """What a client with client_no_context_takeover... and our server_no_context_takeover does:
    a fresh inflater per message (no server context to keep)."""
    d = zlib.decompressobj(-15)
    return d.decompress(payload + TAIL)


class DeflateWS(RawWS):
    """A raw client that may offer extensions and sees RSV1 on the server's frames (RawWS's
    reading and frame checks, RSV1 allowed)."""

    def __init__(self, reader, writer, headers):
        super().__init__(reader, writer)
        self.headers = headers

    @classmethod
    async def connect(cls, port: int, path: str, offers: list[str] | None = None,
                      timeout: float = 5.0) -> "DeflateWS":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"Sec-WebSocket-Extensions: {o}\r\n" for o in (offers or []))
        writer.write(upgrade_request(path, key=key, extra=extra))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status, headers = parse_head(head[:-4])
        assert status == 101, f"upgrade answered {status}: {head!r}"
        return cls(reader, writer, headers)

    @property
    def extension(self) -> str | None:
        return self.headers.get("sec-websocket-extensions")

    RSV_ALLOWED = 0x40  # RSV1: a compressed message (RFC 7692)

    async def recv_frame(self, timeout: float = 5.0) -> tuple[int, int, bytes]:
        """(first byte, opcode, payload) of the next server frame, as on the wire."""
        b0, payload = await self._read_frame(time.monotonic() + timeout)
        return b0, b0 & 0x0F, payload

    async def recv_msg(self, timeout: float = 5.0) -> tuple[bool, bytes, dict]:
        """Next text message: (compressed on the wire, wire payload, JSON object)."""
        deadline = time.monotonic() + timeout
        while True:
            b0, op, payload = await self.recv_frame(max(0.01, deadline - time.monotonic()))
            if op == OP_PING:
                continue
            assert op == OP_TEXT and b0 & 0x80, f"unexpected frame {b0:#x} {payload[:100]!r}"
            rsv1 = bool(b0 & 0x40)
            if rsv1:
                assert self.extension, "RSV1 on a connection without permessage-deflate"
            obj = json.loads(inflate_message(payload) if rsv1 else payload)
            if obj.get("type") in ("state", "reactions"):
                continue
            return rsv1, payload, obj

    async def send(self, payload: bytes, *, rsv1: bool = False, opcode: int = OP_TEXT,
                   fin: bool = True) -> None:
        self.writer.write(client_frame(opcode, payload, fin=fin, rsv=0x40 if rsv1 else 0))
        await self.writer.drain()

    async def expect_close(self, timeout: float = 5.0) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            _b0, op, payload = await self.recv_frame(max(0.01, deadline - time.monotonic()))
            if op == OP_CLOSE:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    async def close(self) -> None:
        await close_writer(self.writer)


def big_text(n: int, seed: int = 0) -> str:
    """Chat-like text of n characters: words, so it compresses as chat does, not as 'aaaa'."""
    words = ["goal", "what", "a", "shot", "from", "the", "left", "wing", "keeper", "had", "no",
             "chance", "replay", "please", "!!", "lol", "unreal", "match", "tonight"]
    out, i = [], seed
    while sum(len(w) + 1 for w in out) < n:
        out.append(words[(i * 7 + i // 3) % len(words)])
        i += 1
    return " ".join(out)[:n]


@pytest.mark.parametrize("offers,accepted", [
    ([OFFER], True),                                             # Chrome, Firefox, Node ws
    (["permessage-deflate"], True),
    (["permessage-deflate; client_max_window_bits=10"], True),
    (["permessage-deflate; client_no_context_takeover; server_no_context_takeover"], True),
    (["permessage-deflate; server_max_window_bits=15"], True),
    (["permessage-deflate; server_max_window_bits=10"], False),  # we compress with 15 bits
    (["permessage-deflate; server_max_window_bits=10, permessage-deflate"], True),  # 2nd offer
    (["x-webkit-deflate-frame", "permessage-deflate"], True),    # two header lines
    (["permessage-deflate; client_max_window_bits=99"], False),  # malformed
    (["permessage-deflate; bogus"], False),
    (["permessage-deflate; server_no_context_takeover; server_no_context_takeover"], False),
    ([";;,,"], False),
    (["x-webkit-deflate-frame"], False),
])
def test_negotiation_variants_never_fail_the_upgrade(roomcast, offers, accepted):
    srv = roomcast(*ON, shards=1)

    async def go():
        ws = await DeflateWS.connect(srv.port, "/ws?room=neg", offers)
        try:
            assert ws.extension == (ANSWER if accepted else None), ws.headers
            _rsv1, _p, welcome = await ws.recv_msg()
            assert welcome["type"] == "welcome"
        finally:
            await ws.close()
    run(go(), 15)


def test_small_messages_plain_large_ones_compressed(roomcast):
    srv = roomcast(*LONG_TEXTS, shards=1)
    room = "sizes"

    async def go():
        viewer = await DeflateWS.connect(srv.port, f"/ws?room={room}", [OFFER])
        plain = await DeflateWS.connect(srv.port, f"/ws?room={room}")
        sender, _ = await join(srv, room, user="alice", compression=None)
        try:
            assert viewer.extension == ANSWER and plain.extension is None
            for c in (viewer, plain):
                assert (await c.recv_msg())[2]["type"] == "welcome"
            small, large = "hi there", big_text(1000)
            for i, text in enumerate([small, large]):
                await send_op(sender, {"op": "send", "text": text, "cid": f"c{i}"})
            got = {c: [await c.recv_msg(), await c.recv_msg()] for c in (viewer, plain)}
            (s_rsv, s_wire, s_obj), (l_rsv, l_wire, l_obj) = got[viewer]
            assert not s_rsv and s_obj["text"] == small      # under --deflate-min-bytes: plain
            assert l_rsv and l_obj["text"] == large          # compressed: RSV1 on the wire
            assert len(l_wire) < len(large) // 2, len(l_wire)
            for rsv1, _wire, _obj in got[plain]:
                assert not rsv1                              # no extension, never RSV1
            assert [o["text"] for _r, _w, o in got[plain]] == [small, large]
        finally:
            await close_all([sender])
            await viewer.close()
            await plain.close()
    run(go(), 20)


def test_websockets_client_negotiates_and_round_trips(roomcast):
    """Python websockets offers permessage-deflate by default and compresses what it sends:
    the server inflates its sends and the viewer decodes the server's compressed frames."""
    srv = roomcast(*LONG_TEXTS)
    room = "pyws"

    async def go():
        a, _ = await join(srv, room, user="alice")
        b, _ = await join(srv, room, user="bob")
        try:
            for ws in (a, b):
                names = [e.name for e in ws.extensions]
                assert names == ["permessage-deflate"], names
                ext = ws.extensions[0]
                assert ext.remote_no_context_takeover and ext.local_no_context_takeover
            for i, text in enumerate(["short", big_text(1024, 1), big_text(300, 2)]):
                await send_op(a, {"op": "send", "text": text, "cid": f"p{i}"})
                seen = {}
                while set(seen) != {"ack", "msg"}:
                    obj = await recv_next(a)
                    seen[obj["type"]] = obj
                assert seen["msg"]["text"] == text
                msg = await recv_next(b)
                assert msg["type"] == "msg" and msg["text"] == text
        finally:
            await close_all([a, b])
        _h, _t, samples = fetch_metrics(srv)
        assert metric_sum(samples, "roomcast_deflate_negotiated_total") >= 2
        assert metric_sum(samples, "roomcast_inflate_messages_total") >= 3
    run(go(), 20)


def test_one_deflate_call_per_message_per_shard_for_many_viewers(roomcast):
    srv = roomcast(*LONG_TEXTS, shards=1)
    room = "burst"
    n_viewers, n_msgs = 40, 5

    async def go():
        viewers = [await DeflateWS.connect(srv.port, f"/ws?room={room}", [OFFER])
                   for _ in range(n_viewers)]
        sender, _ = await join(srv, room, user="alice", compression=None)
        try:
            for v in viewers:
                assert (await v.recv_msg())[2]["type"] == "welcome"
            _h, _t, before = fetch_metrics(srv)
            texts = [big_text(1000, i) for i in range(n_msgs)]
            for i, t in enumerate(texts):
                await send_op(sender, {"op": "send", "text": t, "cid": f"b{i}"})
            wires = []
            for v in viewers:
                got = [await v.recv_msg() for _ in texts]
                assert [o["text"] for _r, _w, o in got] == texts
                assert all(r for r, _w, _o in got)
                wires.append([w for _r, w, _o in got])
            assert all(w == wires[0] for w in wires), "viewers got different compressed bytes"
            _h, text, after = fetch_metrics(srv)

            def delta(name):
                return metric_sum(after, name) - metric_sum(before, name)
            batches = delta("roomcast_batches_total")
            # Each message is deflated once for all 40 viewers (never once per viewer), in one
            # compressed twin per batch.
            assert delta("roomcast_deflate_calls_total") == n_msgs, text
            assert delta("roomcast_deflate_batches_total") == batches >= 1, text
            assert delta("roomcast_deflate_bytes_out_total") < delta(
                "roomcast_deflate_bytes_in_total") / 2, text
        finally:
            await close_all([sender])
            for v in viewers:
                await v.close()
    run(go(), 30)


async def _joined(srv, room: str, offers=(OFFER,)) -> DeflateWS:
    ws = await DeflateWS.connect(srv.port, f"/ws?room={room}&user=alice", list(offers))
    assert (await ws.recv_msg())[2]["type"] == "welcome"
    return ws


def test_compressed_client_messages(roomcast):
    srv = roomcast(*LONG_TEXTS, shards=1)

    async def go():
        ws = await _joined(srv, "in")
        try:
            assert ws.extension == ANSWER
            # One frame, then the same message in three fragments (RSV1 on the first only).
            op = json.dumps({"op": "send", "text": big_text(700), "cid": "z1"}).encode()
            await ws.send(deflate_message(op), rsv1=True)
            z = deflate_message(json.dumps({"op": "send", "text": "frag", "cid": "z2"}).encode())
            await ws.send(z[:3], rsv1=True, fin=False)
            await ws.send(z[3:6], opcode=OP_CONT, fin=False)
            await ws.send(z[6:], opcode=OP_CONT)
            await ws.send(b'{"op":"send","text":"plain too","cid":"z3"}')  # RSV1 clear
            acks = []
            while len(acks) < 3:
                _r, _w, obj = await ws.recv_msg()
                assert obj["type"] in ("ack", "msg"), obj
                if obj["type"] == "ack":
                    acks.append(obj["cid"])
            assert acks == ["z1", "z2", "z3"]
        finally:
            await ws.close()
    run(go(), 20)


def test_compression_bomb_is_closed_with_1009(roomcast):
    srv = roomcast(*ON, "--max-frame", "65536", shards=1)

    async def go():
        ws = await _joined(srv, "bomb")
        try:
            bomb = deflate_message(b" " * (20 << 20))  # 20 MiB of spaces in about 20 KiB
            assert len(bomb) < 65536
            await ws.send(bomb, rsv1=True)
            assert await ws.expect_close() == 1009
        finally:
            await ws.close()
        # Exactly --max-frame once inflated still passes (as a plain frame of that size would).
        ok = await _joined(srv, "bomb")
        try:
            text = '{"op":"ping"}'.ljust(65536)
            await ok.send(deflate_message(text.encode()), rsv1=True)
            _r, _w, obj = await ok.recv_msg()
            assert obj["type"] in ("pong", "error"), obj  # not closed
        finally:
            await ok.close()
    run(go(), 30)


def test_corrupt_stream_is_1007_and_rsv1_without_deflate_is_1002(roomcast):
    srv = roomcast(*ON, shards=1)

    async def go():
        ws = await _joined(srv, "bad")
        try:
            await ws.send(b"\xff\xff\xff\xff garbage", rsv1=True)
            assert await ws.expect_close() == 1007
        finally:
            await ws.close()
        plain = await _joined(srv, "bad", offers=())
        try:
            assert plain.extension is None
            await plain.send(deflate_message(b'{"op":"ping"}'), rsv1=True)
            assert await plain.expect_close() == 1002
        finally:
            await plain.close()
        ctl = await _joined(srv, "bad")
        try:  # RSV1 on a control frame stays a protocol error with the extension
            await ctl.send(b"x", rsv1=True, opcode=OP_PING)
            assert await ctl.expect_close() == 1002
        finally:
            await ctl.close()
    run(go(), 20)


@pytest.mark.parametrize("how", ["default", "flag", "env"])
def test_deflate_off_and_on(roomcast, how):
    if how == "default":  # off: the offer is ignored, RSV1 stays a protocol error
        srv, on = roomcast(shards=1), False
    elif how == "flag":
        srv, on = roomcast("--deflate", "off", shards=1), False
    else:
        srv, on = roomcast(shards=1, env={**os.environ, "ROOMCAST_DEFLATE": "on"}), True

    async def go():
        ws = await _joined(srv, "off")
        try:
            assert ws.extension == (ANSWER if on else None)
            await ws.send(deflate_message(b'{"op":"ping"}'), rsv1=True)
            if on:
                assert (await ws.recv_msg())[2]["type"] == "pong"
            else:
                assert await ws.expect_close() == 1002
        finally:
            await ws.close()
    run(go(), 15)


def test_min_bytes_setting(roomcast):
    srv = roomcast("--deflate-min-bytes", "5000", *LONG_TEXTS, shards=1)

    async def go():
        viewer = await _joined(srv, "min")
        sender, _ = await join(srv, "min", user="bob", compression=None)
        try:
            text = big_text(1500)
            await send_op(sender, {"op": "send", "text": text, "cid": "m1"})
            rsv1, _w, obj = await viewer.recv_msg()
            assert obj["text"] == text and not rsv1  # 1.5 KB is under the 5000-byte threshold
        finally:
            await close_all([sender])
            await viewer.close()
    run(go(), 15)
