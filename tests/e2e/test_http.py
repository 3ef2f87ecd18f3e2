"""Plain HTTP: /healthz, /metrics, 404, POST /rooms/R/messages (with curl and urllib)."""
import asyncio
import json

import pytest

from metricsutil import fetch_metrics, metric_by_shard, poll_metrics
from rcutil import (barrier, check_msg, close_all, curl, http, join, now_ms, post_message,
                    recv_next, run)


def curl_status(server, path, *extra):
    """(status, body) of a curl request."""
    r = curl("-o", "-", "-w", "\n%{http_code} %{content_type}", *extra, server.url(path))
    assert r.returncode == 0, f"curl failed: {r.stderr}"
    body, _, tail = r.stdout.rpartition("\n")
    status, _, ctype = tail.partition(" ")
    return int(status), ctype, body


def test_healthz_curl(server):
    status, _ctype, _body = curl_status(server, "/healthz")
    assert status == 200


def test_unknown_path_404_json(server):
    for path in ("/nope", "/rooms", "/wsx?room=a", "/healthz/extra"):
        status, ctype, body = curl_status(server, path)
        assert status == 404, f"{path}: {status} {body!r}"
        assert "json" in ctype.lower(), f"{path}: content type {ctype!r}"
        obj = json.loads(body)
        assert isinstance(obj, dict) and "error" in obj, f"{path}: body {body!r}"


def test_metrics_format_and_counters(server):
    headers, text, samples = fetch_metrics(server)
    assert headers.get("content-type", "").startswith("text/plain"), headers
    names = {n for n, _, _ in samples}
    for name in ("roomcast_connections", "roomcast_messages_in_total", "roomcast_deliveries_total"):
        assert name in names, f"{name} missing from /metrics:\n{text}"
        per_shard = metric_by_shard(samples, name)
        assert len(per_shard) == 2, f"{name}: want one series per shard (2 shards): {per_shard}"
    in0 = sum(metric_by_shard(samples, "roomcast_messages_in_total").values())
    out0 = sum(metric_by_shard(samples, "roomcast_deliveries_total").values())

    room = "metrics-room"

    async def traffic():
        ws, _w = await join(server, room, user="viewer")
        try:
            for i in range(3):
                st, _, body = await asyncio.to_thread(
                    post_message, server, room, "poster", {"text": f"m{i}", "cid": f"mc-{i}"})
                assert st == 200, body
            for i in range(3):
                m = await recv_next(ws)
                check_msg(m, room, id=f"mc-{i}")
            # Connected now: the gauge counts this WebSocket.
            def conns(s):
                return sum(metric_by_shard(s, "roomcast_connections").values())
            _t, s = await asyncio.to_thread(poll_metrics, server, lambda s: conns(s) >= 1)
            assert conns(s) >= 1, _t
        finally:
            await close_all([ws])

    run(traffic(), 20)

    def total(samples, name):
        return sum(metric_by_shard(samples, name).values())
    text, samples = poll_metrics(
        server, lambda s: total(s, "roomcast_messages_in_total") - in0 >= 3
        and total(s, "roomcast_deliveries_total") - out0 >= 3)
    in1 = total(samples, "roomcast_messages_in_total")
    out1 = total(samples, "roomcast_deliveries_total")
    assert in1 - in0 >= 3, f"messages_in_total went {in0} -> {in1} after 3 messages:\n{text}"
    assert out1 - out0 >= 3, f"deliveries_total went {out0} -> {out1} after 3 deliveries:\n{text}"
    # The fan-out delay histogram counted those messages, and its buckets are cumulative.
    count = total(samples, "roomcast_fanout_delay_seconds_count")
    assert count >= 3, f"fanout_delay_seconds_count is {count} after 3 delivered messages:\n{text}"
    for shard in ("0", "1"):
        buckets = [(lab["le"], v) for n, lab, v in samples
                   if n == "roomcast_fanout_delay_seconds_bucket" and lab.get("shard") == shard]
        assert buckets and buckets[-1][0] == "+Inf", buckets
        values = [v for _, v in buckets]
        assert values == sorted(values), f"buckets must be cumulative: {buckets}"
        shard_count = [v for n, lab, v in samples
                       if n == "roomcast_fanout_delay_seconds_count" and lab.get("shard") == shard]
        assert shard_count == [values[-1]], (shard_count, buckets)


def test_post_send_reaches_ws_viewer(server):
    room = "http-send"

    async def scenario():
        ws, welcome = await join(server, room, user="watcher")
        try:
            head = welcome["seq"]
            t0 = now_ms() - 1000
            # curl as a real client
            r = curl("-X", "POST", "-H", "Content-Type: application/json",
                     "--data-binary", json.dumps({"text": "hello from curl", "cid": "curl-1"}),
                     "-w", "\n%{http_code}", server.url(f"/rooms/{room}/messages?user=carol"))
            assert r.returncode == 0, r.stderr
            body, _, code = r.stdout.rpartition("\n")
            assert code == "200", r.stdout
            resp = json.loads(body)
            assert resp.get("seq") == head + 1 and resp.get("id") == "curl-1", resp
            m = await recv_next(ws)
            check_msg(m, room, seq=head + 1, id="curl-1", user="carol", text="hello from curl",
                      ts_window=(t0, now_ms() + 1000))

            # urllib, no cid: the server makes an id, and the message carries the same one.
            st, _, body = await asyncio.to_thread(post_message, server, room, "dave",
                                                  {"text": "no cid here"})
            assert st == 200, body
            resp = json.loads(body)
            assert resp.get("seq") == head + 2 and isinstance(resp.get("id"), str) and resp["id"]
            m = await recv_next(ws)
            check_msg(m, room, seq=head + 2, id=resp["id"], user="dave", text="no cid here")

            # Non-ASCII and exactly 500 code points (4-byte UTF-8 each) is accepted.
            text = "\U0001F600" * 500
            st, _, body = await asyncio.to_thread(post_message, server, room, "erin",
                                                  {"text": text, "cid": "emoji-500"})
            assert st == 200, body
            m = await recv_next(ws)
            check_msg(m, room, seq=head + 3, id="emoji-500", user="erin", text=text)
            assert await barrier(ws) == [], "extra frames after the three messages"
        finally:
            await close_all([ws])

    run(scenario(), 30)


BAD_BODIES = [
    ("not json", b"{not json", 400),
    ("empty body", b"", 400),
    ("array", b"[1,2]", 400),
    ("missing text", json.dumps({"cid": "x"}).encode(), 400),
    ("text not a string", json.dumps({"text": 5, "cid": "x"}).encode(), 400),
    ("empty text", json.dumps({"text": "", "cid": "x"}).encode(), 400),
    ("invalid utf-8", b'{"text":"\xff\xfe","cid":"x"}', 400),
    ("501 ascii", json.dumps({"text": "a" * 501, "cid": "x"}).encode(), 413),
    ("501 code points", json.dumps({"text": "\u20ac" * 501, "cid": "x"},
                                   ensure_ascii=False).encode(), 413),
]


@pytest.mark.parametrize("name,body,want", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_post_bad_input(server, name, body, want):
    room = "http-bad"

    async def scenario():
        ws, welcome = await join(server, room, user="watcher")
        try:
            st, headers, resp = await asyncio.to_thread(post_message, server, room, "mallory", body)
            assert st == want, f"{name}: status {st}, body {resp!r}"
            obj = json.loads(resp)
            assert isinstance(obj, dict) and isinstance(obj.get("error"), str), resp
            if want == 400:
                assert obj["error"] == "bad_request", obj
            # Rejected input takes no seq: the next good message is head+1 and reaches viewers.
            st, _, resp = await asyncio.to_thread(post_message, server, room, "alice",
                                                  {"text": "after", "cid": "after-1"})
            assert st == 200, resp
            assert json.loads(resp)["seq"] == welcome["seq"] + 1, resp
            m = await recv_next(ws)
            check_msg(m, room, seq=welcome["seq"] + 1, id="after-1", user="alice", text="after")
            assert await barrier(ws) == []
        finally:
            await close_all([ws])

    run(scenario(), 20)


@pytest.mark.parametrize("room_path", ["bad%20room", "a" * 65, "caf%C3%A9", "a%2Fb", "%3Cx%3E"])
def test_post_invalid_room(server, room_path):
    status, ctype, body = curl_status(
        server, f"/rooms/{room_path}/messages?user=u", "-X", "POST",
        "-H", "Content-Type: application/json", "--data-binary", '{"text":"x","cid":"c"}')
    assert status == 400, f"room {room_path!r}: {status} {body!r}"
    obj = json.loads(body)
    assert isinstance(obj, dict) and "error" in obj, body


def test_post_valid_room_edge(server):
    room = "Az09_.:-" + "x" * 56  # 64 bytes, every allowed character class
    assert len(room) == 64
    st, _, body = post_message(server, room, "u", {"text": "edge", "cid": "edge-1"})
    assert st == 200, body
    assert json.loads(body)["id"] == "edge-1"


def test_healthz_and_metrics_urllib(server):
    st, _, _ = http("GET", server.url("/healthz"))
    assert st == 200
    st, headers, body = http("GET", server.url("/metrics"))
    assert st == 200 and b"roomcast_connections" in body


def test_head_answers_carry_no_body(server):
    """A HEAD answer has the GET answer's headers (Content-Length included) and no body (issue
    15, fault 11): a body would be read as the start of the next answer on the connection."""
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"HEAD /no/such/thing HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    parts = data.split(b"\r\n\r\n")
    assert parts[0].startswith(b"HTTP/1.1 200"), data
    assert b"Content-Length: 15" in parts[0], parts[0]
    assert parts[1].startswith(b"HTTP/1.1 404"), data  # nothing between the two heads
    assert parts[2].startswith(b"HTTP/1.1 200"), data
    assert parts[3] == b'{"status":"ok"}', data
