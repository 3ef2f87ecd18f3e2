"""roomcast-load counts loss viewer by viewer, and feeds nchan through a WebSocket publisher.

The benchmark's "carried the offered load" verdict rests on these figures (perf/run.sh), so they
are checked against known answers: a stand-in for nchan (fake_nchan.py) that loses one message
for one subscriber and duplicates one for another, where the aggregate count would see nothing
missing, and a real roomcast that must show no hole at all.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from rcutil import free_port  # noqa: E402

HERE = Path(__file__).resolve().parent
LOAD = Path(os.environ.get("ROOMCAST_LOAD_BIN", "build/perf/roomcast-load"))


def load_json(*args: str) -> dict:
    assert LOAD.exists(), f"{LOAD} does not exist: build it (make build) or set ROOMCAST_LOAD_BIN"
    cmd = [str(LOAD), "fanout", *args, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON line from {cmd}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return json.loads(lines[-1])


@pytest.fixture
def fake_nchan():
    procs = []

    def start(*args: str) -> int:
        port = free_port()
        p = subprocess.Popen([sys.executable, str(HERE / "fake_nchan.py"), str(port), *args],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "ready"
        return port

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


FANOUT = ["--viewers", "4", "--rooms", "1", "--publishers", "1", "--rate", "20",
          "--size", "100", "--duration", "1", "--straggler-secs", "1"]


def test_a_hole_at_one_viewer_is_not_hidden_by_a_duplicate_at_another(fake_nchan):
    port = fake_nchan("--hole-at", "3", "--dup-at", "3")
    r = load_json(*FANOUT, "--url", f"ws://127.0.0.1:{port}", "--target", "nchan")
    assert r["complete"] == "yes"
    assert r["publish_path"].startswith("nchan WebSocket publisher")
    assert r["sent"] == 20 and r["acked"] == 20  # one channel-info frame per message
    assert r["members"] == 4
    assert r["offered"] == 80
    assert r["viewers_checked"] == 4
    assert r["viewers_with_holes"] == 1
    assert r["viewer_holes"] == 1
    assert r["viewer_max_holes"] == 1
    assert r["viewers_with_dups"] == 1
    assert r["viewer_dups"] == 1
    assert r["delivered_unique"] == 79


def test_a_clean_nchan_run_shows_no_hole(fake_nchan):
    port = fake_nchan()
    r = load_json(*FANOUT, "--url", f"ws://127.0.0.1:{port}", "--target", "nchan")
    assert r["complete"] == "yes"
    assert r["offered"] == 80 and r["delivered_unique"] == 80
    assert r["viewers_with_holes"] == 0 and r["viewer_holes"] == 0
    assert r["viewers_with_dups"] == 0 and r["viewer_dups"] == 0


def test_roomcast_every_viewer_gets_every_message(roomcast):
    srv = roomcast()
    r = load_json(*FANOUT, "--url", f"ws://127.0.0.1:{srv.port}", "--target", "roomcast")
    assert r["complete"] == "yes"
    # roomcast's publisher is in its room too: 5 receiving connections
    assert r["members"] == 5 and r["viewers_checked"] == 5
    assert r["sent"] == 20 and r["offered"] == 100
    assert r["delivered_unique"] == 100
    assert r["viewers_with_holes"] == 0 and r["viewer_dups"] == 0


def test_nchan_publish_path_is_checked():
    assert LOAD.exists(), f"{LOAD} does not exist: build it (make build) or set ROOMCAST_LOAD_BIN"
    out = subprocess.run([str(LOAD), "fanout", "--url", "ws://127.0.0.1:9", "--target", "nchan",
                          "--nchan-publish", "carrier-pigeon"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "--nchan-publish wants ws or http, got 'carrier-pigeon'" in out.stderr


def test_several_urls_spread_viewers_and_publishers_over_a_fleet(roomcast, tmp_path):
    """fanout with one --url per node of a fleet (perf/cluster_bench.py): worker w connects to
    URL w % n, so viewer v and publisher j land on node v % n and j % n; every viewer on every
    node must get every message of both publishers, once."""
    from metricsutil import fetch_metrics, metric_sum
    from test_cluster import CURSOR_KEY, REDIS, Redis
    if REDIS is None:
        pytest.skip("redis-server is not installed (scripts/install-deps.sh installs it)")
    redis = Redis(tmp_path / "redis.log").start()
    try:
        ns = [roomcast("--redis", f"127.0.0.1:{redis.port}", "--cursor-key", CURSOR_KEY)
              for _ in range(2)]
        r = load_json("--viewers", "6", "--rooms", "1", "--publishers", "2", "--rate", "20",
                      "--size", "100", "--duration", "1", "--straggler-secs", "2",
                      *sum((["--url", f"ws://127.0.0.1:{n.port}"] for n in ns), []))
        assert r["complete"] == "yes", r
        assert r["workers"] == 2
        assert r["url"] == ",".join(f"ws://127.0.0.1:{n.port}" for n in ns)
        # 3 viewers and 1 publisher (which also receives) on each node
        assert r["members"] == 8 and r["sent"] == 20 and r["offered"] == 160
        assert r["delivered_unique"] == 160
        assert r["viewers_with_holes"] == 0 and r["viewer_dups"] == 0
        per_node = [metric_sum(fetch_metrics(n)[2], "roomcast_redis_publishes_total")
                    for n in ns]
        assert per_node[0] > 0 and per_node[1] > 0, f"a node published nothing: {per_node}"
        received = [metric_sum(fetch_metrics(n)[2], "roomcast_redis_messages_received_total")
                    for n in ns]
        assert received[0] > 0 and received[1] > 0, f"a node had no viewers: {received}"
    finally:
        redis.kill()


def test_several_urls_are_for_fanout_only():
    assert LOAD.exists(), f"{LOAD} does not exist: build it (make build) or set ROOMCAST_LOAD_BIN"
    out = subprocess.run([str(LOAD), "connect", "--url", "ws://127.0.0.1:9", "--url",
                          "ws://127.0.0.1:10"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "several --url are for fanout with --target roomcast and --transport ws only" \
        in out.stderr
    out = subprocess.run([str(LOAD), "fanout", "--url", "ws://127.0.0.1:9", "--url",
                          "ws://chat.invalid:10"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "--url ws://chat.invalid:10:" in out.stderr and "refusing host" in out.stderr
