#!/bin/sh
# A fleet on loopback for benchmarks and drills (docs/cluster.md): its own redis-server on a free
# 127.0.0.1 port (no persistence) and N roomcast nodes (--shards S each, one --cursor-key), each
# on a free 127.0.0.1 port. Prints the addresses and a ready line, then runs until Ctrl-C,
# SIGTERM or DURATION seconds (default 600, at most 3600), and ends only the PIDs it started.
#
#   perf/cluster.sh [N=3] [S=2] [-- extra roomcast flags]
#   ROOMCAST_BIN=build/src/roomcast DURATION=120 perf/cluster.sh 3 2 -- --dev-auth
#
# Files (logs, pids.txt, nodes.txt with one http://127.0.0.1:PORT a line) go to $OUT
# (default perf/out/cluster-<date>).
set -eu
N=${1:-3}
S=${2:-2}
[ $# -ge 1 ] && shift
[ $# -ge 1 ] && shift
[ "${1:-}" = "--" ] && shift
BIN=${ROOMCAST_BIN:-build/src/roomcast}
DURATION=${DURATION:-600}
[ "$DURATION" -gt 3600 ] && DURATION=3600
[ "$N" -ge 1 ] && [ "$N" -le 16 ] || { echo "cluster.sh: N must be 1..16" >&2; exit 2; }
OUT=${OUT:-perf/out/cluster-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "cluster.sh: no $BIN (make build, or set ROOMCAST_BIN)" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "cluster.sh: redis-server missing (scripts/install-deps.sh)" >&2; exit 2; }

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

PIDS=""
cleanup() {
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $PIDS; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 0' INT TERM

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
  >"$OUT/redis.log" 2>&1 &
PIDS="$!"
echo "redis-server pid $! on 127.0.0.1:$RPORT" | tee "$OUT/pids.txt"
i=0
until redis-cli -p "$RPORT" PING 2>/dev/null | grep -q PONG; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "cluster.sh: redis did not start" >&2; exit 1; }
  sleep 0.1
done

KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
: >"$OUT/nodes.txt"
n=1
while [ $n -le "$N" ]; do
  port=$(free_port)
  "$BIN" --listen "127.0.0.1:$port" --shards "$S" --redis "127.0.0.1:$RPORT" \
    --cursor-key "$KEY" "$@" >"$OUT/node-$n.log" 2>&1 &
  PIDS="$PIDS $!"
  echo "node $n pid $! on http://127.0.0.1:$port" | tee -a "$OUT/pids.txt"
  echo "http://127.0.0.1:$port" >>"$OUT/nodes.txt"
  n=$((n + 1))
done
for url in $(cat "$OUT/nodes.txt"); do
  i=0
  until curl -sf "$url/healthz" >/dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "cluster.sh: $url not ready" >&2; exit 1; }
    sleep 0.1
  done
done
echo "ready: $N nodes x $S shards, redis 127.0.0.1:$RPORT; files in $OUT; ends in ${DURATION}s"
sleep "$DURATION" &
wait $! || true
