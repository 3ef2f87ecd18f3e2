"""Admin API (--admin-key): POST /admin/rooms/R/publish with "prio"/"kind", and retraction,
DELETE /admin/rooms/R/messages/S. A retracted message never shows again (WebSocket history and
resume, long-poll, SSE); its retract event takes its place. Priority events (prio messages and
retractions) are replayed first on a join or resume, outlive ordinary history, and still reach a
slow viewer that is skipped ahead with a gap."""
import asyncio
import json
import re

import pytest

from httputil import HttpConn, SSEStream, poll_answer, post_many, room_path
from rcutil import (RawWS, barrier, check_msg, check_welcome, close_all, http, join, now_ms,
                    post_message, recv_next, run, send_op, ws_connect)

ROOM = "prio-room"
KEY = "e2e-admin-key-0123456789"
MSG_KEYS = {"type", "room", "seq", "id", "user", "text", "ts"}


# -- helpers ------------------------------------------------------------------------------------
def admin(server, method, path, body=None, auth="key"):
    """An admin request; auth "key" sends the right Bearer key, None no Authorization header,
    anything else is sent as the header. Returns (status, headers, JSON or raw body)."""
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = f"Bearer {KEY}" if auth == "key" else auth
    body = json.dumps(body) if isinstance(body, dict) else body
    st, h, raw = http(method, server.url(path), body, headers)
    try:
        obj = json.loads(raw)
    except ValueError:
        obj = raw
    return st, h, obj


def publish(server, body, room=ROOM, **kw):
    return admin(server, "POST", f"/admin/rooms/{room}/publish", body, **kw)


def retract(server, seq, body=None, room=ROOM, **kw):
    return admin(server, "DELETE", f"/admin/rooms/{room}/messages/{seq}", body, **kw)


def expect_error(resp, status, code, what):
    st, _h, obj = resp
    assert st == status, f"{what}: status {st}, want {status}: {obj!r}"
    assert isinstance(obj, dict) and obj.get("error") == code, f"{what}: body {obj!r}, want {code}"
    assert isinstance(obj.get("message"), str), f"{what}: no message in {obj!r}"


def summary(objs):
    """Objects as comparable tuples: ("gap", from, to), ("retract", target, at), ("prio", seq),
    ("msg", seq)."""
    def one(o):
        t = o.get("type")
        if t == "msg":
            return ("prio" if "prio" in o else "msg", o.get("seq"))
        return {"gap": (t, o.get("from"), o.get("to")),
                "retract": (t, o.get("seq"), o.get("at"))}.get(t, (t,))
    return [one(o) for o in objs]


def check_retract(r, room, target, at, reason, ts_window):
    assert set(r) == {"type", "room", "seq", "at", "reason", "ts"}, f"retract keys: {r}"
    assert (r["type"], r["room"], r["seq"], r["at"], r["reason"]) == (
        "retract", room, target, at, reason), f"want retract of {target} at {at}: {r}"
    assert ts_window[0] <= r["ts"] <= ts_window[1], f"ts {r['ts']} not in {ts_window}"


async def ws_replay(server, room=ROOM, **params):
    """Everything a fresh WebSocket viewer gets before its pong (join with history/since)."""
    ws = await ws_connect(server.ws_url(room, user="replayer", **params))
    try:
        check_welcome(await recv_next(ws), room, "replayer")
        return await barrier(ws)
    finally:
        await close_all([ws])


def sse_replay(server, last_seq, room=ROOM, headers=None, **params):
    """SSE events after the welcome, up to the msg event with seq last_seq: [(id, name, data)],
    each id's seq only (the id is SEQ:EPOCH, the welcome's epoch: checked here)."""
    with SSEStream(server.port, room_path(room, "events", **params), headers=headers) as s:
        assert s.status == 200, (s.status, s.body_prefix)
        ev = s.next_event()
        assert ev.get("event") == "welcome", f"first SSE event is not the welcome: {ev}"
        tail = ":" + ev["data"]["epoch"]
        out = []
        while True:
            ev = s.next_event()
            eid = ev.get("id")
            if eid is not None:
                assert eid.endswith(tail), f"SSE id {eid} does not name the epoch ({tail})"
                eid = eid[:-len(tail)]
            out.append((eid, ev.get("event"), ev["data"]))
            if ev["data"].get("type") == "msg" and ev["data"]["seq"] == last_seq:
                return out


# -- 1. admin publish ---------------------------------------------------------------------------
def test_admin_publish_prio_kind_and_errors(roomcast):
    """An admin publish reaches viewers as a msg with "prio":1 (only when prio) and "kind" (only
    when given), user "system" unless named, id = cid or s-<epoch>-<seq>. Bad bodies are 400,
    a missing/wrong key 401 with WWW-Authenticate, a server without --admin-key 403, a wrong
    method 405; none of them sequences anything. Clients may not send prio."""
    server = roomcast("--admin-key", KEY)
    no_admin = roomcast()

    async def scenario():
        ws, w = await join(server, ROOM, user="viewer")
        client, _ = await join(server, ROOM, user="client")
        try:
            epoch, t0 = w["epoch"], now_ms()
            cases = [  # body, answer id, expected extra fields on the msg
                ({"text": "a gift for you", "prio": True, "kind": "gift", "user": "shop-bot",
                  "cid": "gift-1"}, "gift-1", {"prio": 1, "kind": "gift"}),
                ({"text": "plain news"}, None, {}),
                ({"text": "flag one", "prio": 1}, None, {"prio": 1}),
                ({"text": "flag zero", "prio": 0, "kind": "note"}, None, {"kind": "note"}),
                ({"text": "flag false", "prio": False}, None, {}),
            ]
            for n, (body, cid, extra) in enumerate(cases, start=1):
                st, _h, ans = await asyncio.to_thread(publish, server, body)
                want_id = cid or f"s-{epoch}-{n}"
                assert (st, ans) == (200, {"seq": n, "id": want_id}), f"publish {body}: {st} {ans}"
                for viewer in (ws, client):
                    m = await recv_next(viewer)
                    check_msg(m, ROOM, seq=n, id=want_id, user=body.get("user", "system"),
                              text=body["text"], ts_window=(t0, now_ms()))
                    assert set(m) == MSG_KEYS | set(extra), f"fields of {m}, want extra {extra}"
                    for k, v in extra.items():
                        assert m[k] == v and type(m[k]) is type(v), f"{k} of {m}, want {v!r}"

            for body in ({"text": "x", "prio": 2}, {"text": "x", "prio": "yes"}, "{not json",
                         {"text": "x", "kind": "Gift"}, {"cid": "no-text"}):
                resp = await asyncio.to_thread(publish, server, body)
                expect_error(resp, 400, "bad_request", f"publish {body}")
            for auth in (None, f"Bearer {KEY[:-1]}X", f"Bearer {KEY}0", f"Basic {KEY}"):
                resp = await asyncio.to_thread(publish, server, {"text": "x"}, auth=auth)
                expect_error(resp, 401, "unauthorized", f"publish with Authorization {auth}")
                assert resp[1].get("www-authenticate", "").startswith("Bearer"), resp[1]
            resp = await asyncio.to_thread(admin, server, "GET", f"/admin/rooms/{ROOM}/publish")
            expect_error(resp, 405, "method_not_allowed", "GET publish")
            resp = await asyncio.to_thread(publish, no_admin, {"text": "x"})
            expect_error(resp, 403, "forbidden", "publish without --admin-key")

            # A client cannot raise its own message to the priority lane.
            await send_op(client, {"op": "send", "text": "me first", "cid": "c-prio", "prio": 1})
            err = await recv_next(client)
            assert err.get("type") == "error" and err.get("code") == "forbidden", err
            head, hp = len(cases), {"text": "http prio", "cid": "h-prio", "prio": 1}
            st, _h, body = await asyncio.to_thread(post_message, server, ROOM, "poster", hp)
            # docs/protocol.md: 403 {"error":"forbidden"} when the body has prio.
            assert st == 403, f"client POST with prio: {st} {body!r}, want 403"
            assert json.loads(body).get("error") == "forbidden", body
            # Nothing else was sequenced: no refusal reached a viewer or consumed a seq.
            assert await barrier(ws) == [], "a refused publish reached a viewer"
            assert [f for f in await barrier(client) if f.get("id") != "h-prio"] == []
            st, _h, ans = await asyncio.to_thread(publish, server, {"text": "last", "cid": "z"})
            assert (st, ans) == (200, {"seq": head + 1, "id": "z"}), (
                f"a refused request consumed a seq: {st} {ans}")
        finally:
            await close_all([ws, client])
    run(scenario(), 30)


# -- 2. retraction ------------------------------------------------------------------------------
def test_retract_reaches_viewers_and_hides_the_message_everywhere(roomcast):
    """DELETE /admin/rooms/R/messages/S answers {"retracted":S,"seq":N}; live WebSocket and SSE
    viewers get {"type":"retract",...} (SSE event retract, id N). Afterwards no history, resume,
    long-poll or SSE replay contains the message; the retract event (a priority event, so first)
    stands in its place. 404 for a seq never assigned or an unknown room, 409 twice or for a
    retract event, 400 for seq 0 or not a number; each retraction leaves an audit line."""
    server = roomcast("--admin-key", KEY, "--history", 50)
    post_many(server, ROOM, 2, prefix="r")                                   # seqs 1, 2
    before, _ = poll_answer(server, ROOM)                                    # cursor at 2
    assert before["seq"] == 2, before
    doomed = post_many(server, ROOM, 3, prefix="s")[0]                       # seqs 3, 4, 5
    st, _h, ans = publish(server, {"text": "prio to retract", "cid": "p-bad", "prio": True})
    assert (st, ans) == (200, {"seq": 6, "id": "p-bad"}), (st, ans)
    hidden = (doomed[1], doomed[2], "p-bad", "prio to retract")              # ids and texts

    async def live():
        ws, _w = await join(server, ROOM, user="live")
        sse = SSEStream(server.port, room_path(ROOM, "events"))
        try:
            assert sse.status == 200
            welcome = sse.next_event()
            assert welcome.get("event") == "welcome", welcome
            epoch = welcome["data"]["epoch"]
            got = []
            for target, body, at, reason in ((3, {"reason": "spam", "by": "mod-1"}, 7, "spam"),
                                             (6, None, 8, "")):
                t0 = now_ms()
                st, _h, ans = await asyncio.to_thread(retract, server, target, body)
                assert (st, ans) == (200, {"retracted": target, "seq": at}), (target, st, ans)
                r = await recv_next(ws)
                check_retract(r, ROOM, target, at, reason, (t0, now_ms()))
                ev = sse.next_event()
                assert (ev.get("event"), ev.get("id"), ev.get("data")) == (
                    "retract", f"{at}:{epoch}", r), f"SSE retract event {ev}, want id {at} and {r}"
                got.append(r)
            after = await asyncio.to_thread(post_many, server, ROOM, 1, "after", "after")
            m = await recv_next(ws)
            check_msg(m, ROOM, seq=9, id=after[0][1])
            ev = sse.next_event()
            assert (ev.get("event"), ev.get("id"), ev["data"]) == ("msg", f"9:{epoch}", m), ev
            assert await barrier(ws) == [], "more than the retract events and the new message"
            return got
        finally:
            sse.close()
            await close_all([ws])
    retracts = run(live(), 20)

    full = [("retract", 3, 7), ("retract", 6, 8), ("msg", 1), ("msg", 2), ("msg", 4),
            ("msg", 5), ("msg", 9)]
    after2 = [("retract", 3, 7), ("retract", 6, 8), ("msg", 4), ("msg", 5), ("msg", 9)]

    def check_view(name, objs, want):
        assert summary(objs) == want, f"{name}: {summary(objs)}, want {want}"
        assert [o for o in objs if o.get("type") == "retract"] == retracts, f"{name}: {objs}"
        text = json.dumps(objs, ensure_ascii=False)
        for h in hidden:
            assert f'"{h}"' not in text, f"{name}: the retracted {h!r} is still served: {objs}"

    check_view("ws ?history=50", run(ws_replay(server, history=50), 10), full)
    check_view("ws ?since=0", run(ws_replay(server, since=0), 10), full)
    check_view("ws ?since=2", run(ws_replay(server, since=2), 10), after2)
    check_view("long-poll ?history=50", poll_answer(server, ROOM, history=50)[0]["messages"], full)
    check_view("long-poll, cursor from before",
               poll_answer(server, ROOM, cursor=before["cursor"])[0]["messages"], after2)
    for name, kw, want in (("SSE ?history=50", dict(history=50), full),
                           ("SSE Last-Event-ID: 2", dict(headers={"Last-Event-ID": "2"}), after2)):
        events = sse_replay(server, 9, **kw)
        check_view(name, [d for _i, _n, d in events], want)
        for eid, name_, data in events:  # a retract sent before older msgs may have no id
            ok = [str(data["seq"])] if name_ == "msg" else [None, str(data.get("at"))]
            assert name_ == data["type"] and eid in ok, f"{name}: id {eid}, {name_} for {data}"
        assert events[-1][0] == "9", f"{name}: the replay does not end at id 9: {events}"

    # Refusals: each with its JSON error, none sequencing anything.
    refusals = [((3,), 409, "already_retracted"), ((6,), 409, "already_retracted"),
                ((7,), 409, "not_a_message"), ((999,), 404, "not_found"), ((10,), 404, "not_found"),
                ((1, None, "no-such-room"), 404, "not_found"), ((0,), 400, "bad_request"),
                (("abc",), 400, "bad_request"), ((4, {"reason": 5}), 400, "bad_request"),
                ((4, {"by": "not a name!"}), 400, "bad_request")]
    for args, status, code in refusals:
        expect_error(retract(server, *args), status, code, f"retract {args}")
    expect_error(retract(server, 4, auth=None), 401, "unauthorized", "retract without a key")
    expect_error(admin(server, "GET", f"/admin/rooms/{ROOM}/messages/4"), 405,
                 "method_not_allowed", "GET on a message")
    ans, _ = poll_answer(server, ROOM, history=50)
    assert ans["seq"] == 9, f"a refused retraction was sequenced: {ans}"
    check_view("long-poll after the refusals", ans["messages"], full)

    log = server.log_text()
    audit = [ln for ln in log.splitlines() if re.search(rf"\bretract room={ROOM} ", ln)]
    assert len(audit) == 2, f"want one audit line per retraction, got {audit}"
    assert audit[0].endswith(f'retract room={ROOM} seq=3 at=7 by=mod-1 reason="spam"'), audit
    assert re.search(rf'retract room={ROOM} seq=6 at=8 by=\S+ reason=""$', audit[1]), audit



def test_retract_refusals_outlive_history(roomcast):
    """Retracting twice stays 409 already_retracted, and retracting a retract event 409
    not_a_message, after the target has left the ordinary --history: the retract event is still
    in the priority lane and must stay there. A message that left history unretracted can no
    longer be retracted: 410 gone (the room no longer knows what it was)."""
    server = roomcast("--admin-key", KEY, "--history", 3)
    post_many(server, ROOM, 1, prefix="old")                                  # seq 1
    assert retract(server, 1)[::2] == (200, {"retracted": 1, "seq": 2})
    post_many(server, ROOM, 5, prefix="new")                                  # seqs 3..7
    expect_error(retract(server, 1), 409, "already_retracted", "seq 1 again, out of history")
    expect_error(retract(server, 2), 409, "not_a_message", "retract event 2, out of history")
    expect_error(retract(server, 3), 410, "gone", "seq 3 left history unretracted")
    want = [("gap", 1, 4), ("retract", 1, 2), ("msg", 5), ("msg", 6), ("msg", 7)]
    assert summary(run(ws_replay(server, since=0), 10)) == want


# -- 3. priority events first on a join or resume -------------------------------------------------
def test_priority_events_replayed_first(roomcast):
    """--history 5 --prio-history 3. A join with ?history=N gets the kept priority events older
    than its last N events (at most N, the newest), then those among the last N, then the
    ordinary ones, each part oldest first. A resume gets the gap first, then every kept priority
    event after its seq (even inside the gap), then the ordinary ones. --prio-history bounds
    what is kept."""
    server = roomcast("--admin-key", KEY, "--history", 5, "--prio-history", 3)
    start, _ = poll_answer(server, ROOM)                                      # cursor at 0
    assert start["seq"] == 0 and start["messages"] == [], start

    def pub_prio(i):
        st, _h, ans = publish(server, {"text": f"prio {i}", "cid": f"p-{i}", "prio": True})
        assert st == 200 and ans["id"] == f"p-{i}", ans
        return ans["seq"]

    assert pub_prio(1) == 1
    plain = post_many(server, ROOM, 10, prefix="o")                           # seqs 2..11
    assert plain[-1][0] == 11

    def views(history):  # a WebSocket join and a first long-poll with ?history=
        yield "ws", run(ws_replay(server, history=history), 10)
        yield "long-poll", poll_answer(server, ROOM, history=history)[0]["messages"]

    want = [("prio", 1), ("msg", 9), ("msg", 10), ("msg", 11)]
    for name, objs in views(3):
        assert summary(objs) == want, f"{name} ?history=3: {summary(objs)}, want {want}"
        check_msg(objs[0], ROOM, seq=1, id="p-1", user="system", text="prio 1")
        assert objs[0]["prio"] == 1, objs[0]
        check_msg(objs[1], ROOM, seq=9, id=plain[7][1], text=plain[7][2])
    events = sse_replay(server, 11, history=3)
    assert [(i, n, d["seq"]) for i, n, d in events] == [
        ("1", "msg", 1), ("9", "msg", 9), ("10", "msg", 10), ("11", "msg", 11)], events
    # Resume from 0: history holds 7..11 only; the priority event inside the gap comes anyway.
    want = [("gap", 1, 6), ("prio", 1)] + [("msg", s) for s in range(7, 12)]
    got = run(ws_replay(server, since=0), 10)
    assert summary(got) == want, f"ws ?since=0: {summary(got)}, want {want}"
    got = poll_answer(server, ROOM, cursor=start["cursor"])[0]["messages"]
    assert summary(got) == want, f"long-poll from cursor 0: {summary(got)}, want {want}"
    events = sse_replay(server, 11, headers={"Last-Event-ID": "0"})
    assert summary([d for _i, _n, d in events]) == want, f"SSE from 0: {events}"
    assert events[0][:2] == ("6", "gap") and events[1][0] in (None, "1"), events

    # Three more priority messages push p-1 out of --prio-history 3; a priority event among the
    # last N comes before the window's ordinary ones.
    assert [pub_prio(i) for i in (2, 3, 4)] == [12, 13, 14]
    post_many(server, ROOM, 1, prefix="q")                                    # seq 15
    for hist, want in ((2, [("prio", 12), ("prio", 13), ("prio", 14), ("msg", 15)]),
                       (1, [("prio", 14), ("msg", 15)]),
                       (5, [("prio", 12), ("prio", 13), ("prio", 14), ("msg", 11),
                            ("msg", 15)])):
        for name, objs in views(hist):
            assert summary(objs) == want, f"{name} ?history={hist}: {summary(objs)}, want {want}"
    want = [("gap", 1, 10), ("prio", 12), ("prio", 13), ("prio", 14), ("msg", 11), ("msg", 15)]
    got = run(ws_replay(server, since=0), 10)
    assert summary(got) == want, f"ws ?since=0 after the cap: {summary(got)}, want {want}"
    want = [("prio", 13), ("prio", 14), ("msg", 15)]
    got = run(ws_replay(server, since=12), 10)
    assert summary(got) == want, f"ws ?since=12: {summary(got)}, want {want}"


# -- 4. slow viewers keep the priority lane -------------------------------------------------------
SLOW_QUEUE = 65536
BIG = 8000         # code points (ASCII) per ordinary message: few posts fill the kernel buffers
ROUNDS, PER_ROUND = 8, 60


def publish_request(body):
    data = json.dumps(body).encode()
    return (f"POST /admin/rooms/{ROOM}/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            f"{KEY}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            .encode() + data)


def publish_on(conn, body):
    """An admin publish on a keep-alive connection (HttpConn); returns the answer."""
    conn.send(publish_request(body))
    st, _h, raw, _t = conn.response()
    assert st == 200, f"publish: {st} {raw!r}"
    return json.loads(raw)


async def read_until_idle(raw, idle=1.0, limit=20.0):
    frames, deadline = [], asyncio.get_running_loop().time() + limit
    while asyncio.get_running_loop().time() < deadline:
        try:
            frames.append(await raw.recv_json(idle))
        except asyncio.TimeoutError:
            return frames
    raise AssertionError(f"slow viewer still receiving after {limit} s")


def test_slow_viewer_skipped_ahead_keeps_priority_messages(roomcast):
    """A viewer that stops reading overflows --max-queue-bytes and is skipped ahead: its queue is
    dropped for a gap, followed by the priority events the gap covers. So once it reads again it
    has every prio message (at least once), no ordinary message twice, and every seq delivered or
    inside a gap."""
    server = roomcast("--admin-key", KEY, "--slow-policy", "skip", "--max-queue-bytes", SLOW_QUEUE,
                      "--max-text", BIG, "--max-body", 65536)

    async def scenario():
        raw, _ = await RawWS.connect(server.port, f"/ws?room={ROOM}&user=slowpoke", rcvbuf=4096,
                                     limit=4096)
        try:
            head = check_welcome(await raw.recv_json(), ROOM, "slowpoke")["seq"]
            prio = {}  # seq -> (cid, text)
            with HttpConn(server.port) as conn:
                for r in range(ROUNDS):
                    for i in range(PER_ROUND):
                        text = f"ordinary {r}/{i} ".ljust(BIG, "x")
                        publish_on(conn, {"text": text, "cid": f"o-{r}-{i}"})
                    ans = publish_on(conn, {"text": f"prio {r}", "cid": f"p-{r}", "prio": 1,
                                            "kind": "alert"})
                    prio[ans["seq"]] = (f"p-{r}", f"prio {r}")
                    await asyncio.sleep(0.02)  # the next round in other batches
                frames = await read_until_idle(raw)
                # Caught up: live traffic flows again, the priority lane included.
                late_p = publish_on(conn, {"text": "prio late", "cid": "p-late", "prio": True,
                                           "kind": "alert"})
                prio[late_p["seq"]] = ("p-late", "prio late")
                last = publish_on(conn, {"text": "late", "cid": "late"})["seq"]
            while not frames or frames[-1].get("id") != "late":
                frames.append(await raw.recv_json(10))
        finally:
            raw.abort()

        gaps = [f for f in frames if f.get("type") == "gap"]
        msgs = [f for f in frames if f.get("type") == "msg"]
        assert len(gaps) + len(msgs) == len(frames), f"not only gaps and msgs: {frames[:50]}"
        assert gaps, f"never skipped: got all {len(msgs)} messages (queue bound not reached?)"
        spans = []
        for g in gaps:
            assert g.get("room") == ROOM and head < g["from"] <= g["to"] <= last, g
            assert not spans or g["from"] > spans[-1][1], f"gaps overlap or go back: {gaps}"
            spans.append((g["from"], g["to"]))

        def in_gap(seq):
            return any(a <= seq <= b for a, b in spans)
        plain = [m["seq"] for m in msgs if "prio" not in m]
        assert len(plain) == len(set(plain)), "an ordinary message arrived twice"
        assert plain == sorted(plain), f"ordinary messages out of order: {plain}"
        assert not [s for s in plain if in_gap(s)], "an ordinary message inside a gap it got"
        seen = set()
        for m in (m for m in msgs if "prio" in m):
            assert m["seq"] in prio, f"a prio message nobody published: {m}"
            check_msg(m, ROOM, seq=m["seq"], id=prio[m["seq"]][0], user="system",
                      text=prio[m["seq"]][1])
            assert (m["prio"], m.get("kind")) == (1, "alert"), m
            seen.add(m["seq"])
        missing = sorted(set(prio) - set(seen))
        assert not missing, (f"prio messages {[prio[s][0] for s in missing]} never reached the "
                             f"slow viewer (gaps {spans})")
        assert any(in_gap(s) for s in prio), f"no prio message inside a gap {spans}: vacuous"
        covered = set(plain) | set(seen)
        holes = [s for s in range(head + 1, last + 1) if s not in covered and not in_gap(s)]
        assert not holes, f"seqs neither delivered nor in a gap: {holes[:20]}"
    run(scenario(), 60)


def test_live_batch_sends_priority_first(roomcast):
    """Within one live batch the priority events go out before the ordinary ones. Two ordinary
    publishes and a prio one, pipelined, mostly share a batch (--tick-ms 50): the prio message
    must overtake them at least once in 10 rounds; ordinary messages keep their order."""
    server = roomcast("--admin-key", KEY, "--tick-ms", 50)

    async def scenario():
        ws, _ = await join(server, ROOM, user="viewer")
        overtaken = 0
        try:
            with HttpConn(server.port) as conn:
                for _ in range(10):
                    conn.send(b"".join(publish_request(b) for b in (
                        {"text": "o1"}, {"text": "o2"}, {"text": "p", "prio": 1})))
                    seqs = [json.loads(conn.response()[2])["seq"] for _ in range(3)]
                    got = summary([await recv_next(ws) for _ in range(3)])
                    assert sorted(got, key=lambda t: t[1]) == [
                        ("msg", seqs[0]), ("msg", seqs[1]), ("prio", seqs[2])], got
                    assert [g for g in got if g[0] == "msg"] == [("msg", s) for s in seqs[:2]]
                    overtaken += got[0][0] == "prio"
        finally:
            await close_all([ws])
        assert overtaken >= 1, "the prio message never went out before its batch's ordinary ones"
    run(scenario(), 20)
