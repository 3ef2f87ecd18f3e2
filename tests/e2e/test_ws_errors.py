"""WebSocket error handling. Each case checks the exact answer (error object, HTTP status or
close code) and then that another viewer of the same room still receives a message sent after."""
import base64
import json
import struct

import pytest
import websockets

from rcutil import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawWS, barrier,
                    check_msg, check_welcome, close_all, join, raw_http, recv_next, run,
                    send_and_ack, send_op, upgrade_request, ws_connect)

ROOM = "err-room"
MAX_FRAME = 4096


@pytest.fixture
def srv(roomcast):
    return roomcast("--max-frame", MAX_FRAME)


async def assert_room_alive(server, watcher, watcher_head, sender=None, user="after"):
    """A message sent now (by `sender`, or a new connection) reaches the watcher at head+1."""
    own = sender is None
    if own:
        sender, _w = await join(server, ROOM, user=user)
    try:
        cid = f"alive-{watcher_head + 1}"
        ack, _m = await send_and_ack(sender, ROOM, user, "still here", cid)
        assert ack["seq"] == watcher_head + 1, f"ack {ack}, want seq {watcher_head + 1}"
        m = await recv_next(watcher)
        check_msg(m, ROOM, seq=watcher_head + 1, id=cid, user=user, text="still here")
        assert await barrier(watcher) == []
    finally:
        if own:
            await close_all([sender])


def check_error(obj, code):
    assert obj.get("type") == "error", f"expected an error object, got {obj}"
    assert obj.get("code") == code, f"expected code {code}: {obj}"
    assert isinstance(obj.get("message"), str) and obj["message"], obj


BAD_FRAMES = [
    ("not json", "{not json"),
    ("empty frame", ""),
    ("json array", "[1,2]"),
    ("json string", '"send"'),
    ("missing op", '{"text":"hi","cid":"x"}'),
    ("op not a string", '{"op":7}'),
    ("unknown op", '{"op":"frobnicate"}'),
    ("send without text", '{"op":"send","cid":"x"}'),
    ("send text not a string", '{"op":"send","text":5,"cid":"x"}'),
    ("send empty text", '{"op":"send","text":"","cid":"x"}'),
]


@pytest.mark.parametrize("name,frame", BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_bad_request_keeps_connection(srv, name, frame):
    async def scenario():
        watcher, w = await join(srv, ROOM, user="watcher")
        client, _ = await join(srv, ROOM, user="client")
        try:
            await client.send(frame)
            check_error(await recv_next(client), "bad_request")
            assert await barrier(client) == [], "the connection must stay open and quiet"
            # The same connection can still send, and the watcher gets it.
            await assert_room_alive(srv, watcher, w["seq"], sender=client, user="client")
        finally:
            await close_all([watcher, client])
    run(scenario(), 20)


def test_text_too_large(srv):
    async def scenario():
        watcher, w = await join(srv, ROOM, user="watcher")
        client, _ = await join(srv, ROOM, user="client")
        try:
            for text in ("a" * 501, "\u20ac" * 501, "\U0001F600" * 501):
                await send_op(client, {"op": "send", "text": text, "cid": "big"})
                check_error(await recv_next(client), "too_large")
            assert await barrier(client) == []
            # 500 code points is the limit, counted in code points (not bytes, not UTF-16).
            text = "\U0001F600" * 500
            ack, _m = await send_and_ack(client, ROOM, "client", text, "exactly-500")
            assert ack["seq"] == w["seq"] + 1
            check_msg(await recv_next(watcher), ROOM, seq=w["seq"] + 1, id="exactly-500", text=text)
            await assert_room_alive(srv, watcher, w["seq"] + 1)
        finally:
            await close_all([watcher, client])
    run(scenario(), 20)


INVALID_ROOMS = [
    ("empty", "/ws?room="),
    ("missing", "/ws"),
    ("65 bytes", "/ws?room=" + "a" * 65),
    ("space", "/ws?room=bad%20room"),
    ("slash", "/ws?room=a%2Fb"),
    ("non-ascii", "/ws?room=caf%C3%A9"),
    ("angle brackets", "/ws?room=%3Cscript%3E"),
]


@pytest.mark.parametrize("name,path", INVALID_ROOMS, ids=[r[0] for r in INVALID_ROOMS])
def test_invalid_room_is_http_400(srv, name, path):
    status, headers, body = raw_http(srv.port, upgrade_request(path))
    assert status == 400, f"{path}: {status} {body!r}"
    assert "sec-websocket-accept" not in headers, "no upgrade may happen"
    obj = json.loads(body)
    assert isinstance(obj, dict) and "error" in obj, body

    async def scenario():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as ei:
            await ws_connect(f"ws://127.0.0.1:{srv.port}{path}")
        assert ei.value.status_code == 400
        watcher, w = await join(srv, ROOM, user="watcher")
        try:
            await assert_room_alive(srv, watcher, w["seq"])
        finally:
            await close_all([watcher])
    run(scenario(), 20)


def test_room_edge_64_bytes_is_valid(srv):
    room = "Az09_.:-" + "x" * 56
    assert len(room) == 64

    async def scenario():
        ws, _w = await join(srv, room, user="edge")
        await close_all([ws])
    run(scenario(), 10)


BAD_HANDSHAKES = [
    ("missing key", dict(key=None), 400),
    ("key not base64 of 16 bytes", dict(key="abc"), 400),
    ("key of 15 bytes", dict(key=base64.b64encode(b"x" * 15).decode()), 400),
    # docs/protocol.md (RFC 6455 4.2.2): 426 with Sec-WebSocket-Version: 13.
    ("missing version", dict(version=None), 426),
    ("version 8", dict(version="8"), 426),
]


@pytest.mark.parametrize("name,kw,want", BAD_HANDSHAKES, ids=[h[0] for h in BAD_HANDSHAKES])
def test_bad_handshake_is_http_400(srv, name, kw, want):
    status, headers, body = raw_http(srv.port, upgrade_request(f"/ws?room={ROOM}", **kw))
    assert status == want, f"{name}: {status} {body!r}, want {want}"
    assert "sec-websocket-accept" not in headers, "no upgrade may happen"
    if want == 426:
        assert headers.get("sec-websocket-version") == "13", headers

    async def scenario():
        watcher, w = await join(srv, ROOM, user="watcher")
        try:
            await assert_room_alive(srv, watcher, w["seq"])
        finally:
            await close_all([watcher])
    run(scenario(), 20)


async def raw_join(server, user="raw"):
    raw, _h = await RawWS.connect(server.port, f"/ws?room={ROOM}&user={user}")
    check_welcome(await raw.recv_json(), ROOM, user)
    return raw


def padded_ping(size: int) -> bytes:
    base = b'{"op":"ping","pad":""}'
    return base[:-2] + b"x" * (size - len(base)) + b'"}'


CLOSE_CASES = [
    ("payload over --max-frame", OP_TEXT, padded_ping(MAX_FRAME + 1), True, 1009),
    ("invalid utf-8", OP_TEXT, b'{"op":"send","text":"\xff\xfe\xfd","cid":"u"}', True, 1007),
    ("truncated utf-8", OP_TEXT, b'{"op":"send","text":"\xe2\x82","cid":"u"}', True, 1007),
    ("binary frame", OP_BINARY, b'{"op":"ping"}', True, 1003),
    ("unmasked frame", OP_TEXT, b'{"op":"ping"}', False, 1002),
]


@pytest.mark.parametrize("name,opcode,payload,mask,code", CLOSE_CASES,
                         ids=[c[0] for c in CLOSE_CASES])
def test_protocol_violation_closes(srv, name, opcode, payload, mask, code):
    async def scenario():
        watcher, w = await join(srv, ROOM, user="watcher")
        raw = await raw_join(srv)
        try:
            await raw.send_frame(opcode, payload, mask=mask)
            got, before = await raw.expect_close(5)
            assert got == code, f"{name}: close code {got}, want {code} (frames before: {before})"
            await raw.expect_eof(5)
            await assert_room_alive(srv, watcher, w["seq"])
        finally:
            raw.abort()
            await close_all([watcher])
    run(scenario(), 20)


def test_frame_of_exactly_max_frame_is_accepted(srv):
    async def scenario():
        raw = await raw_join(srv)
        try:
            payload = padded_ping(MAX_FRAME)
            assert len(payload) == MAX_FRAME
            await raw.send_text(payload)
            first = await raw.recv_json()  # an op's unknown fields are ignored: a pong
            assert first.get("type") == "pong", first
            await raw.send_json({"op": "ping"})
            assert (await raw.recv_json()).get("type") == "pong"
        finally:
            raw.abort()
    run(scenario(), 10)


def test_fragmented_message_and_control_frames(srv):
    async def scenario():
        watcher, w = await join(srv, ROOM, user="watcher")
        raw = await raw_join(srv, user="frag")
        try:
            # WebSocket ping -> pong with the same payload.
            await raw.send_frame(OP_PING, b"hello")
            fin, op, payload = await raw.recv_frame()
            assert (op, payload) == (OP_PONG, b"hello"), (op, payload)
            # A text message in three fragments, split inside a multi-byte character, with a
            # ping between the fragments (allowed by RFC 6455 5.4).
            msg = json.dumps({"op": "send", "text": "caf\u00e9 \u20ac", "cid": "frag-1"},
                             ensure_ascii=False).encode()
            cut = msg.index("\u20ac".encode()) + 1
            await raw.send_frame(OP_TEXT, msg[:10], fin=False)
            await raw.send_frame(OP_CONT, msg[10:cut], fin=False)
            await raw.send_frame(OP_PING, b"mid")
            await raw.send_frame(OP_CONT, msg[cut:], fin=True)
            got = {}
            while len(got) < 3:
                fin, op, payload = await raw.recv_frame()
                if op == OP_PONG:
                    assert payload == b"mid"
                    got["pong"] = True
                    continue
                assert op == OP_TEXT and fin
                obj = json.loads(payload)
                got[obj["type"]] = obj
            assert got["ack"].get("cid") == "frag-1" and got["ack"].get("seq") == w["seq"] + 1, got
            check_msg(got["msg"], ROOM, seq=w["seq"] + 1, id="frag-1", text="caf\u00e9 \u20ac")
            check_msg(await recv_next(watcher), ROOM, seq=w["seq"] + 1, id="frag-1")
            # A close from the client is echoed with the same code, then TCP closes.
            await raw.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
            code, before = await raw.expect_close()
            assert code == 1000, (code, before)
            await raw.expect_eof()
            await assert_room_alive(srv, watcher, w["seq"] + 1)
        finally:
            raw.abort()
            await close_all([watcher])
    run(scenario(), 20)
