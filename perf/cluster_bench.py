#!/usr/bin/python3
"""The cluster benchmark of issue 13 (docs/cluster.md, "Measured"): the same per-node load on

  single        1 node, no Redis (the embedded default)
  single-redis  1 node + its own redis-server (what Redis alone adds)
  cluster       N nodes + one redis-server, viewers spread over every node
  redis-1/-n    Redis's cost per message at --redis-rate msg/s, 1 and N nodes following the room

each fresh, one after the other in one run, so that the ratios compare runs made back to back on
the same (shared) box. Per step: `roomcast-load fanout` with one --url per node (viewer v on node
v % N, publisher j on node j % N), --server-pid = every node, and around it readings of Redis
(`INFO commandstats`, `INFO stats`, /proc/PID/stat CPU) and of each node's /metrics.

  flock /tmp/roomcast-bench.lock /usr/bin/python3 perf/cluster_bench.py \
      [--viewers-per-node 2000] [--rate 100] [--duration 10] [--nodes 3] [--shards 2] \
      [--publishers 1] [--steps single,single-redis,cluster,redis-1,redis-n] [--out DIR] \
      [--redis-rate 2000] [--perf-record] [--node-arg=FLAG ...]

Writes DIR/<step>.json (the tool's JSON line plus a "redis" and "nodes" part), DIR/summary.json
(the figures perf/capacity_model.py reads) and DIR/summary.md; DIR defaults to
perf/out/cluster-bench-<UTC date>. Every process it starts is ended by its PID.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_fleet import cpu_seconds, start_fleet, stop_fleet  # noqa: E402

# Inside the publish script: numbering, and the moderation gate (ban, rate limit, slow mode).
SCRIPT_CMDS = {"time", "hget", "get", "hincrby", "xadd", "publish", "set",
               "llen", "lindex", "lpush", "ltrim", "pexpire", "pttl"}


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--viewers-per-node", type=int, default=2000)
    p.add_argument("--rate", type=float, default=100.0, help="msg/s into the room, in total")
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--publishers", type=int, default=1,
                   help="publisher j on node j %% nodes (1: all on node 1; = nodes: spread)")
    p.add_argument("--steps", default=",".join(STEPS))
    p.add_argument("--redis-rate", type=float, default=2000.0,
                   help="redis-1, redis-n: msg/s (4 publishers) to measure Redis per message")
    p.add_argument("--redis-viewers-per-node", type=int, default=20)
    p.add_argument("--bin", default=os.environ.get("ROOMCAST_BIN", "build/src/roomcast"))
    p.add_argument("--load", default=os.environ.get("ROOMCAST_LOAD_BIN",
                                                    "build/perf/roomcast-load"))
    p.add_argument("--out", default=None)
    p.add_argument("--node-arg", action="append", default=[],
                   help="one more flag for every node, after the defaults (repeat it: "
                        "--node-arg=--rate-limit --node-arg=100000/1)")
    p.add_argument("--perf-record", action="store_true",
                   help="cluster step: `perf record -a -g` for 5 s of the measured window, "
                        "top symbols per process into DIR/cluster-perf.txt")
    a = p.parse_args(argv)
    if not (1 <= a.nodes <= 8 and 1 <= a.shards <= 8 and 0 < a.duration <= 120
            and 1 <= a.viewers_per_node * a.nodes <= 200000 and 0 < a.rate <= 100000):
        p.error("out of bounds: nodes 1..8, shards 1..8, duration <= 120 s, "
                "viewers <= 200000 in all, rate <= 100000")
    for path in (a.bin, a.load):
        if not os.access(path, os.X_OK):
            p.error(f"{path} missing: nice -n 19 make build")
    a.out = a.out or time.strftime("perf/out/cluster-bench-%Y%m%d-%H%M%S", time.gmtime())
    return a


class Readings:
    """Redis and node counters at one instant."""

    def __init__(self, redis, nodes):
        self.t = time.monotonic()
        self.redis_cpu = cpu_seconds(redis.pid) if redis else None
        self.cmds = redis.commandstats() if redis else {}
        self.stats = redis.stats() if redis else {}
        self.metrics = [n.metrics() for n in nodes]
        self.idle_cpu_per_s = None

    def measure_idle(self, redis, secs=3.0):
        """Redis's CPU per second with the nodes connected and no traffic (its own timers)."""
        if redis is None:
            return
        c0, t0 = cpu_seconds(redis.pid), time.monotonic()
        time.sleep(secs)
        self.idle_cpu_per_s = (cpu_seconds(redis.pid) - c0) / (time.monotonic() - t0)


def redis_delta(before, after, msgs):
    """Per-message Redis figures between two Readings; msgs: messages sent meanwhile (warmup
    included)."""
    if after.redis_cpu is None:
        return None
    zero = (0, 0)
    d = {k: after.cmds[k][0] - before.cmds.get(k, zero)[0] for k in after.cmds}
    d = {k: v for k, v in d.items() if v > 0 and k not in ("info", "ping")}
    usec = after.cmds.get("evalsha", zero)[1] - before.cmds.get("evalsha", zero)[1]
    evalsha = d.get("evalsha", 0) + d.get("eval", 0)
    idle = before.idle_cpu_per_s or 0.0
    node_cmds = {k: v for k, v in d.items() if k not in SCRIPT_CMDS}
    per = (lambda v: round(v / msgs, 3)) if msgs else (lambda v: None)
    reads = after.stats.get("total_reads_processed", 0) - before.stats.get(
        "total_reads_processed", 0)
    cpu = after.redis_cpu - before.redis_cpu
    return {
        "span_s": round(after.t - before.t, 2),
        "cpu_s": round(cpu, 3),
        "script_calls": evalsha,
        "messages_sent": msgs,
        "script_calls_per_msg": round(evalsha / msgs, 3) if msgs else None,
        "commands": d,
        "node_commands_per_msg": per(sum(node_cmds.values())),
        "commands_in_script_per_msg": per(sum(v for k, v in d.items() if k in SCRIPT_CMDS)),
        "socket_reads_per_msg": per(reads),
        "cpu_us_per_msg": round(cpu / msgs * 1e6, 2) if msgs else None,
        "idle_cpu_per_s": round(idle, 4),
        "cpu_us_per_msg_less_idle": round(max(0.0, cpu - idle * (after.t - before.t)) / msgs
                                          * 1e6, 2) if msgs else None,
        "script_usec_per_call": round(usec / evalsha, 2) if evalsha else None,
        "net_output_bytes": after.stats.get("total_net_output_bytes", 0)
        - before.stats.get("total_net_output_bytes", 0),
    }


def node_deltas(before, after, names):
    keys = ("roomcast_redis_publishes_total", "roomcast_redis_messages_received_total",
            "roomcast_redis_publish_refused_total", "roomcast_redis_stream_reads_total",
            "roomcast_redis_repairs_total", "roomcast_deliveries_total",
            "roomcast_bytes_out_total", "roomcast_batches_total", "roomcast_send_calls_total")
    out = []
    for name, b, a in zip(names, before.metrics, after.metrics):
        out.append({"node": name, **{k.removeprefix("roomcast_redis_").removeprefix("roomcast_"):
                                     a.get(k, 0) - b.get(k, 0) for k in keys}})
    return out


def perf_profile(pids, out_path, seconds=5):
    """System-wide sampled profile; top symbols of our processes, written to out_path."""
    data = out_path + ".data"
    try:
        subprocess.run(["perf", "record", "-a", "-g", "-F", "499", "-o", data, "--",
                        "sleep", str(seconds)], capture_output=True, timeout=seconds + 30)
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort",
                              "comm,dso", "--stdio", "-g", "none", "--percent-limit", "1"],
                             capture_output=True, text=True, timeout=120)
        sym = subprocess.run(["perf", "report", "-i", data, "--no-children", "--comm",
                              "roomcast", "--sort", "sym", "--stdio", "-g", "none",
                              "--percent-limit", "0.7"],
                             capture_output=True, text=True, timeout=120)
        with open(out_path, "w") as f:
            f.write(rep.stdout + "\n# roomcast (the nodes' threads) by symbol\n" + sym.stdout)
    except (OSError, subprocess.TimeoutExpired) as e:
        with open(out_path, "w") as f:
            f.write(f"perf failed: {e}\n")
    finally:
        if os.path.exists(data):
            os.unlink(data)


STEPS = ("single", "single-redis", "cluster", "redis-1", "redis-n")


def step_shape(a, step):
    """(nodes, Redis or not, viewers per node, msg/s, publishers) of a step. redis-1 and
    redis-n measure Redis's cost per message at --redis-rate (enough messages for /proc's 10 ms
    ticks), few viewers, with 1 and with N nodes following the room."""
    if step in ("redis-1", "redis-n"):
        return (1 if step == "redis-1" else a.nodes, True, a.redis_viewers_per_node,
                a.redis_rate, 4)
    return (1 if step.startswith("single") else a.nodes, step != "single", a.viewers_per_node,
            a.rate, a.publishers)


def run_step(a, step):
    nodes, redis_on, per_node, rate, publishers = step_shape(a, step)
    out_dir = os.path.join(a.out, step)
    redis, ns = start_fleet(a.bin, out_dir, nodes, a.shards, redis=redis_on, extra=a.node_arg)
    try:
        time.sleep(0.5)
        cmd = [a.load, "fanout", *sum((["--url", n.ws] for n in ns), []),
               "--viewers", str(per_node * nodes), "--rooms", "1",
               "--publishers", str(publishers), "--rate", f"{rate:g}",
               "--size", str(a.size), "--duration", f"{a.duration:g}",
               "--warmup", f"{a.warmup:g}", "--workers", str(nodes),
               "--server-pid", ",".join(str(n.pid) for n in ns), "--json"]
        idle = Readings(redis, ns)
        idle.measure_idle(redis)
        before = Readings(redis, ns)
        before.idle_cpu_per_s = idle.idle_cpu_per_s
        load_before = loadavg()
        prof = None
        if a.perf_record and step == "cluster":
            delay = a.warmup + 3 + min(2.0, a.duration / 3)
            prof = threading.Timer(delay, perf_profile,
                                   ([n.pid for n in ns], os.path.join(a.out, "cluster-perf.txt")))
            prof.start()
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=a.warmup + a.duration + 120)
        after = Readings(redis, ns)
        if prof:
            prof.join()
        lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
        with open(os.path.join(out_dir, "load.txt"), "w") as f:
            f.write(" ".join(cmd) + "\n" + r.stdout + r.stderr)
        if not lines:
            raise SystemExit(f"{step}: no JSON from roomcast-load (exit {r.returncode}); "
                             f"see {out_dir}/load.txt")
        res = json.loads(lines[-1])
        res["step"] = step
        res["nodes"] = nodes
        res["command"] = " ".join(cmd)
        res["load_wall_s"] = round(time.monotonic() - t0, 2)
        res["loadavg_before"] = load_before
        res["loadavg_after"] = loadavg()
        res["redis"] = redis_delta(before, after,
                                   (res.get("sent") or 0) + (res.get("warmup_sent") or 0))
        res["node_counters"] = node_deltas(before, after, [n.name for n in ns])
        return res
    finally:
        stop_fleet(redis, ns)


def carried(r):
    """Every viewer got every message, no hole, no duplicate (what the docs' tables call
    carried)."""
    return bool(r.get("offered") and r.get("delivered_unique") == r["offered"]
                and r.get("duplicates") == 0 and r.get("viewers_with_holes") == 0)


def summarize(a, results):
    s = {"date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
         "args": {k: v for k, v in vars(a).items() if k not in ("bin", "load")},
         "cores": os.cpu_count(), "steps": {}}
    for step, r in results.items():
        red = r.get("redis") or {}
        s["steps"][step] = {
            "nodes": r["nodes"], "carried": bool(carried(r)),
            "offered": r.get("offered"), "delivered_unique": r.get("delivered_unique"),
            "deliveries_per_s": r.get("deliveries_per_s"), "acked": r.get("acked"),
            "lost": r.get("lost"), "duplicates": r.get("duplicates"),
            "viewers_with_holes": r.get("viewers_with_holes"),
            "p50_ms": r.get("latency_p50_ms"), "p99_ms": r.get("latency_p99_ms"),
            "max_ms": r.get("latency_max_ms"),
            "node_cpu_s": r.get("server_cpu_s"), "node_cpu_pct": r.get("server_cpu_pct"),
            "deliveries_per_node_cpu_s": r.get("deliveries_per_server_cpu_s"),
            "client_cpu_pct": r.get("client_cpu_pct"),
            "redis_cpu_s": red.get("cpu_s"), "redis_span_s": red.get("span_s"),
            "redis_cpu_us_per_msg": red.get("cpu_us_per_msg"),
            "redis_cpu_us_per_msg_less_idle": red.get("cpu_us_per_msg_less_idle"),
            "redis_idle_cpu_per_s": red.get("idle_cpu_per_s"),
            "script_usec_per_call": red.get("script_usec_per_call"),
            "msg_per_s": r.get("rate_target"),
            "script_calls_per_msg": red.get("script_calls_per_msg"),
            "node_commands_per_msg": red.get("node_commands_per_msg"),
            "redis_socket_reads_per_msg": red.get("socket_reads_per_msg"),
            "loadavg_before": r["loadavg_before"], "loadavg_after": r["loadavg_after"],
            "command": r["command"],
        }
    st = s["steps"]
    if "single" in st and "cluster" in st and st["single"]["deliveries_per_node_cpu_s"]:
        s["cluster_over_single"] = round(st["cluster"]["deliveries_per_node_cpu_s"]
                                         / st["single"]["deliveries_per_node_cpu_s"], 3)
    if "single-redis" in st and "cluster" in st and st["single-redis"]["deliveries_per_node_cpu_s"]:
        s["cluster_over_single_redis"] = round(
            st["cluster"]["deliveries_per_node_cpu_s"]
            / st["single-redis"]["deliveries_per_node_cpu_s"], 3)
    return s


def write_md(path, s):
    cols = list(s["steps"])
    rows = ["nodes", "msg_per_s", "carried", "offered", "delivered_unique", "deliveries_per_s",
            "lost",
            "duplicates", "viewers_with_holes", "p50_ms", "p99_ms", "max_ms", "node_cpu_pct",
            "deliveries_per_node_cpu_s", "client_cpu_pct", "redis_cpu_s", "redis_span_s",
            "redis_cpu_us_per_msg", "redis_cpu_us_per_msg_less_idle", "redis_idle_cpu_per_s",
            "script_usec_per_call", "script_calls_per_msg", "node_commands_per_msg",
            "redis_socket_reads_per_msg", "loadavg_before", "loadavg_after"]
    with open(path, "w") as f:
        f.write(f"# cluster bench {s['date_utc']} UTC, {s['cores']} cores\n\n")
        f.write(f"args: {json.dumps(s['args'])}\n\n")
        f.write("| figure | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols) + "\n")
        for k in rows:
            f.write(f"| {k} | " + " | ".join(str(s['steps'][c].get(k)) for c in cols) + " |\n")
        for k in ("cluster_over_single", "cluster_over_single_redis"):
            if k in s:
                f.write(f"\n{k} (deliveries per node CPU-second): {s[k]}\n")
        f.write("\ncommands:\n\n")
        for c in cols:
            f.write(f"- {c}: `{s['steps'][c]['command']}`\n")


def main(argv):
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    results = {}
    for step in a.steps.split(","):
        if step not in STEPS:
            raise SystemExit(f"unknown step {step}")
        print(f"[{time.strftime('%H:%M:%S')}] {step} (load {loadavg()})", flush=True)
        results[step] = run_step(a, step)
        with open(os.path.join(a.out, f"{step}.json"), "w") as f:
            json.dump(results[step], f, indent=1)
    s = summarize(a, results)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(s, f, indent=1)
    write_md(os.path.join(a.out, "summary.md"), s)
    with open(os.path.join(a.out, "summary.md")) as f:
        print(f.read())
    print(f"files in {a.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
