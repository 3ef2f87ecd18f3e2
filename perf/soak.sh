#!/usr/bin/env bash
# perf/soak.sh: the long mixed churn of perf/soak.py (issue 15), outside `make test`.
#   bash perf/soak.sh                 30 minutes against build/src/roomcast
#   SOAK_MINUTES=5 bash perf/soak.sh  shorter
#   SOAK_BINARY=build-asan/src/roomcast SOAK_MINUTES=5 bash perf/soak.sh   the sanitizer build
#     (leak checking on: the server's exit at the end fails the run on a leak report)
# Loopback only; every process it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SOAK_BINARY:-build/src/roomcast}
[ -x "$BIN" ] || { echo "soak: $BIN not built (make build)" >&2; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
exec /usr/bin/python3 perf/soak.py --binary "$BIN" --minutes "${SOAK_MINUTES:-30}" "$@"
