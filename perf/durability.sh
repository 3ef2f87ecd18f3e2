#!/usr/bin/env bash
# The durable log's cost, measured side by side on this machine: publish throughput and ack
# latency without --data-dir and with it under each --fsync policy, unpaced (as fast as a window
# of 64 unacked sends per publisher allows) and paced; then the restart time over a log of
# DURABILITY_RESTART_MESSAGES (10 million) messages made by roomcast-logfill.
#
#   bash perf/durability.sh            (after `make build`; about 3 minutes and ~2.7 GB of disk)
#
# Environment: BUILD (build), PORT (19700), DURATION (8 s per run), PACED_RATE (20000 sends/s),
# DURABILITY_RESTART_MESSAGES (10000000; 0 skips the restart step), DATA_ROOT (a mktemp dir in
# /tmp). Only loopback; every server started here is stopped by its PID; temp dirs are removed.
set -euo pipefail
BUILD=${BUILD:-build}
PORT=${PORT:-19700}
DURATION=${DURATION:-8}
PACED_RATE=${PACED_RATE:-20000}
RESTART_MESSAGES=${DURABILITY_RESTART_MESSAGES:-10000000}
SERVER=$BUILD/src/roomcast
LOAD=$BUILD/perf/roomcast-load
FILL=$BUILD/perf/roomcast-logfill
for b in "$SERVER" "$LOAD" "$FILL"; do
  [[ -x $b ]] || { echo "durability.sh: $b not built (make build)" >&2; exit 1; }
done
DATA_ROOT=${DATA_ROOT:-$(mktemp -d /tmp/roomcast-durability.XXXXXX)}
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; fi
  rm -rf "$DATA_ROOT"
}
trap cleanup EXIT

start_server() {  # args: roomcast flags
  "$SERVER" --listen 127.0.0.1:$PORT --shards 2 --dev-auth --rate-limit off --hot-msgs-per-sec 0 --max-visible-rate 0 "$@" >"$DATA_ROOT/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1200); do  # a long log takes seconds to replay
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "durability.sh: server did not start" >&2; cat "$DATA_ROOT/server.log" >&2; exit 1
}
stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

# One publish run; prints a table row from the tool's JSON line.
publish_row() {  # label, rate (0 = unpaced)
  local label=$1 rate=$2 json
  json=$("$LOAD" publish --url ws://127.0.0.1:$PORT --publishers 20 --rooms 20 --window 64 \
           --rate "$rate" --size 100 --duration "$DURATION" --warmup 2 --server-pid "$SERVER_PID" \
           --json 2>/dev/null | tail -1)
  python3 - "$label" "$rate" "$json" <<'EOF'
import json, sys
label, rate, d = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
print(f"| {label} | {'unpaced' if rate == 0 else f'{rate:,}/s'} | {d['acks_per_s']:,.0f} | "
      f"{d['ack_latency_p50_ms']:.2f} | {d['ack_latency_p99_ms']:.2f} | "
      f"{d['ack_latency_p999_ms']:.2f} | {d['server_ns_per_ack']:,.0f} | "
      f"{d['unacked'] + d.get('errors', 0)} |")
EOF
}

echo "## Publish throughput and ack latency (20 publishers, 20 rooms, 100-byte texts, ${DURATION} s)"
echo
echo "| log | load | acks/s | ack p50 ms | ack p99 ms | ack p99.9 ms | server ns/ack | unacked+errors |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in none never interval batch; do
  for rate in 0 "$PACED_RATE"; do
    if [[ $mode == none ]]; then
      start_server
    else
      rm -rf "$DATA_ROOT/d-$mode"; mkdir -p "$DATA_ROOT/d-$mode"
      start_server --data-dir "$DATA_ROOT/d-$mode" --fsync "$mode"
    fi
    label=$([[ $mode == none ]] && echo "no --data-dir" || echo "--fsync $mode")
    publish_row "$label" "$rate"
    if [[ $mode != none ]]; then
      curl -s "http://127.0.0.1:$PORT/metrics" | awk '
        /^roomcast_log_(records|writes|fsyncs)_total|^roomcast_log_commit_seconds_sum/ {
          split($1, a, "{"); s[a[1]] += $2 }
        END { if (s["roomcast_log_writes_total"] > 0)
          printf "|   | (%.1f events per group commit, %.0f us mean commit, %d fsyncs) | | | | | | |\n",
            s["roomcast_log_records_total"] / s["roomcast_log_writes_total"],
            1e6 * s["roomcast_log_commit_seconds_sum"] / s["roomcast_log_writes_total"],
            s["roomcast_log_fsyncs_total"] }'
    fi
    stop_server
  done
done

if [[ $RESTART_MESSAGES -gt 0 ]]; then
  echo
  echo "## Restart over a log of $RESTART_MESSAGES messages (1000 rooms, 2 shards)"
  echo
  d="$DATA_ROOT/restart"; mkdir -p "$d"
  "$FILL" --data-dir "$d" --shards 2 --rooms 1000 --messages "$RESTART_MESSAGES" | sed 's/^/    fill: /'
  du -sh "$d/log" | sed 's/^/    on disk: /'
  for cache in warm cold; do
    if [[ $cache == cold ]]; then
      "$FILL" --data-dir "$d" --messages 0 --replay --cold >/dev/null  # drops the page cache
    fi
    t0=$(date +%s.%N)
    start_server --data-dir "$d"
    t1=$(date +%s.%N)
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    line=$(grep -o 'replayed.*' "$DATA_ROOT/server.log" | head -1)
    # The last message of room-999 came back with its seq.
    last=$(curl -s "http://127.0.0.1:$PORT/rooms/room-999/messages?history=1" |
           python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
    stop_server
    python3 -c "print(f'    {\"$cache\"} page cache: start to /healthz {($t1 - $t0):.2f} s; RSS {$rss / 1024:.0f} MiB; room-999 head seq $last; log: $line')"
  done
fi
