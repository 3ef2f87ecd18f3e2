"""SSE resumes across epochs (issue 15, fault 5; docs/protocol.md, "Server-sent events"): an
EventSource cannot change its URL, so the event id itself names the epoch (`id: SEQ:EPOCH`).
A browser's reconnect with a Last-Event-ID from another epoch (a restart without --data-dir) gets
the reset gap, then the new epoch from its start, exactly like a WebSocket resume with another
epoch; a plain SEQ still means the room's current epoch."""
import re

from httputil import SSEStream, post_many, room_path
from rcutil import check_msg, http

ROOM = "sse-epochs"


def read_ids(server, n: int) -> tuple[str, list[str]]:
    """The welcome's epoch and the ids of the last n messages, read from a fresh stream."""
    with SSEStream(server.port, room_path(ROOM, "events", history=n)) as sse:
        wel = sse.next_event()
        assert wel["event"] == "welcome", wel
        evs = [sse.next_event() for _ in range(n)]
    assert [e["event"] for e in evs] == ["msg"] * n, evs
    return wel["data"]["epoch"], [e["id"] for e in evs]


def resume(server, last_event_id: str, n: int, **params) -> tuple[dict, list[dict]]:
    """Welcome and the next n events of a stream resumed with Last-Event-ID."""
    with SSEStream(server.port, room_path(ROOM, "events", **params),
                   headers={"Last-Event-ID": last_event_id}) as sse:
        assert sse.status == 200, (sse.status, sse.body_prefix)
        wel = sse.next_event()
        assert wel["event"] == "welcome", wel
        return wel["data"], [sse.next_event() for _ in range(n)]


def test_event_ids_name_the_epoch_and_parse_as_the_seq(server):
    """Every id is SEQ:EPOCH with the welcome's epoch; what JS parseInt() reads is the seq."""
    post_many(server, ROOM, 3, prefix="a")
    epoch, ids = read_ids(server, 3)
    assert ids == [f"{s}:{epoch}" for s in (1, 2, 3)], (epoch, ids)
    for seq, i in zip((1, 2, 3), ids):
        assert int(re.match(r"\d+", i).group(0)) == seq  # parseInt's reading


def test_a_last_event_id_from_before_a_restart_gets_the_reset_gap(roomcast):
    """Without --data-dir: the id of seq 2, read from the first server's stream, sent as
    Last-Event-ID to the restarted server (whose room has seq 1..3 again) gets the reset gap
    naming the new epoch, then seq 1..3 of the new epoch, not only seq 3."""
    first = roomcast()
    post_many(first, ROOM, 3, prefix="old")
    old_epoch, old_ids = read_ids(first, 3)
    assert first.stop() == 0
    second = roomcast()
    sent = post_many(second, ROOM, 3, prefix="new")
    wel, evs = resume(second, old_ids[1], 4)
    new_epoch = wel["epoch"]
    assert new_epoch != old_epoch, (wel, old_epoch)
    gap = evs[0]
    assert gap["event"] == "gap" and gap["data"] == {
        "type": "gap", "room": ROOM, "from": 1, "to": 0, "epoch": new_epoch, "reset": True}, evs
    assert gap["id"] == f"0:{new_epoch}", gap
    for ev, (seq, cid, text) in zip(evs[1:], sent):
        assert ev["event"] == "msg" and ev["id"] == f"{seq}:{new_epoch}", ev
        check_msg(ev["data"], ROOM, seq=seq, id=cid, text=text)
    # The reset gap's own id resumes from the new epoch's start, without another gap.
    _w, again = resume(second, gap["id"], 3)
    assert [e["id"] for e in again] == [f"{s}:{new_epoch}" for s in (1, 2, 3)], again
    # The id wins over ?epoch= (an EventSource URL keeps the epoch it was opened with).
    _w, same = resume(second, f"2:{new_epoch}", 1, epoch=old_epoch)
    assert [(e["event"], e["id"]) for e in same] == [("msg", f"3:{new_epoch}")], same


def test_a_plain_seq_means_the_current_epoch(server):
    """Last-Event-ID: 2 (no epoch) and 2:CURRENT both resume after seq 2 of this epoch; ?since=
    with ?epoch= still works; an id naming another epoch gets the reset gap."""
    post_many(server, ROOM, 3, prefix="p")
    epoch, _ids = read_ids(server, 3)
    for value in ("2", f"2:{epoch}", f" 2:{epoch} "):
        _w, evs = resume(server, value, 1)
        assert [(e["event"], e["id"]) for e in evs] == [("msg", f"3:{epoch}")], (value, evs)
    with SSEStream(server.port, room_path(ROOM, "events", since=2, epoch=epoch)) as sse:
        assert sse.next_event()["event"] == "welcome"
        assert sse.next_event()["id"] == f"3:{epoch}"
    _w, evs = resume(server, "2:AnotherEpoch1", 4)
    assert evs[0]["event"] == "gap" and evs[0]["data"]["reset"] is True, evs
    assert [e["id"] for e in evs] == [f"{s}:{epoch}" for s in (0, 1, 2, 3)], evs


def test_a_malformed_last_event_id_is_400(server):
    for bad in ("2:", ":ab", "2:a-b", "2:ab:cd", "x:ab", "2:" + "a" * 65):
        st, _h, body = http("GET", server.url(room_path(ROOM, "events")),
                            headers={"Last-Event-ID": bad}, timeout=5)
        assert st == 400 and b"Last-Event-ID must be SEQ or SEQ:EPOCH" in body, (bad, st, body)
