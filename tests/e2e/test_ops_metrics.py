"""/metrics by Prometheus' own tools: `promtool check metrics` (Debian's prometheus package) and
the Python client's parser, after traffic that fills every family (viewers, messages, a parked
long-poll, the durable log, refused requests)."""
import json
import re
import shutil
import subprocess
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metricsutil import metric_sum, parse_metrics
from rcutil import http, join, post_message, recv_next, run, send_op

pytest.importorskip("prometheus_client")


def traffic(server):
    async def scenario():
        ws, _w = await join(server, "m-room", user="viewer")
        for i in range(3):
            st, _h, _b = post_message(server, "m-room", "poster", {"text": f"m{i}"})
            assert st == 200
            assert (await recv_next(ws, 5))["type"] == "msg"
        await send_op(ws, {"op": "nonsense"})
        assert (await recv_next(ws, 5))["type"] == "error"
        await ws.close()
    run(scenario(), 30)
    assert http("GET", server.url("/no/such/endpoint"))[0] == 404
    assert http("GET", server.url("/rooms/m-room/history?after=x"))[0] == 400


def scrape_with_parked_poll(server):
    # A long-poll parked at the head while /metrics is read (the per-room families).
    st, _h, body = http("GET", server.url("/rooms/poll-room/messages"))
    assert st == 200
    cursor = json.loads(body)["cursor"]
    t = threading.Thread(target=http, args=("GET", server.url(
        f"/rooms/poll-room/messages?cursor={cursor}")), kwargs={"timeout": 30}, daemon=True)
    t.start()
    for _ in range(100):
        text = http("GET", server.url("/metrics"))[2].decode()
        if re.search(r'^roomcast_longpoll_room_parked\{[^}]*room="poll-room"\} 1$', text, re.M):
            break
        threading.Event().wait(0.1)
    post_message(server, "poll-room", "p", {"text": "wake"})
    t.join(30)
    assert re.search(r'^roomcast_longpoll_room_parked\{[^}]*room="poll-room"\} 1$', text, re.M), \
        "the parked poll never showed in /metrics"
    return text


@pytest.fixture
def busy_server(roomcast, tmp_path):
    (tmp_path / "data").mkdir()
    server = roomcast("--data-dir", tmp_path / "data", "--fsync", "batch")
    traffic(server)
    return server


def test_promtool_check_metrics(busy_server):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not found (Debian package prometheus: scripts/install-deps.sh)")
    text = scrape_with_parked_poll(busy_server)
    assert "roomcast_longpoll_room_timeout_seconds{" in text, text[-3000:]
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"promtool: {r.stdout}{r.stderr}"


def test_prometheus_client_parses_every_family_whole(busy_server):
    text = scrape_with_parked_poll(busy_server)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # Each family once, typed, with samples (a family split in two would come out twice or
    # untyped).
    names = [f.name for f in text_string_to_metric_families(text)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert all(f.type != "unknown" and f.samples for f in families.values()), [
        f.name for f in families.values() if f.type == "unknown" or not f.samples]
    assert families["roomcast_fanout_delay_seconds"].type == "histogram"
    assert families["roomcast_log_commit_seconds"].type == "histogram"
    assert families["roomcast_build_info"].samples[0].labels["version"]
    for name in ("process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds", "roomcast_connections",
                 "roomcast_longpoll_room_parked", "roomcast_longpoll_room_timeout_seconds"):
        assert name in families, (name, sorted(families))
    samples = parse_metrics(text)
    assert metric_sum(samples, "process_resident_memory_bytes") > 1 << 20
    # Status classes and error codes of the traffic above.
    by = {(n, tuple(sorted(l.items()))): v for n, l, v in samples}
    def total(name, **want):
        return sum(v for (n, labels), v in by.items() if n == name
                   and all(dict(labels).get(k) == x for k, x in want.items()))
    assert total("roomcast_http_responses_total", **{"class": "2xx"}) >= 4
    assert total("roomcast_http_responses_total", **{"class": "4xx"}) >= 2
    assert total("roomcast_http_responses_total", **{"class": "1xx"}) >= 1  # the upgrade
    assert total("roomcast_errors_sent_total", code="not_found") >= 1
    assert total("roomcast_errors_sent_total", code="bad_request") >= 2
    assert total("roomcast_log_commit_seconds_count") >= 3
    assert total("roomcast_fanout_delay_seconds_count") >= 3
    # Base units: nothing in ms or us any more.
    assert not [n for n in families if n.endswith(("_ms", "_us")) or "_ms_" in n or "_us_" in n]
