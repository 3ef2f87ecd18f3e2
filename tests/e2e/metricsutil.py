"""Reading /metrics in the end-to-end tests: Prometheus text parsed into samples, sums and
per-shard views, and waiting for a condition on them."""
from __future__ import annotations

import re
import time

from rcutil import Server, http

_METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:\s*[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"\s*,?)*)\})?'
    r'\s+(\S+)(?:\s+-?\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    """Strict parse of the Prometheus text format; raises AssertionError on a malformed line."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _METRIC_LINE.match(line)
        assert m, f"malformed metrics line: {line!r}"
        labels = dict(_LABEL.findall(m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            raise AssertionError(f"bad metric value in {line!r}") from None
        out.append((m.group(1), labels, value))
    return out


def metric_by_shard(samples, name: str) -> dict[str, float]:
    res: dict[str, float] = {}
    for n, labels, v in samples:
        if n == name and "shard" in labels:
            res[labels["shard"]] = res.get(labels["shard"], 0.0) + v
    return res


def fetch_metrics(server: Server):
    status, headers, body = http("GET", server.url("/metrics"))
    assert status == 200, f"/metrics answered {status}: {body[:300]!r}"
    return headers, body.decode(), parse_metrics(body.decode())


def poll_metrics(server: Server, ok, timeout: float = 3.0):
    """Fetch /metrics until ok(samples) holds (gauges and counters may be published on a tick);
    returns the last (text, samples)."""
    deadline = time.monotonic() + timeout
    while True:
        _h, text, samples = fetch_metrics(server)
        if ok(samples) or time.monotonic() > deadline:
            return text, samples
        time.sleep(0.05)


def metric_sum(samples, name: str) -> float:
    """Sum of every series of `name` (all shards, all labels); 0 when absent."""
    return sum(v for n, _labels, v in samples if n == name)


def metric_lines(text: str, *prefixes: str) -> str:
    """The sample lines of /metrics whose name starts with one of prefixes (for failure
    messages that do not drown in the whole page)."""
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")
             and ln.startswith(prefixes)]
    return "\n".join(lines) if lines else f"(no series named {', '.join(prefixes)}*)"
