#!/usr/bin/env bash
# Install the Debian packages roomcast needs to build and test (and, with --bench, to benchmark).
# Idempotent: asks dpkg which packages are missing and runs apt-get only when some are; runs
# `npm ci` (the JS dev tools pinned in package-lock.json) only when node_modules does not match it.
#   scripts/install-deps.sh           build + test dependencies (clang 14 and libFuzzer included)
#   scripts/install-deps.sh --run     only what building and running the server need (make run)
#   scripts/install-deps.sh --bench   the above plus the benchmark group (nginx, nchan)
set -euo pipefail

RUN_PKGS=(
  build-essential pkg-config meson ninja-build
  liburing-dev libwslay-dev libmimalloc-dev libssl-dev libsimdjson-dev libvectorscan-dev
  zlib1g-dev
  libhiredis-dev  # the Redis RESP reader and command formatter (--redis)
)
BASE_PKGS=(
  "${RUN_PKGS[@]}" clang-format git
  libgtest-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev llvm-14
  python3 python3-websockets python3-pytest python3-jwt python3-cryptography
  python3-prometheus-client prometheus
  curl node-ws chromium procps
  redis-server  # the cluster tests start their own on a free loopback port
)
BENCH_PKGS=(nginx libnginx-mod-nchan procps wrk)  # procps: pgrep in perf/peers/nchan.sh; wrk: the snapshot bench

die() { echo "install-deps: error: $*" >&2; exit 1; }

want_bench=0
want_run_only=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --run) want_run_only=1 ;;
    -h|--help)
      sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "install-deps: unknown argument: $arg (expected --run, --bench or --help)" >&2; exit 2 ;;
  esac
done

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian (12) only"

pkgs=("${BASE_PKGS[@]}")
if [ "$want_run_only" = 1 ]; then
  pkgs=("${RUN_PKGS[@]}")
elif [ "$want_bench" = 1 ]; then
  pkgs+=("${BENCH_PKGS[@]}")
fi

is_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)"
  [[ "$status" == ii* ]]
}

missing=()
for p in "${pkgs[@]}"; do
  is_installed "$p" || missing+=("$p")
done
# A newer Node may come from another source (it conflicts with Debian's npm): take Debian's
# nodejs only when there is no node at all, and never npm. make run (--run) needs neither.
if [ "$want_run_only" = 0 ] && ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
# npm comes with a Node from elsewhere; with Debian's nodejs it is Debian's npm.
if [ "$want_run_only" = 0 ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present$([ "$want_bench" = 1 ] && echo ' (with bench group)'), nothing to install"
else
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; install as root: ${missing[*]}"
    SUDO=(sudo)
  fi
  echo "install-deps: installing: ${missing[*]}"
  "${SUDO[@]}" apt-get update \
    || die "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
  still=()
  for p in "${missing[@]}"; do
    [ "$p" = nodejs ] || [ "$p" = npm ] && continue
    is_installed "$p" || still+=("$p")
  done
  [ "${#still[@]}" -eq 0 ] || die "still not installed after apt-get: ${still[*]}"
  echo "install-deps: installed: ${missing[*]}"
fi

# make run: nothing else (no Node, npm, Python or browser).
[ "$want_run_only" = 1 ] && exit 0

# The tests run with Debian's Python and Node; check that they find their modules.
command -v node >/dev/null 2>&1 || die "node not found on PATH after installing nodejs"
/usr/bin/python3 -c 'import websockets, pytest, prometheus_client' 2>/dev/null \
  || die "/usr/bin/python3 cannot import websockets, pytest and prometheus_client (python3-websockets, python3-pytest, python3-prometheus-client)"
NODE_PATH=/usr/share/nodejs node -e 'require("ws")' 2>/dev/null \
  || die "node cannot load 'ws' from /usr/share/nodejs (package node-ws)"
command -v chromium >/dev/null 2>&1 || die "chromium not found on PATH (package chromium)"

# The JS dev tools (esbuild, to measure the client's size), exactly as package-lock.json pins them.
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH"
lock_sum="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
stamp="$ROOT/node_modules/.roomcast-lock-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
  echo "install-deps: node_modules matches package-lock.json, nothing to install"
else
  echo "install-deps: npm ci (package-lock.json)"
  (cd "$ROOT" && npm ci --no-audit --no-fund) || die "npm ci failed"
  echo "$lock_sum" > "$stamp"
fi
