"""Moderation across nodes over Redis (--redis; docs/cluster.md, "Moderation"): a room's rules
live in Redis and its moderation events are numbered there. Each test starts its own
redis-server on a free loopback port and two or three roomcast nodes (the fixtures of
test_cluster.py); acts go to one node through the admin HTTP API, and their effect is checked
through real clients of the other nodes: a ban refuses the user's sends and retracts its recent
messages everywhere, slow mode and blocked terms apply on every node, a retraction or a clear
hides the message from viewers, history and resumes on every node, the rate limit counts a user's
sends over all nodes, a node that starts following a room later gets its rules, and an act while
Redis cannot be reached is refused `unavailable` and applied nowhere."""
import asyncio
import json
import signal
import time

from metricsutil import fetch_metrics, metric_sum
from rcutil import close_all, http, post_message, run
# The fixtures (a redis-server of the test's own, the nodes) and the skip without redis-server.
from test_cluster import CURSOR_KEY, nodes, pytestmark, redis, viewer  # noqa: F401
from test_moderation import next_of as next_of_within, say


async def next_of(ws, *kinds, timeout=10.0):
    """test_moderation's, with room for a hop across nodes."""
    return await next_of_within(ws, *kinds, timeout=timeout)

ADMIN = "cluster-moderation-admin-key-0123"


def admin(node, method, room, path, body=None):
    st, headers, raw = http(method, node.url(f"/admin/rooms/{room}{path}"),
                            None if body is None else json.dumps(body),
                            {"Authorization": f"Bearer {ADMIN}",
                             "Content-Type": "application/json"})
    return st, headers, (json.loads(raw) if raw else None)


def post(node, room, user, text, cid=None):
    body = {"text": text}
    if cid is not None:
        body["cid"] = cid
    st, headers, raw = post_message(node, room, user, body)
    return st, headers, json.loads(raw) if raw else {}


def history(node, room, after=0):
    st, _h, raw = http("GET", node.url(f"/rooms/{room}/history?after={after}&limit=100"))
    assert st == 200, (st, raw)
    return json.loads(raw)["messages"]




async def until(cond, timeout=5.0):
    """Polls cond (a blocking call, run in a thread) until true; bounded in time."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(cond):
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


def start(nodes, n=3, *extra):
    return nodes(n, "--admin-key", ADMIN, *extra)


def test_ban_on_one_node_refuses_sends_and_retracts_on_the_others(nodes):
    a, b, c = start(nodes)
    room = "banroom"

    async def go():
        troll, _ = await viewer(b, room, "troll")
        watcher, _ = await viewer(c, room, "watcher")
        spam = await say(troll, "spam spam", "s1")
        assert spam["type"] == "ack", spam
        m = await next_of(watcher, "msg")
        assert m["seq"] == spam["seq"], m
        st, _h, body = admin(a, "POST", room, "/bans", {"user": "troll", "reason": "spam"})
        assert (st, body) == (200, {"op": "ban"}), (st, body)
        # Its recent message is retracted for viewers of every node, history included.
        r = await next_of(watcher, "retract")
        assert (r["seq"], r["reason"]) == (spam["seq"], "banned"), r
        r2 = await next_of(troll, "retract")
        assert r2["seq"] == spam["seq"], r2
        for n in (a, b, c):
            assert [x for x in history(n, room) if x.get("type") == "msg"] == [], n.port
        # Its sends are refused on every node, WebSocket and HTTP alike.
        e = await say(troll, "again")
        assert (e["type"], e["code"]) == ("error", "banned"), e
        for n in (a, c):
            st, _h, body = post(n, room, "troll", "from elsewhere")
            assert (st, body["error"]) == (403, "banned"), (n.port, st, body)
        # Node b's copy of the bans (GET .../bans) has it once the room's channel told it.
        await until(lambda: [x["user"] for x in admin(b, "GET", room, "/bans")[2]["bans"]]
                    == ["troll"])
        # An unban on another node lets it speak again, everywhere.
        assert admin(c, "DELETE", room, "/bans/troll")[0] == 200
        assert admin(a, "DELETE", room, "/bans/troll")[2]["error"] == "not_found"
        ok = await say(troll, "sorry")
        assert ok["type"] == "ack", ok
        assert (await next_of(watcher, "msg"))["text"] == "sorry"
        # A timeout: refused with retry_ms on another node, then over.
        assert admin(c, "POST", room, "/bans", {"user": "troll", "secs": 2})[0] == 200
        st, headers, body = post(a, room, "troll", "too soon")
        assert st == 403 and body["error"] == "banned" and 0 < body["retry_ms"] <= 2000, body
        await asyncio.sleep(2.2)
        assert post(a, room, "troll", "back")[0] == 200
        await close_all([troll, watcher])

    run(go(), 90)


def test_slow_mode_set_on_one_node_applies_on_the_others(nodes):
    a, b, c = start(nodes)
    room = "slowroom"

    async def go():
        ws, w = await viewer(b, room, "chatty")
        assert w["modes"]["slow_secs"] == 0, w
        st, _h, body = admin(a, "POST", room, "/modes", {"slow_secs": 5})
        assert st == 200 and body["op"] == "mode" and body["seq"] >= 1, body
        state = await next_of(ws, "state")
        while state.get("seq") is None:  # a presence state is not the mode change's event
            state = await next_of(ws, "state")
        assert state["modes"]["slow_secs"] == 5 and state["seq"] == body["seq"], state
        first = await say(ws, "one")
        assert first["type"] == "ack", first
        # The next send, on another node, waits for the slot the first one used.
        st, headers, ans = post(c, room, "chatty", "two")
        assert st == 429 and ans["error"] == "slow_mode", (st, ans)
        assert 3000 < ans["retry_ms"] <= 5000, ans
        e = await say(ws, "three")
        assert (e["type"], e["code"]) == ("error", "slow_mode"), e
        # A node that starts following the room now tells it in the welcome.
        late, lw = await viewer(c, room, "late")
        assert lw["modes"]["slow_secs"] == 5, lw
        st, _h, body = admin(c, "POST", room, "/modes", {"slow_secs": 0})
        assert st == 200, body
        # The change comes before its `state` event on the room's channel.
        state = await next_of(ws, "state")
        while state.get("seq") != body["seq"]:
            state = await next_of(ws, "state")
        ok = await say(ws, "four")
        assert ok["type"] == "ack", ok
        await close_all([ws, late])

    run(go(), 60)


def test_retraction_and_clear_on_one_node_hide_on_the_others(nodes):
    a, b, c = start(nodes)
    room = "retroom"

    async def go():
        vb, _ = await viewer(b, room, "vb")
        vc, _ = await viewer(c, room, "vc")
        seqs = [post(a, room, "w", f"m{k}", f"r{k}")[2]["seq"] for k in range(3)]
        for v in (vb, vc):
            assert [(await next_of(v, "msg"))["seq"] for _ in range(3)] == seqs
        st, _h, body = http("DELETE", a.url(f"/admin/rooms/{room}/messages/{seqs[1]}"), None,
                            {"Authorization": f"Bearer {ADMIN}"})
        body = json.loads(body)
        assert st == 200 and body["seq"] > seqs[-1], (st, body)
        for v in (vb, vc):
            r = await next_of(v, "retract")
            assert (r["seq"], r["at"]) == (seqs[1], body["seq"]), r
        for n in (b, c):
            assert [m["seq"] for m in history(n, room) if m["type"] == "msg"] == [seqs[0],
                                                                                  seqs[2]]
        # A second retraction of it, from another node, is told it was done already.
        st, _h, raw = http("DELETE", b.url(f"/admin/rooms/{room}/messages/{seqs[1]}"), None,
                           {"Authorization": f"Bearer {ADMIN}"})
        assert (st, json.loads(raw)["error"]) == (409, "already_retracted"), (st, raw)
        # A resume from the start on a third node skips it too.
        ws, _w = await viewer(c, room, "resumer", since=0)
        got = [await next_of(ws, "msg", "retract") for _ in range(3)]
        assert [m["seq"] for m in got if m["type"] == "msg"] == [seqs[0], seqs[2]], got
        # A clear on one node: every viewer is told, history starts after it everywhere.
        st, _h, cl = admin(b, "POST", room, "/clear", {})
        assert st == 200 and cl["seq"] > body["seq"], cl
        for v in (vb, vc, ws):
            assert (await next_of(v, "clear"))["seq"] == cl["seq"]
        for n in (a, b, c):
            assert [m for m in history(n, room) if m["type"] == "msg"] == [], n.port
        await close_all([vb, vc, ws])

    run(go(), 60)


def test_blocked_terms_set_on_one_node_apply_on_the_others(nodes):
    a, b, c = start(nodes)
    room = "termroom"

    async def go():
        ws, _ = await viewer(b, room, "writer")
        terms = {"terms": [{"pattern": "badword", "action": "reject"},
                           {"pattern": "darn", "action": "mask"}]}
        assert admin(a, "PUT", room, "/terms", terms)[0] == 200
        # The change reaches node b by the room's channel (no event to wait for): b's copy,
        # which its sends are checked against, answers GET .../terms.
        await until(lambda: len(admin(b, "GET", room, "/terms")[2]["terms"]) == 2)
        e = await say(ws, "a badword here")
        assert (e["type"], e["code"]) == ("error", "blocked_term"), e
        ok = await say(ws, "oh darn")
        assert ok["type"] == "ack" and ok.get("masked"), ok
        assert (await next_of(ws, "msg"))["text"] == "oh ****"
        # A node without viewers of the room reads its rules before it checks a send.
        st, _h, body = post(c, room, "other", "badword again")
        assert (st, body["error"]) == (403, "blocked_term"), (st, body)
        st, _h, body = admin(c, "GET", room, "/terms")
        assert st == 200 and [t["pattern"] for t in body["terms"]] == ["badword", "darn"], body
        assert admin(b, "PUT", room, "/terms", {"terms": []})[0] == 200
        await until(lambda: admin(c, "GET", room, "/terms")[2]["terms"] == [])
        assert post(c, room, "other", "badword is fine now")[0] == 200
        await close_all([ws])

    run(go(), 60)


def server_terms(node, method, body=None):
    st, _h, raw = http(method, node.url("/admin/terms"),
                       None if body is None else json.dumps(body),
                       {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    return st, (json.loads(raw) if raw else None)


def test_server_wide_terms_set_on_one_node_apply_on_every_node(nodes, roomcast, redis):  # noqa: F811
    """PUT /admin/terms on one node: every node's every shard has them (the rules hash of the
    room "*", followed by every shard), a node started later reads them, and clearing them on
    another node clears them everywhere."""
    a, b, c = start(nodes)
    terms = {"terms": [{"pattern": "fleetbad", "action": "reject"}]}
    assert server_terms(a, "PUT", terms)[0] == 200

    async def go():
        for n in (a, b, c):
            await until(lambda n=n: [t["pattern"] for t in server_terms(n, "GET")[1]["terms"]]
                        == ["fleetbad"])
        # Sends to rooms owned by either shard of every node are checked against them: with 2
        # shards "g-a" is shard 0's, "g-b" shard 1's, the owner of "*" that follows the terms and
        # hands them to shard 0 (room::OwnerShardOf, FNV-1a).
        for n in (a, b, c):
            for room in ("g-a", "g-b"):
                st, _h, body = post(n, room, "w", "a fleetbad word")
                assert (st, body.get("error")) == (403, "blocked_term"), (n.port, room, st, body)
        late = roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY,
                        "--admin-key", ADMIN, shards=2)
        await until(lambda: server_terms(late, "GET")[1]["terms"] != [])
        st, _h, body = post(late, "g-a", "w", "fleetbad from a new node")
        assert (st, body.get("error")) == (403, "blocked_term"), body
        assert server_terms(b, "PUT", {"terms": []})[0] == 200
        for n in (a, c, late):
            await until(lambda n=n: server_terms(n, "GET")[1]["terms"] == [])
            for room in ("g-a", "g-b"):
                assert post(n, room, "w", "fleetbad is fine now")[0] == 200

    run(go(), 60)


def test_rate_limit_counts_sends_over_all_nodes(nodes):
    a, b = start(nodes, 2, "--rate-limit", "4/30")
    room = "rateroom"
    answers = [post((a, b)[k % 2], room, "spreader", f"m{k}") for k in range(6)]
    assert [st for st, _h, _b in answers] == [200, 200, 200, 200, 429, 429], answers
    st, headers, body = answers[4]
    assert body["error"] == "rate_limited" and 25000 < body["retry_ms"] <= 30000, body
    assert "retry-after" in headers, headers
    # Another user has its own budget.
    assert post(b, room, "someone-else", "hi")[0] == 200
    # The refusals Redis made are counted by the node that asked.
    counts = [metric_sum(fetch_metrics(n)[2], "roomcast_moderation_refused_total") for n in (a, b)]
    assert counts == [1, 1], counts


def test_a_node_that_follows_a_room_later_gets_its_rules(nodes):
    a, b, c = start(nodes)
    room = "lateroom"
    assert admin(a, "POST", room, "/bans", {"user": "troll"})[0] == 200
    assert admin(a, "POST", room, "/modes", {"subscribers_only": True})[0] == 200
    assert admin(b, "POST", room, "/modes", {"slow_secs": 30})[0] == 200

    async def go():
        ws, w = await viewer(c, room, "newcomer")
        assert w["modes"]["slow_secs"] == 30 and w["modes"]["subscribers_only"], w
        e = await say(ws, "hello")
        assert (e["type"], e["code"]) == ("error", "forbidden"), e
        st, _h, body = admin(c, "GET", room, "/bans")
        assert [x["user"] for x in body["bans"]] == ["troll"], body
        st, _h, body = admin(c, "POST", room, "/modes", {"subscribers_only": False})
        assert st == 200, body
        state = await next_of(ws, "state")
        while state.get("seq") != body["seq"]:
            state = await next_of(ws, "state")
        assert state["modes"] == {**w["modes"], "subscribers_only": False}, state
        troll, _ = await viewer(c, room, "troll")
        e = await say(troll, "let me in")
        assert (e["type"], e["code"]) == ("error", "banned"), e
        assert (await say(ws, "hello"))["type"] == "ack"
        e = await say(ws, "hello again")
        assert (e["type"], e["code"]) == ("error", "slow_mode"), e
        await close_all([ws, troll])

    run(go(), 60)


def test_acts_while_redis_is_unreachable_are_refused_and_applied_nowhere(nodes, redis):
    a, b = start(nodes, 2)
    room = "downroom"

    async def go():
        ws, _ = await viewer(b, room, "victim")
        # A node acts on a room it follows at once; one that does not follow it yet first
        # waits for Redis to be in step (docs/cluster.md, "Failures").
        wa, _ = await viewer(a, room, "onlooker")
        assert (await say(ws, "before"))["type"] == "ack"
        redis.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            st, _h, body = await asyncio.to_thread(admin, a, "POST", room, "/bans",
                                                   {"user": "victim"})
            assert (st, body["error"]) == (503, "unavailable"), (st, body)
            assert time.monotonic() - t0 < 3, "refused within the deadline"
            st, _h, body = await asyncio.to_thread(admin, a, "POST", room, "/modes",
                                                   {"slow_secs": 60})
            assert (st, body["error"]) == (503, "unavailable"), (st, body)
        finally:
            redis.signal(signal.SIGCONT)
        await asyncio.sleep(1.0)
        # Redis ran the late calls after it came back: it refused them (their deadline had
        # passed), so no node has the ban or slow mode.
        for text in ("after 1", "after 2"):
            ok = await say(ws, text)
            assert ok["type"] == "ack", ok
        for n in (a, b):
            assert admin(n, "GET", room, "/bans")[2]["bans"] == [], n.port
        await close_all([ws, wa])

    run(go(), 60)


def test_held_messages_are_allowed_on_the_node_that_holds_them(nodes):
    a, b, c = start(nodes)
    room = "holdroom"

    async def go():
        watcher, _ = await viewer(c, room, "watcher")
        writer, _ = await viewer(b, room, "writer")
        terms = {"terms": [{"pattern": "gold", "action": "hold"}]}
        assert admin(a, "PUT", room, "/terms", terms)[0] == 200
        await until(lambda: len(admin(b, "GET", room, "/terms")[2]["terms"]) == 1)
        h = await say(writer, "buying gold", "h1")
        assert h["type"] == "ack" and h["held"] is True, h
        assert [x["text"] for x in admin(b, "GET", room, "/held")[2]["held"]] == ["buying gold"]
        # Held on node b: another node does not have it.
        assert admin(a, "GET", room, "/held")[2]["held"] == []
        st, _h, body = admin(a, "POST", room, f"/held/{h['id']}/allow", {})
        assert (st, body["error"]) == (404, "not_found"), body
        # Allowed on node b: numbered by Redis, seen on node c.
        st, _h, body = admin(b, "POST", room, f"/held/{h['id']}/allow", {})
        assert st == 200 and body["op"] == "allow" and body["seq"] >= 1, body
        m = await next_of(watcher, "msg")
        assert (m["text"], m["user"], m["seq"]) == ("buying gold", "writer", body["seq"]), m
        await close_all([watcher, writer])

    run(go(), 60)
