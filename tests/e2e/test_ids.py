"""Message ids are unique in a room (issue 15, fault 4): `id` is the sender's cid, unless another
user already used that cid in the room (within --dedup-secs), then a server id; so clients that
de-duplicate on `id` (docs/protocol.md) never hide one user's message behind another's."""
import asyncio
import json

from rcutil import barrier, check_welcome, close_all, post_message, recv_json, run, ws_connect

ROOM = "ids"


async def replay(server, since=0):
    ws = await ws_connect(server.ws_url(ROOM, since=since, user="auditor"))
    try:
        check_welcome(await recv_json(ws, 5), ROOM, "auditor")
        return [o for o in await barrier(ws, 10) if o.get("type") == "msg"]
    finally:
        await close_all([ws])


def test_two_users_with_one_cid_get_two_ids_and_a_resend_is_still_one(roomcast, tmp_path):
    server = roomcast("--data-dir", tmp_path)
    acks = []
    for user, text in (("alice", "hello from alice"), ("bob", "hello from bob"),
                       ("alice", "hello from alice")):
        st, _h, body = post_message(server, ROOM, user, {"text": text, "cid": "msg-1"})
        assert st == 200, body
        acks.append(json.loads(body))
    assert acks[0]["id"] == "msg-1" and not acks[0].get("duplicate"), acks
    assert acks[1]["id"] != "msg-1" and acks[1]["seq"] == 2, acks
    assert acks[2] == {**acks[0], "duplicate": True}, acks  # alice's resend: her first ack
    msgs = run(replay(server), 20)
    assert [(m["user"], m["id"]) for m in msgs] == [("alice", "msg-1"), ("bob", acks[1]["id"])]

    # The owner of each cid survives a restart: bob's resend is still a duplicate of his, and a
    # third user still gets a server id.
    assert server.stop() == 0
    again = roomcast("--data-dir", tmp_path)
    st, _h, body = post_message(again, ROOM, "bob", {"text": "hello from bob", "cid": "msg-1"})
    assert json.loads(body) == {**acks[1], "duplicate": True}, body
    st, _h, body = post_message(again, ROOM, "carol", {"text": "me too", "cid": "msg-1"})
    carol = json.loads(body)
    assert carol["seq"] == 3 and carol["id"] not in ("msg-1", acks[1]["id"]), carol
    assert len({m["id"] for m in run(replay(again), 20)}) == 3
