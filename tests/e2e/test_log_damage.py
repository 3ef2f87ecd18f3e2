"""A damaged durable log (issue 15, fault 2): one bad byte costs one record, never the intact
acknowledged records after it; a seq that may have been handed out is never reused in the epoch;
and a resume across what is gone is told with a `gap` (docs/durability.md, "Damage")."""
import asyncio
import json
import struct
from pathlib import Path

from httputil import SSEStream, poll_answer, post_many, room_path
from rcutil import barrier, check_welcome, close_all, post_message, recv_json, run, ws_connect

BIG = ("--history", 100000, "--max-history-request", 100000)
HEADER = 16


def records(seg: Path) -> list[tuple[int, int, str, int]]:
    """(offset, size, room, seq) of every frame of a clean segment (format: segment_log.h)."""
    data = seg.read_bytes()
    out, off = [], HEADER
    while off + 8 <= len(data):
        (length,) = struct.unpack_from("<I", data, off)
        payload = data[off + 8: off + 8 + length]
        (seq,) = struct.unpack_from("<Q", payload, 2)
        room_len = payload[26]
        room = payload[27: 27 + room_len].decode()
        out.append((off, 8 + length, room, seq))
        off += 8 + length
    assert off == len(data), "trailing bytes in a clean segment"
    return out


def only_segment(data_dir: Path) -> Path:
    segs = sorted((data_dir / "log" / "shard-0").glob("*.seg"))
    assert len(segs) == 1, segs
    return segs[0]


async def resume(server, room, since):
    """Every object a WebSocket resume from `since` replays, then its welcome."""
    ws = await ws_connect(server.ws_url(room, since=since, user="auditor"))
    try:
        w = check_welcome(await recv_json(ws, 5), room, "auditor")
        return w, await barrier(ws, 20)
    finally:
        await close_all([ws])


def test_one_bad_byte_costs_one_record_and_resumes_are_told(roomcast, tmp_path):
    first = roomcast("--data-dir", tmp_path, *BIG, shards=1)
    quiet = post_many(first, "quiet", 5, prefix="q")          # its newest event precedes the damage
    busy = post_many(first, "busy", 1000, prefix="b")
    assert post_message(first, "busy", "w", {"text": "x", "cid": "x"})[0] == 200
    assert first.stop() == 0  # a clean shutdown: every record is on disk
    seg = only_segment(tmp_path)
    recs = records(seg)
    off, size, _room, _seq = next(r for r in recs if r[2] == "busy" and r[3] == 3)
    data = bytearray(seg.read_bytes())
    data[off + size // 2] ^= 0x01  # one bit inside busy's seq 3
    seg.write_bytes(bytes(data))

    second = roomcast("--data-dir", tmp_path, *BIG, shards=1)
    log = second.log_text()
    assert "damaged" in log and seg.name in log, log
    assert seg.read_bytes() == bytes(data), "damage must be kept as it is, never cut"

    async def check_busy():
        w, objs = await resume(second, "busy", 1)
        assert w["seq"] == 1001, w
        want = [{"type": "msg", "seq": 2}, {"type": "gap", "from": 3, "to": 3}] + [
            {"type": "msg", "seq": s} for s in range(4, 1002)]
        got = [{k: o[k] for k in ("type", "seq", "from", "to") if k in o} for o in objs]
        assert got == want, got[:6]
        texts = {o["seq"]: o["text"] for o in objs if o["type"] == "msg"}
        for s, cid, text in busy:
            if s not in (1, 3):
                assert texts[s] == text, (s, texts.get(s))  # 999 acknowledged records kept
    run(check_busy(), 30)

    # The quiet room's newest event came before the damage: the seqs it may have lost there are
    # skipped, never reused, and a resume across them is told.
    st, _h, body = post_message(second, "quiet", "w", {"text": "after", "cid": "q-after"})
    assert st == 200, body
    next_seq = json.loads(body)["seq"]
    assert next_seq > 6, f"quiet room reused a seq that may have been lost: {next_seq}"

    async def check_quiet():
        _w, objs = await resume(second, "quiet", 5)
        assert [o["type"] for o in objs] == ["gap", "msg"], objs
        assert (objs[0]["from"], objs[0]["to"]) == (6, next_seq - 1), objs
        assert objs[1]["seq"] == next_seq and objs[1]["text"] == "after", objs
    run(check_quiet(), 20)

    # Long-poll and SSE resumes across the hole see the same gap.
    poll, _ = poll_answer(second, "busy", history=0)
    assert poll["seq"] == 1001, poll
    with SSEStream(second.port, room_path("busy", "events"),
                   headers={"Last-Event-ID": "2"}) as sse:
        ep = sse.next_event()["data"]["epoch"]
        gap = sse.next_event()
        assert gap["event"] == "gap" and gap["id"] == f"3:{ep}", gap
        assert (gap["data"]["from"], gap["data"]["to"]) == (3, 3), gap
        assert sse.next_event()["id"] == f"4:{ep}"

    # New busy messages continue after the head, and the damage still holds after another
    # restart: the same hole, the quiet room's skip remembered through its new event.
    st, _h, body = post_message(second, "busy", "w", {"text": "y", "cid": "y"})
    assert json.loads(body)["seq"] == 1002, body
    assert second.stop() == 0
    third = roomcast("--data-dir", tmp_path, *BIG, shards=1)

    async def check_again():
        _w, objs = await resume(third, "busy", 2)
        assert [(o["type"], o.get("seq", o.get("to"))) for o in objs[:2]] == [
            ("gap", 3), ("msg", 4)], objs[:3]
        assert objs[-1]["seq"] == 1002, objs[-1]
        _w, q = await resume(third, "quiet", 5)
        assert [(o["type"], o.get("from"), o.get("to"), o.get("seq")) for o in q] == [
            ("gap", 6, next_seq - 1, None), ("msg", None, None, next_seq)], q
    run(check_again(), 30)
    st, _h, body = post_message(third, "quiet", "w", {"text": "z", "cid": "q-z"})
    assert json.loads(body)["seq"] == next_seq + 1, body
    assert [q[0] for q in quiet] == [1, 2, 3, 4, 5]
