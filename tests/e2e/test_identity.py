"""Identity (PROTOCOL.md "Identity (JWT)"): users from verified tokens (HS256, RS256, ES256) by
`Authorization: Bearer` or ?token=, roles/name/badges in messages, 401 before any upgrade for a
bad token, anonymous read-only viewers, token expiry on open WebSockets with {"op":"refresh"},
and --dev-auth gating ?user=. Tokens are minted with PyJWT and scripts/roomcast-token."""
import asyncio
import json
import os
import subprocess
import time
import urllib.parse
from pathlib import Path

import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from httputil import SSEStream
from rcutil import (HOST, check_welcome, http, raw_http, recv_json, recv_next, run, send_op,
                    upgrade_request, ws_connect)

SECRET = "e2e-secret-0123456789abcdef"
ROOM = "lobby"
ROOT = Path(__file__).resolve().parents[2]
NO_DEV = "--dev-auth=off"  # the fixtures pass --dev-auth; these servers check tokens only


def token(sub="alice", ttl=600, key=SECRET, alg="HS256", **claims) -> str:
    now = int(time.time())
    payload = {"sub": sub, "exp": now + ttl, "iat": now, **claims}
    return jwt.encode(payload, key, algorithm=alg)


@pytest.fixture
def secret_file(tmp_path):
    p = tmp_path / "jwt.secret"
    p.write_text(SECRET + "\n")  # one trailing newline is not part of the secret
    return p


@pytest.fixture
def srv(roomcast, secret_file):
    return roomcast(NO_DEV, "--jwt-secret-file", secret_file)


def ws_url(server, **params) -> str:
    q = {"room": ROOM, **params}
    return f"ws://{HOST}:{server.port}/ws?" + urllib.parse.urlencode(q)


def send_http(server, room, body: dict, bearer: str | None = None, query: str = ""):
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return http("POST", server.url(f"/rooms/{room}/messages{query}"), json.dumps(body), headers)


async def next_of(ws, kind: str, timeout=5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        obj = await recv_next(ws, max(0.01, deadline - time.monotonic()))
        if obj.get("type") == kind:
            return obj


def test_roles_name_and_badges_from_the_token_reach_every_viewer(srv):
    async def go():
        watcher = await ws_connect(ws_url(srv))  # anonymous: may read
        check_welcome(await recv_json(watcher), ROOM)
        t = token("bcast", name="The Caster", badges=["founder", "subscriber/12"],
                  roles=["subscriber"], room_roles={ROOM: ["broadcaster"], "other": ["admin"]})
        ws = await ws_connect(ws_url(srv, token=t))
        w = check_welcome(await recv_json(ws), ROOM)
        assert w["user"] == "bcast", w
        await send_op(ws, {"op": "send", "text": "hello", "cid": "c1"})
        ack = await next_of(ws, "ack")
        assert ack["cid"] == "c1", ack
        m = await next_of(watcher, "msg")
        assert (m["user"], m["name"], m["badges"], m["role"]) == (
            "bcast", "The Caster", ["founder", "subscriber/12"], "broadcaster"), m
        # HTTP send by Authorization: Bearer; room_roles of another room do not count here.
        plain = token("viewer1", room_roles={"other": ["moderator"]})
        st, _h, body = send_http(srv, ROOM, {"text": "hi", "cid": "c2"}, bearer=plain)
        assert st == 200, body
        m = await next_of(watcher, "msg")
        assert m["user"] == "viewer1" and m["text"] == "hi", m
        assert "role" not in m and "name" not in m and "badges" not in m, m
        # ?token= on an HTTP send; the global role is the highest here.
        st, _h, body = send_http(srv, ROOM, {"text": "yo"},
                                 query="?token=" + token("vip1", roles=["subscriber", "vip"]))
        assert st == 200, body
        m = await next_of(watcher, "msg")
        assert (m["user"], m["role"]) == ("vip1", "vip"), m
        for s in (ws, watcher):
            await s.close()
    run(go(), 30)


def bad_tokens(tmp_path) -> dict:
    now = int(time.time())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = jwt.encode({"sub": "eve", "exp": now + 600}, None, algorithm="none")
    return {
        "wrong key": token("eve", key="another-secret-0123456789"),
        "alg none": unsigned,
        "expired": token("eve", ttl=-120),
        "not yet valid": token("eve", nbf=now + 600),
        "garbage": "not.a.jwt",
        "over 8 KB": token("eve", name="x" * 9000),
        "foreign (RS256, no public key configured)": token("eve", key=rsa_key, alg="RS256"),
        "no sub": jwt.encode({"exp": now + 600}, SECRET, algorithm="HS256"),
        "unknown role": token("eve", roles=["overlord"]),
    }


def test_bad_tokens_get_401_before_any_upgrade_on_every_front(roomcast, secret_file, tmp_path):
    # --max-head: room for the token over 8 KB, which the verifier itself must refuse.
    srv = roomcast(NO_DEV, "--jwt-secret-file", secret_file, "--max-head", 65536)
    for why, t in bad_tokens(tmp_path).items():
        q = urllib.parse.quote(t)
        # WebSocket by ?token= and by Authorization: Bearer.
        for path, extra in ((f"/ws?room={ROOM}&token={q}", ""),
                            (f"/ws?room={ROOM}", f"Authorization: Bearer {t}\r\n")):
            status, _h, body = raw_http(srv.port, upgrade_request(path, extra=extra))
            assert status == 401, (why, status, body)
            assert json.loads(body)["error"] == "unauthorized", (why, body)
        for method, path in (("GET", f"/rooms/{ROOM}/events?token={q}"),
                             ("GET", f"/rooms/{ROOM}/messages?token={q}"),
                             ("POST", f"/rooms/{ROOM}/messages?token={q}")):
            status, _h, body = http(method, srv.url(path),
                                    json.dumps({"text": "x"}) if method == "POST" else None)
            assert status == 401, (why, method, path, status, body)
            assert json.loads(body)["error"] == "unauthorized", (why, body)


def test_anonymous_viewers_read_but_may_not_send_and_user_is_ignored(srv):
    async def go():
        anon = await ws_connect(ws_url(srv, user="mallory"))  # ?user= ignored without --dev-auth
        w = check_welcome(await recv_json(anon), ROOM)
        assert w["user"].startswith("anon-"), w
        await send_op(anon, {"op": "send", "text": "let me in", "cid": "a1"})
        err = await next_of(anon, "error")
        assert err["code"] == "forbidden", err
        st, _h, body = send_http(srv, ROOM, {"text": "x"}, query="?user=mallory")
        assert st == 401 and json.loads(body)["error"] == "unauthorized", (st, body)
        st, _h, body = send_http(srv, ROOM, {"text": "from alice"}, bearer=token("alice"))
        assert st == 200, body
        m = await next_of(anon, "msg")  # reading works
        assert m["user"] == "alice" and m["text"] == "from alice", m
        await anon.close()
        # SSE and long-poll without a token: read-only viewers, answered normally.
        with SSEStream(srv.port, f"/rooms/{ROOM}/events?history=5") as sse:
            ev = sse.next_event(timeout=5)
            assert ev is not None
        st, _h, body = http("GET", srv.url(f"/rooms/{ROOM}/messages?history=5"))
        assert st == 200 and b"from alice" in body, (st, body)
    run(go(), 30)


def test_dev_auth_names_users_and_says_so_loudly(roomcast):
    server = roomcast()  # the fixtures' --dev-auth
    st, _h, body = http("POST", server.url(f"/rooms/{ROOM}/messages?user=dev1"),
                        json.dumps({"text": "hi"}), {"Content-Type": "application/json"})
    assert st == 200, body
    st, _h, body = http("GET", server.url(f"/rooms/{ROOM}/messages?history=5"))
    assert json.loads(body)["messages"][-1]["user"] == "dev1", body
    assert "--dev-auth is ON" in server.log_text()
    quiet = roomcast(NO_DEV)
    assert "--dev-auth is ON" not in quiet.log_text()


def test_an_expiring_websocket_gets_token_expired_and_4001_unless_refreshed(srv):
    async def go():
        short = token("alice", ttl=4)  # time to connect twice, even on a loaded box
        doomed = await ws_connect(ws_url(srv, token=short))
        check_welcome(await recv_json(doomed), ROOM)
        kept = await ws_connect(ws_url(srv, token=short))
        check_welcome(await recv_json(kept), ROOM)
        await send_op(kept, {"op": "refresh", "token": token("bob")})  # another user: refused
        err = await next_of(kept, "error")
        assert err["code"] == "unauthorized", err
        await send_op(kept, {"op": "refresh", "token": "junk"})
        assert (await next_of(kept, "error"))["code"] == "unauthorized"
        fresh = token("alice", ttl=60)
        await send_op(kept, {"op": "refresh", "token": fresh})
        ack = await next_of(kept, "ack")
        assert ack["op"] == "refresh" and ack["exp"] > time.time() + 30, ack
        err = await next_of(doomed, "error", timeout=12)
        assert err["code"] == "token_expired", err
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(doomed.recv(), 5)
        assert closed.value.rcvd.code == 4001, closed.value
        # The refreshed one outlives the first token and still sends.
        await asyncio.sleep(1.5)
        await send_op(kept, {"op": "send", "text": "still here", "cid": "k1"})
        assert (await next_of(kept, "ack"))["cid"] == "k1"
        await kept.close()
    run(go(), 40)


def test_rs256_and_es256_with_a_public_key_file(roomcast, tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for key, alg in ((rsa_key, "RS256"), (ec_key, "ES256")):
        pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        (tmp_path / f"{alg}.pem").write_bytes(pem)
        server = roomcast(NO_DEV, "--jwt-public-key-file", tmp_path / f"{alg}.pem")
        good = token("carol", key=key, alg=alg, roles=["moderator"])
        st, _h, body = send_http(server, ROOM, {"text": alg}, bearer=good)
        assert st == 200, (alg, body)
        st, _h, body = http("GET", server.url(f"/rooms/{ROOM}/messages?history=5"))
        m = json.loads(body)["messages"][-1]
        assert (m["user"], m["role"], m["text"]) == ("carol", "moderator", alg), m
        # HS256 has no key on this server: refused.
        st, _h, _b = send_http(server, ROOM, {"text": "x"}, bearer=token("carol"))
        assert st == 401, alg


def test_secret_from_the_environment_and_the_mint_script(roomcast):
    env = dict(os.environ, ROOMCAST_JWT_SECRET=SECRET)
    server = roomcast(NO_DEV, env=env)
    out = subprocess.run(
        [str(ROOT / "scripts" / "roomcast-token"), "--sub", "dana", "--name", "Dana",
         "--room-role", f"{ROOM}=moderator", "--badge", "og"],
        env=env, capture_output=True, text=True, timeout=10, check=True)
    st, _h, body = send_http(server, ROOM, {"text": "minted"}, bearer=out.stdout.strip())
    assert st == 200, body
    st, _h, body = http("GET", server.url(f"/rooms/{ROOM}/messages?history=5"))
    m = json.loads(body)["messages"][-1]
    assert (m["user"], m["name"], m["role"], m["badges"]) == ("dana", "Dana", "moderator",
                                                               ["og"]), m


def test_a_bad_key_file_stops_the_start(tmp_path):
    from rcutil import binary_path
    pem = tmp_path / "bad.pem"
    pem.write_text("not a key\n")
    r = subprocess.run([str(binary_path()), "--listen", f"{HOST}:1", "--jwt-public-key-file",
                        str(pem)], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "jwt-public-key-file" in r.stderr, (r.returncode, r.stderr)
