"""SIGHUP reloads the user-token keys (docs/operations.md "Reload"): a rotated --jwt-secret-file
refuses tokens signed with the old secret and accepts the new ones on new connections, while a
WebSocket verified before keeps its user; a key file that is bad at the reload (too short,
missing, a PEM that is no key) keeps the keys in force and says so in the log."""
import asyncio
import json
import os
import signal
import time
import urllib.parse

import jwt

from rcutil import HOST, check_welcome, http, recv_json, recv_next, run, send_op, ws_connect

OLD = "old-secret-0123456789abcdef"
NEW = "new-secret-fedcba9876543210"
ROOM = "keys"


def token(key, sub="alice", ttl=600):
    now = int(time.time())
    return jwt.encode({"sub": sub, "exp": now + ttl, "iat": now}, key, algorithm="HS256")


def send_status(server, tok, text="hi"):
    """POST /rooms/R/messages with a bearer token: 200 (sent) or 401 (refused)."""
    st, _h, body = http("POST", server.url(f"/rooms/{ROOM}/messages"),
                        json.dumps({"text": text}),
                        {"Content-Type": "application/json", "Authorization": f"Bearer {tok}"})
    return st, body


def wait_log(server, text, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log_text().count(text) >= count:
            return True
        time.sleep(0.05)
    return False


def hup(server, expect, count=1):
    os.kill(server.proc.pid, signal.SIGHUP)
    assert wait_log(server, expect, count), server.log_text()[-3000:]


async def next_of(ws, kind, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_next(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") == kind:
            return obj


def test_a_rotated_secret_refuses_old_tokens_and_accepts_new_ones(roomcast, tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text(OLD + "\n")
    server = roomcast("--dev-auth=off", "--jwt-secret-file", secret)
    old_tok, new_tok = token(OLD), token(NEW)
    assert send_status(server, old_tok)[0] == 200
    assert send_status(server, new_tok)[0] == 401

    async def go():
        url = f"ws://{HOST}:{server.port}/ws?" + urllib.parse.urlencode(
            {"room": ROOM, "token": old_tok})
        ws = await ws_connect(url)  # verified with the old secret
        check_welcome(await recv_json(ws), ROOM)
        secret.write_text(NEW + "\n")
        hup(server, "reload: new user-token keys")
        # A new connection is checked with the keys of that moment: no wait for a loop turn.
        st, body = send_status(server, old_tok)
        assert st == 401 and b"unauthorized" in body, (st, body)
        assert send_status(server, new_tok)[0] == 200
        # The connection verified before keeps its user until its token expires.
        await send_op(ws, {"op": "send", "text": "still me", "cid": "k1"})
        ack = await next_of(ws, "ack")
        assert ack["cid"] == "k1", ack
        await ws.close()

    run(go(), 15)
    assert "reload done: 1 settings applied, 0 need a restart" in server.log_text()
    assert NEW not in server.log_text() and OLD not in server.log_text()


def test_a_bad_key_file_at_reload_keeps_the_keys_in_force(roomcast, tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text(OLD)
    conf = tmp_path / "roomcast.conf"
    conf.write_text(f"jwt-secret-file = {secret}\n")
    server = roomcast("--dev-auth=off", "--config", conf)
    tok = token(OLD)
    assert send_status(server, tok)[0] == 200
    kept = "the user-token keys in force are kept"
    secret.write_text("short")  # under 16 bytes: not a usable secret
    hup(server, kept, 1)
    assert "the secret must be at least 16 bytes" in server.log_text()
    assert send_status(server, tok)[0] == 200
    secret.unlink()
    hup(server, kept, 2)
    assert "No such file or directory" in server.log_text()
    assert send_status(server, tok)[0] == 200
    secret.write_text("")  # names no key: a reload never drops to "no keys"
    hup(server, kept, 3)
    assert send_status(server, tok)[0] == 200
    # A public key file that holds no key is refused the same way, and the secret stays.
    secret.write_text(OLD)
    pem = tmp_path / "jwt.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n")
    conf.write_text(f"jwt-secret-file = {secret}\njwt-public-key-file = {pem}\n")
    hup(server, kept, 4)
    assert "reload: --jwt-public-key-file" in server.log_text()
    assert send_status(server, tok)[0] == 200
    assert "reload: new user-token keys" not in server.log_text()
    assert server.log_text().count("reload done: 0 settings applied") == 4
