"""Adaptive long-poll pacing (docs/longpoll.md): timeoutMs rises in a busy room so that its request
rate stays under --poll-budget, and falls back to 0 when the room is quiet; --poll-budget 0 keeps
it 0. The test drives both the pollers and the message rate."""
import asyncio
import json
import time

from httputil import AsyncHttpConn, check_poll_answer, poll_answer, room_path
from rcutil import run

ROOM = "lp-pace-room"


def poll_ok(server, room=ROOM, **kw):
    return poll_answer(server, room, **kw)


async def _poller(port, room, stop, samples, hold_s):
    """Loops with its cursor, honouring timeoutMs; records (time, timeoutMs); checks seqs."""
    conn = await AsyncHttpConn.open(port)
    try:
        st, _h, body = await conn.request("GET", room_path(room, "messages", history=0))
        assert st == 200, body
        ans = check_poll_answer(json.loads(body), room)
        last, cursor = ans["seq"], ans["cursor"]
        while not stop.is_set():
            st, _h, body = await conn.request("GET", room_path(room, "messages", cursor=cursor),
                                              timeout=hold_s + 5)
            assert st == 200, body
            ans = check_poll_answer(json.loads(body), room)
            samples.append((time.monotonic(), ans["timeoutMs"]))
            for m in ans["messages"]:
                assert m.get("type") == "msg" and m["seq"] == last + 1, (
                    f"poller expected seq {last + 1}, got {m}")
                last = m["seq"]
            assert ans["seq"] == last, ans
            cursor = ans["cursor"]
            if ans["timeoutMs"]:
                try:
                    await asyncio.wait_for(stop.wait(), min(ans["timeoutMs"], 5000) / 1000)
                except asyncio.TimeoutError:
                    pass
    finally:
        await conn.close()


async def _publisher(port, room, rate, secs):
    conn = await AsyncHttpConn.open(port)
    try:
        t0, i = time.monotonic(), 0
        while i / rate < secs:
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            body = json.dumps({"text": f"load {i}", "cid": f"load-{i}"}).encode()
            st, _h, ans = await conn.request("POST", room_path(room, "messages", user="pub"), body)
            assert st == 200, ans
            i += 1
        return i
    finally:
        await conn.close()


async def _load(server, room, pollers, rate, secs, hold_s):
    """pollers loop while the publisher sends rate msg/s for secs; returns (messages sent,
    per-poller samples, monotonic time the publisher stopped)."""
    stop = asyncio.Event()
    samples = [[] for _ in range(pollers)]
    tasks = [asyncio.create_task(_poller(server.port, room, stop, samples[i], hold_s))
             for i in range(pollers)]
    await asyncio.sleep(0.3)
    sent = await _publisher(server.port, room, rate, secs)
    quiet_since = time.monotonic()
    stop.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), hold_s + 8)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)}/{pollers} pollers failed; first: {errors[0]!r}"
    return sent, samples, quiet_since


def test_timeout_rises_under_load_then_falls_back(roomcast):
    """--poll-budget 20 on one shard: 30 pollers in a room with 40 msg/s exceed it, so
    timeoutMs rises (with jitter); ~10 s after the room goes quiet it is 0 again."""
    server = roomcast("--poll-budget", 20, "--poll-hold-ms", 2000, "--poll-max-timeout-ms", 3000,
                      shards=1)

    async def scenario():
        sent, samples, quiet_since = await _load(server, ROOM, 30, 40, 3.5, 2.0)
        assert sent >= 130, f"publisher managed only {sent} messages"
        all_t = [t for s in samples for _at, t in s]
        nonzero = [t for t in all_t if t > 0]
        assert nonzero, f"timeoutMs stayed 0 over {len(all_t)} answers under load"
        assert max(nonzero) <= 3000 * 1.2 + 1, f"timeoutMs over max + jitter: {max(nonzero)}"
        assert len(set(nonzero)) >= 2, f"no jitter: every non-zero timeoutMs is {nonzero[0]}"

        later = []
        while True:
            wait = quiet_since + 10.0 - time.monotonic()
            if wait <= 0:
                break
            await asyncio.sleep(min(1.0, wait))
            ans, _ = await asyncio.to_thread(poll_ok, server, history=0)
            later.append((round(time.monotonic() - quiet_since, 1), ans["timeoutMs"]))
        ans, _ = await asyncio.to_thread(poll_ok, server, history=0)
        later.append((round(time.monotonic() - quiet_since, 1), ans["timeoutMs"]))
        assert ans["timeoutMs"] == 0, (
            f"timeoutMs still {ans['timeoutMs']} 10 s after the room went quiet; "
            f"(seconds, timeoutMs) since: {later}")
    run(scenario(), 40)


def test_budget_0_keeps_timeout_0(roomcast):
    server = roomcast("--poll-budget", 0, "--poll-hold-ms", 2000, shards=1)

    async def scenario():
        _sent, samples, _quiet = await _load(server, ROOM, 30, 40, 2.5, 2.0)
        all_t = [t for s in samples for _at, t in s]
        assert len(all_t) >= 30, f"only {len(all_t)} answers"
        assert set(all_t) == {0}, f"--poll-budget 0 but timeoutMs values {sorted(set(all_t))}"
    run(scenario(), 30)


# -- keep-alive, pipelining -----------------------------------------------------------------------
