#!/usr/bin/python3
"""Capacity model of issue 13 (docs/cluster.md, "Capacity model"): how many nodes and Redis
instances one room of V viewers at M msg/s needs, from figures measured by perf/cluster_bench.py.

  /usr/bin/python3 perf/capacity_model.py perf/reports/cluster-bench-<date> [--cores 16] ...

Measured inputs (read from DIR/summary.json and DIR/<step>.json, never typed in here):
  D       deliveries per node CPU-second: the lower of the cluster step's (every node fed by
          Redis pub/sub) and the single node's
  B       bytes written per delivery (roomcast_bytes_out_total / roomcast_deliveries_total of
          the cluster step's nodes)
  P       PSS per viewer, upper bound (the single step's PSS at the end / its connections:
          includes the process's own baseline)
  a, b    Redis CPU per message = a + b x (nodes following the room): a line through the
          redis-1 step (1 node) and the redis-n step (N nodes), /proc CPU less Redis's idle CPU
Assumptions (flags, printed with the answer): a node's cores, RAM and NIC, and the share of each
kept as headroom.

Per room of V viewers at M msg/s:
  nodes by CPU    = V x M / (D x cores x cpu_util)
  nodes by NIC    = V x M x B x 8 / (nic_gbit x 1e9 x nic_util)
  nodes by memory = V x P / (ram_gib x 2^30 x mem_util)
  nodes           = the largest of the three
  Redis CPU       = M x (a + b x nodes)  (one room is on one instance: rooms are hashed whole)
  instances       = 1 primary; when M x (a + b x nodes) exceeds redis_util of one core, the
                    pub/sub fan-out is split over read replicas (Redis replicates PUBLISH to
                    replicas; nodes subscribe on a replica), each carrying M x (a + b x its nodes)
"""
import argparse
import json
import math
import os
import sys


def load(d):
    with open(os.path.join(d, "summary.json")) as f:
        s = json.load(f)
    steps = {}
    for step in s["steps"]:
        with open(os.path.join(d, f"{step}.json")) as f:
            steps[step] = json.load(f)
    return s, steps


def bytes_per_delivery(step):
    out = sum(n.get("bytes_out_total", 0) for n in step["node_counters"])
    dl = sum(n.get("deliveries_total", 0) for n in step["node_counters"])
    return out / dl if dl else None


def measured(s, steps):
    for need in ("single", "cluster", "redis-1", "redis-n"):
        if need not in steps:
            raise SystemExit(f"the bench directory has no {need} step (run every step)")
    cl, sg = steps["cluster"], steps["single"]
    n = steps["redis-n"]["nodes"]
    r1 = steps["redis-1"]["redis"]["cpu_us_per_msg_less_idle"]
    rn = steps["redis-n"]["redis"]["cpu_us_per_msg_less_idle"]
    b = (rn - r1) / (n - 1) if n > 1 else 0.0
    fit = "line through 1 and %d nodes" % n
    if b <= 0:  # noise: charge the whole cluster cost to the fan-out instead (an upper bound)
        b, fit = rn / n, "b <= 0 in the fit: a = 0, b = cluster cost / nodes (upper bound)"
        a = 0.0
    else:
        a = r1 - b
    conns = sg["viewers"] + sg["publishers"]
    d_cl, d_sg = cl["deliveries_per_server_cpu_s"], sg["deliveries_per_server_cpu_s"]
    return {
        # the lower of the two: the cluster step's figure is raised by a saturated box's
        # larger batches (docs/cluster.md), which a node with its own cores would not see
        "D_deliveries_per_node_cpu_s": min(d_cl, d_sg),
        "D_cluster_step": d_cl,
        "D_single_no_redis": d_sg,
        "B_bytes_per_delivery": bytes_per_delivery(cl),
        "P_pss_bytes_per_viewer_upper": sg["server_pss_end_mb"] * 2**20 / conns,
        "redis_us_per_msg_1_node": r1,
        f"redis_us_per_msg_{n}_nodes": rn,
        "a_us": a, "b_us_per_node": b, "redis_fit": fit,
        "script_calls_per_msg": cl["redis"]["script_calls_per_msg"],
        "carried": {k: v["carried"] for k, v in s["steps"].items()},
        "bench_date_utc": s["date_utc"],
    }


def plan(m, viewers, rate, a):
    d = m["D_deliveries_per_node_cpu_s"]
    need = viewers * rate
    by_cpu = need / (d * a.cores * a.cpu_util)
    by_nic = need * m["B_bytes_per_delivery"] * 8 / (a.nic_gbit * 1e9 * a.nic_util)
    by_mem = viewers * m["P_pss_bytes_per_viewer_upper"] / (a.ram_gib * 2**30 * a.mem_util)
    nodes = math.ceil(max(by_cpu, by_nic, by_mem))
    redis_core = rate * (m["a_us"] + m["b_us_per_node"] * nodes) / 1e6
    budget = a.redis_util
    if redis_core <= budget:
        replicas = 0
    else:  # the primary keeps the script; each replica fans out to a share of the nodes
        per_replica_nodes = (budget * 1e6 / rate - m["a_us"]) / m["b_us_per_node"]
        replicas = math.ceil(nodes / per_replica_nodes) if per_replica_nodes >= 1 else None
    return {"viewers": viewers, "msg_per_s": rate, "deliveries_per_s": need,
            "nodes_by_cpu": round(by_cpu, 1), "nodes_by_nic": round(by_nic, 1),
            "nodes_by_memory": round(by_mem, 1), "nodes": nodes,
            "viewers_per_node": math.ceil(viewers / nodes),
            "redis_cpu_cores": round(redis_core, 4), "redis_primaries": 1,
            "redis_read_replicas": replicas}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bench_dir")
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--viewers", default="1000000,10000000,15000000")
    p.add_argument("--cores", type=int, default=16, help="cores per node (assumption)")
    p.add_argument("--cpu-util", type=float, default=0.6, help="CPU share used (headroom)")
    p.add_argument("--nic-gbit", type=float, default=25.0, help="NIC per node, Gbit/s")
    p.add_argument("--nic-util", type=float, default=0.6)
    p.add_argument("--ram-gib", type=float, default=64.0)
    p.add_argument("--mem-util", type=float, default=0.6)
    p.add_argument("--redis-util", type=float, default=0.5,
                   help="share of one core a Redis instance may use")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    s, steps = load(a.bench_dir)
    m = measured(s, steps)
    plans = [plan(m, int(v), a.rate, a) for v in a.viewers.split(",")]
    assumptions = {k: getattr(a, k) for k in ("cores", "cpu_util", "nic_gbit", "nic_util",
                                               "ram_gib", "mem_util", "redis_util")}
    if a.json:
        print(json.dumps({"measured": m, "assumptions": assumptions, "plans": plans}, indent=1))
        return 0
    print(f"measured ({a.bench_dir}, {m['bench_date_utc']} UTC):")
    for k, v in m.items():
        if k != "bench_date_utc":
            print(f"  {k}: {round(v, 3) if isinstance(v, float) else v}")
    print("assumptions: " + ", ".join(f"{k}={v}" for k, v in assumptions.items()))
    print("\n| viewers | msg/s | deliveries/s | nodes by CPU | by NIC | by memory | nodes | "
          "viewers/node | Redis CPU (cores) | Redis instances |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pl in plans:
        inst = "1" if pl["redis_read_replicas"] == 0 else (
            f"1 + {pl['redis_read_replicas']} read replicas" if pl["redis_read_replicas"]
            else "beyond one primary's script budget")
        print(f"| {pl['viewers']:,} | {pl['msg_per_s']:g} | {pl['deliveries_per_s']:,.0f} | "
              f"{pl['nodes_by_cpu']} | {pl['nodes_by_nic']} | {pl['nodes_by_memory']} | "
              f"**{pl['nodes']}** | {pl['viewers_per_node']:,} | {pl['redis_cpu_cores']} | "
              f"{inst} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
