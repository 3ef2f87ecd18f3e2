#!/bin/bash
# perf/moderation_fanout.sh: 5,000 viewers x 100 msg/s fan-out, moderation off vs on (rate limit counted, unique mode,
# 1000 terms + 10 regexes in the room and server-wide), 3 alternating pairs.
# Prints per run: pair, moderation, deliveries/s, server CPU %, deliveries per server CPU-s,
# p50 and p99 latency (ms), lost. Loopback only; every run is bounded (10 s + 2 s warm-up).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KEY=fanout-mod-admin-key-0123456789
for i in 1 2 3; do
  for mode in off on; do
    PORT=$((19600 + RANDOM % 300))
    if [ $mode = off ]; then EXTRA="--rate-limit off"; else EXTRA="--rate-limit 1000000/60 --admin-key $KEY"; fi
    ./build/src/roomcast --listen 127.0.0.1:$PORT --shards 2 --dev-auth --hot-msgs-per-sec 0 --max-visible-rate 0 $EXTRA >/dev/null 2>&1 &
    PID=$!
    sleep 0.5
    if [ $mode = on ]; then
      python3 - $PORT $KEY <<'PY'
import json, sys, urllib.request
sys.path.insert(0, "perf")
from moderation_cost import term_list
port, key = sys.argv[1], sys.argv[2]
for path, body, method in [("/admin/terms", term_list(), "PUT"), ("/admin/rooms/load-0/terms", term_list(), "PUT"),
                           ("/admin/rooms/load-0/modes", {"unique": True}, "POST")]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {key}"})
    urllib.request.urlopen(req, timeout=30).read()
PY
    fi
    ./build/perf/roomcast-load fanout --url ws://127.0.0.1:$PORT --viewers 5000 --rooms 1 --publishers 1 \
      --rate 100 --size 100 --duration 10 --warmup 2 --server-pid $PID --json 2>/dev/null | tail -1 | \
      python3 -c "import json,sys; r=json.loads(sys.stdin.read()); print('$i $mode', r.get('deliveries_per_s'), r.get('server_cpu_pct'), r.get('deliveries_per_server_cpu_s'), r.get('latency_p50_ms'), r.get('latency_p99_ms'), r.get('lost'))"
    kill $PID; wait $PID 2>/dev/null
  done
done
