"""History on join: ?history=N gives the last N messages in seq order right after welcome."""
from rcutil import barrier, check_msg, close_all, join, recv_next, run, send_and_ack

ROOM = "hist-room"


async def send_many(server, room, n, user="writer"):
    """Send n messages one after another; returns [(seq, cid, text)] in order."""
    ws, w = await join(server, room, user=user)
    sent = []
    try:
        for i in range(n):
            cid, text = f"h-{i}", f"history line {i}"
            ack, _m = await send_and_ack(ws, room, user, text, cid)
            assert ack["seq"] == w["seq"] + 1 + i, f"seq gap while sending: {ack}"
            sent.append((ack["seq"], cid, text))
    finally:
        await close_all([ws])
    return sent


async def join_with_history(server, room, history, user):
    ws, w = await join(server, room, user=user, history=history)
    frames = await barrier(ws)
    return ws, w, frames


def check_history(frames, room, expected, user="writer"):
    msgs = [f for f in frames if f.get("type") == "msg"]
    assert len(msgs) == len(frames), f"only msg frames expected before the pong: {frames}"
    assert [m["seq"] for m in msgs] == [e[0] for e in expected], (
        f"history seqs {[m['seq'] for m in msgs]}, want {[e[0] for e in expected]}")
    for m, (seq, cid, text) in zip(msgs, expected):
        check_msg(m, room, seq=seq, id=cid, user=user, text=text)


def test_history_last_10_then_live(roomcast):
    server = roomcast("--history", 50)

    async def scenario():
        sent = await send_many(server, ROOM, 30)
        head = sent[-1][0]
        ws, w, frames = await join_with_history(server, ROOM, 10, "late")
        others = []
        try:
            assert w["seq"] == head, f"welcome.seq {w['seq']} != head {head}"
            check_history(frames, ROOM, sent[-10:])

            # More than there is (30 < 100 <= --history 50): everything, in order.
            ws100, w100, frames = await join_with_history(server, ROOM, 100, "all")
            others.append(ws100)
            assert w100["seq"] == head
            check_history(frames, ROOM, sent)

            # history=0 and no history parameter: nothing before live traffic.
            for h in (0, None):
                wsn, wn, frames = await join_with_history(server, ROOM, h, f"none-{h}")
                others.append(wsn)
                assert wn["seq"] == head and frames == [], (h, frames)

            # Live traffic follows history without a hole.
            sender, _ = await join(server, ROOM, user="writer")
            others.append(sender)
            ack, _m = await send_and_ack(sender, ROOM, "writer", "live one", "live-1")
            assert ack["seq"] == head + 1
            for v in [ws] + others[:-1]:
                check_msg(await recv_next(v), ROOM, seq=head + 1, id="live-1", text="live one")
        finally:
            await close_all([ws] + others)
    run(scenario(), 60)


def test_history_capped_by_retention(roomcast):
    """With --history 5 the room keeps 5 messages: history=10 yields the last 5."""
    server = roomcast("--history", 5)

    async def scenario():
        sent = await send_many(server, ROOM, 12)
        ws, w, frames = await join_with_history(server, ROOM, 10, "late")
        try:
            assert w["seq"] == sent[-1][0]
            # A gap notice for what is gone is allowed before the kept messages.
            gaps = [f for f in frames if f.get("type") == "gap"]
            for g in gaps:
                assert g.get("room") == ROOM and g.get("to") == sent[-5][0] - 1, g
            check_history([f for f in frames if f.get("type") != "gap"], ROOM, sent[-5:])
        finally:
            await close_all([ws])
    run(scenario(), 30)
