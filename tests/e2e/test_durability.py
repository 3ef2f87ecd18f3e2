"""The durable log and resume across restarts (docs/durability.md): with --data-dir every event is
written before its ack, so a kill -9 under load loses no acknowledged message; a restart replays
the log, keeps each room's epoch and continues its seq, and every transport resumes exactly where
it was. Without --data-dir a restart starts new epochs and a resume says so with a reset gap.
Idempotent send: a cid resent by the same user in the room gets the original ack."""
import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from websockets.exceptions import ConnectionClosed

from httputil import SSEStream, poll_answer, post_many, room_path
from metricsutil import fetch_metrics, metric_sum
from rcutil import (barrier, binary_path, check_msg, check_welcome, close_all, http,
                    post_message, recv_json, recv_next, run, send_op, ws_connect)

ROOM = "durable-room"
BIG = ("--history", 100000, "--max-history-request", 100000)
# How a client's connection ends when the server is killed under it; any other exception in the
# in-crash tasks (a failed check above all) fails the test.
CONNECTION_GONE = (ConnectionClosed, ConnectionError)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kill9(server) -> None:
    """SIGKILL this server's PID (a crash) and take it out of the fixture's clean-exit check."""
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    server.proc = None


async def all_events(server, room=ROOM, since=0, **params):
    """Everything a WebSocket resume from `since` replays: (welcome, [objects])."""
    ws = await ws_connect(server.ws_url(room, since=since, user="auditor", **params))
    try:
        w = check_welcome(await recv_json(ws, 5), room, "auditor")
        return w, await barrier(ws, 20)
    finally:
        await close_all([ws])


def test_kill9_under_load_loses_no_acked_message(roomcast, tmp_path):
    """Two publishers pipeline sends while a viewer follows; the server is killed with SIGKILL
    mid-stream. After a restart on the same --data-dir every acknowledged message is there with
    its seq, id and text, the epoch is the same, seq continues after the last logged event, and
    the viewer resuming with since=<last seq it saw>&epoch= gets exactly what it missed."""
    first = roomcast("--data-dir", tmp_path, *BIG)
    acked: dict[int, tuple[str, str]] = {}
    seen: list[int] = []
    state = {}

    async def publisher(name, stop):
        ws = await ws_connect(first.ws_url(ROOM, user=name))
        await recv_json(ws, 5)
        sent = {}
        n = 0
        try:
            async def reader():
                while True:
                    obj = json.loads(await ws.recv())
                    if obj.get("type") == "ack":
                        cid = obj["cid"]
                        assert obj.get("id") == cid and not obj.get("duplicate"), obj
                        acked[obj["seq"]] = (cid, sent[cid])
            rd = asyncio.ensure_future(reader())
            while not stop.is_set():
                for _ in range(20):
                    cid, text = f"{name}-{n}", f"{name} says {n}"
                    sent[cid] = text
                    await send_op(ws, {"op": "send", "text": text, "cid": cid})
                    n += 1
                await asyncio.sleep(0.01)
            try:
                await asyncio.wait_for(rd, 3)
            except CONNECTION_GONE:  # the connection dies with the server
                pass
        finally:
            await close_all([ws], 2)

    async def viewer(stop):
        ws = await ws_connect(first.ws_url(ROOM, user="follower"))
        w = check_welcome(await recv_json(ws, 5), ROOM, "follower")
        state["epoch"] = w["epoch"]
        try:
            while True:
                obj = json.loads(await ws.recv())
                if obj.get("type") == "msg":
                    assert not seen or obj["seq"] == seen[-1] + 1, (seen[-1:], obj)
                    seen.append(obj["seq"])
        except CONNECTION_GONE:
            pass
        finally:
            await close_all([ws], 2)

    async def scenario():
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(viewer(stop))]
        await asyncio.sleep(0.2)
        tasks += [asyncio.ensure_future(publisher(p, stop)) for p in ("pa", "pb")]
        await asyncio.sleep(1.5)
        kill9(first)  # mid-stream: sends still in flight
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        for r in results:  # a send racing the kill may end a publisher: nothing else may
            if isinstance(r, BaseException) and not isinstance(r, CONNECTION_GONE):
                raise r
    run(scenario(), 40)
    assert len(acked) > 200, f"the load was too light to mean anything: {len(acked)} acks"
    assert seen, "the viewer saw nothing before the kill"

    second = roomcast("--data-dir", tmp_path, *BIG)
    assert "replayed" in second.log_text(), second.log_text()

    async def check_after():
        w, objs = await all_events(second)
        assert w["epoch"] == state["epoch"], f"the epoch must survive: {w} vs {state}"
        by_seq = {o["seq"]: o for o in objs if o.get("type") == "msg"}
        assert [o["seq"] for o in objs] == list(range(1, w["seq"] + 1)), "holes in the replay"
        for seq, (cid, text) in acked.items():
            assert seq in by_seq, f"acknowledged seq {seq} ({cid}) lost in the crash"
            check_msg(by_seq[seq], ROOM, seq=seq, id=cid, text=text)
        assert w["seq"] >= max(acked), (w, max(acked))
        # The viewer resumes where it was: exactly what it missed, in order, then live.
        last = seen[-1]
        ws = await ws_connect(second.ws_url(ROOM, since=last, epoch=state["epoch"], user="follower"))
        try:
            check_welcome(await recv_json(ws, 5), ROOM, "follower")
            missed = await barrier(ws, 10)
            assert [o["seq"] for o in missed] == list(range(last + 1, w["seq"] + 1)), (
                f"resume from {last}: {[o.get('type') + str(o.get('seq')) for o in missed][:10]}")
            st, _h, body = post_message(second, ROOM, "after", {"text": "after", "cid": "after-1"})
            assert st == 200 and json.loads(body)["seq"] == w["seq"] + 1, (st, body, w)
            live = await recv_next(ws, 5)
            assert live.get("type") == "msg" and live["seq"] == w["seq"] + 1, live
        finally:
            await close_all([ws])
    run(check_after(), 40)


def test_every_transport_resumes_across_a_crash(roomcast, tmp_path):
    """WebSocket since=&epoch=, SSE Last-Event-ID and a long-poll cursor taken before a kill -9
    each get exactly the messages posted after the restart: same epoch, no gap, no duplicate."""
    first = roomcast("--data-dir", tmp_path)
    before = post_many(first, ROOM, 5, prefix="b")
    poll, _ = poll_answer(first, ROOM, history=0)
    assert poll["seq"] == 5, poll
    with SSEStream(first.port, room_path(ROOM, "events", history=5)) as sse:
        ep = sse.next_event()["data"]["epoch"]
        ids = [sse.next_event()["id"] for _ in range(5)]
    assert ids == [f"{s}:{ep}" for s in range(1, 6)], ids
    kill9(first)

    second = roomcast("--data-dir", tmp_path)
    after = post_many(second, ROOM, 3, prefix="a")
    assert [a[0] for a in after] == [6, 7, 8], f"seq must continue: {after}"
    want = [(s, cid, text) for s, cid, text in after]

    ans, _ = poll_answer(second, ROOM, cursor=poll["cursor"])
    assert ans["epoch"] == poll["epoch"], (ans, poll)
    assert [m["seq"] for m in ans["messages"]] == [6, 7, 8], ans
    for m, (seq, cid, text) in zip(ans["messages"], want):
        check_msg(m, ROOM, seq=seq, id=cid, text=text)

    with SSEStream(second.port, room_path(ROOM, "events"),
                   headers={"Last-Event-ID": ids[-1]}) as sse:
        wel = sse.next_event()
        assert wel["event"] == "welcome" and wel["data"]["epoch"] == poll["epoch"], wel
        evs = [sse.next_event() for _ in range(3)]
    assert [(e["event"], e["id"]) for e in evs] == [("msg", f"{s}:{ep}") for s in (6, 7, 8)], evs

    async def ws_resume():
        ws = await ws_connect(second.ws_url(ROOM, since=5, epoch=poll["epoch"], user="r"))
        try:
            w = check_welcome(await recv_json(ws, 5), ROOM, "r")
            assert w["epoch"] == poll["epoch"], w
            got = await barrier(ws)
            assert [o.get("type") for o in got] == ["msg"] * 3, got
            for m, (seq, cid, text) in zip(got, want):
                check_msg(m, ROOM, seq=seq, id=cid, text=text)
        finally:
            await close_all([ws])
    run(ws_resume(), 20)
    assert before[-1][0] == 5


def test_without_data_dir_a_restart_is_a_new_epoch_and_resumes_say_so(roomcast):
    """No --data-dir: history is in memory only (the start-up log says so). After a restart a
    WebSocket or SSE viewer resuming with its old epoch gets a reset gap naming the new epoch,
    then the new epoch from seq 1, even though its since is below the new head."""
    first = roomcast()
    assert "memory only" in first.log_text(), first.log_text()
    post_many(first, ROOM, 3, prefix="old")
    old_epoch = poll_answer(first, ROOM, history=0)[0]["epoch"]
    assert first.stop() == 0
    second = roomcast()
    sent = post_many(second, ROOM, 6, prefix="new")

    async def scenario():
        ws = await ws_connect(second.ws_url(ROOM, since=2, epoch=old_epoch, user="r"))
        try:
            w = check_welcome(await recv_json(ws, 5), ROOM, "r")
            assert w["epoch"] != old_epoch, w
            got = await barrier(ws)
            assert got[0] == {"type": "gap", "room": ROOM, "from": 1, "to": 0,
                              "epoch": w["epoch"], "reset": True}, got
            assert [o["seq"] for o in got[1:]] == [s[0] for s in sent], got
            return w["epoch"]
        finally:
            await close_all([ws])
    new_epoch = run(scenario(), 20)
    # The same epoch is a plain resume.
    with SSEStream(second.port, room_path(ROOM, "events", since=4, epoch=new_epoch)) as sse:
        assert sse.next_event()["event"] == "welcome"
        assert [sse.next_event()["id"] for _ in range(2)] == [f"5:{new_epoch}", f"6:{new_epoch}"]
    with SSEStream(second.port, room_path(ROOM, "events", since=2, epoch=old_epoch)) as sse:
        assert sse.next_event()["event"] == "welcome"
        gap = sse.next_event()
        assert gap["event"] == "gap" and gap["data"]["reset"] is True, gap
        assert gap["id"] == f"0:{new_epoch}", gap
        assert sse.next_event()["id"] == f"1:{new_epoch}"
    # A malformed epoch is refused.
    st, _h, body = http("GET", second.url(room_path(ROOM, "events", epoch="not/valid")))
    assert st == 400 and b"epoch" in body, (st, body)


async def next_acks(ws, n, timeout=5.0):
    """The next n acks on ws (other frames skipped): acks travel through the room's owner and
    the log, so a ping barrier does not order them."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        obj = await recv_next(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") == "ack":
            out.append(obj)
    return out


def test_resent_cid_gets_the_original_ack(roomcast, tmp_path):
    """Idempotent send: the same user resending a cid in the same room (same connection, a new
    connection, over HTTP, or after a restart with --data-dir) gets the original seq, marked
    duplicate, and viewers see the message once. Another user's same cid is another message."""
    server = roomcast("--data-dir", tmp_path)

    async def scenario():
        viewer = await ws_connect(server.ws_url(ROOM, user="watcher"))
        pub = await ws_connect(server.ws_url(ROOM, user="alice"))
        sockets = [viewer, pub]
        try:
            await recv_json(viewer, 5)
            await recv_json(pub, 5)
            for _ in range(2):
                await send_op(pub, {"op": "send", "text": "hello once", "cid": "dup-1"})
            acks = await next_acks(pub, 2)
            assert [(a["seq"], a.get("duplicate", False)) for a in acks] == [(1, False), (1, True)], acks
            # A reconnect (same user) resends: still seq 1.
            again = await ws_connect(server.ws_url(ROOM, user="alice"))
            sockets.append(again)
            await recv_json(again, 5)
            await send_op(again, {"op": "send", "text": "hello once", "cid": "dup-1"})
            ack = (await next_acks(again, 1))[0]
            assert ack["seq"] == 1 and ack["duplicate"] is True, ack
            # Another user with the same cid: a new message.
            bob = await ws_connect(server.ws_url(ROOM, user="bob"))
            sockets.append(bob)
            await recv_json(bob, 5)
            await send_op(bob, {"op": "send", "text": "bob's", "cid": "dup-1"})
            ack = (await next_acks(bob, 1))[0]
            assert ack["seq"] == 2 and not ack.get("duplicate"), ack
            await asyncio.sleep(0.3)
            msgs = [o for o in await barrier(viewer) if o.get("type") == "msg"]
            assert [(m["seq"], m["user"]) for m in msgs] == [(1, "alice"), (2, "bob")], msgs
        finally:
            await close_all(sockets)
    run(scenario(), 20)
    st, _h, body = post_message(server, ROOM, "alice", {"text": "hello once", "cid": "dup-1"})
    assert st == 200 and json.loads(body) == {"seq": 1, "id": "dup-1", "duplicate": True}, body
    assert metric_sum(fetch_metrics(server)[2], "roomcast_messages_deduplicated_total") == 3
    assert server.stop() == 0
    again = roomcast("--data-dir", tmp_path)
    st, _h, body = post_message(again, ROOM, "alice", {"text": "hello once", "cid": "dup-1"})
    assert st == 200 and json.loads(body)["seq"] == 1, f"dedup must survive a restart: {body}"


def test_dedup_can_be_turned_off(roomcast):
    server = roomcast("--dedup-secs", 0)
    a = post_message(server, ROOM, "alice", {"text": "x", "cid": "same"})
    b = post_message(server, ROOM, "alice", {"text": "x", "cid": "same"})
    assert (json.loads(a[2])["seq"], json.loads(b[2])["seq"]) == (1, 2), (a, b)


def newest_segment(data_dir: Path) -> Path:
    segs = sorted(p for p in (data_dir / "log").glob("shard-*/*.seg") if p.stat().st_size > 16)
    assert segs, f"no segment with records under {data_dir}"
    return max(segs, key=lambda p: p.stat().st_mtime)


def test_torn_tail_is_cut_reported_and_start_goes_on(roomcast, tmp_path):
    """A crash mid-write leaves a torn record at the end of the newest segment: the next start
    cuts it at the last good record, says so, and serves every message before it."""
    first = roomcast("--data-dir", tmp_path)
    sent = post_many(first, ROOM, 20, prefix="t")
    kill9(first)
    seg = newest_segment(tmp_path)
    good = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(b"\x40\x00\x00\x00\xde\xad\xbe\xef" + b"half a record")  # claims 64 bytes
    second = roomcast("--data-dir", tmp_path)
    log = second.log_text()
    assert "cut" in log and seg.name in log, log
    assert seg.stat().st_size == good, "the torn tail must be cut off the file"

    async def check():
        w, objs = await all_events(second)
        assert [o["seq"] for o in objs] == [s[0] for s in sent], objs
    run(check(), 20)
    st, _h, body = post_message(second, ROOM, "w", {"text": "next", "cid": "next"})
    assert st == 200 and json.loads(body)["seq"] == 21, body


def test_fsync_policies_all_ack_and_count_their_syncs(roomcast, tmp_path):
    """--fsync batch syncs every group commit before the ack; interval syncs within
    --fsync-interval-ms; never does not sync. All three acknowledge every send."""
    counts = {}
    for mode in ("batch", "interval", "never"):
        d = tmp_path / mode
        d.mkdir()
        srv = roomcast("--data-dir", d, "--fsync", mode, "--fsync-interval-ms", 100)
        post_many(srv, ROOM, 10, prefix=mode)
        time.sleep(0.4)
        m = fetch_metrics(srv)[2]
        counts[mode] = (metric_sum(m, "roomcast_log_fsyncs_total"),
                        metric_sum(m, "roomcast_log_writes_total"),
                        metric_sum(m, "roomcast_log_records_total"))
        assert srv.stop() == 0
    assert counts["batch"][0] >= counts["batch"][1] >= 10, counts  # one sync per group commit
    assert counts["interval"][0] >= 1, counts
    assert counts["never"][0] == 0, counts
    assert all(c[2] == 10 for c in counts.values()), counts


def test_bad_log_flags_exit_2(roomcast):
    for args in (["--fsync", "sometimes"], ["--admin-key", "short"], ["--segment-mb", "0"]):
        r = subprocess.run([str(binary_path()), *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and args[0] in r.stderr, (args, r.returncode, r.stderr)


def test_retraction_and_priority_survive_a_crash(roomcast, tmp_path):
    """The log keeps tombstones and the priority lane: after a kill -9 and a restart a retracted
    message is still never served (history, resume, long-poll), its retract event still is, and
    a priority message older than --history is still replayed first."""
    key = "k" * 20
    first = roomcast("--data-dir", tmp_path, "--admin-key", key, "--history", 4)
    auth = {"Authorization": f"Bearer {key}"}
    st, _h, body = http("POST", first.url(f"/admin/rooms/{ROOM}/publish"),
                        json.dumps({"text": "gift!", "prio": True, "kind": "gift", "cid": "g-1"}),
                        headers=auth)
    assert st == 200 and json.loads(body)["seq"] == 1, body
    post_many(first, ROOM, 3, prefix="p")                                     # 2..4
    st, _h, body = http("DELETE", first.url(f"/admin/rooms/{ROOM}/messages/3"),
                        json.dumps({"reason": "spam", "by": "mod-1"}), headers=auth)
    assert st == 200 and json.loads(body) == {"retracted": 3, "seq": 5}, body
    post_many(first, ROOM, 2, prefix="q")                                     # 6..7
    kill9(first)

    second = roomcast("--data-dir", tmp_path, "--admin-key", key, "--history", 4)

    def shape(objs):
        return [(o["type"], o.get("seq"), o.get("at")) for o in objs]
    want_tail = [("msg", 1, None), ("retract", 3, 5), ("msg", 4, None), ("msg", 6, None),
                 ("msg", 7, None)]

    async def ws_views():
        _w, objs = await all_events(second)                                   # since=0
        assert shape(objs) == [("gap", None, None)] + want_tail, objs
        assert objs[0]["from"] == 1 and objs[0]["to"] == 3, objs[0]
        assert all("p line 1" not in json.dumps(o) for o in objs), objs
    run(ws_views(), 20)
    ans, _ = poll_answer(second, ROOM, history=4)
    assert shape(ans["messages"]) == [("msg", 1, None), ("retract", 3, 5), ("msg", 4, None),
                                      ("msg", 6, None), ("msg", 7, None)], ans
    st, _h, body = http("DELETE", second.url(f"/admin/rooms/{ROOM}/messages/3"), headers=auth)
    assert st == 409 and json.loads(body)["error"] == "already_retracted", (st, body)


def test_changing_the_shard_count_keeps_every_room(roomcast, tmp_path):
    """Rooms move between owner shards when --shards changes; the log of every old shard
    directory is still replayed into the room's new owner, so across 2 -> 1 -> 3 shards each room
    keeps its epoch and all its messages, in order, and seq continues."""
    rooms = [f"shardy-{i}" for i in range(6)]
    sent = {r: [] for r in rooms}
    epochs = {}
    for step, shards in enumerate((2, 1, 3)):
        srv = roomcast("--data-dir", tmp_path, shards=shards)
        for r in rooms:
            got = post_many(srv, r, 2, prefix=f"s{step}")
            if sent[r]:
                assert got[0][0] == sent[r][-1][0] + 1, f"{r}: seq must continue: {got}"
            sent[r] += got
            ans, _ = poll_answer(srv, r, history=0)
            epochs.setdefault(r, ans["epoch"])
            assert ans["epoch"] == epochs[r], f"{r}: the epoch changed with --shards {shards}"
        assert srv.stop() == 0
    last = roomcast("--data-dir", tmp_path, shards=2)
    for r in rooms:
        ans, _ = poll_answer(last, r, history=100)
        assert [(m["seq"], m["id"]) for m in ans["messages"]] == [(s, c) for s, c, _t in sent[r]], (
            r, ans["messages"])
        assert len(list((tmp_path / "log").glob("shard-*"))) == 3


def test_a_log_that_cannot_be_written_refuses_publishes_and_loses_nothing_acked(roomcast, tmp_path):
    """A disk that fails (here: the server's RLIMIT_FSIZE, so writes past 200 KB fail with
    EFBIG): the shard logs the error, counts it, answers the sends it could not write with 503
    unavailable instead of an ack, and refuses further publishes. After a restart on a healthy
    disk every acknowledged message is there, the torn tail cut."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))  # inherited by the server only
    try:
        srv = roomcast("--data-dir", tmp_path, shards=1)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    acked = []
    refused = None
    for i in range(3000):
        st, _h, body = post_message(srv, ROOM, "w", {"text": "y" * 300, "cid": f"f-{i}"})
        if st != 200:
            refused = (st, json.loads(body))
            break
        acked.append(json.loads(body)["seq"])
    assert refused and refused[0] == 503 and refused[1]["error"] == "unavailable", refused
    assert 300 < len(acked) < 700, len(acked)
    st, _h, body = post_message(srv, ROOM, "w", {"text": "again", "cid": "after"})
    assert st == 503, (st, body)
    assert metric_sum(fetch_metrics(srv)[2], "roomcast_log_write_errors_total") >= 1
    assert "durable log write failed" in srv.log_text(), srv.log_text()
    # Not ready any more (a load balancer takes the node out), and the shard does not spin: the
    # interval fdatasync that will never come must not keep its loop awake.
    st, _h, body = http("GET", srv.url("/readyz"))
    assert (st, json.loads(body)["error"]) == (503, "unavailable"), (st, body)
    st, _h, _body = http("GET", srv.url("/healthz"))
    assert st == 200
    before = cpu_seconds(srv.proc.pid)
    time.sleep(3)
    used = cpu_seconds(srv.proc.pid) - before
    assert used < 0.3, f"the server used {used:.2f} s of CPU in 3 idle seconds after the failure"
    assert srv.stop() == 0

    again = roomcast("--data-dir", tmp_path, shards=1, *BIG)

    async def check():
        _w, objs = await all_events(again)
        have = [o["seq"] for o in objs if o.get("type") == "msg"]
        assert have[:len(acked)] == acked, "an acknowledged message was lost"
    run(check(), 20)
    st, _h, body = post_message(again, ROOM, "w", {"text": "healthy", "cid": "h-1"})
    assert st == 200, (st, body)


def test_segments_roll_and_retention_deletes_old_ones_under_load(roomcast, tmp_path):
    """--segment-mb 1 --retain-mb 2 with a 10 ms fsync interval: 6,000 pipelined sends of ~800
    bytes from one client that reads nothing meanwhile roll the log over several segments while
    syncs run; every send is acked (acks survive the slow-viewer skip), no write fails, retention
    keeps the shard's log near 2 MiB by deleting whole old segments, and after a restart the
    room keeps its seq, with a gap for what retention deleted and every later message."""
    srv = roomcast("--data-dir", tmp_path, "--segment-mb", 1, "--retain-mb", 2,
                   "--fsync-interval-ms", 10, "--history", 2000, "--max-history-request", 2000,
                   "--max-text", 1000, shards=1)
    text = "z" * 800

    async def blast():
        ws = await ws_connect(srv.ws_url(ROOM, user="blaster"))
        try:
            await recv_json(ws, 5)
            for i in range(6000):
                await send_op(ws, {"op": "send", "text": text, "cid": f"b-{i}"})
            acks = await next_acks(ws, 6000, timeout=60)
            return [a["seq"] for a in acks]
        finally:
            await close_all([ws])
    seqs = run(blast(), 90)
    assert sorted(seqs) == list(range(1, 6001)), "every send acked once"
    time.sleep(1.1)  # retention runs at most once a second, after a group commit
    st, _h, body = post_message(srv, ROOM, "w", {"text": "one more", "cid": "last"})
    assert st == 200 and json.loads(body)["seq"] == 6001, body
    m = fetch_metrics(srv)[2]
    assert metric_sum(m, "roomcast_log_write_errors_total") == 0
    assert metric_sum(m, "roomcast_log_fsyncs_total") >= 1
    assert srv.stop() == 0
    segs = sorted((tmp_path / "log" / "shard-0").glob("*.seg"))
    total = sum(p.stat().st_size for p in segs)
    assert segs[0].name != "00000000000000000001.seg", "retention must have deleted segment 1"
    assert 512 * 1024 <= total <= 3 * 1024 * 1024, (total, [p.name for p in segs])

    again = roomcast("--data-dir", tmp_path, "--history", 2000, "--max-history-request", 2000,
                     shards=1)

    async def check():
        w, objs = await all_events(again, since=4001)
        assert w["seq"] == 6001, w
        # Retention deleted the oldest segments: what is left (a gap first when that is less
        # than --history) is an unbroken tail up to the head.
        first, msgs = 4002, objs
        if objs and objs[0]["type"] == "gap":
            assert objs[0]["from"] == 4002, objs[0]
            first, msgs = objs[0]["to"] + 1, objs[1:]
        assert [o["seq"] for o in msgs] == list(range(first, 6002)), msgs[:3]
        # Every record still on disk is replayed (~1 KB each, header included); how many that
        # is depends on where the batches (never split) made the segments roll.
        assert len(msgs) >= total // 1100, (len(msgs), total)
    run(check(), 20)
