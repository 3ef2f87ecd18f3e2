"""Command line: --help, --version, bad flags and values (exit 2, message on stderr)."""
import socket
import subprocess
import time

import pytest

from rcutil import HOST, binary_path, free_port, version_from_meson


def run_bin(*args, timeout=10):
    binary = binary_path()
    assert binary.exists(), f"server binary {binary} does not exist (make build, or ROOMCAST_BIN)"
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"roomcast {' '.join(args)} did not exit within {timeout} s "
                    f"(it should reject the arguments, not start serving)")


def test_help_exits_0_and_lists_options():
    r = run_bin("--help")
    assert r.returncode == 0, r
    for flag in ("--listen", "--shards", "--history", "--max-frame", "--max-conns", "--log-level",
                 "--slow-policy", "--max-queue-bytes"):
        assert flag in r.stdout, f"--help output (stdout) does not mention {flag}:\n{r.stdout}"


def test_version():
    r = run_bin("--version")
    assert r.returncode == 0, r
    assert r.stdout.strip().splitlines()[0] == f"roomcast {version_from_meson()}", r.stdout


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["--listen"],                         # missing value
    ["--listen", "nonsense"],
    ["--listen", "127.0.0.1:99999"],
    ["--shards", "abc"],
    ["--shards", "-3"],
    ["--max-frame", "-1"],
    ["--max-conns", "many"],
    ["--history", "1x"],
    ["--tick-ms", ""],
    ["--log-level", "loud"],
    ["--slow-policy", "maybe"],
    ["--max-queue-bytes", "lots"],
    ["--cursor-key", "abc"],              # not 64 hex characters
    ["--cursor-key", "zz" * 32],
    ["--cors-origins", "https://a.example,,https://b.example"],
    ["--cors-origins", "bad origin"],
    ["--poll-hold-ms", "50"],             # below its minimum
], ids=lambda a: " ".join(a) or "empty")
def test_bad_arguments_exit_2(args):
    # Valid --listen first (a free port), so a binary that wrongly accepts the bad
    # argument would start serving and hit the timeout instead of passing.
    r = run_bin("--listen", f"{HOST}:{free_port()}", "--shards", "1", *args, timeout=5)
    assert r.returncode == 2, f"{args}: exit {r.returncode}, stderr {r.stderr!r}"
    assert r.stderr.strip(), f"{args}: no error message on stderr"
    # The message names the offending flag or value.
    assert any(a and a in r.stderr for a in args), f"{args}: stderr names neither: {r.stderr!r}"
    assert r.stdout == "", f"{args}: errors go to stderr, stdout had {r.stdout!r}"


def test_port_in_use_fails_fast():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind((HOST, 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        t0 = time.monotonic()
        r = run_bin("--listen", f"{HOST}:{port}", "--shards", "2", timeout=5)
        assert r.returncode != 0, f"listening on a busy port must fail: {r}"
        assert r.stderr.strip(), "no error message on stderr"
        assert time.monotonic() - t0 < 5


def test_unusable_data_dir_fails_at_start(tmp_path):
    """The cursor key lives in --data-dir: a directory that does not exist, or a key file that
    is not 64 hex characters, stops the start with a message (never a silently new key)."""
    missing = tmp_path / "no-such-dir"
    r = run_bin("--listen", f"{HOST}:{free_port()}", "--data-dir", str(missing), timeout=5)
    assert r.returncode != 0, r
    assert "cursor key" in r.stderr and str(missing) in r.stderr, r.stderr
    (tmp_path / "cursor.key").write_text("not a key\n")
    r = run_bin("--listen", f"{HOST}:{free_port()}", "--data-dir", str(tmp_path), timeout=5)
    assert r.returncode != 0, r
    assert "cursor key" in r.stderr, r.stderr
    assert (tmp_path / "cursor.key").read_text() == "not a key\n", "a bad key file was replaced"


def test_a_second_roomcast_on_a_taken_port_refuses_to_start(roomcast):
    """Every shard binds with SO_REUSEPORT, which the kernel also grants a second, unrelated
    process: it used to start silently and take half the clients, one room then having two
    epochs. The second one now exits at once and says why."""
    first = roomcast()
    t0 = time.monotonic()
    r = run_bin("--listen", f"{HOST}:{first.port}", "--shards", "2", timeout=5)
    assert r.returncode == 1, r
    assert "address already in use" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 5
    assert first.alive()


def test_one_server_per_data_dir(roomcast, tmp_path):
    """A second server on a live one's --data-dir would replay and append to its log: refused,
    naming the holder's pid; once the first stops, the directory is free again."""
    first = roomcast("--data-dir", tmp_path)
    r = run_bin("--listen", f"{HOST}:{free_port()}", "--data-dir", str(tmp_path), timeout=5)
    assert r.returncode == 1, r
    assert f"in use by another roomcast (pid {first.proc.pid})" in r.stderr, r.stderr
    assert first.stop() == 0
    again = roomcast("--data-dir", tmp_path)
    assert again.alive()
