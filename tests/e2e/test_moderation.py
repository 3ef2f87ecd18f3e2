"""Moderation (PROTOCOL.md v2, "Moderation"), through real clients: users from JWTs, the rate
limit with retry_ms / Retry-After, each room mode announced in `state` and `welcome`, bans,
timeouts and their expiry, unbans, shadow bans seen from two viewers, clears, deletes, the audit
log, the admin HTTP endpoints, bad input, and all of it again after a kill -9 and a restart with
--data-dir."""
import asyncio
import json
import os
import signal
import time
import urllib.parse

import jwt
import pytest

from rcutil import HOST, check_welcome, http, recv_json, run, send_op, ws_connect

SECRET = "e2e-moderation-secret-0123456789"
ADMIN = "moderation-admin-key-0123456789"
ROOM = "stage"
NO_DEV = "--dev-auth=off"


def token(sub, *room_roles, roles=()):
    now = int(time.time())
    claims = {"sub": sub, "exp": now + 600, "iat": now, "roles": list(roles)}
    if room_roles:
        claims["room_roles"] = {ROOM: list(room_roles)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def secret_file(tmp_path):
    p = tmp_path / "jwt.secret"
    p.write_text(SECRET)
    return p


def start(roomcast, secret_file, *args):
    return roomcast(NO_DEV, "--jwt-secret-file", secret_file, "--admin-key", ADMIN, *args)


async def open_as(srv, sub=None, *room_roles, room=ROOM):
    q = {"room": room}
    if sub:
        q["token"] = token(sub, *room_roles)
    ws = await ws_connect(f"ws://{HOST}:{srv.port}/ws?" + urllib.parse.urlencode(q))
    w = check_welcome(await recv_json(ws), room)
    return ws, w


async def next_of(ws, *kinds, timeout=5.0):
    """The next frame of one of these types (rcutil's recv_next would skip `state`)."""
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") in kinds:
            return obj


async def say(ws, text, cid=None):
    """Sends; returns the ack or the error that answers it."""
    op = {"op": "send", "text": text}
    if cid:
        op["cid"] = cid
    await send_op(ws, op)
    return await next_of(ws, "ack", "error")


async def act(ws, **op):
    await send_op(ws, op)
    return await next_of(ws, "ack", "error")


def admin(srv, method, path, body=None, room=ROOM):
    st, headers, raw = http(method, srv.url(f"/admin/rooms/{room}{path}"),
                            None if body is None else json.dumps(body),
                            {"Authorization": f"Bearer {ADMIN}",
                             "Content-Type": "application/json"})
    return st, headers, (json.loads(raw) if raw else None)


def test_the_21st_message_in_30s_is_refused_with_retry_ms(roomcast, secret_file):
    srv = start(roomcast, secret_file, "--rate-limit", "20/30", "--mod-rate-limit", "100/30")

    async def go():
        ws, _ = await open_as(srv, "chatty")
        for i in range(20):
            a = await say(ws, f"line {i}", f"c{i}")
            assert a["type"] == "ack", a
        e = await say(ws, "one too many", "c20")
        assert (e["type"], e["code"]) == ("error", "rate_limited"), e
        assert 0 < e["retry_ms"] <= 30_000 and e.get("cid") == "c20", e
        # The same user over HTTP, another connection: counted together at the room's owner.
        st, h, body = http("POST", srv.url(f"/rooms/{ROOM}/messages"),
                           json.dumps({"text": "via http"}),
                           {"Authorization": "Bearer " + token("chatty"),
                            "Content-Type": "application/json"})
        b = json.loads(body)
        assert st == 429 and b["error"] == "rate_limited" and 0 < b["retry_ms"] <= 30_000, body
        assert 1 <= int(h["retry-after"]) <= 30, h
        # Another user, and a moderator (100/30), are not held back by chatty's count.
        other, _ = await open_as(srv, "calm")
        assert (await say(other, "hi"))["type"] == "ack"
        mod, _ = await open_as(srv, "mia", "moderator")
        for i in range(25):
            assert (await say(mod, f"mod {i}"))["type"] == "ack"
        for s in (ws, other, mod):
            await s.close()
    run(go(), 60)
    st, _, raw = http("GET", srv.url("/metrics"))
    refused = sum(float(line.split()[-1]) for line in raw.decode().splitlines()
                  if line.startswith("roomcast_moderation_refused_total{"))
    assert refused == 2, raw  # the WebSocket send and the HTTP one


def test_each_mode_is_announced_enforced_and_in_the_welcome(roomcast, secret_file):
    srv = start(roomcast, secret_file)

    async def go():
        mod, _ = await open_as(srv, "mia", "moderator")
        viewer, _ = await open_as(srv)  # anonymous: reads only
        user, _ = await open_as(srv, "ulla")
        sub, _ = await open_as(srv, "sid", "subscriber")
        # Not a moderator: refused, nothing changes.
        e = await act(user, op="mode", slow_secs=30)
        assert (e["type"], e["code"]) == ("error", "forbidden"), e
        e = await act(viewer, op="mode", slow_secs=30)
        assert e["code"] == "forbidden", e

        a = await act(mod, op="mode", slow_secs=5)
        assert a == {"type": "ack", "op": "mode", "seq": a["seq"]}, a
        for ws in (viewer, user):
            st = await next_of(ws, "state")
            assert st["modes"] == {"slow_secs": 5, "subscribers_only": False,
                                   "emote_only": False, "unique": False}, st
            assert st["online"] >= 4 and st["seq"] == a["seq"], st
        assert (await say(user, "first"))["type"] == "ack"
        e = await say(user, "second")
        assert e["code"] == "slow_mode" and 0 < e["retry_ms"] <= 5000, e
        assert (await say(mod, "mods are exempt"))["type"] == "ack"

        await act(mod, op="mode", slow_secs=0, subscribers_only=True)
        e = await say(user, "not a sub")
        assert e["code"] == "forbidden", e
        assert (await say(sub, "a sub"))["type"] == "ack"

        await act(mod, op="mode", subscribers_only=False, emote_only=True)
        e = await say(sub, "words are not emotes")
        assert e["code"] == "emote_only", e
        assert (await say(sub, ":wave: \U0001F600"))["type"] == "ack"

        await act(mod, op="mode", emote_only=False, unique=True)
        assert (await say(sub, "GG  wp"))["type"] == "ack"
        e = await say(user, "gg wp")  # case-folded, white space collapsed, another user
        assert e["code"] == "duplicate_text", e

        late, w = await open_as(srv, "late")
        assert w["modes"] == {"slow_secs": 0, "subscribers_only": False, "emote_only": False,
                              "unique": True}, w
        for s in (mod, viewer, user, sub, late):
            await s.close()
    run(go(), 60)


def test_ban_timeout_expiry_and_unban(roomcast, secret_file):
    srv = start(roomcast, secret_file)

    async def go():
        mod, _ = await open_as(srv, "mia", "moderator")
        watcher, _ = await open_as(srv)
        troll, _ = await open_as(srv, "troll")
        spam = await say(troll, "spam", "s1")
        assert spam["type"] == "ack", spam
        await next_of(watcher, "msg")
        a = await act(mod, op="ban", user="troll", secs=2, reason="spam")
        assert (a["type"], a["op"]) == ("ack", "ban"), a
        # Its messages of the last ten minutes are retracted for everyone.
        r = await next_of(watcher, "retract")
        assert r["seq"] == spam["seq"] and r["reason"] == "banned", r
        e = await say(troll, "still here")
        assert e["code"] == "banned" and 0 < e["retry_ms"] <= 2000, e
        await asyncio.sleep(2.2)
        assert (await say(troll, "sorry"))["type"] == "ack"

        a = await act(mod, op="ban", user="troll")  # permanent
        e = await say(troll, "again")
        assert e["code"] == "banned" and "retry_ms" not in e, e
        st, _, body = admin(srv, "GET", "/bans")
        assert st == 200 and body["bans"] == [{"user": "troll", "until": None,
                                               "shadow": False}], body
        assert (await act(mod, op="unban", user="troll"))["op"] == "unban"
        assert (await say(troll, "back"))["type"] == "ack"
        e = await act(mod, op="unban", user="nobody")
        assert e["code"] == "not_found", e
        for s in (mod, watcher, troll):
            await s.close()
    run(go(), 60)


def test_admin_http_bans_and_bad_input(roomcast, secret_file):
    srv = start(roomcast, secret_file)
    st, _, body = admin(srv, "POST", "/bans", {"user": "eve", "secs": 600, "reason": "x"})
    assert (st, body) == (200, {"op": "ban"}), body
    st, _, body = admin(srv, "GET", "/bans")
    assert body["bans"][0]["user"] == "eve" and body["bans"][0]["until"] > time.time() * 1000
    st, _, _ = http("POST", srv.url(f"/rooms/{ROOM}/messages"), json.dumps({"text": "hi"}),
                    {"Authorization": "Bearer " + token("eve"),
                     "Content-Type": "application/json"})
    assert st == 403
    assert admin(srv, "DELETE", "/bans/eve")[0] == 200
    assert admin(srv, "DELETE", "/bans/eve")[2]["error"] == "not_found"
    for path, bad in [("/bans", {"secs": 5}), ("/bans", {"user": "a b"}),
                      ("/bans", {"user": "u", "secs": 1209601}), ("/modes", {}),
                      ("/modes", {"slow_secs": 86401}), ("/modes", {"emote_only": "yes"}),
                      ("/clear", {"user": 5})]:
        st, _, body = admin(srv, "POST", path, bad)
        assert (st, body["error"]) == (400, "bad_request"), (path, bad, body)
    st, _, body = admin(srv, "POST", "/bans", None)
    assert st == 400, body
    assert http("POST", srv.url(f"/admin/rooms/{ROOM}/bans"), "{}", {})[0] == 401
    assert admin(srv, "PUT", "/bans")[0] == 405
    assert admin(srv, "GET", "/audit?limit=0")[0] == 400
    # A flood of mode changes: refused after 30 in 10 s, with Retry-After.
    codes = [admin(srv, "POST", "/modes", {"unique": i % 2 == 0}, room="busy") for i in range(35)]
    assert [c[0] for c in codes[:30]] == [200] * 30, codes[:30]
    st, h, body = codes[30]
    assert st == 429 and body["error"] == "rate_limited" and "retry-after" in h, body


def test_shadow_ban_is_seen_by_its_author_only(roomcast, secret_file):
    srv = start(roomcast, secret_file)
    assert admin(srv, "POST", "/bans", {"user": "shade", "shadow": True})[0] == 200

    async def go():
        a, _ = await open_as(srv, "anna")
        b, _ = await open_as(srv)
        shade, _ = await open_as(srv, "shade")
        tab2, _ = await open_as(srv, "shade")  # the same user's other connection sees it too
        await send_op(shade, {"op": "send", "text": "can you see me", "cid": "sh1"})
        mine = await next_of(shade, "msg")
        ack = await next_of(shade, "ack")
        assert mine["text"] == "can you see me" and mine["id"] == "sh1", mine
        assert ack["cid"] == "sh1" and "seq" in ack, ack
        assert (await next_of(tab2, "msg"))["id"] == "sh1"
        assert (await say(a, "after it", "a1"))["type"] == "ack"
        for viewer in (a, b):
            m = await next_of(viewer, "msg")
            assert m["id"] == "a1", m  # the shadow message never came first
        st, _, raw = http("GET", srv.url(f"/rooms/{ROOM}/history?after=0"))
        assert b"can you see me" not in raw and b"after it" in raw, raw
        for s in (a, b, shade, tab2):
            await s.close()
    run(go(), 30)


def test_clear_delete_and_the_audit(roomcast, secret_file):
    srv = start(roomcast, secret_file)
    seqs = {}

    async def go():
        mod, _ = await open_as(srv, "mia", "moderator")
        al, _ = await open_as(srv, "al")
        bo, _ = await open_as(srv, "bo")
        s1 = (await say(al, "one"))["seq"]
        s2 = (await say(bo, "two"))["seq"]
        s3 = (await say(al, "three"))["seq"]
        seqs["s2"] = s2
        a = await act(mod, op="clear", user="al", reason="off topic")
        assert a["op"] == "clear", a
        got = sorted([(await next_of(bo, "retract"))["seq"] for _ in range(2)])
        assert got == [s1, s3], got
        a = await act(mod, op="delete", seq=s2, reason="rude")
        assert a["op"] == "delete", a
        r = await next_of(bo, "retract")
        assert (r["seq"], r["reason"]) == (s2, "rude"), r
        assert (await act(mod, op="delete", seq=s2))["code"] == "already_retracted"
        assert (await say(bo, "four"))["type"] == "ack"
        a = await act(mod, op="clear")
        c = await next_of(bo, "clear")
        assert c["seq"] == a["seq"] and c["room"] == ROOM, c
        # History starts after the clear.
        st, _, raw = http("GET", srv.url(f"/rooms/{ROOM}/history?after=0"))
        assert b'"type":"msg"' not in raw, raw
        for s in (mod, al, bo):
            await s.close()
    run(go(), 30)
    st, _, body = admin(srv, "GET", "/audit?limit=3")
    assert st == 200
    acts = [(e["actor"], e["action"], e["target"]) for e in body["audit"]]
    assert acts == [("mia", "clear", ROOM), ("mia", "delete", str(seqs["s2"])),
                    ("mia", "clear", "al")], acts
    assert body["audit"][2]["reason"] == "off topic" and body["audit"][0]["seq"] > 0, body


def test_moderation_survives_kill9_and_restart(roomcast, secret_file, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = start(roomcast, secret_file, "--data-dir", data)

    async def before():
        mod, _ = await open_as(first, "mia", "moderator")
        al, _ = await open_as(first, "al")
        assert (await say(al, "before the clear"))["type"] == "ack"
        assert (await act(mod, op="mode", slow_secs=60, unique=True))["op"] == "mode"
        assert (await act(mod, op="ban", user="troll", reason="r1"))["op"] == "ban"
        assert (await act(mod, op="ban", user="brief", secs=1209600))["op"] == "ban"
        assert (await act(mod, op="clear"))["op"] == "clear"
        for s in (mod, al):
            await s.close()
    run(before(), 30)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    first.proc = None

    second = start(roomcast, secret_file, "--data-dir", data)

    async def after():
        troll, w = await open_as(second, "troll")
        assert w["modes"] == {"slow_secs": 60, "subscribers_only": False, "emote_only": False,
                              "unique": True}, w
        assert (await say(troll, "hello?"))["code"] == "banned"
        brief, _ = await open_as(second, "brief")
        e = await say(brief, "hello?")
        assert e["code"] == "banned" and e["retry_ms"] > 1_000_000_000, e
        await troll.close()
        await brief.close()
    run(after(), 30)
    st, _, raw = http("GET", second.url(f"/rooms/{ROOM}/history?after=0"))
    assert b"before the clear" not in raw, raw
    st, _, body = admin(second, "GET", "/audit")
    assert [e["action"] for e in body["audit"]] == ["clear", "ban", "ban", "mode"], body
    st, _, body = admin(second, "GET", "/bans")
    assert [b["user"] for b in body["bans"]] == ["brief", "troll"], body


def put_terms(srv, body, room=ROOM):
    path = "/admin/terms" if room is None else f"/admin/rooms/{room}/terms"
    st, _, raw = http("PUT", srv.url(path), json.dumps(body),
                      {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    return st, json.loads(raw)


TERMS = {"terms": [{"pattern": "darn", "action": "reject"},
                   {"pattern": "heck*", "action": "mask"},
                   {"pattern": "buy*", "action": "hold"}],
         "regex": [{"pattern": "free\\s+money", "action": "reject"}]}


def test_blocked_terms_reject_mask_and_hold_then_allow_or_deny(roomcast, secret_file):
    srv = start(roomcast, secret_file)
    st, body = put_terms(srv, TERMS)
    assert (st, body) == (200, {"op": "terms"}), body
    st, _, got = admin(srv, "GET", "/terms")
    assert [t["pattern"] for t in got["terms"]] == ["darn", "heck*", "buy*"], got
    assert got["regex"] == [{"pattern": "free\\s+money", "action": "reject"}], got

    async def go():
        mod, _ = await open_as(srv, "mia", "moderator")
        viewer, _ = await open_as(srv)
        user, _ = await open_as(srv, "ulla")
        e = await say(user, "oh Darn it")
        assert e["code"] == "blocked_term", e
        e = await say(user, "free   money here")  # a regex is case-sensitive as written
        assert e["code"] == "blocked_term", e
        a = await say(user, "what the heckin deal", "m1")
        assert a["type"] == "ack" and a["masked"] is True, a
        m = await next_of(viewer, "msg")
        assert m["id"] == "m1" and "heck" not in m["text"] and "*" in m["text"], m
        h1 = await say(user, "buying gold cheap", "h1")
        assert h1["type"] == "ack" and h1["held"] is True and h1["id"] >= 1, h1
        h2 = await say(user, "buy now", "h2")
        st, _, held = admin(srv, "GET", "/held")
        assert [(x["id"], x["text"]) for x in held["held"]] == [
            (h1["id"], "buying gold cheap"), (h2["id"], "buy now")], held
        a = await act(mod, op="allow", id=h1["id"])
        assert a["op"] == "allow" and a["seq"] >= 1, a
        m = await next_of(viewer, "msg")  # nothing held came before the allowed one
        assert (m["text"], m["user"], m["seq"]) == ("buying gold cheap", "ulla", a["seq"]), m
        st, _, body = admin(srv, "POST", f"/held/{h2['id']}/deny", {})
        assert (st, body) == (200, {"op": "deny"}), body
        st, _, body = admin(srv, "POST", f"/held/{h2['id']}/deny", {})
        assert (st, body["error"]) == (404, "not_found"), body
        e = await act(user, op="allow", id=h2["id"])
        assert e["code"] == "forbidden", e
        for s in (mod, viewer, user):
            await s.close()
    run(go(), 30)
    assert admin(srv, "GET", "/held")[2]["held"] == []


def test_server_wide_terms_and_bad_term_lists(roomcast, secret_file):
    srv = start(roomcast, secret_file)
    st, body = put_terms(srv, {"terms": [{"pattern": "globalbad"}]}, room=None)
    assert (st, body) == (200, {"op": "terms"}), body
    st, _, raw = http("GET", srv.url("/admin/terms"), None, {"Authorization": f"Bearer {ADMIN}"})
    assert json.loads(raw)["terms"] == [{"pattern": "globalbad", "action": "reject"}], raw
    for room in ("a", "b", "c", "d"):  # rooms on every shard
        st, _, raw = http("POST", srv.url(f"/rooms/{room}/messages"),
                          json.dumps({"text": "so globalbad"}),
                          {"Authorization": "Bearer " + token("ulla"),
                           "Content-Type": "application/json"})
        assert (st, json.loads(raw)["error"]) == (403, "blocked_term"), (room, raw)
    for bad, word in [({"regex": [{"pattern": "(unclosed", "action": "reject"}]}, "(unclosed"),
                      ({"terms": [{"pattern": "x" * 61}]}, "x" * 61),
                      ({"terms": [{"pattern": f"t{i}"} for i in range(1001)]}, "1000"),
                      ({"terms": [{"pattern": "ok", "action": "explode"}]}, "action"),
                      ({"words": []}, "words")]:
        st, body = put_terms(srv, bad)
        assert st == 400 and body["error"] == "bad_request" and word in body["message"], body


def test_terms_and_held_messages_survive_kill9(roomcast, secret_file, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = start(roomcast, secret_file, "--data-dir", data)
    assert put_terms(first, TERMS)[0] == 200
    assert put_terms(first, {"terms": [{"pattern": "globalbad"}]}, room=None)[0] == 200

    async def hold():
        user, _ = await open_as(first, "ulla")
        h = await say(user, "buy buy buy", "hx")
        assert h["held"] is True, h
        await user.close()
        return h["id"]
    held_id = run(hold(), 20)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    first.proc = None

    second = start(roomcast, secret_file, "--data-dir", data)
    st, _, held = admin(second, "GET", "/held")
    assert [(x["id"], x["text"]) for x in held["held"]] == [(held_id, "buy buy buy")], held

    async def after():
        user, _ = await open_as(second, "ulla")
        assert (await say(user, "darn"))["code"] == "blocked_term"
        assert (await say(user, "globalbad"))["code"] == "blocked_term"
        h = await say(user, "buy again")
        assert h["held"] is True and h["id"] > held_id, h  # ids are never reused
        await user.close()
    run(after(), 20)
    st, _, body = admin(second, "POST", f"/held/{held_id}/allow", {})
    assert st == 200 and body["seq"] >= 1, body


def test_bans_outlive_log_retention(roomcast, secret_file, tmp_path):
    """Retention deletes whole old segments with the control records in them; every new segment
    starts with a checkpoint of the moderation state, so a ban from the first segment holds
    after a restart that finds only the newest ones."""
    data = tmp_path / "data"
    data.mkdir()
    flags = ("--data-dir", data, "--segment-mb", "1", "--retain-mb", "2", "--mod-rate-limit", "off")
    first = start(roomcast, secret_file, *flags)
    assert admin(first, "POST", "/bans", {"user": "troll", "reason": "day one"})[0] == 200
    assert admin(first, "POST", "/modes", {"slow_secs": 120})[0] == 200

    async def fill():
        ws, _ = await open_as(first, "filler", "moderator")  # exempt from slow mode
        text = "f" * 480
        for i in range(10_000):
            await send_op(ws, {"op": "send", "text": f"{i} {text}", "cid": f"f{i}"})
        acks = 0
        while acks < 10_000:
            obj = await recv_json(ws, 30)
            acks += obj.get("type") == "ack"
            assert obj.get("type") != "error", obj
        await asyncio.sleep(1.2)  # retention runs at most once a second, after a write
        assert (await say(ws, "one more"))["type"] == "ack"
        await ws.close()
    run(fill(), 120)
    busiest = max(data.glob("log/shard-*"), key=lambda d: len(list(d.glob("*.seg"))))
    segs = sorted(p.name for p in busiest.glob("*.seg"))
    assert segs and "00000000000000000001.seg" not in segs, segs  # retention ran
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    first.proc = None

    second = start(roomcast, secret_file, *flags)

    async def after():
        troll, w = await open_as(second, "troll")
        assert w["modes"]["slow_secs"] == 120, w
        assert (await say(troll, "remember me?"))["code"] == "banned"
        await troll.close()
    run(after(), 20)


def test_sighup_changes_the_rate_limit(roomcast, secret_file, tmp_path):
    conf = tmp_path / "roomcast.conf"
    conf.write_text("rate-limit = 3/60\n")
    srv = roomcast(NO_DEV, "--jwt-secret-file", secret_file, "--config", conf,
                   rate_limit_off=False)

    async def sends(user, n):
        ws, _ = await open_as(srv, user)
        got = [(await say(ws, f"{user} {i}"))["type"] for i in range(n)]
        await ws.close()
        return got
    assert run(sends("ann", 4), 20) == ["ack"] * 3 + ["error"]
    conf.write_text("rate-limit = 6/60\n")
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "reload done" not in srv.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "reload: rate-limit 3/60 -> 6/60" in srv.log_text(), srv.log_text()[-1500:]
    time.sleep(1.2)  # each shard takes the new settings at its next loop turn
    assert run(sends("bob", 7), 20) == ["ack"] * 6 + ["error"]
