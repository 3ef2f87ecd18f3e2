#!/usr/bin/env bash
# Runs one libFuzzer target of build-fuzz for a while, starting from its seed corpus and its
# regressions (every file in tests/fuzz/regressions/<name> is run first: a crash there fails).
#   tests/fuzz/run.sh NAME SECONDS [extra libFuzzer flags...]
# NAME is the target without "fuzz_" (http_head, ws_frame, ...). New inputs go to
# build-fuzz/fuzz-out/NAME/corpus (never into the committed corpus), crashes to
# build-fuzz/fuzz-out/NAME/. libFuzzer's final stats (execs, exec/s, cov, ft) end the output.
set -euo pipefail

[ "$#" -ge 2 ] || { echo "usage: $0 NAME SECONDS [libFuzzer flags...]" >&2; exit 2; }
name="$1"
secs="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${FUZZ_DIR:-$root/build-fuzz}"
bin="$build/tests/fuzz/fuzz_$name"
[ -x "$bin" ] || { echo "fuzz: $bin not built (make fuzz-build)" >&2; exit 2; }

out="$build/fuzz-out/$name"
mkdir -p "$out/corpus"
dirs=("$out/corpus" "$here/corpus/$name")
[ -d "$here/regressions/$name" ] && dirs+=("$here/regressions/$name")
dict=()
[ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")

# Any sanitizer report stops the run and fails it: UBSan too (the build adds
# -fno-sanitize-recover=all; halt_on_error covers a runtime built without it).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# The first corpus directory receives new inputs; the committed ones are only read.
exec nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$out/" "${dict[@]}" "$@" "${dirs[@]}"
