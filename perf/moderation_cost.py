#!/usr/bin/env python3
"""perf/moderation_cost.py: issue 11's "added server CPU per accepted message" with moderation on.

Runs the same publish load (roomcast-load publish: P publishers, one room each, a fixed total
rate) against two servers started one after the other, alternating, R rounds:
  plain:     --dev-auth --rate-limit off
  moderated: --dev-auth with a rate limit every message passes through (--rate-limit
             1000000/60: counted, never reached), unique-chat mode on in every room (every text
             is folded and hashed; the load tool's texts are all distinct), and 1000 blocked
             terms + 10 regexes in each room's list and again server-wide (two scans per
             message; the load tool's texts match none of them).
Users are named by ?user= (--dev-auth): a token is verified once per connection, never per
message, so it adds nothing per message. Prints server CPU ns per acknowledged message for
each run, the medians and their difference. Loopback only; each run is bounded by --duration.

  python3 perf/moderation_cost.py [--binary build/src/roomcast] [--load build/perf/roomcast-load]
      [--rounds 5] [--rate 20000] [--publishers 4] [--duration 6]
"""
import argparse
import json
import socket
import statistics
import subprocess
import time
import urllib.request

KEY = "moderation-cost-admin-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def term_list() -> dict:
    terms = []
    actions = ["reject", "mask", "hold"]
    for i in range(1000):
        p = f"blk{i}word"
        p = [p, p + "*", "*" + p, "*" + p + "*"][i % 4]
        terms.append({"pattern": p, "action": actions[i % 3]})
    regex = ["fr[e3]{2}\\s+m[o0]ney", "b[i1]tc[o0]in\\s+x\\d+", "(?i)casino\\d{2,}", "w+w+w+\\.",
             "[a-z]+@[a-z]+\\.(ru|cn)", "s+p+a+m+!{3,}", "(?i)click\\s+here",
             "\\d{4}-\\d{4}-\\d{4}", "z{7,}q", "buy\\s+now\\d"]
    return {"terms": terms, "regex": [{"pattern": r, "action": "reject"} for r in regex]}


def admin(port: int, method: str, path: str, body: dict) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                 method=method, headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200, r.status


def run(args, moderated: bool) -> dict:
    port = free_port()
    flags = ["--listen", f"127.0.0.1:{port}", "--shards", "2", "--dev-auth",
             "--hot-msgs-per-sec", "0", "--max-visible-rate", "0"]  # the hot-room reflexes off
    flags += (["--rate-limit", "1000000/60", "--admin-key", KEY] if moderated
              else ["--rate-limit", "off"])
    srv = subprocess.Popen([args.binary, *flags], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        if moderated:
            terms = term_list()
            admin(port, "PUT", "/admin/terms", terms)
            for r in range(args.publishers):
                admin(port, "PUT", f"/admin/rooms/load-{r}/terms", terms)
                admin(port, "POST", f"/admin/rooms/load-{r}/modes", {"unique": True})
        out = subprocess.run(
            [args.load, "publish", "--url", f"ws://127.0.0.1:{port}", "--publishers",
             str(args.publishers), "--rooms", str(args.publishers), "--rate", str(args.rate),
             "--duration", str(args.duration), "--warmup", "2", "--server-pid", str(srv.pid),
             "--json"], capture_output=True, text=True, timeout=args.duration + 60)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        assert res["errors"] == 0 and res["complete"] == "yes", res
        return res
    finally:
        srv.terminate()
        srv.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/src/roomcast")
    ap.add_argument("--load", default="build/perf/roomcast-load")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--publishers", type=int, default=4)
    ap.add_argument("--duration", type=int, default=6)
    args = ap.parse_args()
    ns = {False: [], True: []}
    for i in range(args.rounds):
        for moderated in ((False, True) if i % 2 == 0 else (True, False)):
            r = run(args, moderated)
            ns[moderated].append(r["server_ns_per_ack"])
            print(f"round {i + 1} {'moderated' if moderated else 'plain    '}: "
                  f"{r['acked']} acked, {r['acks_per_s']:.0f}/s, server "
                  f"{r['server_ns_per_ack'] / 1000:.2f} us per ack", flush=True)
    plain, mod = statistics.median(ns[False]), statistics.median(ns[True])
    print(f"median server CPU per ack: plain {plain / 1000:.2f} us, moderated {mod / 1000:.2f} us, "
          f"added {(mod - plain) / 1000:.2f} us per message")


if __name__ == "__main__":
    main()
