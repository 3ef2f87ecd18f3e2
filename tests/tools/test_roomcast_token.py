"""scripts/roomcast-token mints tokens an independent JWT library (PyJWT) accepts."""
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt  # python3-jwt
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "scripts" / "roomcast-token"


def mint(*args, env=None):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          env=env, timeout=30)


def test_claims_and_signature(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("k3y-for-a-try\n")  # the trailing newline is not part of the secret
    r = mint("--secret-file", str(secret), "--sub", "alice", "--ttl", "600", "--name", "Alice",
             "--role", "vip", "--room-role", "lobby=moderator", "--badge", "turbo")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    claims = jwt.decode(token, "k3y-for-a-try", algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["name"] == "Alice"
    assert claims["roles"] == ["vip"]
    assert claims["room_roles"] == {"lobby": ["moderator"]}
    assert claims["badges"] == ["turbo"]
    assert abs(claims["exp"] - (time.time() + 600)) < 30
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "k3y-for-a-try\n", algorithms=["HS256"])


def test_secret_from_the_environment():
    env = dict(os.environ, ROOMCAST_JWT_SECRET="from-env")
    r = mint("--sub", "bob", env=env)
    assert r.returncode == 0, r.stderr
    assert jwt.decode(r.stdout.strip(), "from-env", algorithms=["HS256"])["sub"] == "bob"


@pytest.mark.parametrize("args,message", [
    (["--sub", "bad user"], "--sub must be"),
    (["--sub", "a", "--room-role", "lobby"], "want ROOM=ROLE"),
    (["--sub", "a", "--ttl", "0"], "--ttl must be"),
    (["--sub", "a"], "no secret"),
])
def test_bad_input_is_refused(args, message):
    env = {k: v for k, v in os.environ.items() if k != "ROOMCAST_JWT_SECRET"}
    if message != "no secret":
        env["ROOMCAST_JWT_SECRET"] = "s"
    r = mint(*args, env=env)
    assert r.returncode != 0
    assert message in r.stderr
