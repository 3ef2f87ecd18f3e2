"""Settings from a config file and ROOMCAST_* variables, --check-config, SIGHUP reload, and the
log formats (JSON lines, syslog priority prefixes under journald)."""
import json
import os
import signal
import subprocess
import time

from rcutil import binary_path, http

KEY1 = "first-admin-key-0123456789"
KEY2 = "second-admin-key-0123456789"


def check_config(*args, env=None):
    e = dict(os.environ if env is None else env)
    return subprocess.run([str(binary_path()), "--check-config", *map(str, args)],
                          capture_output=True, text=True, timeout=10, env=e)


def settings_of(out):
    return dict(line.split(" = ", 1) for line in out.splitlines()
                if " = " in line and not line.startswith("#"))


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("ROOMCAST_")}


def test_check_config_good_file(tmp_path):
    conf = tmp_path / "roomcast.conf"
    conf.write_text("# a comment\n\nhistory = 77\nslow-policy = close\ncors-origins = ''\n"
                    "no-demo\nlisten = \"127.0.0.1:9999\"\n")
    r = check_config("--config", conf, env=clean_env())
    assert r.returncode == 0, r.stderr
    s = settings_of(r.stdout)
    assert s["history"] == "77" and s["slow-policy"] == "close" and s["no-demo"] == "on"
    assert s["cors-origins"] == "''" and s["listen"] == "127.0.0.1:9999"
    assert "configuration OK" in r.stdout and "5 settings from it" in r.stdout, r.stdout


def test_precedence_file_then_environment_then_flags(tmp_path):
    conf = tmp_path / "roomcast.conf"
    conf.write_text("history = 10\nmax-text = 11\ntick-ms = 12\n")
    env = dict(clean_env(), ROOMCAST_MAX_TEXT="21", ROOMCAST_TICK_MS="22")
    r = check_config("--config", conf, "--tick-ms", "33", env=env)
    assert r.returncode == 0, r.stderr
    s = settings_of(r.stdout)
    assert (s["history"], s["max-text"], s["tick-ms"]) == ("10", "21", "33")


def test_every_setting_has_an_environment_variable():
    names = settings_of(check_config("--config", "", env=clean_env()).stdout)
    assert len(names) > 40
    env = clean_env()
    r = check_config("--config", "", env=dict(env, ROOMCAST_LOG_LEVEL="debug",
                                              ROOMCAST_SEND_BUDGET="7777",
                                              ROOMCAST_ADMIN_KEY=KEY1))
    s = settings_of(r.stdout)
    assert s["log-level"] == "debug" and s["send-budget"] == "7777" and s["admin-key"] == "<set>"
    assert KEY1 not in r.stdout + r.stderr, "a key was printed"


def test_check_config_bad_files(tmp_path):
    cases = {
        "histroy = 5\n": ("roomcast.conf:1", "unknown setting 'histroy'"),
        "# ok\nhistory = lots\n": ("roomcast.conf:2", "expects a whole number"),
        "max-conns = 0\n": ("roomcast.conf:1", "between"),
        "history = 5\nhistory = 6\n": ("roomcast.conf:2", "set twice"),
        "history\n": ("roomcast.conf:1", "expected 'name = value'"),
        "cors-origins = a, *\n": ("", "--cors-origins must be"),
    }
    for text, (where, what) in cases.items():
        conf = tmp_path / "roomcast.conf"
        conf.write_text(text)
        r = check_config("--config", conf, env=clean_env())
        assert r.returncode == 1, (text, r.stdout, r.stderr)
        assert where in r.stderr and what in r.stderr, (text, r.stderr)
    r = check_config("--config", tmp_path / "missing.conf", env=clean_env())
    assert r.returncode == 1 and "cannot be read" in r.stderr
    r = check_config("--config", "", env=dict(clean_env(), ROOMCAST_HISTORY="x"))
    assert r.returncode == 1 and "ROOMCAST_HISTORY=x" in r.stderr


def test_a_bad_config_file_stops_the_start(tmp_path):
    conf = tmp_path / "roomcast.conf"
    conf.write_text("nonsense = 1\n")
    r = subprocess.run([str(binary_path()), "--config", str(conf), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=10, env=clean_env())
    assert r.returncode == 2 and "unknown setting 'nonsense'" in r.stderr


def wait_log(server, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in server.log_text():
            return True
        time.sleep(0.05)
    return False


def preflight(server, origin):
    return http("OPTIONS", server.url("/rooms/r/messages"),
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"})


def admin_publish(server, key):
    return http("POST", server.url("/admin/rooms/r/publish"), json.dumps({"text": "hi"}),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


def test_sighup_reloads_log_level_cors_and_admin_key(roomcast, tmp_path):
    conf = tmp_path / "roomcast.conf"
    conf.write_text(f"cors-origins = https://a.example\nadmin-key = {KEY1}\nhistory = 100\n")
    server = roomcast("--config", conf, env=clean_env())
    assert preflight(server, "https://a.example")[0] == 204
    assert preflight(server, "https://b.example")[0] == 403
    assert admin_publish(server, KEY1)[0] == 200
    conf.write_text(f"cors-origins = https://b.example\nadmin-key = {KEY2}\nhistory = 5\n"
                    "log-level = debug\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    assert wait_log(server, "reload done"), server.log_text()[-2000:]
    time.sleep(0.1)  # each shard takes the new settings at its next loop turn (at most ~1 s)
    deadline = time.monotonic() + 3
    while preflight(server, "https://b.example")[0] != 204 and time.monotonic() < deadline:
        time.sleep(0.05)
    st, headers, _b = preflight(server, "https://b.example")
    assert st == 204 and headers.get("access-control-allow-origin") == "https://b.example"
    assert preflight(server, "https://a.example")[0] == 403
    assert admin_publish(server, KEY1)[0] == 401
    assert admin_publish(server, KEY2)[0] == 200
    log = server.log_text()
    assert "reload: log-level info -> debug" in log
    assert "reload: admin-key changed" in log and KEY2 not in log
    assert "history cannot change while running" in log
    assert "reload done: 3 settings applied, 1 need a restart" in log
    # A bad file changes nothing and says why.
    conf.write_text("history = many\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    assert wait_log(server, "nothing changed"), server.log_text()[-2000:]
    assert admin_publish(server, KEY2)[0] == 200


def test_json_logs_parse(roomcast):
    server = roomcast("--log-format", "json", "--log-level", "debug")
    http("GET", server.url("/no/such/thing"))
    server.stop()
    lines = [ln for ln in server.log_text().splitlines() if not ln.startswith("$ ")]
    assert len(lines) >= 3
    for ln in lines:
        obj = json.loads(ln)
        assert obj["level"] in ("debug", "info", "warn", "error") and obj["msg"], obj
        assert obj["ts"].endswith("Z")
    assert any("roomcast stopped" in json.loads(ln)["msg"] for ln in lines)
    # The refused request got its debug line.
    assert any(json.loads(ln)["level"] == "debug" and "refused (404 not_found)" in
               json.loads(ln)["msg"] for ln in lines), lines


def test_refused_requests_logged_at_debug_and_rate_limited(roomcast):
    server = roomcast("--log-level", "debug", shards=1)
    for _ in range(60):
        http("GET", server.url("/no/such/thing"))
    time.sleep(1.1)  # a new second: the next line says how many were left out
    http("GET", server.url("/rooms/r/history?after=x"))
    server.stop()
    refused = [ln for ln in server.log_text().splitlines() if "refused (" in ln]
    assert 20 <= len(refused) <= 42, len(refused)  # 20 a second (the burst may span two)
    assert "refusals not logged" in refused[-1] and "400 bad_request" in refused[-1], refused[-1]
    quiet = roomcast()
    http("GET", quiet.url("/no/such/thing"))
    quiet.stop()
    assert "refused (" not in quiet.log_text()


def test_syslog_priority_prefixes_under_journald(roomcast, tmp_path):
    # JOURNAL_STREAM names stderr's device and inode: the test's log file plays journald.
    log_path = tmp_path / "roomcast-0.log"
    log_path.touch()
    st = os.stat(log_path)
    env = dict(clean_env(), JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    server = roomcast("--log-level", "debug", env=env)
    assert server.log_path == log_path
    server.stop()
    lines = [ln for ln in server.log_text().splitlines() if not ln.startswith("$ ")]
    assert lines and all(ln[:3] in ("<7>", "<6>", "<4>", "<3>") for ln in lines), lines[:5]
    assert any(ln.startswith("<6>info ") for ln in lines), lines[:5]
    # Not stderr's stream: no prefixes.
    other = roomcast(env=dict(clean_env(), JOURNAL_STREAM="1:2"))
    other.stop()
    assert not other.log_text().splitlines()[1].startswith("<")
