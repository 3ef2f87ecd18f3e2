"""Server-sent events, GET /rooms/R/events (docs/protocol.md, "Server-sent events"): stream
format, history, resume with Last-Event-ID or ?since= (no duplicate, no hole), gaps, heartbeat,
drain, the viewers gauge."""
import json
import os
import re
import select
import subprocess
import time

import pytest

from httputil import BackgroundPoster, SSEStream, longpoll, poll_answer, post_many, room_path
from metricsutil import metric_lines, metric_sum, poll_metrics
from rcutil import check_msg, check_welcome, http, post_message

ROOM = "sse-room"


def parse_sse(text: str) -> list[dict]:
    """Events of a complete text/event-stream body (comments as {"comment": ...})."""
    items = []
    for block in text.split("\n\n"):
        ev = {}
        for line in block.split("\n"):
            if not line:
                continue
            if line.startswith(":"):
                items.append({"comment": line[1:].strip()})
                continue
            field, _, value = line.partition(":")
            ev[field] = value[1:] if value.startswith(" ") else value
        if ev:
            if "data" in ev:
                ev["data"] = json.loads(ev["data"])
            items.append(ev)
    return items


class CurlStream:
    """curl -N -i on an event stream; the output is read as it comes (bounded waits)."""

    def __init__(self, url: str, *args: str, max_time: int = 8):
        self.proc = subprocess.Popen(["curl", "-sS", "-N", "-i", "--max-time", str(max_time),
                                      *args, url], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def head_body(self) -> tuple[str, str]:
        head, _, body = self.out.decode().partition("\r\n\r\n")
        return head, body

    def events(self) -> list[dict]:
        _head, body = self.head_body()
        complete = body[:body.rfind("\n\n") + 2] if "\n\n" in body else ""
        return parse_sse(complete)

    def wait_for(self, pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while not pred(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return pred(self)
                self.out += chunk
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


def msg_events(items):
    return [e for e in items if e.get("event") == "msg"]


def check_msg_event(ev: dict, room: str, seq=None, cid=None, text=None, epoch=None) -> dict:
    """A msg event whose id is SEQ:EPOCH (the room's epoch, when given)."""
    assert ev.get("event") == "msg", ev
    m = check_msg(ev.get("data"), room, seq=seq, id=cid, text=text)
    want = rf"{m['seq']}:{epoch}" if epoch else rf"{m['seq']}:[A-Za-z0-9]{{1,64}}"
    assert re.fullmatch(want, ev.get("id", "")), f"event id must be SEQ:EPOCH: {ev}"
    return m


def open_stream(server, room=ROOM, headers=None, **params) -> tuple[SSEStream, dict]:
    """Connect, check the head and the welcome event; returns (stream, welcome)."""
    s = SSEStream(server.port, room_path(room, "events", **params), headers)
    try:
        assert s.status == 200, f"events answered {s.status}: {s.body_prefix!r}"
        assert s.headers.get("content-type", "").startswith("text/event-stream"), s.headers
        assert "no-store" in s.headers.get("cache-control", "").lower(), s.headers
        assert "content-length" not in s.headers, s.headers
        first = s.next_item(5)
        assert first == {"retry": "1000"}, f"first item must be 'retry: 1000': {first}"
        ev = s.next_event(5)
        assert ev.get("event") == "welcome", f"first event must be welcome: {ev}"
        w = check_welcome(ev.get("data"), room)
    except BaseException:
        s.close()
        raise
    return s, w


def read_msgs(s: SSEStream, room: str, n: int | None = None, until_seq: int | None = None,
              timeout: float = 5.0) -> list[dict]:
    """Read msg events (any other event fails) until n of them or until seq until_seq."""
    out = []
    deadline = time.monotonic() + timeout
    while (n is not None and len(out) < n) or (until_seq is not None and
                                                (not out or out[-1]["seq"] < until_seq)):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out with {len(out)} msgs (n={n}, until={until_seq})"
        ev = s.next_event(remaining)
        out.append(check_msg_event(ev, room))
    return out


# -- curl -----------------------------------------------------------------------------------------
def test_sse_with_curl_welcome_history_then_live(roomcast):
    server = roomcast("--history", 50)
    sent = post_many(server, ROOM, 4, prefix="pre")
    url = server.url(room_path(ROOM, "events", history=2))
    with CurlStream(url) as cs:
        assert cs.wait_for(lambda c: len(msg_events(c.events())) >= 2, 5), cs.out
        live = post_many(server, ROOM, 3, prefix="live")
        assert cs.wait_for(lambda c: len(msg_events(c.events())) >= 5, 5), cs.out
    head, body = cs.head_body()
    assert head.startswith("HTTP/1.1 200"), head
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (ln.partition(":") for ln in head.split("\r\n")[1:])}
    assert headers.get("content-type", "").startswith("text/event-stream"), headers
    assert "no-store" in headers.get("cache-control", "").lower(), headers
    assert body.startswith("retry: 1000\n\n"), body[:200]
    items = [e for e in cs.events() if "comment" not in e and e.get("event") not in
             ("state", "reactions")]
    assert items[0] == {"retry": "1000"}, items[:2]
    assert items[1].get("event") == "welcome", items[:3]
    w = check_welcome(items[1]["data"], ROOM)
    assert w["seq"] == sent[-1][0], w
    msgs = items[2:]
    want = sent[-2:] + live
    assert len(msgs) == len(want), f"events after welcome: {msgs}"
    for ev, (seq, cid, text) in zip(msgs, want):
        check_msg_event(ev, ROOM, seq=seq, cid=cid, text=text)


# -- resume ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["last-event-id", "since"])
def test_sse_resume_no_dup_no_miss(roomcast, how):
    """Read, disconnect, reconnect (twice) while a poster keeps sending: the stream resumes
    right after the last id seen, every seq exactly once."""
    server = roomcast("--history", 500)
    pre = post_many(server, ROOM, 3, prefix="pre")
    def reconnect(last):
        if how == "last-event-id":
            return open_stream(server, headers={"Last-Event-ID": str(last)})
        return open_stream(server, since=last)

    s, w = open_stream(server)
    assert w["seq"] == pre[-1][0], w
    try:
        with BackgroundPoster(server, ROOM, 45, "r", 0.01) as poster:
            seen = read_msgs(s, ROOM, n=10)
            s.close()
            for rnd in range(2):
                time.sleep(0.2)
                s, w = reconnect(seen[-1]["seq"])
                assert w["seq"] >= seen[-1]["seq"], (w, seen[-1])
                if rnd == 0:
                    seen += read_msgs(s, ROOM, n=10)
                    s.close()
            posted = poster.finished(10)
        seen += read_msgs(s, ROOM, until_seq=posted[-1][0])
    finally:
        s.close()
    assert [m["seq"] for m in seen] == [p[0] for p in posted], (
        f"seqs {[m['seq'] for m in seen]}, posted {[p[0] for p in posted]}")
    assert [m["id"] for m in seen] == [p[1] for p in posted]


def test_sse_resume_gap_and_rules(roomcast):
    """--history 5, head 20: resume after 3 gets gap 4..15 (id 15) then 16..20; Last-Event-ID
    wins over since; an id above the head is treated as 0; resumed streams continue live."""
    server = roomcast("--history", 5)
    sent = post_many(server, ROOM, 20, prefix="g")
    assert sent[-1][0] == 20
    kept = sent[-5:]

    cases = [
        ("Last-Event-ID 3", {"Last-Event-ID": "3"}, {}, (4, 15)),
        ("since 3", None, {"since": 3}, (4, 15)),
        ("Last-Event-ID 14", {"Last-Event-ID": "14"}, {}, (15, 15)),
        ("Last-Event-ID 15", {"Last-Event-ID": "15"}, {}, None),
        ("above head", {"Last-Event-ID": "1000"}, {}, (1, 15)),
        ("padded id", {"Last-Event-ID": " 3 "}, {}, (4, 15)),
    ]
    streams = []
    try:
        for name, headers, params, gap in cases:
            s, w = open_stream(server, headers=headers, **params)
            streams.append(s)
            assert w["seq"] == 20, (name, w)
            if gap is not None:
                ev = s.next_event(5)
                assert ev.get("event") == "gap", f"{name}: gap event first: {ev}"
                assert ev.get("id") == f"{gap[1]}:{w['epoch']}", (
                    f"{name}: a gap event's id is its to: {ev}")
                d = ev.get("data")
                assert (d.get("type"), d.get("room"), d.get("from"), d.get("to")) == (
                    "gap", ROOM, *gap), f"{name}: {d}"
            got = read_msgs(s, ROOM, n=5)
            assert [(m["seq"], m["id"]) for m in got] == [(k[0], k[1]) for k in kept], (name, got)

        # Last-Event-ID wins over since: after 17 (not after 3).
        s, _w = open_stream(server, headers={"Last-Event-ID": "17"}, since=3)
        streams.append(s)
        assert [m["seq"] for m in read_msgs(s, ROOM, n=3)] == [18, 19, 20]

        live = post_many(server, ROOM, 1, prefix="after")
        for s in streams:
            m = read_msgs(s, ROOM, n=1)[0]
            assert (m["seq"], m["id"]) == live[0][:2], m
    finally:
        for s in streams:
            s.close()


def test_sse_bad_last_event_id_400(roomcast):
    server = roomcast()
    for bad in ("abc", "12x", "1.5", "-", "0x10", "1 2"):
        t0 = time.monotonic()
        status, headers, body = http("GET", server.url(room_path(ROOM, "events")),
                                     headers={"Last-Event-ID": bad}, timeout=5)
        assert status == 400, f"Last-Event-ID {bad!r}: {status} {body[:200]!r}"
        assert "json" in headers.get("content-type", ""), (bad, headers)
        assert isinstance(json.loads(body).get("error"), str), (bad, body)
        assert time.monotonic() - t0 < 2, bad
    # Still serving.
    s, _w = open_stream(server)
    s.close()


# -- heartbeat, drain, metrics --------------------------------------------------------------------
def test_sse_heartbeat(roomcast):
    server = roomcast("--sse-heartbeat-secs", 1)
    s, _w = open_stream(server)
    try:
        deadline = time.monotonic() + 2.8
        items = []
        while time.monotonic() < deadline:
            it = s.next_item(max(0.01, deadline - time.monotonic()))
            items.append(it)
            if "comment" in it:
                break
        assert items and items[-1] == {"comment": "hb"}, f"no ': hb' within 2.8 s: {items}"
        assert all("comment" in it or it.get("event") in ("state", "reactions")
                   for it in items), items
        live = post_many(server, ROOM, 1, prefix="hb")
        m = read_msgs(s, ROOM, n=1)[0]
        assert (m["seq"], m["id"]) == live[0][:2]
    finally:
        s.close()


def test_sse_drain_bye(roomcast):
    server = roomcast()
    s, _w = open_stream(server)
    try:
        t0 = time.monotonic()
        server.sigterm()
        ev = s.next_event(3)
        assert ev.get("event") == "bye", f"expected a bye event: {ev}"
        assert ev.get("data") == {"type": "bye", "reconnect_ms": 1000}, ev
        assert time.monotonic() - t0 < 1.5
        with pytest.raises(EOFError):
            while True:
                it = s.next_item(max(0.01, t0 + 6 - time.monotonic()))
                assert "comment" in it, f"event after bye: {it}"
    finally:
        s.close()
    assert server.wait(8) == 0


def test_sse_viewers_metric(roomcast):
    server = roomcast()

    def viewers_are(n):
        text, samples = poll_metrics(server, lambda s: metric_sum(s, "roomcast_sse_viewers") == n)
        assert metric_sum(samples, "roomcast_sse_viewers") == n, (
            f"want {n}: {metric_lines(text, 'roomcast_sse')}")

    viewers_are(0)
    a, _ = open_stream(server)
    b, _ = open_stream(server, room="sse-other")
    try:
        viewers_are(2)
        a.close()
        viewers_are(1)
    finally:
        a.close()
        b.close()
    viewers_are(0)


def test_room_limit_on_polls_and_streams(roomcast):
    """--max-rooms 1 on one shard: a poll of a second room gets 503 unavailable, an SSE stream
    of it gets an error event and is closed; the first room keeps working. (The first room holds
    a message: a room that never had one is reclaimed when its last viewer leaves.)"""
    server = roomcast("--max-rooms", 1, "--poll-hold-ms", 1000, shards=1)
    s, _w = open_stream(server, room="only-room")
    s.close()
    st, _h, body = post_message(server, "only-room", "w", {"text": "here", "cid": "h-1"})
    assert st == 200, body
    status, _h, obj, _t = longpoll(server, "second-room")
    assert status == 503 and obj.get("error") == "unavailable", (status, obj)
    with SSEStream(server.port, room_path("third-room", "events")) as t:
        assert t.status == 200, t.status  # the stream starts before the owner answers
        assert t.next_item(5) == {"retry": "1000"}
        ev = t.next_event(5)
        assert ev.get("event") == "error" and ev["data"].get("code") == "unavailable", ev
        with pytest.raises(EOFError):
            t.next_event(5)
    ans, _ = poll_answer(server, "only-room", history=0)
    assert ans["seq"] == 1, ans
