#!/usr/bin/env python3
"""perf/ping_flood.py: issue 15, fault 7. A WebSocket client that never reads (4 KiB receive
buffer) sends pings, 10,000 per write, until the server closes it or it has sent --pings; then it
leaves. Prints the server's RSS and PSS (KiB, /proc/PID/smaps_rollup) at start, at the peak, and
1, 5 and 15 s after each flood. Starts its own server on 127.0.0.1 (one shard) and stops it by
its PID.

  python3 perf/ping_flood.py --binary build/src/roomcast [--pings 4000000] [--payload 0]
      [--floods 1] [-- extra server flags]
"""
import argparse
import base64
import os
import socket
import subprocess
import sys
import time


def mem(pid: int) -> tuple[int, int]:
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def flood(port: int, pid: int, pings: int, payload: int) -> tuple[int, tuple[int, int]]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /ws?room=flood&user=f HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
              f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    chunk = (bytes([0x89, 0x80 | payload]) + b"\0\0\0\0" + b"p" * payload) * 10000
    sent, peak, t0 = 0, (0, 0), time.monotonic()
    try:
        while sent < pings and time.monotonic() - t0 < 120:
            s.sendall(chunk)
            sent += 10000
            if sent % 200000 == 0:
                peak = max(peak, mem(pid))
    except OSError:
        pass  # closed by the server: the reply bound
    peak = max(peak, mem(pid))
    s.close()
    return sent, peak


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/src/roomcast")
    ap.add_argument("--port", type=int, default=19411)
    ap.add_argument("--pings", type=int, default=4_000_000)
    ap.add_argument("--payload", type=int, default=0, choices=range(0, 126))
    ap.add_argument("--floods", type=int, default=1)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    srv = subprocess.Popen([a.binary, "--listen", f"127.0.0.1:{a.port}", "--shards", "1",
                            "--log-level", "warn", *a.extra])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", a.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        print("start rss/pss KiB", mem(srv.pid), flush=True)
        for n in range(a.floods):
            sent, peak = flood(a.port, srv.pid, a.pings, a.payload)
            print(f"flood {n + 1}: {sent} pings sent, peak rss/pss KiB {peak}", flush=True)
            for t, wait in ((1, 1), (5, 4), (15, 10)):
                time.sleep(wait)
                print(f"  {t} s after it left: rss/pss KiB {mem(srv.pid)}", flush=True)
    finally:
        srv.terminate()
        srv.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
