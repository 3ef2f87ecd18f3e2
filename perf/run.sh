#!/usr/bin/env bash
# perf/run.sh: the benchmark suite `make bench` runs. roomcast against the nchan peer (nginx +
# nchan, perf/peers/nchan.sh), the same roomcast-load scenarios on both in the same run, then the
# micro-benchmarks. Bounded: every step has a timeout and the whole suite stays under 10 minutes
# on a 2-core machine (steps that would start past BENCH_BUDGET seconds are skipped).
#
# Each scenario gets freshly started servers (so memory baselines are clean): roomcast as
#   build/src/roomcast --listen 127.0.0.1:P --shards 2
# and nchan as `perf/peers/nchan.sh start P2` (2 workers), each on its own free loopback port, only
# one of them running at a time; both are stopped by pid after each scenario and on any exit (trap).
#
# Writes perf/out/bench-<date>.md (one table per scenario: roomcast and nchan side by side with
# ratios, then the exact commands) and keeps the raw outputs in perf/out/bench-<date>/; prints the
# tables at the end. Environment:
#   BUILD_DIR=build    where roomcast, roomcast-load and roomcast-micro are taken from
#   BENCH_QUICK=1      small and short scenarios (a smoke test of the suite, about a minute)
#   BENCH_BUDGET=540   seconds after which no new step starts
#   BENCH_STEPS=RE     only the scenarios whose name matches the bash regex RE (e.g. '100k')
#   BENCH_RC_ARGS=...  extra flags for roomcast (e.g. '--send-budget 10000'), shown in the commands
#   BENCH_NCHAN_PUBLISH=ws|http  how the nchan peer's publishers publish (roomcast-load
#                      --nchan-publish): ws (default: nchan's WebSocket publisher, its strongest
#                      path here) or http (pipelined POSTs on one keep-alive connection)
#   BENCH_SCALE=1      instead of the standard suite, the scale matrix: one room of 10,000 viewers at
#                      10, 100 and 1,000 msg/s (2 shards / 2 nchan workers), then 100,000 viewers at
#                      10 and 100 msg/s (8 shards / 8 nchan workers, 16 client source addresses);
#                      about 5 minutes, BENCH_BUDGET defaults to 1800 there. Needs the sysctl
#                      settings of systemd/60-roomcast.conf for the 100k steps.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
RC_BIN=$BUILD/src/roomcast
LOAD=$BUILD/perf/roomcast-load
MICRO=$BUILD/perf/micro/roomcast-micro
NCHAN=$ROOT/perf/peers/nchan.sh
PY=/usr/bin/python3
QUICK=${BENCH_QUICK:-0}
SCALE=${BENCH_SCALE:-0}
if [ "$SCALE" = 1 ]; then BUDGET=${BENCH_BUDGET:-1800}; else BUDGET=${BENCH_BUDGET:-540}; fi
STEPS=${BENCH_STEPS:-}  # a regex: only the scenarios whose name matches run
# The load tool's users are named by ?user= (--dev-auth) and each publisher sends far more than a
# chat user may (--rate-limit 20/30 by default): both are set for the benchmark.
# The hot-room reflexes (automatic slow mode, sampling) are off too: the suite measures carrying
# every message to every viewer, as nchan does (perf/explosion.py measures them).
RC_ARGS="--dev-auth --rate-limit off --hot-msgs-per-sec 0 --max-visible-rate 0 ${BENCH_RC_ARGS:-}"  # plus extra flags, e.g. --send-budget 10000
NC_PUBLISH=${BENCH_NCHAN_PUBLISH:-ws}
case "$NC_PUBLISH" in ws|http) ;; *) echo "bench: BENCH_NCHAN_PUBLISH wants ws or http" >&2; exit 2 ;; esac
RC_SHARDS=2  # shards for roomcast and workers for nchan (NCHAN_WORKERS) in the next scenario

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/perf/out
RAW=$OUT/bench-$STAMP
REPORT=$OUT/bench-$STAMP.md
mkdir -p "$RAW"

log() { echo "bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for f in "$RC_BIN" "$LOAD"; do
  [ -x "$f" ] || die "$f not found: build first (make build, or ninja -C $BUILD)"
done
[ -x "$NCHAN" ] || die "$NCHAN not found"
[ -x "$PY" ] || die "$PY not found"
command -v curl >/dev/null || die "curl not found (scripts/install-deps.sh)"

# Two free loopback ports, distinct, below the ephemeral range: the load generator's own client
# sockets take ephemeral ports on 127.0.0.x, and one of them holding the peer's port would stop the
# peer from binding it in a later scenario.
read -r RC_PORT NC_PORT < <("$PY" -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
held = []
for port in random.sample(range(10000, max(10002, low)), min(2000, max(2, low - 10000))):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    if len(held) == 2:
        break
print(*(s.getsockname()[1] for s in held))')
[ -n "$RC_PORT" ] && [ -n "$NC_PORT" ] || die "could not pick free ports"

RC_PID=""
NC_UP=0
STEP_PID=""  # the timeout(1) process of the step running now

stop_roomcast() {
  [ -n "$RC_PID" ] || return 0
  local pid=$RC_PID i
  RC_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do  # up to 10 s (roomcast drains for at most --drain-secs, 4 s)
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "roomcast $pid still running after 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

stop_nchan() {
  [ "$NC_UP" = 1 ] || return 0
  NC_UP=0
  timeout -k 2 15 "$NCHAN" stop "$NC_PORT" >&2 || log "nchan stop failed (port $NC_PORT)"
}

# Runs one bounded step in the background and waits for it, so that a signal to this script is
# handled at once (bash runs traps only between commands, or while in `wait`).
# step LIMIT_S OUT ERR CMD...; returns the command's status (124: timed out).
step() {
  local limit=$1 out=$2 err=$3 rc=0
  shift 3
  timeout -k 5 "$limit" "$@" > "$out" 2> "$err" &
  STEP_PID=$!
  wait "$STEP_PID" || rc=$?
  STEP_PID=""
  return "$rc"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$STEP_PID" ]; then  # timeout(1) passes the TERM on to the step
    kill -TERM "$STEP_PID" 2>/dev/null || true
    wait "$STEP_PID" 2>/dev/null || true
  fi
  stop_roomcast
  stop_nchan
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Starts roomcast; sets RC_PID and SERVER_PIDS.
start_roomcast() {
  echo "$RC_BIN --listen 127.0.0.1:$RC_PORT --shards $RC_SHARDS --max-conns 200000 $RC_ARGS" \
    >> "$RAW/commands.txt"
  # shellcheck disable=SC2086  # RC_ARGS is a list of flags
  "$RC_BIN" --listen "127.0.0.1:$RC_PORT" --shards "$RC_SHARDS" --max-conns 200000 $RC_ARGS \
    >> "$RAW/roomcast.log" 2>&1 &
  RC_PID=$!
  local i
  for i in $(seq 1 100); do  # up to 10 s
    kill -0 "$RC_PID" 2>/dev/null || { RC_PID=""; log "roomcast exited at start (see $RAW/roomcast.log)"; return 1; }
    if curl -sf --max-time 1 "http://127.0.0.1:$RC_PORT/healthz" >/dev/null 2>&1; then
      SERVER_PIDS=$RC_PID
      return 0
    fi
    sleep 0.1
  done
  log "roomcast did not answer /healthz within 10 s"
  stop_roomcast
  return 1
}

# Starts nchan; sets NC_UP and SERVER_PIDS (master and workers, for --server-pid).
start_nchan() {
  echo "NCHAN_WORKERS=$RC_SHARDS perf/peers/nchan.sh start $NC_PORT" >> "$RAW/commands.txt"
  if ! NCHAN_WORKERS=$RC_SHARDS timeout -k 2 20 "$NCHAN" start "$NC_PORT" >&2; then
    log "nchan did not start"
    return 1
  fi
  NC_UP=1
  SERVER_PIDS=$(timeout 15 "$NCHAN" pids "$NC_PORT") || { stop_nchan; return 1; }
}

over_budget() { [ "$SECONDS" -ge "$BUDGET" ]; }

# run_scenario NAME TIMEOUT_S ARGS... : runs `roomcast-load ARGS` against each server, each freshly
# started, and keeps RAW/NAME-<server>.{txt,err,json}.
run_scenario() {
  local name=$1 limit=$2 server url target rc
  shift 2
  if [ -n "$STEPS" ] && ! [[ $name =~ $STEPS ]]; then return 0; fi
  for server in roomcast nchan; do
    if over_budget; then
      log "$name/$server: skipped (past the ${BUDGET}s budget)"
      echo "{\"skipped\":\"budget\"}" > "$RAW/$name-$server.json"
      continue
    fi
    if [ "$server" = roomcast ]; then
      start_roomcast || { echo '{"skipped":"server did not start"}' > "$RAW/$name-$server.json"; continue; }
      url=ws://127.0.0.1:$RC_PORT target=roomcast
    else
      start_nchan || { echo '{"skipped":"server did not start"}' > "$RAW/$name-$server.json"; continue; }
      url=ws://127.0.0.1:$NC_PORT target=nchan
    fi
    local cmd=("$LOAD" "$@" --url "$url" --target "$target" --server-pid "$SERVER_PIDS" --json)
    if [ "$target" = nchan ] && [ "$1" != connect ]; then cmd+=(--nchan-publish "$NC_PUBLISH"); fi
    log "$name/$server: ${cmd[*]#$ROOT/}"
    echo "timeout -k 5 $limit ${cmd[*]#$ROOT/}" >> "$RAW/commands.txt"
    rc=0
    step "$limit" "$RAW/$name-$server.txt" "$RAW/$name-$server.err" "${cmd[@]}" || rc=$?
    if grep '^{' "$RAW/$name-$server.txt" | tail -n 1 > "$RAW/$name-$server.json.tmp" &&
       [ -s "$RAW/$name-$server.json.tmp" ]; then
      mv "$RAW/$name-$server.json.tmp" "$RAW/$name-$server.json"
    else
      rm -f "$RAW/$name-$server.json.tmp"
      echo "{\"skipped\":\"roomcast-load exit $rc, no result\"}" > "$RAW/$name-$server.json"
    fi
    [ "$rc" = 0 ] || log "$name/$server: roomcast-load exit status $rc (see $RAW/$name-$server.err)"
    # the command exactly as run, for the report
    printf '%s\n' "${cmd[*]#$ROOT/}" > "$RAW/$name-$server.cmd"
    if [ "$server" = roomcast ]; then stop_roomcast; else stop_nchan; fi
  done
}

{
  echo "date: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "roomcast: $("$RC_BIN" --version 2>&1 | head -n1)"
  echo "nginx: $(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //'), libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "ports: roomcast 127.0.0.1:$RC_PORT, nchan 127.0.0.1:$NC_PORT"
  echo "quick: $QUICK, scale: $SCALE, nchan publish path: $NC_PUBLISH"
} > "$RAW/env.txt"
: > "$RAW/commands.txt"
log "raw outputs in ${RAW#$ROOT/}; roomcast port $RC_PORT, nchan port $NC_PORT"

if [ "$QUICK" = 1 ]; then
  CONNS=1000; SMALL=500; BIG=2000; DUR=3; STORM_V=1000
else
  CONNS=5000; SMALL=2000; BIG=10000; DUR=10; STORM_V=4000
fi

if [ "$SCALE" = 1 ]; then
  # One big room at three message rates, then 100,000 viewers; 100-byte texts throughout.
  for rate in 10 100 1000; do
    run_scenario "fanout-10k-$rate" 150 fanout --viewers 10000 --rooms 1 --publishers 1 \
      --rate "$rate" --size 100 --duration 10 --warmup 2
  done
  RC_SHARDS=8
  for rate in 10 100; do
    run_scenario "fanout-100k-$rate" 400 fanout --viewers 100000 --rooms 1 --publishers 1 \
      --rate "$rate" --size 100 --duration 10 --warmup 2 --source-ips 16
  done
else
# 1. idle viewers: memory per connection on a fresh server
run_scenario connect 60 connect --conns "$CONNS" --rate 2000 --hold 3 --rooms 10
# 2-4. one room, one publisher, 100-byte texts
run_scenario fanout-small-10 $((DUR + 45)) fanout --viewers "$SMALL" --rooms 1 --publishers 1 \
  --rate 10 --size 100 --duration "$DUR" --warmup 1
run_scenario fanout-small-100 $((DUR + 45)) fanout --viewers "$SMALL" --rooms 1 --publishers 1 \
  --rate 100 --size 100 --duration "$DUR" --warmup 1
run_scenario fanout-big-100 $((DUR + 60)) fanout --viewers "$BIG" --rooms 1 --publishers 1 \
  --rate 100 --size 100 --duration "$DUR" --warmup 1
# 5. reconnect storm: half the rooms drop every viewer at once and rejoin
run_scenario storm $((DUR + 45)) storm --viewers "$STORM_V" --rooms 4 --rate 100 --size 100 \
  --duration "$DUR" --storm-at $((DUR / 3))
fi

# 6. micro-benchmarks (no server)
if [ -x "$MICRO" ] && [ "$SCALE" != 1 ] && ! over_budget; then
  micro_cmd=("$MICRO" --benchmark_min_time=0.05 "--benchmark_out=$RAW/micro.json"
             --benchmark_out_format=json)
  log "micro: ${micro_cmd[*]#$ROOT/}"
  echo "timeout -k 5 180 ${micro_cmd[*]#$ROOT/}" >> "$RAW/commands.txt"
  printf '%s\n' "${micro_cmd[*]#$ROOT/}" > "$RAW/micro.cmd"
  step 180 "$RAW/micro.txt" "$RAW/micro.err" "${micro_cmd[@]}" || log "micro-benchmarks: exit status $?"
elif [ ! -x "$MICRO" ]; then
  log "micro: $MICRO not built: skipped"
fi

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/env.txt"
echo "suite wall time: ${SECONDS}s" >> "$RAW/env.txt"

timeout 60 "$PY" - "$RAW" "$REPORT" "$QUICK" <<'PYEOF'
import json, os, sys

raw, report, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"

def load(name, server):
    try:
        with open(os.path.join(raw, f"{name}-{server}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"skipped": "no output"}

def cmd(name, server):
    try:
        with open(os.path.join(raw, f"{name}-{server}.cmd")) as f:
            return f.read().strip()
    except OSError:
        return None

def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return v
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 100):
        return f"{int(v):,}"
    if digits is None:
        digits = 0 if abs(v) >= 1000 else (1 if abs(v) >= 100 else (2 if abs(v) >= 1 else 3))
    return f"{v:,.{digits}f}"

def ratio(a, b):
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool):
        return "n/a"
    if b == 0:
        return "n/a" if a == 0 else "∞"
    return f"{a / b:.2f}"

def get(d, key, scale=1):
    v = d.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v * scale
    return v

def carried(d):
    """Did the server carry the offered load? A reason string when it did not, "" when it did,
    None when there is nothing to judge. Fan-out and storm: every viewer (calm connection) counted
    at go is owed every measured message sent in its room, acked or not; the server carried the
    load when it delivered at least 99% of those and no viewer has a hole. Connect: every
    connection welcomed."""
    if "skipped" in d or d.get("complete") != "yes":
        return "not measured" if "skipped" in d else "the run did not complete"
    if d.get("scenario") == "connect":
        ok = d.get("succeeded") == d.get("conns") and not d.get("failed")
        return "" if ok else f"welcomed {fmt(d.get('succeeded'))} of {fmt(d.get('conns'))}"
    offered, unique = d.get("offered"), d.get("delivered_unique")
    if offered is None or unique is None:
        return "no per-viewer figures (older roomcast-load)"
    reasons = []
    if offered == 0:
        reasons.append("nothing offered")
    elif unique < 0.99 * offered:
        reasons.append(f"delivered {100 * unique / offered:.1f}% of offered")
    if d.get("viewers_with_holes"):
        reasons.append(f"{fmt(d['viewers_with_holes'])} viewers with holes ({fmt(d.get('viewer_holes'))} missing)")
    return ", ".join(reasons)

def carried_cell(d):
    why = carried(d)
    if why is None or why == "not measured":
        return None
    return "yes" if why == "" else "no: " + why

def carried_line(name, d):
    """What a server carried, for the sentence that replaces the ratios."""
    if "skipped" in d:
        return f"{name}: not measured"
    if d.get("scenario") == "connect":
        return f"{name} welcomed {fmt(d.get('succeeded'))} of {fmt(d.get('conns'))}"
    dur = d.get("duration_s") or 0
    unique, offered = d.get("delivered_unique") or 0, d.get("offered") or 0
    per_s = f" ({fmt(unique / dur)}/s)" if dur else ""
    return (f"{name} carried {fmt(unique)} of {fmt(offered)} offered deliveries{per_s}, "
            f"{fmt(d.get('viewers_with_holes'))} of {fmt(d.get('viewers_checked'))} viewers with holes")

# rows: (label, key or function, better: "higher"/"lower"/"", ratio wanted)
CONNECT_ROWS = [
    ("connections welcomed / asked", lambda d: f"{fmt(d.get('succeeded'))} / {fmt(d.get('conns'))}", "", False),
    ("failed", "failed", "lower", False),
    ("connect to welcome p50 (ms)", "connect_p50_ms", "lower", True),
    ("connect to welcome p99 (ms)", "connect_p99_ms", "lower", True),
    ("carried (every connection welcomed)", carried_cell, "", False),
    ("server PSS before (MiB)", "server_pss_before_mb", "lower", True),
    ("server PSS all connected (MiB)", "server_pss_after_mb", "lower", True),
    ("**server PSS per connection (bytes)**", "server_pss_bytes_per_conn", "lower", True),
    ("server RSS per connection (bytes; nginx's shared pages counted once per process)", "server_bytes_per_conn", "", False),
    ("server RSS 0.5 s after close (MiB)", "server_rss_closed_mb", "", False),
    ("server CPU while connecting (s)", "server_cpu_s", "lower", True),
    ("server processes summed", lambda d: d.get("server_pids", 1), "", False),
]
VIEWER_ROWS = [
    ("offered deliveries (sent x viewers)", "offered", "", False),
    ("delivered (unique) / % of offered", lambda d: f"{fmt(d.get('delivered_unique'))} / {fmt(d.get('delivered_pct'), 2)}%", "", False),
    ("viewers checked / with a hole", lambda d: f"{fmt(d.get('viewers_checked'))} / {fmt(d.get('viewers_with_holes'))}", "lower", False),
    ("messages missing (all viewers) / most at one", lambda d: f"{fmt(d.get('viewer_holes'))} / {fmt(d.get('viewer_max_holes'))}", "lower", False),
    ("duplicates (all viewers) / viewers with one", lambda d: f"{fmt(d.get('viewer_dups'))} / {fmt(d.get('viewers_with_dups'))}", "lower", False),
    ("**carried the offered load**", carried_cell, "", False),
]
FANOUT_ROWS = [
    ("publish path", "publish_path", "", False),
    ("receiving connections", "members", "", False),
    ("messages sent / acked", lambda d: f"{fmt(d.get('sent'))} / {fmt(d.get('acked'))}", "", False),
] + VIEWER_ROWS + [
    ("offered deliveries/s (members x rate)", lambda d: (d.get("members") or 0) * (d.get("rate_target") or 0), "", False),
    ("deliveries/s", "deliveries_per_s", "higher", True),
    ("latency p50 (ms)", "latency_p50_ms", "lower", True),
    ("**latency p99 (ms)**", "latency_p99_ms", "lower", True),
    ("latency p99.9 (ms)", "latency_p999_ms", "lower", True),
    ("latency max (ms)", "latency_max_ms", "lower", True),
    ("server CPU (% of a core)", "server_cpu_pct", "lower", True),
    ("**deliveries per server CPU-second**", "deliveries_per_server_cpu_s", "higher", True),
    ("server CPU per delivery (ns)", "server_ns_per_delivery", "lower", True),
    ("server PSS at end (MiB)", "server_pss_end_mb", "lower", True),
    ("server RSS at end (MiB)", "server_rss_end_mb", "", False),
    ("frames per client receive", "frames_per_recv", "", False),
    ("client CPU (% of a core)", "client_cpu_pct", "", False),
    ("sends >5 ms late (client starved)", "late_sends", "", False),
]
STORM_ROWS = [
    ("viewers dropped at the storm", "storm_dropped", "", False),
    ("rejoined / failed", lambda d: f"{fmt(d.get('rejoined'))} / {fmt(d.get('rejoin_failed'))}", "", False),
    ("**whole again after (s)**", "whole_again_s", "lower", True),
    ("rejoin connect to welcome p99 (ms)", "rejoin_p99_ms", "lower", True),
    ("server CPU during the storm (s)", "server_cpu_storm_s", "lower", True),
    ("calm connections", "calm_conns", "", False),
    ("publish path", "publish_path", "", False),
] + VIEWER_ROWS + [
    ("**calm p99 before the storm (ms)**", "calm_before_p99_ms", "lower", True),
    ("**calm p99 during the storm (ms)**", "calm_during_p99_ms", "lower", True),
    ("calm p99 after (ms)", "calm_after_p99_ms", "lower", True),
    ("calm p99 during / before", "calm_p99_during_over_before", "lower", True),
    ("rejoined viewers' latency p99 (ms)", "rejoin_latency_p99_ms", "lower", True),
    ("deliveries/s (all)", "deliveries_per_s", "higher", True),
    ("deliveries per server CPU-second", "deliveries_per_server_cpu_s", "higher", True),
    ("client CPU (% of a core)", "client_cpu_pct", "", False),
]

def value(d, key):
    if "skipped" in d:
        return None
    return key(d) if callable(key) else get(d, key)

def table(name, rows):
    rc, nc = load(name, "roomcast"), load(name, "nchan")
    # Ratios only where both servers carried the offered load.
    both = carried(rc) == "" and carried(nc) == ""
    out = ["| measure | roomcast | nchan | roomcast ÷ nchan | better |",
           "| --- | ---: | ---: | ---: | --- |"]
    for label, key, better, want_ratio in rows:
        a, b = value(rc, key), value(nc, key)
        r = ratio(a, b) if want_ratio and both else ("—" if want_ratio else "")
        out.append(f"| {label} | {fmt(a)} | {fmt(b)} | {r} | {better} |")
    notes = []
    if not both:
        notes.append("- **No ratios here: not both servers carried the offered load.** "
                     + carried_line("roomcast", rc) + "; " + carried_line("nchan", nc) + ".")
    for server, d in (("roomcast", rc), ("nchan", nc)):
        if "skipped" in d:
            notes.append(f"- {server}: not measured ({d['skipped']})")
        elif d.get("complete") != "yes":
            notes.append(f"- {server}: the run did not complete (see {os.path.basename(raw)}/{name}-{server}.err)")
    return "\n".join(out + ([""] + notes if notes else []))

SCENARIOS = [
    ("connect", "Idle viewers: memory per connection", CONNECT_ROWS),
    ("fanout-small-10", "Fan-out: one room, 10 msg/s", FANOUT_ROWS),
    ("fanout-small-100", "Fan-out: one room, 100 msg/s", FANOUT_ROWS),
    ("fanout-big-100", "Fan-out: one big room, 100 msg/s", FANOUT_ROWS),
    ("storm", "Reconnect storm", STORM_ROWS),
    ("fanout-10k-10", "Scale: 10,000 viewers, 10 msg/s", FANOUT_ROWS),
    ("fanout-10k-100", "Scale: 10,000 viewers, 100 msg/s", FANOUT_ROWS),
    ("fanout-10k-1000", "Scale: 10,000 viewers, 1,000 msg/s", FANOUT_ROWS),
    ("fanout-100k-10", "Scale: 100,000 viewers, 10 msg/s (8 shards / 8 nchan workers)", FANOUT_ROWS),
    ("fanout-100k-100", "Scale: 100,000 viewers, 100 msg/s (8 shards / 8 nchan workers)", FANOUT_ROWS),
]
# Only the scenarios this run made (the standard suite or the scale matrix).
SCENARIOS = [s for s in SCENARIOS
             if os.path.exists(os.path.join(raw, f"{s[0]}-roomcast.json"))
             or os.path.exists(os.path.join(raw, f"{s[0]}-nchan.json"))]

def describe(name):
    d = load(name, "roomcast")
    if "skipped" in d:
        d = load(name, "nchan")
    if "skipped" in d:
        return ""
    if name == "connect":
        return f"{fmt(d.get('conns'))} idle viewers opened at {fmt(d.get('rate_target'))}/s over {d.get('rooms')} rooms, held {d.get('hold_s')} s."
    if name == "storm":
        return (f"{fmt(d.get('viewers'))} viewers in {d.get('rooms')} rooms, {d.get('publishers')} publishers, "
                f"{fmt(d.get('rate_target'))} msg/s of {d.get('size')} bytes for {d.get('duration_s')} s; at "
                f"{d.get('storm_at_s')} s {d.get('storm_group')} drop their connections and rejoin at once. "
                "Calm = the connections of the other rooms.")
    return (f"{fmt(d.get('viewers'))} viewers, {d.get('rooms')} room, {d.get('publishers')} publisher, "
            f"{fmt(d.get('rate_target'))} msg/s of {d.get('size')}-byte texts for {d.get('duration_s')} s "
            f"(+{d.get('warmup_s')} s warmup).")

def micro_table():
    path = os.path.join(raw, "micro.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    out = ["| benchmark | time per iteration | items/s |", "| --- | ---: | ---: |"]
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        ips = b.get("items_per_second")
        out.append(f"| `{b['name']}` | {b['real_time']:,.1f} {b.get('time_unit', 'ns')} | "
                   f"{fmt(ips / 1e6, 2) + ' M' if ips else ''} |")
    return "\n".join(out)

with open(os.path.join(raw, "env.txt")) as f:
    env = f.read().strip()

tables = []
for name, title, rows in SCENARIOS:
    tables.append(f"## {title} (`{name}`)\n\n{describe(name)}\n\n{table(name, rows)}\n")
mt = micro_table()
if mt:
    tables.append("## Micro-benchmarks (`roomcast-micro`, no server)\n\n" + mt + "\n")

head = [
    f"# roomcast vs nchan: {os.path.basename(raw)}",
    "",
    "Generated by `perf/run.sh` (`make bench`)" + (" in quick mode (BENCH_QUICK=1)" if quick else "") + ".",
    "Each scenario ran on a freshly started server, roomcast then nchan, one at a time, with the load",
    "generator on the same 2 cores over loopback. nchan figures sum the nginx master and its workers",
    "(as many workers as roomcast has shards).",
    "Ratios are roomcast ÷ nchan, given only in a scenario where both servers carried the offered",
    "load (every viewer got at least 99% of the messages sent in its room and none has a hole;",
    "connect: every connection welcomed); elsewhere the table says what each carried. `better`",
    "says which direction is good. Memory is compared by PSS (`Pss:` of /proc/PID/smaps_rollup,",
    "summed over the processes), which counts nginx's shared pages once. nchan's publishers use",
    "the path in `nchan publish path` below (BENCH_NCHAN_PUBLISH). Single runs on a shared",
    "machine (other jobs may run on the same 2 cores): read differences under ~20% as noise.",
    "",
    "```",
    env,
    "```",
    "",
]
cmds = ["## Commands", "", "```sh"]
with open(os.path.join(raw, "commands.txt")) as f:
    cmds += [line.rstrip() for line in f if line.strip()]
cmds += ["```", "", f"Raw outputs (tables, JSON lines, stderr): `perf/out/{os.path.basename(raw)}/`.", ""]

with open(report, "w") as f:
    f.write("\n".join(head) + "\n" + "\n".join(tables) + "\n" + "\n".join(cmds))
print("\n".join(tables))
PYEOF
log "report: ${REPORT#$ROOT/} (wall time ${SECONDS}s)"
