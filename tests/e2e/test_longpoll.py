"""HTTP long-poll, GET /rooms/R/messages (docs/protocol.md, "Long-poll"): history without a
cursor, held polls, cursors (catch-up, expiry, tampering), adaptive timeoutMs, keep-alive and
pipelining, drain, metrics. Short holds (--poll-hold-ms) keep every test quick."""
import asyncio
import json
import subprocess
import threading
import time

from httputil import (AsyncHttpConn, HttpConn, check_poll_answer, get_request, longpoll,
                      poll_answer, post_many, room_path)
from metricsutil import fetch_metrics, metric_lines, metric_sum, poll_metrics
from rcutil import check_msg, close_all, curl, join, post_message, recv_next, run

ROOM = "lp-room"


def poll_ok(server, room=ROOM, **kw):
    return poll_answer(server, room, **kw)


def check_msgs(objs, room, expected):
    """objs are exactly the msg objects for expected [(seq, id, text)], in order."""
    assert [o.get("type") for o in objs] == ["msg"] * len(objs), f"only msgs expected: {objs}"
    assert [o["seq"] for o in objs] == [e[0] for e in expected], (
        f"seqs {[o['seq'] for o in objs]}, want {[e[0] for e in expected]}")
    for o, (seq, cid, text) in zip(objs, expected):
        check_msg(o, room, seq=seq, id=cid, text=text)


def curl_get(url, max_time=5):
    """GET with curl -i; returns (status, headers, JSON body, curl's time_total)."""
    r = curl("-i", "-w", "\n%{time_total}", url, timeout=max_time)
    assert r.returncode == 0, f"curl failed ({r.returncode}): {r.stderr}"
    out, _, total = r.stdout.rpartition("\n")
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, json.loads(body), float(total)


# -- no cursor ------------------------------------------------------------------------------------
def test_no_cursor_history_with_curl(roomcast):
    """Empty room: no messages, cursor at 0; after 15 messages the default is the last 10;
    history=N picks N; all answered at once; a cursor behind the head catches up at once."""
    server = roomcast("--history", 50, "--poll-hold-ms", 5000)
    url = server.url(room_path(ROOM, "messages"))

    status, headers, empty, took = curl_get(url)
    assert status == 200, empty
    assert "application/json" in headers.get("content-type", ""), headers
    assert "no-store" in headers.get("cache-control", "").lower(), headers
    check_poll_answer(empty, ROOM)
    assert empty["messages"] == [] and empty["seq"] == 0, empty
    assert took < 1.0, f"a poll without cursor took {took:.2f} s (must not be held)"

    sent = post_many(server, ROOM, 15, prefix="nc")
    assert sent[0][0] == 1

    status, _h, ans, took = curl_get(url)
    assert status == 200, ans
    check_poll_answer(ans, ROOM)
    check_msgs(ans["messages"], ROOM, sent[-10:])
    assert ans["seq"] == sent[-1][0] and took < 1.0, (ans["seq"], took)
    assert ans["epoch"] == empty["epoch"], (ans, empty)

    async def ws_epoch():
        ws, w = await join(server, ROOM, user="epoch-check")
        await close_all([ws])
        return w
    w = run(ws_epoch(), 10)
    assert (w["epoch"], w["seq"]) == (ans["epoch"], ans["seq"]), (w, ans)

    for n, want in ((3, sent[-3:]), (0, []), (15, sent), (40, sent)):
        status, _h, a, _t = curl_get(server.url(room_path(ROOM, "messages", history=n)))
        assert status == 200, a
        check_msgs(check_poll_answer(a, ROOM)["messages"], ROOM, want)
        assert a["seq"] == sent[-1][0], a

    # The cursor of the empty room (seq 0) is behind the head now: everything, at once.
    status, _h, a, took = curl_get(server.url(room_path(ROOM, "messages", cursor=empty["cursor"])))
    assert status == 200, a
    check_msgs(check_poll_answer(a, ROOM)["messages"], ROOM, sent)
    assert a["seq"] == sent[-1][0] and took < 1.0, (a["seq"], took)


def test_poll_history_flag(roomcast):
    server = roomcast("--poll-history", 3, "--poll-hold-ms", 1000)
    sent = post_many(server, ROOM, 8, prefix="ph")
    ans, took = poll_ok(server)
    check_msgs(ans["messages"], ROOM, sent[-3:])
    assert ans["seq"] == sent[-1][0] and took < 1.0, (ans, took)


# -- held polls -----------------------------------------------------------------------------------
def test_parked_poll_answered_promptly_with_curl(roomcast):
    server = roomcast("--poll-hold-ms", 10000)
    post_many(server, ROOM, 2, prefix="pre")
    head, _ = poll_ok(server, history=0)
    url = server.url(room_path(ROOM, "messages", cursor=head["cursor"]))
    proc = subprocess.Popen(["curl", "-sS", "--max-time", "8", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert proc.poll() is None, (
            f"the poll at the head was answered before any message: {proc.communicate()}")
        t_post = time.monotonic()
        st, _h, body = post_message(server, ROOM, "poster", {"text": "wake up", "cid": "wake-1"})
        assert st == 200, body
        seq = json.loads(body)["seq"]
        out, err = proc.communicate(timeout=9)
        answered = time.monotonic() - t_post
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, f"curl exit {proc.returncode}: {err}"
    ans = check_poll_answer(json.loads(out), ROOM)
    assert answered < 0.5, f"held poll answered {answered:.3f} s after the message was posted"
    check_msgs(ans["messages"], ROOM, [(seq, "wake-1", "wake up")])
    assert ans["seq"] == seq == head["seq"] + 1, (ans, head)
    assert ans["cursor"] != head["cursor"], ans


def test_hold_time_honoured(roomcast):
    """Held for --poll-hold-ms, then empty with the same cursor; traffic in another room does
    not wake the poll."""
    server = roomcast("--poll-hold-ms", 1000)
    # At the head of an empty room (seq 0) and of a room with messages.
    for prepare in (0, 3):
        room = f"hold-{prepare}"
        post_many(server, room, prepare, prefix="h")
        head, _ = poll_ok(server, room, history=0)
        assert head["seq"] == prepare, head
        elsewhere = threading.Timer(0.3, post_many, (server, "hold-elsewhere", 2, "x", "x"))
        elsewhere.start()
        try:
            ans, took = poll_ok(server, room, cursor=head["cursor"], timeout=6)
        finally:
            elsewhere.join(5)
        assert ans["messages"] == [], ans
        assert ans["cursor"] == head["cursor"] and ans["seq"] == head["seq"], (ans, head)
        assert 0.95 <= took < 3.0, f"hold 1000 ms, answered after {took:.3f} s"


def test_many_parked_polls_answered_by_one_message(roomcast):
    """40 polls parked on both shards: one message answers every one of them promptly, with
    one answer built per shard and shared (a quiet room advises no wait, so no jitter)."""
    server = roomcast("--poll-hold-ms", 10000)
    post_many(server, ROOM, 1, prefix="pre")
    head, _ = poll_ok(server, history=0)
    built_before = metric_sum(fetch_metrics(server)[2], "roomcast_longpoll_answers_built_total")

    async def scenario():
        conns = await asyncio.gather(*(AsyncHttpConn.open(server.port) for _ in range(40)))
        try:
            path = room_path(ROOM, "messages", cursor=head["cursor"])
            tasks = [asyncio.create_task(c.request("GET", path, timeout=8)) for c in conns]
            await asyncio.sleep(0.5)
            early = [t for t in tasks if t.done()]
            assert not early, f"{len(early)} polls answered before any message"
            t_post = time.monotonic()
            msg = await asyncio.to_thread(post_many, server, ROOM, 1, "poster", "many")
            results = await asyncio.wait_for(asyncio.gather(*tasks), 8)
            took = time.monotonic() - t_post
            assert took < 1.0, f"40 parked polls all answered {took:.2f} s after the post"
            for status, _h, body in results:
                assert status == 200, body
                ans = check_poll_answer(json.loads(body), ROOM)
                check_msgs(ans["messages"], ROOM, msg)
                assert ans["seq"] == msg[0][0], ans
            bodies = {body for _s, _h, body in results}
            assert len(bodies) == 1, f"{len(bodies)} different answers for 40 polls"
            built = metric_sum(fetch_metrics(server)[2],
                               "roomcast_longpoll_answers_built_total") - built_before
            assert built <= 2, f"{built} answers built for 40 parked polls (one per shard)"
        finally:
            await asyncio.gather(*(c.close() for c in conns))
    run(scenario(), 30)


# -- cursors --------------------------------------------------------------------------------------
def flip(cursor: str, i: int) -> str:
    c = cursor[i]
    return cursor[:i] + ("B" if c == "A" else "A") + cursor[i + 1:]


def test_bad_cursors_400(roomcast):
    server = roomcast("--poll-hold-ms", 1000)
    sent = post_many(server, ROOM, 3, prefix="bc")
    post_many(server, "other-room", 2, prefix="o")
    valid, _ = poll_ok(server, history=0)
    foreign, _ = poll_ok(server, "other-room", history=0)
    cur = valid["cursor"]
    assert len(cur) >= 8, cur
    bad = {
        "flip char 1": flip(cur, 1),
        "flip char 3": flip(cur, 3),
        "flip middle": flip(cur, len(cur) // 2),
        "flip near end": flip(cur, len(cur) - 3),
        "truncated by 1": cur[:-1],
        "truncated by 4": cur[:-4],
        "half": cur[:len(cur) // 2],
        "one more char": cur + "A",
        "garbage": "not-a-cursor",
        "non-base64": "!!**$$",
        "too long": "A" * 400,
        "empty": "",
        "foreign room": foreign["cursor"],
    }
    for name, c in bad.items():
        status, headers, obj, took = longpoll(server, ROOM, c, timeout=5)
        assert status == 400, f"{name} cursor {c!r}: {status} {obj!r}"
        assert isinstance(obj, dict) and obj.get("error") == "bad_cursor", f"{name}: {obj!r}"
        assert "no-store" in headers.get("cache-control", "").lower(), (name, headers)
        assert took < 0.9, f"{name}: a bad cursor must be refused at once, took {took:.2f} s"
    # A cursor of room A is also refused in room B the other way round.
    status, _h, obj, _t = longpoll(server, "other-room", cur)
    assert status == 400 and obj.get("error") == "bad_cursor", (status, obj)

    # Still serving: the valid cursor catches up, a fresh poll works, a send works.
    more = post_many(server, ROOM, 2, prefix="after")
    ans, took = poll_ok(server, cursor=cur)
    check_msgs(ans["messages"], ROOM, more)
    assert took < 0.9, took
    ans, _ = poll_ok(server)
    check_msgs(ans["messages"], ROOM, sent + more)


def test_expired_cursor_gap(roomcast):
    """--history 5: a cursor older than what is kept gets a gap for exactly what is gone, then
    the kept messages, cursor at the head."""
    server = roomcast("--history", 5, "--poll-hold-ms", 1000)
    cursors = {}
    sent = []
    for upto in (3, 17, 18, 23):
        sent += post_many(server, ROOM, upto - len(sent), prefix=f"x{upto}")
        ans, _ = poll_ok(server, history=0)
        assert ans["seq"] == upto == sent[-1][0], ans
        cursors[upto] = ans["cursor"]
    kept = sent[-5:]  # seqs 19..23
    assert kept[0][0] == 19

    for at, gap in ((3, (4, 18)), (17, (18, 18)), (18, None)):
        ans, took = poll_ok(server, cursor=cursors[at])
        assert took < 0.9, f"catch-up from {at} must be answered at once ({took:.2f} s)"
        objs = ans["messages"]
        if gap is not None:
            assert objs and objs[0].get("type") == "gap", f"cursor at {at}: no gap first: {objs}"
            g = objs[0]
            assert (g.get("room"), g.get("from"), g.get("to")) == (ROOM, *gap), (
                f"cursor at {at}: gap {g}, want from {gap[0]} to {gap[1]}")
            objs = objs[1:]
        check_msgs(objs, ROOM, kept)
        assert ans["seq"] == 23, ans

    # The fresh cursor is at the head: the next poll is held and comes back empty.
    ans, _ = poll_ok(server, cursor=cursors[3])
    again, took = poll_ok(server, cursor=ans["cursor"], timeout=6)
    assert again["messages"] == [] and again["seq"] == 23 and took >= 0.95, (again, took)


def test_catch_up_capped_by_max_history_request(roomcast):
    server = roomcast("--history", 50, "--max-history-request", 4, "--poll-hold-ms", 1000)
    post_many(server, ROOM, 2, prefix="c0")
    start, _ = poll_ok(server, history=0)
    sent = post_many(server, ROOM, 10, prefix="c1")  # seqs 3..12
    cur = start["cursor"]
    for want in (sent[0:4], sent[4:8], sent[8:10]):
        ans, took = poll_ok(server, cursor=cur)
        check_msgs(ans["messages"], ROOM, want)
        assert ans["seq"] == want[-1][0], f"cursor must point at the last one sent: {ans}"
        assert took < 0.9, f"a cursor behind the head is answered at once ({took:.2f} s)"
        cur = ans["cursor"]
    ans, took = poll_ok(server, cursor=cur, timeout=6)
    assert ans["messages"] == [] and took >= 0.95, (ans, took)

    # Without a cursor the history is capped too (default --poll-history 10 and history=100).
    for params in ({}, {"history": 100}):
        ans, _ = poll_ok(server, **params)
        check_msgs(ans["messages"], ROOM, sent[-4:])


def test_expired_cursor_gap_then_capped_catch_up(roomcast):
    """--history 10, --max-history-request 4, cursor at 2, head 30: gap 3..20 and 21..24, then
    25..28, then 29..30, then held."""
    server = roomcast("--history", 10, "--max-history-request", 4, "--poll-hold-ms", 1000)
    post_many(server, ROOM, 2, prefix="e0")
    start, _ = poll_ok(server, history=0)
    sent = post_many(server, ROOM, 28, prefix="e1")  # seqs 3..30, kept 21..30
    ans, _ = poll_ok(server, cursor=start["cursor"])
    g = ans["messages"][0] if ans["messages"] else {}
    assert (g.get("type"), g.get("room"), g.get("from"), g.get("to")) == ("gap", ROOM, 3, 20), ans
    check_msgs(ans["messages"][1:], ROOM, sent[18:22])
    assert ans["seq"] == 24, ans
    for want in (sent[22:26], sent[26:28]):
        ans, _ = poll_ok(server, cursor=ans["cursor"])
        check_msgs(ans["messages"], ROOM, want)
        assert ans["seq"] == want[-1][0], ans
    ans, took = poll_ok(server, cursor=ans["cursor"], timeout=6)
    assert ans["messages"] == [] and took >= 0.95, (ans, took)


def test_bad_requests_400(roomcast):
    server = roomcast("--poll-hold-ms", 1000)
    for room, params in (("bad room", {}), ("x" * 65, {}), (ROOM, {"history": "abc"}),
                         (ROOM, {"history": "-1"}), (ROOM, {"user": "bad user!"})):
        status, _h, obj, took = longpoll(server, room, None, **params)
        assert status == 400, f"{room!r} {params}: {status} {obj!r}"
        assert isinstance(obj, dict) and obj.get("error") == "bad_request", obj
        assert took < 0.9, took


# -- same messages as a WebSocket viewer ----------------------------------------------------------
def test_longpoll_and_websocket_viewer_see_the_same(roomcast):
    """30 messages over HTTP (bursts and pauses) while a long-poller loops with its cursor and a
    WebSocket viewer watches: both get every seq once, in order, with the same objects."""
    server = roomcast("--history", 100, "--poll-hold-ms", 1000)
    total = 30

    def poster(out, done):
        try:
            for i in range(total):
                cid, text = f"same-{i}", f"same line {i}"
                st, _h, body = post_message(server, ROOM, "poster", {"text": text, "cid": cid})
                assert st == 200, body
                out.append((json.loads(body)["seq"], cid, text))
                time.sleep(0.15 if i % 7 == 3 else 0.003)
        finally:
            done.set()

    def poller(cursor, posted, done, got, polls):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ans, _t = poll_ok(server, cursor=cursor, timeout=5)
            polls.append(ans)
            got.extend(ans["messages"])
            cursor = ans["cursor"]
            if done.is_set() and posted and ans["seq"] >= posted[-1][0]:
                return
            if ans["timeoutMs"]:
                time.sleep(min(ans["timeoutMs"], 2000) / 1000)
        raise AssertionError(f"poller did not reach the head in 20 s: got {len(got)} objects")

    async def scenario():
        ws, w = await join(server, ROOM, user="ws-viewer")
        try:
            first, _ = await asyncio.to_thread(poll_ok, server, history=0)
            assert (first["seq"], first["epoch"]) == (w["seq"], w["epoch"]), (first, w)
            posted, got, polls, done = [], [], [], threading.Event()
            poll_task = asyncio.create_task(
                asyncio.to_thread(poller, first["cursor"], posted, done, got, polls))
            post_task = asyncio.create_task(asyncio.to_thread(poster, posted, done))
            ws_msgs = []
            while len(ws_msgs) < total:
                ws_msgs.append(await recv_next(ws, 10))
            await asyncio.wait_for(asyncio.gather(post_task, poll_task), 30)
            check_msgs(got, ROOM, posted)
            check_msgs(ws_msgs, ROOM, posted)
            fields = ("seq", "id", "user", "text", "ts")
            assert [tuple(m[k] for k in fields) for m in got] == \
                   [tuple(m[k] for k in fields) for m in ws_msgs]
            assert len(polls) >= 2, polls
        finally:
            await close_all([ws])
    run(scenario(), 60)


# -- adaptive timeoutMs ---------------------------------------------------------------------------
def test_keepalive_several_polls_on_one_connection(roomcast):
    server = roomcast("--poll-hold-ms", 1000)
    post_many(server, ROOM, 2, prefix="ka")

    def answer(c, timeout=5.0):
        status, headers, body, arrived = c.response(timeout)
        assert status == 200, body
        assert "no-store" in headers.get("cache-control", "").lower(), headers
        assert headers.get("connection", "").lower() != "close", headers
        return check_poll_answer(json.loads(body), ROOM), arrived

    with HttpConn(server.port) as c:
        c.send(get_request(room_path(ROOM, "messages", history=0)))
        a, _ = answer(c)
        # Behind the head: answered at once.
        one = post_many(server, ROOM, 1, prefix="ka-one")
        c.send(get_request(room_path(ROOM, "messages", cursor=a["cursor"])))
        a, _ = answer(c)
        check_msgs(a["messages"], ROOM, one)
        # At the head: held until a message.
        c.send(get_request(room_path(ROOM, "messages", cursor=a["cursor"])))
        time.sleep(0.3)
        t_post = time.monotonic()
        two = post_many(server, ROOM, 1, prefix="ka-two")
        a, arrived = answer(c)
        check_msgs(a["messages"], ROOM, two)
        assert arrived - t_post < 0.5, arrived - t_post
        # At the head, nothing comes: held for the hold time, then empty.
        t0 = time.monotonic()
        c.send(get_request(room_path(ROOM, "messages", cursor=a["cursor"])))
        b, arrived = answer(c)
        assert b["messages"] == [] and b["cursor"] == a["cursor"], b
        assert arrived - t0 >= 0.95, arrived - t0
        c.send(get_request("/healthz"))
        status, _h, body, _a = c.response()
        assert status == 200, body


def test_pipelined_poll_waits_behind_held_poll(roomcast):
    server = roomcast("--poll-hold-ms", 1000)
    sent = post_many(server, ROOM, 2, prefix="pl")
    head, _ = poll_ok(server, history=0)
    held = get_request(room_path(ROOM, "messages", cursor=head["cursor"]))
    latest = get_request(room_path(ROOM, "messages", history=1))

    # Nothing arrives: the first is answered after the hold, the second right behind it.
    with HttpConn(server.port) as c:
        t0 = time.monotonic()
        c.send(held + latest)
        s1, _h1, b1, at1 = c.response(4)
        s2, _h2, b2, at2 = c.response(4)
        assert (s1, s2) == (200, 200), (b1, b2)
        first, second = json.loads(b1), json.loads(b2)
        assert first["messages"] == [] and first["cursor"] == head["cursor"], (
            f"first answer must be the held poll's: {first}")
        assert at1 - t0 >= 0.95, f"held poll answered after {at1 - t0:.3f} s"
        check_msgs(second["messages"], ROOM, sent[-1:])
        assert at2 >= at1

    # A message arrives during the hold: the held poll gets it, then the second runs.
    with HttpConn(server.port) as c:
        c.send(held + latest)
        time.sleep(0.3)
        t_post = time.monotonic()
        m = post_many(server, ROOM, 1, prefix="pl-live")
        s1, _h1, b1, at1 = c.response(4)
        s2, _h2, b2, _at2 = c.response(4)
        assert (s1, s2) == (200, 200), (b1, b2)
        check_msgs(json.loads(b1)["messages"], ROOM, m)
        assert at1 - t_post < 0.5, at1 - t_post
        check_msgs(json.loads(b2)["messages"], ROOM, m)

    # A send pipelined behind the held poll waits too: it does not wake the poll before it.
    head, _ = poll_ok(server, history=0)
    body = json.dumps({"text": "behind", "cid": "pl-behind"}).encode()
    post = (f"POST {room_path(ROOM, 'messages', user='piper')} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
    with HttpConn(server.port) as c:
        t0 = time.monotonic()
        c.send(get_request(room_path(ROOM, "messages", cursor=head["cursor"])) + post)
        s1, _h1, b1, at1 = c.response(4)
        s2, _h2, b2, _at2 = c.response(4)
        assert (s1, s2) == (200, 200), (b1, b2)
        first = json.loads(b1)
        assert first["messages"] == [] and at1 - t0 >= 0.95, (first, at1 - t0)
        assert json.loads(b2) == {"seq": head["seq"] + 1, "id": "pl-behind"}, b2


# -- drain ----------------------------------------------------------------------------------------
def test_drain_answers_held_poll_with_bye(roomcast):
    server = roomcast("--poll-hold-ms", 10000, "--bye-reconnect-ms", 1500)
    post_many(server, ROOM, 1, prefix="dr")
    head, _ = poll_ok(server, history=0)
    with HttpConn(server.port, timeout=5) as c:
        c.send(get_request(room_path(ROOM, "messages", cursor=head["cursor"])))
        poll_metrics(server, lambda s: metric_sum(s, "roomcast_longpoll_parked") >= 1, 3)
        time.sleep(0.2)
        t0 = time.monotonic()
        server.sigterm()
        status, headers, body, arrived = c.response(5)
        assert arrived - t0 < 1.0, f"held poll answered {arrived - t0:.2f} s after SIGTERM"
        assert status == 200, body
        ans = check_poll_answer(json.loads(body), ROOM)
        assert ans["messages"] and ans["messages"][-1] == {"type": "bye", "reconnect_ms": 1500}, ans
        assert ans["timeoutMs"] == 1500, ans
        assert headers.get("connection", "").lower() == "close", headers
        c.expect_eof(5)
    assert server.wait(8) == 0


# -- metrics --------------------------------------------------------------------------------------
def test_longpoll_metrics(roomcast):
    server = roomcast("--poll-hold-ms", 5000)
    sent = post_many(server, ROOM, 3, prefix="mt")
    a, _ = poll_ok(server)                                  # request 1: 3 messages
    check_msgs(a["messages"], ROOM, sent)

    def parked_is(n, within=3.0):
        text, samples = poll_metrics(
            server, lambda s: metric_sum(s, "roomcast_longpoll_parked") == n, within)
        assert metric_sum(samples, "roomcast_longpoll_parked") == n, (
            f"want parked {n}: {metric_lines(text, 'roomcast_longpoll')}")

    with HttpConn(server.port) as c:
        c.send(get_request(room_path(ROOM, "messages", cursor=a["cursor"])))  # request 2: held
        parked_is(1)
        one = post_many(server, ROOM, 1, prefix="mt-live")
        status, _h, body, _at = c.response()
        assert status == 200, body
        b = check_poll_answer(json.loads(body), ROOM)
        check_msgs(b["messages"], ROOM, one)

    names = ("roomcast_longpoll_requests_total", "roomcast_longpoll_responses_total",
             "roomcast_longpoll_response_messages_total", "roomcast_longpoll_parked",
             "roomcast_sse_viewers")

    def settled(s):
        return (metric_sum(s, "roomcast_longpoll_parked") == 0
                and metric_sum(s, "roomcast_longpoll_responses_total") >= 2)
    text, samples = poll_metrics(server, settled, 3)
    present = {n for n, _l, _v in samples}
    missing = [n for n in names if n not in present]
    assert not missing, (f"missing from /metrics: {missing}\n"
                         f"{metric_lines(text, 'roomcast_longpoll', 'roomcast_sse')}")
    got = {n: metric_sum(samples, n) for n in names}
    assert got == {"roomcast_longpoll_requests_total": 2, "roomcast_longpoll_responses_total": 2,
                   "roomcast_longpoll_response_messages_total": 4, "roomcast_longpoll_parked": 0,
                   "roomcast_sse_viewers": 0}, got

    # A parked poll whose client goes away is forgotten (well before its 5 s hold ends).
    with HttpConn(server.port) as c:
        c.send(get_request(room_path(ROOM, "messages", cursor=b["cursor"])))
        parked_is(1)
    parked_is(0, within=2.0)


# -- restarts (same cursor key) --------------------------------------------------------------------
KEY_A = "0123456789abcdef" * 4
KEY_B = "fedcba9876543210" * 4


def test_cursor_from_earlier_epoch_counts_as_seq_0(roomcast):
    """A restart without --data-dir starts a new epoch; with the same --cursor-key an old cursor
    is still genuine: its answer opens with a reset gap naming the new epoch, then the new epoch
    from seq 1 (even when the old seq is below the new head). A server with another key refuses
    it."""
    first = roomcast("--cursor-key", KEY_A, "--poll-hold-ms", 1000)
    post_many(first, ROOM, 5, prefix="old")
    low, _ = poll_ok(first, history=0)        # seq 5
    assert low["seq"] == 5, low
    assert first.stop() == 0

    second = roomcast("--cursor-key", KEY_A, "--poll-hold-ms", 1000)
    sent = post_many(second, ROOM, 7, prefix="new")
    ans, took = poll_ok(second, cursor=low["cursor"])
    assert ans["epoch"] != low["epoch"], f"a restart must start a new epoch: {ans} {low}"
    assert ans["messages"][0] == {"type": "gap", "room": ROOM, "from": 1, "to": 0,
                                  "epoch": ans["epoch"], "reset": True}, ans
    check_msgs(ans["messages"][1:], ROOM, sent)   # 1..7, not 6..7
    assert ans["seq"] == 7 and took < 0.9, (ans, took)

    other = roomcast("--cursor-key", KEY_B, "--poll-hold-ms", 1000)
    status, _h, obj, _t = longpoll(other, ROOM, low["cursor"])
    assert status == 400 and obj.get("error") == "bad_cursor", (status, obj)


def test_data_dir_keeps_cursors_valid_across_a_restart(roomcast, tmp_path):
    """With --data-dir the cursor key is created once (mode 0600) and reused, and the log keeps
    the room's epoch and seqs: a cursor from before a restart resumes where it was."""
    first = roomcast("--data-dir", tmp_path, "--poll-hold-ms", 1000)
    post_many(first, ROOM, 2, prefix="before")
    old, _ = poll_ok(first, history=0)
    assert first.stop() == 0
    key = tmp_path / "cursor.key"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600, key
    text = key.read_text()

    second = roomcast("--data-dir", tmp_path, "--poll-hold-ms", 1000)
    sent = post_many(second, ROOM, 3, prefix="after")
    assert [s[0] for s in sent] == [3, 4, 5], f"seq must continue after the restart: {sent}"
    ans, _took = poll_ok(second, cursor=old["cursor"])
    assert ans["epoch"] == old["epoch"], (ans, old)
    check_msgs(ans["messages"], ROOM, sent)
    assert key.read_text() == text, "the key file changed across the restart"

