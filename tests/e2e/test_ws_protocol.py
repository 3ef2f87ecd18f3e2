"""RFC 6455 framing, from a raw client whose frames are built (and masked) by hand:
fragmentation, control frames, close handshake, protocol violations, TCP segmentation."""
import asyncio
import json
import struct

import pytest

from rcutil import (OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawWS, check_msg, check_welcome,
                    client_frame, close_all, join, recv_next, run)

ROOM = "wsproto"
MAX_FRAME = 1024


@pytest.fixture
def srv(roomcast):
    return roomcast("--max-frame", MAX_FRAME)


frame = client_frame


def send_obj(text: str, cid: str) -> bytes:
    return json.dumps({"op": "send", "text": text, "cid": cid}, ensure_ascii=False).encode()


async def raw_join(server, user: str) -> RawWS:
    raw, _h = await RawWS.connect(server.port, f"/ws?room={ROOM}&user={user}")
    check_welcome(await raw.recv_json(), ROOM, user)
    return raw


async def write(raw: RawWS, data: bytes) -> None:
    raw.writer.write(data)
    await raw.writer.drain()


async def collect(raw: RawWS, cids: set, timeout: float = 5.0) -> dict:
    """Read until an ack and the own msg arrived for every cid; returns {cid: (ack, msg)}."""
    acks, msgs = {}, {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while set(acks) != cids or set(msgs) != cids:
        obj = await raw.recv_json(max(0.01, deadline - loop.time()))
        t, cid = obj.get("type"), obj.get("cid", obj.get("id"))
        assert t in ("ack", "msg") and cid in cids, f"unexpected frame {obj} (waiting for {cids})"
        (acks if t == "ack" else msgs)[cid] = obj
    return {c: (acks[c], msgs[c]) for c in cids}


def test_fragmented_text_message_is_accepted(srv):
    async def scenario():
        watcher, w = await join(srv, ROOM, user="watcher")
        raw = await raw_join(srv, "frag")
        try:
            msg = send_obj("three parts", "frag-3")
            await raw.send_frame(OP_TEXT, msg[:7], fin=False)
            await raw.send_frame(OP_CONT, msg[7:20], fin=False)
            await raw.send_frame(OP_CONT, msg[20:], fin=True)
            ack, m = (await collect(raw, {"frag-3"}))["frag-3"]
            assert ack["seq"] == w["seq"] + 1, ack
            check_msg(m, ROOM, seq=w["seq"] + 1, id="frag-3", user="frag", text="three parts")
            check_msg(await recv_next(watcher), ROOM, seq=w["seq"] + 1, id="frag-3")
        finally:
            raw.abort()
            await close_all([watcher])
    run(scenario(), 15)


def test_ping_gets_pong_with_same_payload(srv):
    async def scenario():
        raw = await raw_join(srv, "pinger")
        try:
            await raw.send_frame(OP_PING, b"abc")
            _fin, op, payload = await raw.recv_frame()
            assert (op, payload) == (OP_PONG, b"abc")
            await raw.send_frame(OP_PING, b"")
            _fin, op, payload = await raw.recv_frame()
            assert (op, payload) == (OP_PONG, b"")
        finally:
            raw.abort()
    run(scenario(), 10)


def test_client_close_is_echoed_then_eof(srv):
    async def scenario():
        raw = await raw_join(srv, "closer")
        try:
            await raw.send_frame(OP_CLOSE, struct.pack("!H", 1000))
            code, before = await raw.expect_close()
            assert code == 1000, (code, before)
            assert before == [], f"data frames after the client's close: {before}"
            await raw.expect_eof()
        finally:
            raw.abort()
    run(scenario(), 10)


BAD_UTF8 = b'{"op":"send","text":"ab\xe2\x82\x28cd","cid":"u8"}'
CUT = BAD_UTF8.index(b"\x28")
BIG = send_obj("x", "big")[:-2] + b'","pad":"' + b"p" * 480  # fragments of ~500 bytes each

VIOLATIONS = [
    ("continuation without start", [frame(OP_CONT, b'{"op":"ping"}')], 1002),
    ("unmasked frame", [frame(OP_TEXT, b'{"op":"ping"}', mask=False)], 1002),
    ("rsv1 set", [frame(OP_TEXT, b'{"op":"ping"}', rsv=0x40)], 1002),
    ("ping of 126 bytes", [frame(OP_PING, b"p" * 126)], 1002),
    ("invalid utf-8 across fragments",
     [frame(OP_TEXT, BAD_UTF8[:CUT], fin=False), frame(OP_CONT, BAD_UTF8[CUT:])], 1007),
    ("fragments over --max-frame",
     [frame(OP_TEXT, BIG, fin=False), frame(OP_CONT, BIG, fin=False),
      frame(OP_CONT, BIG + b'"}')], 1009),
]


@pytest.mark.parametrize("name,frames,code", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_protocol_violation_close_code(srv, name, frames, code):
    async def scenario():
        raw = await raw_join(srv, "bad")
        try:
            for f in frames:
                try:
                    await write(raw, f)
                except ConnectionError:
                    break  # closed already: the close frame is still in our receive buffer
            got, before = await raw.expect_close(5)
            assert got == code, f"{name}: close code {got}, want {code} (before: {before})"
            assert all(op != OP_TEXT or b'"ack"' not in p for op, p in before), before
            await raw.expect_eof(5)
        finally:
            raw.abort()
        # The server carries on: a new client is served.
        again = await raw_join(srv, "after")
        try:
            await again.send_json({"op": "ping"})
            assert (await again.recv_json()).get("type") == "pong"
        finally:
            again.abort()
    run(scenario(), 15)


def test_two_frames_in_one_write(srv):
    async def scenario():
        raw = await raw_join(srv, "batch")
        try:
            await write(raw, frame(OP_TEXT, send_obj("first", "one-1"))
                        + frame(OP_TEXT, send_obj("second", "one-2")))
            got = await collect(raw, {"one-1", "one-2"})
            assert got["one-2"][0]["seq"] == got["one-1"][0]["seq"] + 1, got
            # A fragmented message and a ping interleaved, all in one write, too.
            msg = send_obj("mixed", "one-3")
            await write(raw, frame(OP_TEXT, msg[:9], fin=False) + frame(OP_PING, b"mid")
                        + frame(OP_CONT, msg[9:]))
            _fin, op, payload = await raw.recv_frame()
            assert (op, payload) == (OP_PONG, b"mid")
            got3 = await collect(raw, {"one-3"})
            assert got3["one-3"][0]["seq"] == got["one-2"][0]["seq"] + 1, got3
        finally:
            raw.abort()
    run(scenario(), 15)


def test_frame_dribbled_one_byte_per_write(srv):
    async def scenario():
        raw = await raw_join(srv, "dribble")
        try:
            data = frame(OP_TEXT, send_obj("slowly", "drip-1"))
            for i in range(len(data)):
                await write(raw, data[i:i + 1])
                await asyncio.sleep(0.003)
            ack, m = (await collect(raw, {"drip-1"}))["drip-1"]
            check_msg(m, ROOM, seq=ack["seq"], id="drip-1", user="dribble", text="slowly")
            # A 126..65535-byte frame (16-bit length) dribbled through its header.
            data = frame(OP_TEXT, send_obj("y" * 200, "drip-2"))
            for i in range(12):
                await write(raw, data[i:i + 1])
                await asyncio.sleep(0.003)
            await write(raw, data[12:])
            ack2, _m = (await collect(raw, {"drip-2"}))["drip-2"]
            assert ack2["seq"] == ack["seq"] + 1, ack2
        finally:
            raw.abort()
    run(scenario(), 15)


def test_server_frames_unmasked_one_json_object_each(srv):
    """RawWS.recv_frame asserts that server frames are unmasked with clear RSV bits; here every
    text frame must parse as exactly one JSON object (json.loads rejects trailing data)."""
    async def scenario():
        raw = await raw_join(srv, "reader")
        sender, _w = await join(srv, ROOM, user="burst")
        try:
            n = 40
            for i in range(n):
                await sender.send(send_obj(f"burst {i}", f"b-{i}").decode())
            await raw.send_frame(OP_PING, b"x")
            seqs, texts = [], 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while len(seqs) < n:
                fin, op, payload = await raw.recv_frame(max(0.01, deadline - loop.time()))
                if op in (OP_PING, OP_PONG):
                    continue
                assert op == OP_TEXT and fin, (op, fin, payload[:100])
                texts += 1
                obj = json.loads(payload.decode("utf-8"))
                assert isinstance(obj, dict), payload
                if obj.get("type") == "msg":
                    seqs.append(obj["seq"])
            assert seqs == list(range(seqs[0], seqs[0] + n)), seqs
        finally:
            raw.abort()
            await close_all([sender])
    run(scenario(), 20)
