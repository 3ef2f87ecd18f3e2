#!/usr/bin/env bash
# Presence cost (issue 12): server CPU for viewers joining and leaving 10 rooms at 2,000 joins/s,
# with the per-room numbers on (--presence, the default: distinct-viewer HyperLogLog, counts per
# transport, rates, lag reports) against off (--presence=off: online counts only). Each run starts
# its own server on a free loopback port, opens CONNS anonymous WebSocket viewers (each a distinct
# viewer: the worst case for the sketch) with roomcast-load connect, holds them HOLD s, closes them.
# Client sources spread over 127.0.0.1..8 (the loopback's ephemeral ports).
# Each run's table: at most 20,000 direct descriptors per shard here, so SHARDS must be at least
# CONNS / 20,000 (100,000 viewers: 8 shards).
#   [SHARDS=2] perf/presence_cost.sh [CONNS=16000] [RUNS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-16000}
RUNS=${2:-2}
SHARDS=${SHARDS:-2}
BIN=${ROOMCAST_BIN:-build/src/roomcast}
LOAD=${ROOMCAST_LOAD:-build/perf/roomcast-load}
OUT=${OUT:-perf/out/presence_cost}
mkdir -p "$OUT"
for run in $(seq 1 "$RUNS"); do
  for presence in on off; do
    port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    "$BIN" --listen 127.0.0.1:"$port" --shards "$SHARDS" --max-conns 200000 --presence="$presence" --log-level warn \
      > "$OUT/server-$presence-$run.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
      curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && break
      sleep 0.1
    done
    "$LOAD" connect --url "ws://127.0.0.1:$port" --conns "$CONNS" --rate 2000 --rooms 10 \
      --hold 2 --source-ips 8 --server-pid "$pid" --json > "$OUT/load-$presence-$run.txt"
    kill "$pid"  # this run's server only
    wait "$pid" || true
    echo "presence=$presence run=$run: $(grep -o '"server_cpu[^,]*' "$OUT/load-$presence-$run.txt" | tr '\n' ' ')"
  done
done
