"""perf/capacity_model.py: its answer follows from the bench's JSON files by the method that
docs/cluster.md states, the table there is its output, and a bench without a step is refused."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "perf" / "capacity_model.py"
BENCH = ROOT / "perf" / "reports" / "cluster-bench-2026-12-05"


def model(*args):
    return subprocess.run([sys.executable, str(MODEL), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_figures_come_from_the_bench_files():
    r = model(BENCH, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    m, plans = out["measured"], out["plans"]
    steps = {s: json.loads((BENCH / f"{s}.json").read_text())
             for s in ("single", "cluster", "redis-1", "redis-n")}
    d = min(steps["single"]["deliveries_per_server_cpu_s"],
            steps["cluster"]["deliveries_per_server_cpu_s"])
    assert m["D_deliveries_per_node_cpu_s"] == d
    counters = steps["cluster"]["node_counters"]
    b = sum(n["bytes_out_total"] for n in counters) / sum(n["deliveries_total"] for n in counters)
    assert math.isclose(m["B_bytes_per_delivery"], b)
    r1 = steps["redis-1"]["redis"]["cpu_us_per_msg_less_idle"]
    rn = steps["redis-n"]["redis"]["cpu_us_per_msg_less_idle"]
    assert math.isclose(m["a_us"] + m["b_us_per_node"], r1)
    assert math.isclose(m["a_us"] + 3 * m["b_us_per_node"], rn)
    for p in plans:
        v = p["viewers"]
        by_cpu = v * 100 / (d * 16 * 0.6)
        by_nic = v * 100 * b * 8 / (25e9 * 0.6)
        by_mem = v * m["P_pss_bytes_per_viewer_upper"] / (64 * 2**30 * 0.6)
        assert p["nodes"] == math.ceil(max(by_cpu, by_nic, by_mem))
        assert math.isclose(p["redis_cpu_cores"],
                            100 * (m["a_us"] + m["b_us_per_node"] * p["nodes"]) / 1e6,
                            abs_tol=1e-4)


def test_the_table_in_docs_is_its_output():
    r = model(BENCH)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| 1")]
    assert len(rows) == 3
    doc = (ROOT / "docs" / "cluster.md").read_text()
    for row in rows:
        assert row in doc, f"docs/cluster.md lacks the model's row {row}"


def test_a_bench_without_a_step_is_refused(tmp_path):
    partial = tmp_path / "bench"
    shutil.copytree(BENCH, partial)
    (partial / "redis-n.json").unlink()
    summary = json.loads((partial / "summary.json").read_text())
    del summary["steps"]["redis-n"]
    (partial / "summary.json").write_text(json.dumps(summary))
    r = model(partial)
    assert r.returncode != 0
    assert "the bench directory has no redis-n step (run every step)" in r.stderr
