"""WebSocket resume, /ws?room=R&since=SEQ (docs/protocol.md, "WebSocket"): the messages after SEQ
exactly once, then live; gap first when history no longer has them (and only then: a replay past
--max-history-request comes in pages); a SEQ above the head counts as 0; since wins over history."""
import asyncio

from httputil import BackgroundPoster, post_many
from rcutil import barrier, check_msg, check_welcome, close_all, recv_next, run, ws_connect

ROOM = "resume-room"


async def join_since(server, since, room=ROOM, **params):
    ws = await ws_connect(server.ws_url(room, since=since, user="resumer", **params))
    try:
        w = check_welcome(await recv_next(ws, 5), room, "resumer")
    except BaseException:
        await ws.close()
        raise
    return ws, w


def split_gap(frames, room, gap):
    """frames = [gap?] + msgs; checks the gap (None: there must be none); returns the msgs."""
    if gap is None:
        assert all(f.get("type") == "msg" for f in frames), f"only msgs expected: {frames}"
        return frames
    assert frames and frames[0].get("type") == "gap", f"gap first expected: {frames}"
    g = frames[0]
    assert (g.get("room"), g.get("from"), g.get("to")) == (room, *gap), (
        f"gap {g}, want from {gap[0]} to {gap[1]}")
    rest = frames[1:]
    assert all(f.get("type") == "msg" for f in rest), f"only msgs after the gap: {frames}"
    return rest


def check_replay(msgs, room, expected):
    assert [m["seq"] for m in msgs] == [e[0] for e in expected], (
        f"replayed seqs {[m['seq'] for m in msgs]}, want {[e[0] for e in expected]}")
    for m, (seq, cid, text) in zip(msgs, expected):
        check_msg(m, room, seq=seq, id=cid, text=text)


def test_since_replays_then_live(roomcast):
    server = roomcast("--history", 50)
    sent = post_many(server, ROOM, 10, prefix="s")
    assert [s[0] for s in sent] == list(range(1, 11))

    async def scenario():
        cases = [(4, sent[4:]), (0, sent), (9, sent[9:]), (10, [])]
        sockets = []
        try:
            for since, want in cases:
                ws, w = await join_since(server, since)
                sockets.append(ws)
                assert w["seq"] == 10, w
                check_replay(split_gap(await barrier(ws), ROOM, None), ROOM, want)
            # since wins over history.
            ws, _w = await join_since(server, 5, history=2)
            sockets.append(ws)
            check_replay(split_gap(await barrier(ws), ROOM, None), ROOM, sent[5:])

            live = await asyncio.to_thread(post_many, server, ROOM, 2, "live", "live")
            for ws in sockets:
                got = [await recv_next(ws) for _ in live]
                check_replay(got, ROOM, live)
        finally:
            await close_all(sockets)
    run(scenario(), 30)


def test_since_seam_under_traffic(roomcast):
    """Joins with since= while messages keep coming: no duplicate and no hole at the seam
    between replay and live traffic."""
    server = roomcast("--history", 500)

    async def scenario():
        joined = []  # (since, ws)
        try:
            with BackgroundPoster(server, ROOM, 80, "t", 0.004) as poster:
                for at in (5, 20, 40):
                    while len(poster.posted) < at + 3 and not poster.done.is_set():
                        await asyncio.sleep(0.002)
                    since = poster.posted[at][0]
                    ws, _w = await join_since(server, since)
                    joined.append((since, ws))
                posted = await asyncio.to_thread(poster.finished, 20)
            last = posted[-1][0]
            for since, ws in joined:
                got = []
                while not got or got[-1]["seq"] < last:
                    f = await recv_next(ws, 5)
                    assert f.get("type") == "msg", f"since={since}: unexpected {f}"
                    got.append(f)
                want = [p for p in posted if p[0] > since]
                check_replay(got, ROOM, want)
        finally:
            await close_all([ws for _s, ws in joined])
    run(scenario(), 40)


def test_since_older_than_history_gap_first(roomcast):
    """--history 5, head 20: since=3 gets gap 4..15 then 16..20; since=14 a gap of one;
    since=15 none; since=1000 (above the head) counts as 0: gap 1..15."""
    server = roomcast("--history", 5)
    sent = post_many(server, ROOM, 20, prefix="g")
    kept = sent[-5:]
    assert kept[0][0] == 16

    async def scenario():
        sockets = []
        try:
            for since, gap in ((3, (4, 15)), (14, (15, 15)), (15, None), (1000, (1, 15))):
                ws, w = await join_since(server, since)
                sockets.append(ws)
                assert w["seq"] == 20, w
                check_replay(split_gap(await barrier(ws), ROOM, gap), ROOM, kept)
            live = await asyncio.to_thread(post_many, server, ROOM, 1, "live", "live")
            for ws in sockets:
                check_replay([await recv_next(ws)], ROOM, live)
        finally:
            await close_all(sockets)
    run(scenario(), 30)


def test_since_above_head_is_zero(roomcast):
    """A seq this epoch never reached comes from another epoch: a reset gap (the new epoch, from
    1, to 0 as history still holds seq 1), then the epoch from its start."""
    server = roomcast("--history", 50)
    sent = post_many(server, ROOM, 5, prefix="z")

    async def scenario():
        ws, w = await join_since(server, 1000)
        try:
            assert w["seq"] == 5, w
            frames = await barrier(ws)
            assert frames and frames[0] == {"type": "gap", "room": ROOM, "from": 1, "to": 0,
                                            "epoch": w["epoch"], "reset": True}, frames
            check_replay(split_gap(frames[1:], ROOM, None), ROOM, sent)
        finally:
            await close_all([ws])
    run(scenario(), 20)


def test_since_past_max_history_request_is_complete(roomcast):
    """A resume past --max-history-request is streamed in pages: everything kept, no gap; a gap
    only for what the room no longer keeps (tests/e2e/test_catchup.py has the large cases)."""
    server = roomcast("--history", 50, "--max-history-request", 4)
    sent = post_many(server, ROOM, 10, prefix="c")

    async def scenario():
        sockets = []
        try:
            # Read what is due before the barrier: a pong may come between pages.
            for since, want in ((2, sent[2:]), (6, sent[6:]), (8, sent[8:])):
                ws, _w = await join_since(server, since)
                sockets.append(ws)
                got = [await recv_next(ws) for _ in want]
                check_replay(split_gap(got + await barrier(ws), ROOM, None), ROOM, want)
            more = post_many(server, ROOM, 50, prefix="d")  # history keeps 11..60 now
            ws, w = await join_since(server, 2)
            sockets.append(ws)
            assert w["seq"] == 60, w
            got = [await recv_next(ws) for _ in range(1 + len(more))]
            check_replay(split_gap(got + await barrier(ws), ROOM, (3, 10)), ROOM, more)
        finally:
            await close_all(sockets)
    run(scenario(), 20)
