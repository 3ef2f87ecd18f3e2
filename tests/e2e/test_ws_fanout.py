"""Fan-out: 200 viewers over 3 rooms on 2 shards, senders over WebSocket and HTTP.

Every viewer gets every message of its own room exactly once, seq strictly +1 with no hole,
nothing of another room; each sender's ack carries the seq its message got."""
import asyncio
import json
import time
from dataclasses import dataclass, field

from metricsutil import fetch_metrics, metric_by_shard
from rcutil import (barrier, check_msg, close_all, is_int, join, now_ms, post_message, recv_next,
                    run, send_op)

ROOMS = ["fan-a", "fan-b", "fan-c"]
VIEWERS = 200
WS_SENDERS_PER_ROOM = 4
MSGS_PER_WS_SENDER = 5
HTTP_MSGS_PER_ROOM = 3
PER_ROOM = WS_SENDERS_PER_ROOM * MSGS_PER_WS_SENDER + HTTP_MSGS_PER_ROOM  # 23
CONNECT_CONCURRENCY = 32


@dataclass
class Client:
    name: str
    room: str
    ws: object = None
    welcome: dict = None
    frames: list = field(default_factory=list)
    cids: list = field(default_factory=list)   # what this client sends, in order

    def msgs(self):
        return [f for f in self.frames if f.get("type") == "msg"]

    def acks(self):
        return [f for f in self.frames if f.get("type") == "ack"]


async def read_until_complete(c: Client, deadline: float):
    """Collect frames until PER_ROOM msgs (and, for a sender, its acks) arrived."""
    while len(c.msgs()) < PER_ROOM or len(c.acks()) < len(c.cids):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"{c.name} in {c.room}: timed out with {len(c.msgs())}/{PER_ROOM} msgs and "
                f"{len(c.acks())}/{len(c.cids)} acks; last frames {c.frames[-3:]}")
        f = await recv_next(c.ws, remaining)
        assert f.get("type") in ("msg", "ack"), f"{c.name}: unexpected frame {f}"
        c.frames.append(f)


def test_fanout_200_viewers_3_rooms(roomcast):
    server = roomcast("--max-conns", "2000")
    run(_fanout(server), 120)


async def _fanout(server):
    t0 = now_ms() - 1000
    viewers = [Client(f"v{i}", ROOMS[i % len(ROOMS)]) for i in range(VIEWERS)]
    senders = [Client(f"s-{room}-{k}", room) for room in ROOMS for k in range(WS_SENDERS_PER_ROOM)]
    everyone = viewers + senders
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(c: Client):
        async with sem:
            c.ws, c.welcome = await join(server, c.room, user=c.name)

    try:
        await asyncio.wait_for(asyncio.gather(*(connect(c) for c in everyone)), 60)

        # Nothing was sent yet: every client of a room saw the same head and epoch.
        head = {}
        for room in ROOMS:
            ws = [c.welcome for c in everyone if c.room == room]
            assert len({w["seq"] for w in ws}) == 1, f"{room}: welcomes disagree on head"
            assert len({w["epoch"] for w in ws}) == 1, f"{room}: welcomes disagree on epoch"
            head[room] = ws[0]["seq"]

        # The kernel spread the connections over both shards. Gauges may be published on a
        # tick: give them 3 s to catch up.
        until = time.monotonic() + 3
        while True:
            _h, text, samples = await asyncio.to_thread(fetch_metrics, server)
            conns = metric_by_shard(samples, "roomcast_connections")
            if sum(conns.values()) >= len(everyone) or time.monotonic() > until:
                break
            await asyncio.sleep(0.1)
        assert len(conns) == 2 and all(v > 0 for v in conns.values()), (
            f"both shards should hold connections: {conns}")
        assert sum(conns.values()) >= len(everyone), f"connections gauge {conns} < {len(everyone)}"

        deadline = time.monotonic() + 60
        for s in senders:
            s.cids = [f"{s.name}-{k}" for k in range(MSGS_PER_WS_SENDER)]
        readers = [asyncio.create_task(read_until_complete(c, deadline)) for c in everyone]

        async def ws_sender(s: Client):
            for cid in s.cids:
                await send_op(s.ws, {"op": "send", "text": f"text of {cid}", "cid": cid})
                await asyncio.sleep(0.005)

        http_results = {}

        async def http_sender(room: str):
            for j in range(HTTP_MSGS_PER_ROOM):
                cid = f"http-{room}-{j}"
                st, _, body = await asyncio.to_thread(
                    post_message, server, room, f"h-{room}", {"text": f"text of {cid}", "cid": cid})
                assert st == 200, f"POST {cid}: {st} {body!r}"
                resp = json.loads(body)
                assert is_int(resp.get("seq")) and resp.get("id") == cid, resp
                http_results[cid] = (room, resp["seq"])

        await asyncio.wait_for(asyncio.gather(*(ws_sender(s) for s in senders),
                                              *(http_sender(r) for r in ROOMS)), 30)
        done, pending = await asyncio.wait(readers, timeout=max(1, deadline - time.monotonic()))
        for t in pending:
            t.cancel()
        for t in done:
            t.result()  # re-raise the first failure with its message
        assert not pending, f"{len(pending)} clients did not get all messages in time"

        # Nothing more may arrive: a ping/pong barrier on every client catches duplicates and
        # strays.
        async def no_extras(c: Client):
            async with sem:
                extra = await barrier(c.ws, 10)
            assert extra == [], (f"{c.name} in {c.room} got extra frames: {extra[:3]}; its msg "
                                 f"seqs were {[m['seq'] for m in c.msgs()]}")
        await asyncio.wait_for(asyncio.gather(*(no_extras(c) for c in everyone)), 60)

        # What each room should hold: cid -> (seq, user, text).
        expected = {room: {} for room in ROOMS}
        for s in senders:
            acks = s.acks()
            assert [a["cid"] for a in acks] == s.cids, (
                f"{s.name}: acks {[a['cid'] for a in acks]} != sent {s.cids} (order)")
            seqs = [a["seq"] for a in acks]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (
                f"{s.name}: one connection's messages must be sequenced in send order: {seqs}")
            for a in acks:
                expected[s.room][a["cid"]] = (a["seq"], s.name, f"text of {a['cid']}")
        for cid, (room, seq) in http_results.items():
            expected[room][cid] = (seq, f"h-{room}", f"text of {cid}")

        now = now_ms() + 1000
        for room in ROOMS:
            exp = expected[room]
            assert len(exp) == PER_ROOM, f"{room}: {len(exp)} distinct messages, want {PER_ROOM}"
            assert sorted(v[0] for v in exp.values()) == list(
                range(head[room] + 1, head[room] + PER_ROOM + 1)), (
                f"{room}: acked seqs are not head+1..head+{PER_ROOM}")

        for c in everyone:
            msgs = c.msgs()
            assert [m["seq"] for m in msgs] == list(
                range(head[c.room] + 1, head[c.room] + PER_ROOM + 1)), (
                f"{c.name} in {c.room}: seqs {[m['seq'] for m in msgs]} (want +1 steps from "
                f"{head[c.room] + 1}, each once)")
            for m in msgs:
                seq, user, text = expected[c.room].get(m["id"], (None, None, None))
                assert seq is not None, f"{c.name}: unknown message id {m}"
                check_msg(m, c.room, seq=seq, user=user, text=text, ts_window=(t0, now))
    finally:
        await close_all([c.ws for c in everyone if c.ws is not None], 30)
