#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (a few small files each).

Each seed is laid out as its fuzz target reads its input (parameter bytes first, see the
target's source). Run it again after changing a layout; it rewrites only the seed_* files.
    python3 tests/fuzz/make_seeds.py
"""
import base64
import hashlib
import hmac
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record(seq, room=b"lobby", epoch=b"e1", user=b"ann", cid=b"c1", json=b'{"type":"message"}',
           flags=0, target=0, ts_ms=1700000000000):
    payload = struct.pack("<BBQQq", 1, flags, seq, target, ts_ms)
    payload += struct.pack("<B", len(room)) + room + struct.pack("<B", len(epoch)) + epoch
    payload += struct.pack("<H", len(user)) + user + struct.pack("<H", len(cid)) + cid
    payload += struct.pack("<I", len(json)) + json
    return struct.pack("<II", len(payload), crc32c(payload)) + payload


def client_frame(b0, payload, mask=b"\x11\x22\x33\x44", length_form=None):
    n = len(payload)
    if n < 126 and length_form is None:
        head = bytes([b0, 0x80 | n])
    elif n < 0x10000 and length_form != 64:
        head = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def cursor(seq, epoch, room, key=bytes((1 + 7 * i) & 0xFF for i in range(32))):
    # The default key is Key(1) in poll_cursor_fuzz.cc.
    body = bytes([1]) + struct.pack("<Q", seq) + bytes([len(epoch)]) + epoch
    body += bytes([len(room)]) + room
    tag = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=")


def seeds():
    http_pre = b"\x03\x10\x00"  # default limits, split after 16 bytes
    yield "http_head", {
        "get_ws": http_pre + b"GET /ws?room=lobby&user=ann HTTP/1.1\r\nHost: x\r\n"
                             b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             b"Sec-WebSocket-Version: 13\r\n\r\n",
        "post_body": http_pre + b"POST /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n"
                                b"Content-Length: 13\r\nContent-Type: application/json\r\n\r\n"
                                b'{"text":"hi"}',
        "sse_resume": http_pre + b"GET /sse?room=a HTTP/1.0\r\nConnection: keep-alive\r\n"
                                 b"Last-Event-ID: 42\r\n\n",
        "chunked": http_pre + b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "two_lengths": http_pre + b"POST /x HTTP/1.1\r\nContent-Length: 1\r\n"
                                  b"Content-Length: 2\r\n\r\n",
        "small_limits": b"\x00\x40\x00\x02\x05\x00GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    }
    yield "query", {
        "room": b"\x04roomroom=lobby&user=ann",
        "escaped": b"\x04roomx=1&ro%6Fm=a%20b+c&room=second",
        "bad_escape": b"\x04roomroom=%zz",
        "flag": b"\x07historyhistory&since=12",
        "decimal": b"\x00" + b"18446744073709551615",
    }
    yield "last_event_id", {
        "plain": b"42",
        "spaces": b" \t7 ",
        "max": b"9999999999999999999",
        "too_long": b"18446744073709551615",
        "sign": b"-1",
    }
    ws_pre = b"\x07\x00\x08"  # split after 7 bytes, stop after 8 frames
    text = b'{"op":"send","text":"hello","cid":"c1"}'
    yield "ws_frame", {
        "text": ws_pre + client_frame(0x81, text),
        "fragments": ws_pre + client_frame(0x01, text[:10]) + client_frame(0x89, b"p")
                     + client_frame(0x80, text[10:]),
        "len126": ws_pre + client_frame(0x82, b"x" * 126),
        "len64": ws_pre + client_frame(0x82, b"y" * 300, length_form=64),
        "close": ws_pre + client_frame(0x88, b"\x03\xe8bye"),
        "unmasked": ws_pre + b"\x81\x02hi",
        "rsv": ws_pre + client_frame(0xC1, b"hi"),
        "ping_pong": ws_pre + client_frame(0x89, b"a" * 125) + client_frame(0x8A, b""),
    }
    yield "client_op", {
        "send": b"\x18" + b'{"op":"send","text":"hello \\u00e9\\n","cid":"c-1"}',
        "react": b"\x18" + b'{"op":"react","emoji":"\xf0\x9f\x91\x8d"}',
        "http_send": b"\x19" + b'{"text":"hi","cid":"abc"}',
        "admin": b"\x1a" + b'{"text":"gift!","user":"shop","prio":1,"kind":"gift"}',
        "retract": b"\x1b" + b'{"reason":"spam","by":"mod"}',
        "surrogate": b"\x18" + b'{"op":"send","text":"\\ud800"}',
        "prio_refused": b"\x18" + b'{"op":"send","text":"x","prio":true}',
        "ban": b"\x18" + b'{"op":"ban","user":"troll","secs":600,"shadow":true,"reason":"spam"}',
        "mode": b"\x18" + b'{"op":"mode","slow_secs":30,"subscribers_only":true,"unique":false}',
        "clear_user": b"\x18" + b'{"op":"clear","user":"u"}',
        "delete": b"\x18" + b'{"op":"delete","seq":42,"reason":"x"}',
        "allow": b"\x18" + b'{"op":"allow","id":7}',
    }
    yield "poll_cursor", {
        "good": cursor(7, b"e1", b"lobby"),
        "empty_epoch": cursor(0, b"", b"r"),
        "long": cursor(2**64 - 1, b"E" * 32, b"R" * 64),
        "bad_char": cursor(7, b"e1", b"lobby")[:-1] + b"+",
    }
    yield "log_record", {
        "message": record(1),
        "retract": record(9, flags=2, target=3, json=b'{"type":"retract","seq":3}'),
        "prio": record(2**40, flags=1, cid=b""),
        "torn": record(1)[:-3],
        "bad_crc": record(1)[:5] + b"\x00" + record(1)[6:],
    }
    recs = record(1) + record(2) + record(3, json=b'{"type":"message","text":"three"}')
    yield "log_replay", {
        "one_segment": b"\x00" + recs,
        "torn_tail": b"\x00" + recs + record(4)[:20],
        "two_segments": b"\x01" + struct.pack("<H", len(record(1))) + record(1) + record(2),
        "bad_middle": b"\x02" + struct.pack("<H", len(recs)) + recs + struct.pack("<H", 10)
                      + b"\x00" * 10 + record(5),
        "bad_magic": b"\x81" + struct.pack("<H", len(record(1))) + record(1) + record(2),
    }
    yield "token", {
        "signed_claims": b"\x01" + b'{"sub":"ann","exp":1900000000,"name":"Ann","roles":["vip"],'
                         b'"room_roles":{"lobby":["moderator"]},"badges":["sub/3"]}',
        "signed_header": b"\x02" + b'{"alg":"HS256","typ":"JWT","kid":"k1"}',
        "alg_none": b"\x00" + b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjoxOTAwMDAwMDAwfQ.",
        "nbf": b"\x01" + b'{"sub":"a","exp":1900000000,"nbf":1800000031,"iat":1.5e9}',
    }
    yield "moderation_text", {
        "terms": b"\x00" + b'{"terms":[{"pattern":"bad*","action":"mask"},{"pattern":"*x*"}],'
                 b'"regex":[{"pattern":"[0-9]{3}","action":"hold"}]}\x00so bad, badly x 123',
        "unicode": b"\x00" + '{"terms":[{"pattern":"héllo","action":"mask"}]}\x00HÉLLO wörld'.encode(),
        "bad_regex": b"\x00" + b'{"regex":[{"pattern":"(a"}]}\x00a',
        "emotes": b"\x01" + "😀 :Kappa: 👍🏽 1️⃣ 🇫🇷".encode(),
    }
    yield "session", session_seeds()


# session_fuzz.cc steps: one byte (action << 2 | connection), then the action's bytes.
def bytes_in(conn, data):
    out = b""
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += bytes([conn, len(chunk)]) + chunk
    return out


def answer(refuse=0):
    return bytes([4 << 2, refuse])


def idle(ticks):
    return bytes([5 << 2, ticks])


def session_seeds():
    upgrade = (b"GET /ws?room=lobby&user=ann&history=2 HTTP/1.1\r\nHost: x\r\n"
               b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    send = client_frame(0x81, b'{"op":"send","text":"hi","cid":"c1"}')
    post = b'POST /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{"text":"yo"}'
    poll = b"GET /rooms/lobby/messages HTTP/1.1\r\nHost: x\r\n\r\n"
    cur = cursor(0, b"E1", b"lobby", key=bytes([7] * 32))  # the harness's key
    key = b"0123456789abcdef0123456789abcdef"
    return {
        "ws": bytes_in(0, upgrade) + answer() + bytes_in(0, send) + answer() + idle(1)
              + bytes_in(0, client_frame(0x89, b"p")) + bytes_in(0, client_frame(0x88, b"\x03\xe8")),
        "sse_and_send": bytes_in(1, b"GET /rooms/lobby/events HTTP/1.1\r\nLast-Event-ID: 0\r\n\r\n")
                        + answer() + bytes_in(2, post) + answer() + idle(1) + bytes([6 << 2]),
        "poll_park": bytes_in(0, poll) + answer()
                     + bytes_in(0, b"GET /rooms/lobby/messages?cursor=" + cur + b" HTTP/1.1\r\n\r\n")
                     + answer() + bytes_in(2, post) + answer() + idle(1) + idle(120),
        "admin": bytes_in(1, b"POST /admin/rooms/lobby/publish HTTP/1.1\r\nAuthorization: Bearer "
                         + key + b'\r\nContent-Length: 13\r\n\r\n{"text":"yo"}') + answer()
                 + bytes_in(1, b"DELETE /admin/rooms/lobby/messages/1 HTTP/1.1\r\n"
                            b"Authorization: Bearer " + key + b"\r\n\r\n") + answer(),
        "pipelined": bytes_in(2, post + b"GET /rooms/lobby/history?after=0 HTTP/1.1\r\n\r\n" + poll)
                     + answer() + answer() + answer() + bytes([7 << 2 | 2]) + answer(),
        "refused_join": bytes_in(0, upgrade) + answer(1) + bytes_in(1, poll) + answer(1),
    }


def main():
    for target, files in seeds():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
