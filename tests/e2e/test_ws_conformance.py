"""WebSocket conformance: what Autobahn's case groups 1-7, 9 and 10 check, asserted against what
docs/protocol.md promises (Autobahn itself needs Python 2). roomcast is not an echo server: a text
message is a JSON op, so "the message came back" here means "the op was answered" ({"op":"ping"}
padded to the size under test gets {"type":"pong"}), binary messages are refused with 1003, and a
bad op gets an error object while the connection stays open. Every close code is asserted exactly,
and every close must be followed by the server closing TCP.

Groups: 1 framing (payload length boundaries), 2 pings and pongs, 3 reserved bits, 4 reserved
opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 and 10 large and fragmented messages at
our --max-frame (64 KiB by default, the value used here), plus masking and length encoding.

One server serves the whole module (each case uses its own room); its log is checked for
sanitizer reports at the end, and a case that crashes it fails the cases after it too."""
import asyncio
import itertools
import json
import struct

import pytest

from conftest import SANITIZER_MARKERS
from rcutil import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawWS, Server,
                    binary_path, check_welcome, client_frame, recv_json, run, ws_connect)

MAX_FRAME = 65536  # the default --max-frame (docs/protocol.md, "Frames")
_rooms = itertools.count(1)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = Server(binary_path(), [], tmp_path_factory.mktemp("conformance") / "roomcast.log")
    server.start()
    yield server
    rc = server.stop()
    log = server.log_text()
    assert rc == 0, f"server exited with {rc} after SIGTERM; log {server.log_path}"
    assert not any(m in log for m in SANITIZER_MARKERS), f"sanitizer report in {server.log_path}"


@pytest.fixture(autouse=True)
def _attach_log(request, srv):
    # conftest's report hook appends the log of these servers to a failing case.
    request.node._roomcast_servers = [srv]


# -- helpers ----------------------------------------------------------------------------------
frame = client_frame


def ping_op(size: int) -> bytes:
    """{"op":"ping"} padded with spaces to exactly `size` bytes (size >= 13)."""
    body = b'{"op":"ping"'
    assert size >= len(body) + 1
    return body + b" " * (size - len(body) - 1) + b"}"


def ping_op_with(extra: str) -> bytes:
    return json.dumps({"op": "ping", "x": extra}, ensure_ascii=False).encode()


async def open_ws(server: Server) -> RawWS:
    room = f"conf-{next(_rooms)}"
    raw, _h = await RawWS.connect(server.port, f"/ws?room={room}&user=conf")
    check_welcome(await raw.recv_json(), room, "conf")
    return raw


async def write(raw: RawWS, *frames: bytes) -> None:
    """Writes frames in one go; a server that already closed is fine (its close frame is still
    in our receive buffer)."""
    try:
        raw.writer.write(b"".join(frames))
        await raw.writer.drain()
    except ConnectionError:
        pass


async def next_frame(raw: RawWS, timeout: float = 5.0) -> tuple[bool, int, bytes]:
    """Next frame, skipping the text frames a client must ignore and the server's own pings."""
    while True:
        fin, op, payload = await raw.recv_frame(timeout)
        if op == OP_PING:
            continue
        if op == OP_TEXT and json.loads(payload).get("type") in ("state", "reactions"):
            continue
        return fin, op, payload


async def expect_json(raw: RawWS, want_type: str, code: str | None = None) -> dict:
    fin, op, payload = await next_frame(raw)
    assert (fin, op) == (True, OP_TEXT), f"want a text frame, got opcode {op}: {payload[:200]!r}"
    obj = json.loads(payload)
    assert obj.get("type") == want_type, f"want {want_type}, got {obj}"
    if code is not None:
        assert obj.get("code") == code, f"want error code {code}, got {obj}"
    return obj


async def expect_pong_frame(raw: RawWS, payload: bytes) -> None:
    _fin, op, got = await next_frame(raw)
    assert (op, got) == (OP_PONG, payload), (
        f"want a pong with {payload[:40]!r}, got opcode {op} {got[:40]!r}")


async def expect_closed(raw: RawWS, code: int, timeout: float = 5.0) -> None:
    """The next frame is a close with exactly `code` (its reason valid UTF-8), then TCP EOF."""
    _fin, op, payload = await next_frame(raw, timeout)
    assert op == OP_CLOSE, f"want a close {code}, got opcode {op}: {payload[:200]!r}"
    got = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    assert got == code, f"close code {got}, want {code} (reason {payload[2:]!r})"
    payload[2:].decode("utf-8")
    await raw.expect_eof(timeout)


async def still_served(raw: RawWS) -> None:
    """The connection is open and in sync: an op ping gets its pong next."""
    await write(raw, frame(OP_TEXT, b'{"op":"ping"}'))
    await expect_json(raw, "pong")


def case(server: Server, coro_fn, timeout: float = 20.0) -> None:
    """Runs coro_fn(raw) on a fresh connection to its own room."""
    async def scenario():
        raw = await open_ws(server)
        try:
            await coro_fn(raw)
        finally:
            raw.abort()
    run(scenario(), timeout)


# -- 1. framing: payload lengths --------------------------------------------------------------
@pytest.mark.parametrize("size", [13, 125, 126, 127, 128, 65535, 65536])
def test_1_text_payload_lengths_are_answered(srv, size):
    async def body(raw):
        await write(raw, frame(OP_TEXT, ping_op(size)))
        await expect_json(raw, "pong")
        await still_served(raw)
    case(srv, body)


def test_1_empty_text_frame_gets_an_error_and_stays_open(srv):
    async def body(raw):
        await write(raw, frame(OP_TEXT, b""))
        await expect_json(raw, "error", "bad_request")
        await still_served(raw)
    case(srv, body)


@pytest.mark.parametrize("size", [0, 125, 126, 127, 65535, 65536])
def test_1_binary_messages_are_refused_with_1003(srv, size):
    async def body(raw):
        payload = bytes(range(256)) * (size // 256) + b"\xfe" * (size % 256)
        await write(raw, frame(OP_BINARY, payload))
        await expect_closed(raw, 1003)
    case(srv, body)


def test_1_text_written_in_small_chunks(srv):
    async def body(raw):
        data = frame(OP_TEXT, ping_op(65536))
        for i in range(0, len(data), 997):
            await write(raw, data[i:i + 997])
        await expect_json(raw, "pong")
    case(srv, body, 30)


# -- 2. pings and pongs -----------------------------------------------------------------------
@pytest.mark.parametrize("payload", [b"", b"hello", bytes(range(125)), b"\xff\xfe\x00\x01" * 31],
                         ids=["empty", "text", "125 bytes", "binary 124 bytes"])
def test_2_ping_is_answered_with_the_same_payload(srv, payload):
    async def body(raw):
        await write(raw, frame(OP_PING, payload))
        await expect_pong_frame(raw, payload)
        await still_served(raw)
    case(srv, body)


def test_2_ping_of_126_bytes_is_1002(srv):
    async def body(raw):
        await write(raw, frame(OP_PING, b"p" * 126))
        await expect_closed(raw, 1002)
    case(srv, body)


@pytest.mark.parametrize("payload", [b"", b"unsolicited"])
def test_2_unsolicited_pong_is_ignored(srv, payload):
    async def body(raw):
        await write(raw, frame(OP_PONG, payload))
        await still_served(raw)
    case(srv, body)


def test_2_unsolicited_pong_then_ping(srv):
    async def body(raw):
        await write(raw, frame(OP_PONG, b"unsolicited"), frame(OP_PING, b"ping"))
        await expect_pong_frame(raw, b"ping")
    case(srv, body)


def test_2_ten_pings_in_one_write_get_ten_pongs_in_order(srv):
    async def body(raw):
        await write(raw, *(frame(OP_PING, f"payload-{i}".encode()) for i in range(10)))
        for i in range(10):
            await expect_pong_frame(raw, f"payload-{i}".encode())
    case(srv, body)


def test_2_ping_after_close_is_not_answered(srv):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", 1000)), frame(OP_PING, b"late"))
        await expect_closed(raw, 1000)
    case(srv, body)


# -- 3. reserved bits -------------------------------------------------------------------------
@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10, 0x60, 0x70])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY, OP_PING, OP_CLOSE])
def test_3_reserved_bits_are_1002(srv, rsv, opcode):
    payload = b'{"op":"ping"}' if opcode != OP_CLOSE else struct.pack("!H", 1000)

    async def body(raw):
        await write(raw, frame(opcode, payload, rsv=rsv))
        await expect_closed(raw, 1002)
    case(srv, body)


def test_3_valid_op_then_reserved_bits_then_ping(srv):
    # The op before the bad frame is answered; the ping after it is not.
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":"ping"}'),
                    frame(OP_TEXT, b'{"op":"ping"}', rsv=0x20), frame(OP_PING, b"after"))
        await expect_json(raw, "pong")
        await expect_closed(raw, 1002)
    case(srv, body)


# -- 4. reserved opcodes ----------------------------------------------------------------------
@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
@pytest.mark.parametrize("payload", [b"", b"reserved"], ids=["empty", "payload"])
def test_4_reserved_opcodes_are_1002(srv, opcode, payload):
    async def body(raw):
        await write(raw, frame(opcode, payload))
        await expect_closed(raw, 1002)
    case(srv, body)


def test_4_valid_op_then_reserved_opcode(srv):
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":"ping"}'), frame(0xB, b""), frame(OP_PING, b"x"))
        await expect_json(raw, "pong")
        await expect_closed(raw, 1002)
    case(srv, body)


# -- 5. fragmentation -------------------------------------------------------------------------
@pytest.mark.parametrize("opcode", [OP_PING, OP_PONG])
def test_5_fragmented_control_frames_are_1002(srv, opcode):
    async def body(raw):
        await write(raw, frame(opcode, b"frag", fin=False), frame(OP_CONT, b"ment"))
        await expect_closed(raw, 1002)
    case(srv, body)


@pytest.mark.parametrize("parts", [2, 3, 13], ids=lambda n: f"{n} fragments")
def test_5_fragmented_text_is_answered(srv, parts):
    async def body(raw):
        msg = ping_op(13 * 10)
        step = -(-len(msg) // parts)
        chunks = [msg[i:i + step] for i in range(0, len(msg), step)]
        frames = [frame(OP_TEXT if i == 0 else OP_CONT, c, fin=i == len(chunks) - 1)
                  for i, c in enumerate(chunks)]
        await write(raw, *frames)
        await expect_json(raw, "pong")
        await still_served(raw)
    case(srv, body)


def test_5_fragments_one_write_each(srv):
    async def body(raw):
        msg = ping_op(64)
        for i in range(0, len(msg), 8):
            await write(raw, frame(OP_TEXT if i == 0 else OP_CONT, msg[i:i + 8],
                                   fin=i + 8 >= len(msg)))
        await expect_json(raw, "pong")
    case(srv, body)


def test_5_empty_fragments(srv):
    async def body(raw):
        await write(raw, frame(OP_TEXT, b"", fin=False),
                    frame(OP_CONT, b'{"op":"ping"}', fin=False),
                    frame(OP_CONT, b"", fin=True))
        await expect_json(raw, "pong")
    case(srv, body)


def test_5_pings_between_fragments_are_answered_first(srv):
    async def body(raw):
        msg = ping_op(40)
        await write(raw, frame(OP_TEXT, msg[:10], fin=False), frame(OP_PING, b"one"),
                    frame(OP_CONT, msg[10:20], fin=False), frame(OP_PONG, b"ignored"),
                    frame(OP_PING, b"two"), frame(OP_CONT, msg[20:], fin=True))
        await expect_pong_frame(raw, b"one")
        await expect_pong_frame(raw, b"two")
        await expect_json(raw, "pong")
    case(srv, body)


def test_5_fragments_with_pings_written_one_by_one(srv):
    async def body(raw):
        msg = ping_op(40)
        await write(raw, frame(OP_TEXT, msg[:10], fin=False))
        await write(raw, frame(OP_PING, b"one"))
        await expect_pong_frame(raw, b"one")
        await write(raw, frame(OP_CONT, msg[10:], fin=True))
        await expect_json(raw, "pong")
    case(srv, body)


@pytest.mark.parametrize("fin", [True, False], ids=["fin", "no fin"])
def test_5_continuation_without_a_start_is_1002(srv, fin):
    async def body(raw):
        await write(raw, frame(OP_CONT, b'{"op":"ping"}', fin=fin))
        await expect_closed(raw, 1002)
    case(srv, body)


def test_5_continuation_after_a_finished_message_is_1002(srv):
    async def body(raw):
        msg = ping_op(20)
        await write(raw, frame(OP_TEXT, msg[:5], fin=False), frame(OP_CONT, msg[5:], fin=True),
                    frame(OP_CONT, b"more", fin=False))
        await expect_json(raw, "pong")
        await expect_closed(raw, 1002)
    case(srv, body)


@pytest.mark.parametrize("second_fin", [True, False], ids=["then fin", "then no fin"])
def test_5_new_text_inside_a_fragmented_one_is_1002(srv, second_fin):
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":', fin=False),
                    frame(OP_TEXT, b'{"op":"ping"}', fin=second_fin))
        await expect_closed(raw, 1002)
    case(srv, body)


def test_5_binary_continuation_of_text_is_1003(srv):
    # A binary frame inside a fragmented text message: binary is refused before anything else.
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":', fin=False), frame(OP_BINARY, b'"ping"}'))
        await expect_closed(raw, 1003)
    case(srv, body)


def test_5_fragmented_binary_is_1003(srv):
    async def body(raw):
        await write(raw, frame(OP_BINARY, b"ab", fin=False), frame(OP_CONT, b"cd"))
        await expect_closed(raw, 1003)
    case(srv, body)


# -- 6. UTF-8 ---------------------------------------------------------------------------------
VALID_UTF8 = ["\u03ba\u1f79\u03c3\u03bc\u03b5", "\u20ac", "\U0001f600", "\ud7ff\ue000\ufffd",
              "\U0010ffff", "\u0080\u07ff\u0800\uffff\U00010000"]


@pytest.mark.parametrize("text", VALID_UTF8, ids=[f"valid-{i}" for i in range(len(VALID_UTF8))])
def test_6_valid_utf8_is_answered_whole_and_split_at_every_byte(srv, text):
    async def body(raw):
        msg = ping_op_with(text)
        await write(raw, frame(OP_TEXT, msg))
        await expect_json(raw, "pong")
        frames = [frame(OP_TEXT if i == 0 else OP_CONT, msg[i:i + 1], fin=i == len(msg) - 1)
                  for i in range(len(msg))]
        await write(raw, *frames)
        await expect_json(raw, "pong")
    case(srv, body)


INVALID_UTF8 = [
    (b"\x80", "lone continuation byte"),
    (b"\xbf", "lone continuation byte bf"),
    (b"\xc0\xaf", "overlong slash (2 bytes)"),
    (b"\xe0\x80\xaf", "overlong slash (3 bytes)"),
    (b"\xf0\x80\x80\xaf", "overlong slash (4 bytes)"),
    (b"\xc1\xbf", "overlong 2-byte maximum"),
    (b"\xed\xa0\x80", "high surrogate U+D800"),
    (b"\xed\xbf\xbf", "low surrogate U+DFFF"),
    (b"\xed\xa0\x80\xed\xb0\x80", "surrogate pair in UTF-8"),
    (b"\xf4\x90\x80\x80", "above U+10FFFF"),
    (b"\xf8\x88\x80\x80\x80", "5-byte sequence"),
    (b"\xfc\x84\x80\x80\x80\x80", "6-byte sequence"),
    (b"\xfe", "byte fe"),
    (b"\xff", "byte ff"),
    (b"\xe2\x82", "truncated 3-byte sequence"),
    (b"\xce\xba\xe1\xbd", "truncated at the end"),
    (b"\xe2\x28\xa1", "bad second byte"),
]


@pytest.mark.parametrize("bad", [b for b, _ in INVALID_UTF8], ids=[n for _, n in INVALID_UTF8])
@pytest.mark.parametrize("split", [False, True], ids=["one frame", "fragment per byte"])
def test_6_invalid_utf8_is_1007(srv, bad, split):
    msg = b'{"op":"ping","x":"a' + bad + b'b"}'

    async def body(raw):
        if split:
            await write(raw, *(frame(OP_TEXT if i == 0 else OP_CONT, msg[i:i + 1],
                                     fin=i == len(msg) - 1) for i in range(len(msg))))
        else:
            await write(raw, frame(OP_TEXT, msg))
        await expect_closed(raw, 1007)
    case(srv, body)


def test_6_invalid_utf8_as_the_whole_payload_is_1007(srv):
    async def body(raw):
        kosme = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()
        await write(raw, frame(OP_TEXT, kosme + b"\xed\xa0\x80"))
        await expect_closed(raw, 1007)
    case(srv, body)


def test_6_lone_surrogate_as_a_json_escape_is_a_bad_request_not_a_close(srv):
    # The frame is valid UTF-8 ("\\ud800" is six ASCII bytes); the op's text is not.
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":"send","text":"\\ud800","cid":"s1"}'))
        await expect_json(raw, "error", "bad_request")
        await still_served(raw)
    case(srv, body)


# -- 7. close handling ------------------------------------------------------------------------
def test_7_close_after_an_op(srv):
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":"ping"}'), frame(OP_CLOSE, struct.pack("!H", 1000)))
        await expect_json(raw, "pong")
        await expect_closed(raw, 1000)
    case(srv, body)


def test_7_second_close_is_not_answered(srv):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", 1000)),
                    frame(OP_CLOSE, struct.pack("!H", 1001)))
        await expect_closed(raw, 1000)
    case(srv, body)


def test_7_text_after_close_is_not_answered(srv):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", 1000)), frame(OP_TEXT, b'{"op":"ping"}'))
        await expect_closed(raw, 1000)
    case(srv, body)


def test_7_close_inside_a_fragmented_message(srv):
    async def body(raw):
        msg = ping_op(20)
        await write(raw, frame(OP_TEXT, msg[:5], fin=False),
                    frame(OP_CLOSE, struct.pack("!H", 1000)),
                    frame(OP_CONT, msg[5:], fin=True))
        await expect_closed(raw, 1000)
    case(srv, body)


def test_7_close_without_payload_is_answered_1000(srv):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, b""))
        await expect_closed(raw, 1000)
    case(srv, body)


# Issue 15 item 11: the server used to echo any close body back (a 1-byte body as 1000, reserved
# and undefined codes as themselves, a reason that is not UTF-8) instead of failing the connection.
def test_7_close_with_one_byte_payload_is_1002(srv):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, b"\x03"))
        await expect_closed(raw, 1002)
    case(srv, body)


@pytest.mark.parametrize("reason", [b"", b"bye", "\u00e9t\u00e9 \u20ac".encode(), b"r" * 123],
                         ids=["no reason", "ascii", "utf-8", "123 bytes"])
def test_7_close_1000_with_a_reason_is_echoed(srv, reason):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", 1000) + reason))
        await expect_closed(raw, 1000)
    case(srv, body)


def test_7_close_payload_of_126_bytes_is_1002(srv):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", 1000) + b"r" * 124))
        await expect_closed(raw, 1002)
    case(srv, body)


@pytest.mark.parametrize("reason", [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
                                    b"\xff", b"ok\xc0\xaf"], ids=["surrogate", "ff", "overlong"])
def test_7_close_reason_not_utf8_is_1007(srv, reason):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", 1000) + reason))
        await expect_closed(raw, 1007)
    case(srv, body)


VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                     3999, 4000, 4999]


@pytest.mark.parametrize("code", VALID_CLOSE_CODES)
def test_7_valid_close_codes_are_echoed(srv, code):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", code) + b"reason"))
        await expect_closed(raw, code)
    case(srv, body)


# RFC 6455 7.4: 0-999 unused, 1004-1006 and 1015 reserved (never sent on the wire), 1016-2999 for
# the protocol's future use, 5000 and above not defined.
INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", INVALID_CLOSE_CODES)
def test_7_invalid_close_codes_are_1002(srv, code):
    async def body(raw):
        await write(raw, frame(OP_CLOSE, struct.pack("!H", code)))
        await expect_closed(raw, 1002)
    case(srv, body)


# -- 9 and 10. large and fragmented messages at our limit ----------------------------------------
@pytest.mark.parametrize("chunk", [64, 256, 1024, 4096, 16384, 65536])
def test_9_message_of_max_frame_in_fragments(srv, chunk):
    async def body(raw):
        msg = ping_op(MAX_FRAME)
        frames = [frame(OP_TEXT if i == 0 else OP_CONT, msg[i:i + chunk],
                        fin=i + chunk >= len(msg)) for i in range(0, len(msg), chunk)]
        await write(raw, *frames)
        await expect_json(raw, "pong")
    case(srv, body, 30)


def test_9_many_large_messages_in_a_row(srv):
    async def body(raw):
        msg = frame(OP_TEXT, ping_op(MAX_FRAME))
        for _ in range(4):
            await write(raw, msg * 5)
            for _ in range(5):
                await expect_json(raw, "pong")
    case(srv, body, 60)


def test_9_hundred_small_ops_in_one_write(srv):
    async def body(raw):
        await write(raw, frame(OP_TEXT, b'{"op":"ping"}') * 100)
        for _ in range(100):
            await expect_json(raw, "pong")
    case(srv, body)


def test_9_frame_over_max_frame_is_1009(srv):
    async def body(raw):
        await write(raw, frame(OP_TEXT, ping_op(MAX_FRAME + 1)))
        await expect_closed(raw, 1009)
    case(srv, body)


def test_9_frame_header_over_max_frame_is_1009_before_the_payload(srv):
    # Only the header of a 16 MiB frame: refused from its length field.
    async def body(raw):
        await write(raw, struct.pack("!BBQ", 0x81, 0x80 | 127, 16 << 20) + b"mask")
        await expect_closed(raw, 1009)
    case(srv, body)


def test_10_fragments_adding_up_past_max_frame_are_1009(srv):
    async def body(raw):
        half = ping_op(MAX_FRAME)[: MAX_FRAME // 2 + 1]
        await write(raw, frame(OP_TEXT, half, fin=False), frame(OP_CONT, half, fin=True))
        await expect_closed(raw, 1009)
    case(srv, body)


# -- masking and length encoding ----------------------------------------------------------------
@pytest.mark.parametrize("opcode,payload", [(OP_TEXT, b'{"op":"ping"}'), (OP_PING, b"x"),
                                            (OP_CLOSE, struct.pack("!H", 1000)), (OP_CONT, b"")],
                         ids=["text", "ping", "close", "continuation"])
def test_unmasked_client_frames_are_1002(srv, opcode, payload):
    async def body(raw):
        await write(raw, frame(opcode, payload, mask=False))
        await expect_closed(raw, 1002)
    case(srv, body)


@pytest.mark.parametrize("header", [
    struct.pack("!BBH", 0x81, 0x80 | 126, 13),         # 16-bit form for a 7-bit length
    struct.pack("!BBQ", 0x81, 0x80 | 127, 13),         # 64-bit form for a 7-bit length
    struct.pack("!BBQ", 0x81, 0x80 | 127, 1000),       # 64-bit form for a 16-bit length
    struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 63),    # most significant bit set
], ids=["16-bit for 13", "64-bit for 13", "64-bit for 1000", "64-bit msb"])
def test_non_minimal_or_invalid_lengths_are_1002(srv, header):
    async def body(raw):
        await write(raw, header + b"\x00\x00\x00\x00" + b'{"op":"ping"}')
        await expect_closed(raw, 1002)
    case(srv, body)


def test_server_frames_are_unmasked_and_minimal(srv):
    # RawWS checks unmasked, RSV clear and control frames final; here the length form too.
    async def body(raw):
        await write(raw, frame(OP_PING, b"p" * 125), frame(OP_TEXT, b'{"op":"ping"}'))
        await raw._fill(2, asyncio.get_running_loop().time() + 5)
        assert raw.buf[0] == 0x8A and raw.buf[1] == 125, bytes(raw.buf[:2])
        await expect_pong_frame(raw, b"p" * 125)
        await raw._fill(2, asyncio.get_running_loop().time() + 5)
        assert raw.buf[0] == 0x81 and raw.buf[1] < 126, bytes(raw.buf[:2])
        await expect_json(raw, "pong")
    case(srv, body)


# -- the same rules seen from a common client library (websockets) --------------------------------
def test_library_client_ping_close_and_fragments(srv):
    async def scenario():
        room = f"conf-{next(_rooms)}"
        ws = await ws_connect(srv.ws_url(room, user="lib"))
        try:
            check_welcome(await recv_json(ws), room, "lib")
            pong_waiter = await ws.ping(b"lib-ping")
            await asyncio.wait_for(pong_waiter, 5)
            # A fragmented message, as the library sends an iterable.
            await ws.send(['{"op":', '"ping"}'])
            assert (await recv_json(ws)).get("type") == "pong"
            await ws.close(4000, "done here")
            assert (ws.close_code, ws.close_reason) == (4000, ""), (ws.close_code, ws.close_reason)
        finally:
            await ws.close()
    run(scenario(), 15)
