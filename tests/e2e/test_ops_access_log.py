"""The access log (--access-log, docs/operations.md "Access log"): one line per HTTP request
answered and per WebSocket, SSE or long-poll session ended, as text or JSON (--log-format), with
the user, the transport, the status, the bytes and the duration, and never a token; SIGHUP
reopens the file (logrotate's rename, then reload); a file that cannot be written is counted in
/metrics, logged once, and the server keeps serving."""
import asyncio
import json
import os
import re
import signal
import time
import urllib.parse

import jwt

from httputil import SSEStream
from rcutil import HOST, check_welcome, http, recv_json, run, ws_connect

SECRET = "access-log-secret-0123456789"
ROOM = "alog"
# "- - USER [TIME] "METHOD TARGET" STATUS BYTES SECONDS TRANSPORT"
TEXT = re.compile(r'^- - (\S+) \[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] "(\S+) (\S+)" '
                  r'(\d{3}) (\d+) (\d+\.\d{3}) (http|ws|sse|poll)$')


def token(sub="alice", ttl=600):
    now = int(time.time())
    return jwt.encode({"sub": sub, "exp": now + ttl, "iat": now}, SECRET, algorithm="HS256")


def lines_of(path, want, timeout=5.0):
    """The file's lines once it has at least `want` of them (lines are written when a shard's loop
    is about to sleep, so right after the answer, but not before it), without those of the test
    harness's readiness probe (a plain GET /healthz)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        lines = [x for x in lines if '"GET /healthz"' not in x and '"path":"/healthz"' not in x]
        if len(lines) >= want or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def parsed(line):
    m = TEXT.match(line)
    assert m, f"not an access log line: {line!r}"
    user, ts, method, target, status, size, secs, transport = m.groups()
    return {"user": user, "ts": ts, "method": method, "target": target, "status": int(status),
            "bytes": int(size), "secs": float(secs), "transport": transport}


def find(records, **want):
    hits = [r for r in records if all(r[k] == v for k, v in want.items())]
    assert len(hits) == 1, (want, records)
    return hits[0]


def start(roomcast, tmp_path, *extra):
    secret = tmp_path / "jwt.secret"
    secret.write_text(SECRET)
    log = tmp_path / "access.log"
    server = roomcast("--dev-auth=off", "--jwt-secret-file", secret, "--access-log", log, *extra)
    return server, log


def ws_session(server, tok, hold=0.3):
    async def go():
        url = f"ws://{HOST}:{server.port}/ws?" + urllib.parse.urlencode({"room": ROOM,
                                                                         "token": tok})
        ws = await ws_connect(url)
        check_welcome(await recv_json(ws), ROOM)
        await asyncio.sleep(hold)
        await ws.close()
    run(go(), 10)


def test_lines_for_http_websocket_sse_404_and_401_without_tokens(roomcast, tmp_path):
    server, log = start(roomcast, tmp_path)
    good = token()
    assert http("GET", server.url("/healthz?probe=1"))[0] == 200
    assert http("GET", server.url("/no/such/thing?a=b"))[0] == 404
    bad = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl"
    assert http("GET", server.url(f"/rooms/{ROOM}/messages?token={bad}"))[0] == 401
    st, _h, _b = http("POST", server.url(f"/rooms/{ROOM}/messages"), json.dumps({"text": "x"}),
                      {"Authorization": f"Bearer {bad}x", "Content-Type": "application/json"})
    assert st == 401
    ws_session(server, good)
    with SSEStream(server.port, f"/rooms/{ROOM}/events?token={good}") as sse:
        assert sse.status == 200 and sse.next_event()["event"] == "welcome"
        time.sleep(0.2)
    records = [parsed(line) for line in lines_of(log, 6)]
    assert len(records) == 6, records
    r = find(records, target="/healthz?probe=1")
    assert (r["method"], r["status"], r["transport"], r["user"]) == ("GET", 200, "http", "-")
    assert r["bytes"] > 0 and r["secs"] < 1
    assert find(records, status=404)["target"] == "/no/such/thing?a=b"
    r = find(records, status=401, method="GET")
    assert (r["target"], r["transport"]) == (f"/rooms/{ROOM}/messages?token=<redacted>", "poll")
    assert find(records, status=401, method="POST")["target"] == f"/rooms/{ROOM}/messages"
    r = find(records, transport="ws")
    assert (r["status"], r["user"], r["target"]) == (101, "alice",
                                                      f"/ws?room={ROOM}&token=<redacted>")
    assert r["secs"] >= 0.2 and r["bytes"] > 129  # the 101 head, then welcome (and the close)
    r = find(records, transport="sse")
    assert (r["status"], r["user"]) == (200, "alice") and r["secs"] >= 0.1 and r["bytes"] > 100
    text = log.read_text()
    assert good not in text and bad not in text and SECRET not in text
    assert "Authorization" not in text and "Bearer" not in text


def test_a_long_poll_is_one_line_when_answered_and_json_lines_parse(roomcast, tmp_path):
    server, log = start(roomcast, tmp_path, "--log-format", "json", "--poll-hold-ms", "300")
    st, _h, body = http("GET", server.url(f"/rooms/{ROOM}/messages"))
    assert st == 200
    cursor = json.loads(body)["cursor"]
    t0 = time.monotonic()
    st, _h, _b = http("GET", server.url(f"/rooms/{ROOM}/messages?cursor={cursor}&token={token()}"))
    assert st == 200 and time.monotonic() - t0 >= 0.25  # held until --poll-hold-ms
    records = [json.loads(line) for line in lines_of(log, 2)]
    assert len(records) == 2, records
    for r in records:
        assert set(r) == {"ts", "peer", "method", "path", "status", "bytes", "duration_s", "user",
                          "transport"}, r
        assert r["transport"] == "poll" and r["status"] == 200 and r["peer"] is None
    assert records[0]["user"] is None and records[1]["user"] == "alice"
    assert records[1]["duration_s"] >= 0.25 and "<redacted>" in records[1]["path"]
    assert token() not in log.read_text()


def test_sighup_reopens_the_file_after_a_rename(roomcast, tmp_path):
    log = tmp_path / "access.log"
    conf = tmp_path / "roomcast.conf"
    conf.write_text(f"access-log = {log}\n")  # the setting from the config file, this time
    server = roomcast("--config", conf)
    assert http("GET", server.url("/healthz?before"))[0] == 200
    assert len(lines_of(log, 1)) == 1
    rotated = tmp_path / "access.log.1"
    os.rename(log, rotated)  # logrotate: rename, then `systemctl reload`
    assert http("GET", server.url("/healthz?between"))[0] == 200  # still the open file
    assert len(lines_of(rotated, 2)) == 2
    os.kill(server.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "reload done" not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.exists(), server.log_text()[-2000:]  # opened again: created
    time.sleep(1.2)  # each shard takes the new file at its next loop turn (idle: once a second)
    for i in range(4):
        assert http("GET", server.url(f"/healthz?after{i}"))[0] == 200
    new = lines_of(log, 4)
    assert [parsed(line)["target"] for line in new] == [f"/healthz?after{i}" for i in range(4)]
    assert [parsed(line)["target"] for line in lines_of(rotated, 2, 0)] == [
        "/healthz?before", "/healthz?between"]
    assert "reload: access log" in server.log_text()


def metric_total(text, name):
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def test_a_file_that_cannot_be_written_is_counted_and_logged_once(roomcast):
    # The setting from the environment, this time; /dev/full fails every write with ENOSPC.
    server = roomcast(shards=1, env=dict(os.environ, ROOMCAST_ACCESS_LOG="/dev/full"))
    for _ in range(5):
        assert http("GET", server.url("/healthz"))[0] == 200
        time.sleep(1.1 / 5)
    deadline = time.monotonic() + 5
    errors = 0
    while time.monotonic() < deadline:
        st, _h, body = http("GET", server.url("/metrics"))
        errors = metric_total(body.decode(), "roomcast_access_log_write_errors_total")
        if errors >= 2:
            break
        time.sleep(0.2)
    assert errors >= 2
    assert server.log_text().count("write failed") == 1, server.log_text()[-2000:]
    assert http("GET", server.url("/healthz"))[0] == 200
