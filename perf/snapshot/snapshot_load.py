#!/usr/bin/env python3
"""Snapshot load (issue 12): R requests/s against one mega room's GET /rooms/R/snapshot for D
seconds, while a publisher sends M messages/s into it. Each connection remembers the last ETag it
got and sends it as If-None-Match (as a CDN or an nginx cache revalidating does). Reports the
requests answered (200 and 304), the achieved rate, the server's snapshot builds per second
(roomcast_snapshot_builds_total, summed over shards; the target is at most one per shard per
second) and its CPU. Loopback only; bounded in time and count.

  perf/snapshot/snapshot_load.py --port P --server-pid PID [--rate 20000] [--secs 10]
      [--procs 2] [--conns 8] [--msgs-per-sec 20] [--room mega] [--client python|wrk]

--client wrk drives the requests with wrk (Debian's `wrk`, scripts/install-deps.sh --bench) and
perf/snapshot/revalidate.lua instead of Python processes: --procs threads, --procs x --conns
connections, as fast as they go (wrk has no rate cap; --rate is then ignored), each connection
revalidating with the last ETag it got.
"""
import argparse
import json
import multiprocessing as mp
import os
import re
import socket
import subprocess
import time
import urllib.request

HOST = "127.0.0.1"


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
               if ln.startswith(name + "{") or ln.startswith(name + " "))


def read_responses(sock, buf: bytearray, n: int, counts: dict) -> str | None:
    """Reads n responses; returns the last ETag seen."""
    etag = None
    got = 0
    while got < n:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed")
            buf += chunk
            continue
        head = bytes(buf[:end]).decode("latin-1")
        status = head[9:12]
        length = 0
        for line in head.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            k = k.lower()
            if k == "content-length":
                length = int(v)
            elif k == "etag":
                etag = v.strip()
        while len(buf) < end + 4 + length:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed")
            buf += chunk
        del buf[:end + 4 + length]
        counts[status] = counts.get(status, 0) + 1
        got += 1
    return etag


def worker(port, room, rate, secs, conns, q):
    socks = [socket.create_connection((HOST, port)) for _ in range(conns)]
    bufs = [bytearray() for _ in socks]
    etags = [None] * conns
    counts: dict = {}
    batch = max(1, int(rate / 100 / conns))  # 100 rounds a second
    start = time.monotonic()
    sent = 0
    rounds = 0
    while time.monotonic() - start < secs:
        for i, s in enumerate(socks):
            inm = f"If-None-Match: {etags[i]}\r\n" if etags[i] else ""
            req = (f"GET /rooms/{room}/snapshot HTTP/1.1\r\nHost: x\r\n{inm}\r\n").encode()
            s.sendall(req * batch)
            sent += batch
        for i, s in enumerate(socks):
            etags[i] = read_responses(s, bufs[i], batch, counts) or etags[i]
        rounds += 1
        ahead = start + rounds / 100 - time.monotonic()  # paced, never faster than the rate
        if ahead > 0:
            time.sleep(ahead)
    for s in socks:
        s.close()
    q.put((sent, counts, time.monotonic() - start))


def publisher(port, room, per_sec, secs):
    end = time.monotonic() + secs
    i = 0
    while time.monotonic() < end:
        body = json.dumps({"text": f"goal {i}", "cid": f"snap-{os.getpid()}-{i}"}).encode()
        req = urllib.request.Request(f"http://{HOST}:{port}/rooms/{room}/messages?user=pub",
                                     data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        i += 1
        time.sleep(1 / per_sec)


def run_wrk(a):
    """wrk at full speed for a.secs; returns (requests, status counts, p99 ms)."""
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "revalidate.lua")
    cmd = ["wrk", "-t", str(a.procs), "-c", str(a.procs * a.conns), "-d", f"{a.secs:g}s",
           "-s", lua, f"http://{HOST}:{a.port}/rooms/{a.room}/snapshot"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.secs + 60).stdout
    m = re.search(r"^WRK_JSON (.*)$", out, re.M)
    if not m:
        raise SystemExit("wrk printed no result:\n" + out)
    r = json.loads(m.group(1))
    return r["requests"], r["status"], r["p99_ms"], r["errors"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--rate", type=float, default=20000)
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--msgs-per-sec", type=float, default=20)
    ap.add_argument("--room", default="mega")
    ap.add_argument("--client", choices=["python", "wrk"], default="python")
    a = ap.parse_args()
    assert 0 < a.secs <= 120 and 0 < a.rate <= 200000 and 1 <= a.procs <= 16
    pub = mp.Process(target=publisher, args=(a.port, a.room, a.msgs_per_sec, a.secs + 1))
    pub.start()
    time.sleep(0.5)
    builds0 = metric(a.port, "roomcast_snapshot_builds_total")
    nm0 = metric(a.port, "roomcast_snapshot_not_modified_total")
    cpu0 = cpu_seconds(a.server_pid)
    extra = {}
    t0 = time.monotonic()
    if a.client == "wrk":
        sent, counts, p99, errors = run_wrk(a)
        results = [(sent, counts)]
        extra = {"client": "wrk", "p99_ms": p99, "wrk_errors": errors}
    else:
        q = mp.Queue()
        procs = [mp.Process(target=worker,
                            args=(a.port, a.room, a.rate / a.procs, a.secs, a.conns, q))
                 for _ in range(a.procs)]
        for p in procs:
            p.start()
        results = [q.get(timeout=a.secs + 60) for _ in procs]
        for p in procs:
            p.join()
    wall = time.monotonic() - t0
    cpu = cpu_seconds(a.server_pid) - cpu0
    builds = metric(a.port, "roomcast_snapshot_builds_total") - builds0
    nm = metric(a.port, "roomcast_snapshot_not_modified_total") - nm0
    pub.join()
    sent = sum(r[0] for r in results)
    counts: dict = {}
    for r in results:
        for k, v in r[1].items():
            counts[k] = counts.get(k, 0) + v
    print(json.dumps({"requests": sent, "secs": round(wall, 2),
                      "req_per_s": round(sent / wall), "status": counts,
                      "builds": builds, "builds_per_s": round(builds / wall, 2),
                      "not_modified_metric": nm, "server_cpu_s": round(cpu, 2),
                      "server_cpu_pct": round(100 * cpu / wall, 1), **extra}))


if __name__ == "__main__":
    main()
