#!/bin/bash
# perf/deflate_fanout.sh: permessage-deflate against plain WebSocket viewers (issue 12).
# One room of VIEWERS viewers (default 10000) on a 2-shard server, one publisher at RATE msg/s
# (default 20) of chat-like texts (roomcast-load --words) of 100 and 1000 bytes, viewers that
# offer permessage-deflate (--deflate) against viewers that do not, PAIRS alternating pairs.
# Prints per run: size, mode, deliveries, wire bytes per delivery (server bytes_out / deliveries
# from /metrics, over the whole run), server CPU us per delivery (the tool's measured window, and
# /proc/PID/stat over the whole run with its connects), send calls per delivery,
# deflate calls and compressed twins per room batch, p99 latency (ms), lost, the tool's CPU %.
# Loopback only; every run is bounded (DURATION s + 2 s warm-up, 60 s timeout).
#   VIEWERS=2000 PAIRS=1 perf/deflate_fanout.sh
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VIEWERS=${VIEWERS:-10000}
RATE=${RATE:-20}
DURATION=${DURATION:-10}
PAIRS=${PAIRS:-2}
BIN=${ROOMCAST_BIN:-./build/src/roomcast}
LOAD=${ROOMCAST_LOAD:-./build/perf/roomcast-load}
cpu_ticks() {  # utime + stime of a process, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}
metrics() {  # name -> sum over shards
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 ~ "^"n"({|$)" {s += $2} END {printf "%d", s}'
}
echo "size mode deliveries wire_bytes_per_delivery server_cpu_us_per_delivery server_cpu_us_per_delivery_whole_run sends_per_delivery deflate_calls_per_batch twins_per_batch p99_ms lost load_cpu_pct"
for pair in $(seq "$PAIRS"); do
  for size in 100 1000; do
    for mode in plain deflate; do
      PORT=$((19300 + RANDOM % 300))
      "$BIN" --listen 127.0.0.1:$PORT --shards 2 --dev-auth --rate-limit off --max-conns 40000 --max-text 2000 --deflate on \
        >/dev/null 2>&1 &
      PID=$!
      sleep 0.5
      b0=$(metrics roomcast_bytes_out_total); d0=$(metrics roomcast_deliveries_total)
      s0=$(metrics roomcast_send_calls_total); c0=$(cpu_ticks $PID)
      FLAG=""; [ $mode = deflate ] && FLAG="--deflate"
      R=$(timeout 60 "$LOAD" fanout --url ws://127.0.0.1:$PORT --viewers "$VIEWERS" --rooms 1 \
        --publishers 1 --rate "$RATE" --size $size --words $FLAG --duration "$DURATION" --warmup 2 \
        --server-pid $PID --json 2>/dev/null | tail -1)
      b1=$(metrics roomcast_bytes_out_total); d1=$(metrics roomcast_deliveries_total)
      s1=$(metrics roomcast_send_calls_total); c1=$(cpu_ticks $PID)
      calls=$(metrics roomcast_deflate_calls_total); twins=$(metrics roomcast_deflate_batches_total)
      batches=$(metrics roomcast_batches_total)
      kill $PID; wait $PID 2>/dev/null
      echo "$R" | python3 -c "
import json, sys
r = json.loads(sys.stdin.read() or '{}')
d = $d1 - $d0
dps = r.get('deliveries_per_server_cpu_s') or 0
tick = $(getconf CLK_TCK)
print($size, '$mode', d, round(($b1 - $b0) / max(d, 1), 1), round(1e6 / dps, 3) if dps else None,
      round(($c1 - $c0) / tick * 1e6 / max(d, 1), 3), round(($s1 - $s0) / max(d, 1), 4),
      round($calls / max($batches, 1), 3), round($twins / max($batches, 1), 3),
      r.get('latency_p99_ms'), r.get('lost'), r.get('client_cpu_pct'))"
    done
  done
done
