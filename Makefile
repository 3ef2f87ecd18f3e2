# roomcast build entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:

PYTHON    ?= /usr/bin/python3
NODE      ?= node
NODE_MODULES := /usr/share/nodejs
# make run listens on this machine only, with --dev-auth (?user=NAME names a user without a token:
# for the demo page and the README's examples; never for real users). ARGS="--listen
# 0.0.0.0:8080 --jwt-secret-file FILE" opens it to the network with tokens only.
ARGS      ?= --listen 127.0.0.1:8080 --dev-auth

BUILD_DIR := build
ASAN_DIR  := build-asan
FUZZ_DIR  := build-fuzz

# libFuzzer targets (tests/fuzz/<name>_fuzz.cc, built as build-fuzz/tests/fuzz/fuzz_<name>).
FUZZ_CXX       ?= clang++-14
FUZZ_TARGETS   := http_head query last_event_id ws_frame client_op poll_cursor log_record log_replay \
                  token moderation_text \
                  session
# make fuzz: seconds per target; make test: seconds per target after its seeds and regressions.
FUZZ_SECS      ?= 60
FUZZ_TEST_SECS ?= 5

# Sanitizer reports stop the process (the sanitizer builds also compile with
# -fno-sanitize-recover=all, see meson.build); tests, servers and fuzzers started from here
# inherit it.
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1

.DEFAULT_GOAL := build
.PHONY: deps build build-asan fuzz-build fuzz fuzz-smoke run test test-unit test-js-unit test-e2e \
        e2e-asan bench install clean check-layers check-format

deps:
	bash scripts/install-deps.sh

build: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  rm -rf $(BUILD_DIR); \
	  echo "meson setup $(BUILD_DIR) --buildtype=release -Doptimization=2 -Db_lto=true"; \
	  meson setup $(BUILD_DIR) --buildtype=release -Doptimization=2 -Db_lto=true; \
	fi
	ninja -C $(BUILD_DIR)

build-asan: deps
	@if [ ! -f $(ASAN_DIR)/build.ninja ]; then \
	  rm -rf $(ASAN_DIR); \
	  echo "meson setup $(ASAN_DIR) --buildtype=debug -Db_sanitize=address,undefined -Dmimalloc=disabled -Db_lundef=false -Dbench=false"; \
	  meson setup $(ASAN_DIR) --buildtype=debug -Db_sanitize=address,undefined -Dmimalloc=disabled -Db_lundef=false -Dbench=false; \
	fi
	ninja -C $(ASAN_DIR)

# clang's libFuzzer with ASan+UBSan (-fno-sanitize-recover=all from meson.build); the libraries
# are instrumented too (fuzzer-no-link). Only the fuzz executables and the libraries they link
# are built (not the server).
fuzz-build: deps
	@if [ ! -f $(FUZZ_DIR)/build.ninja ]; then \
	  rm -rf $(FUZZ_DIR); \
	  echo "CXX=$(FUZZ_CXX) meson setup $(FUZZ_DIR) --buildtype=debugoptimized -Dfuzz=true -Dtests=false -Dbench=false -Dmimalloc=disabled -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fsanitize=fuzzer-no-link"; \
	  CXX=$(FUZZ_CXX) meson setup $(FUZZ_DIR) --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
	    -Dbench=false -Dmimalloc=disabled -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dcpp_args=-fsanitize=fuzzer-no-link; \
	fi
	nice -n 10 ninja -C $(FUZZ_DIR) $(addprefix tests/fuzz/fuzz_,$(FUZZ_TARGETS))

# Each target for FUZZ_SECS seconds, one after the other.
fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do tests/fuzz/run.sh $$t $(FUZZ_SECS); done

# What `make test` runs: each target's seeds and regressions, then FUZZ_TEST_SECS of fuzzing.
fuzz-smoke: fuzz-build
	mkdir -p $(FUZZ_DIR)/fuzz-out
	for t in $(FUZZ_TARGETS); do \
	  log=$(FUZZ_DIR)/fuzz-out/$$t.log; \
	  tests/fuzz/run.sh $$t $(FUZZ_TEST_SECS) > $$log 2>&1 \
	    || { tail -n 80 $$log; echo "fuzz: fuzz_$$t failed (full log: $$log)" >&2; exit 1; }; \
	  echo "fuzz_$$t: $$(grep -E '^#[0-9]+[[:space:]]+DONE' $$log | tr -s '[:space:]' ' ')"; \
	done

# Only what building and running need (no test tools); the server alone is built, in build/
# when it is set up (make build, make test), else in build-run/ without the tests and benchmarks.
RUN_DIR := build-run
run:
	bash scripts/install-deps.sh --run
	@if [ -f $(BUILD_DIR)/build.ninja ]; then \
	  ninja -C $(BUILD_DIR) src/roomcast && exec ./$(BUILD_DIR)/src/roomcast $(ARGS); \
	fi; \
	if [ ! -f $(RUN_DIR)/build.ninja ]; then \
	  rm -rf $(RUN_DIR); \
	  meson setup $(RUN_DIR) --buildtype=release -Doptimization=2 -Db_lto=true -Dtests=false -Dbench=false; \
	fi; \
	ninja -C $(RUN_DIR) src/roomcast && exec ./$(RUN_DIR)/src/roomcast $(ARGS)

# Layers and function lengths first; unit tests under the sanitizers, then the release build;
# each fuzz target briefly (ASan+UBSan, its seeds and regressions first); the JS client's unit
# tests; then the end-to-end suites against the release binary (ROOMCAST_BIN overrides it), and
# once more, the Python ones but E2E_ASAN_SKIP, against the sanitizer build (a few minutes: a
# server-side ASan/UBSan/LSan report fails the test that started that server, see
# tests/e2e/conftest.py).
test: build build-asan fuzz-build
	$(MAKE) --no-print-directory check-layers
	meson test -C $(ASAN_DIR) --suite unit --print-errorlogs
	meson test -C $(BUILD_DIR) --suite unit --print-errorlogs
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory test-js-unit
	$(MAKE) --no-print-directory test-e2e
	$(MAKE) --no-print-directory e2e-asan

# Every #include respects the layers (scripts/check_layers.py), and the checker itself fails on a
# wrong include (tests/tools); no function is over 80 lines (scripts/long_functions.py); the code
# is formatted (check-format).
check-layers:
	$(PYTHON) scripts/check_layers.py
	$(PYTHON) -m pytest -q tests/tools
	$(PYTHON) scripts/long_functions.py --check src perf
	$(MAKE) --no-print-directory check-format

# Every C++ file as .clang-format says (clang-format -i on a file fixes it).
check-format:
	git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

test-unit: build build-asan
	meson test -C $(ASAN_DIR) --suite unit --print-errorlogs
	meson test -C $(BUILD_DIR) --suite unit --print-errorlogs
	$(MAKE) --no-print-directory test-js-unit

# The JS client's logic (fake transports) and its size: under 8 KB minified and gzipped.
test-js-unit: deps
	$(NODE) --test tests/unit/web/
	$(NODE) scripts/client_size.mjs --max 8192

# Node test files run one at a time: the Chromium and client tests time their reconnects, and
# several at once on 2 cores (the runner's default) made them miss their deadlines.
test-e2e:
	$(PYTHON) -m pytest -q tests/e2e
	NODE_PATH=$(NODE_MODULES) $(NODE) --test --test-concurrency=1 tests/e2e/

# The end-to-end suites against the sanitizer build (the last step of `test`).
# The Python suites only: the Node suites test the JS client and the demo page, and the server
# paths they drive are the ones the Python suites drive (kept under 20 minutes of CI this way).
# The suites that test settings, timers and installation rather than memory paths run against
# the release binary only (CI time on 2 cores).
E2E_ASAN_SKIP := test_cli.py test_ops_install.py test_ops_config.py test_ops_notify.py \
                 test_web.py test_cors.py test_timeouts.py test_longpoll_pacing.py
e2e-asan: build-asan
	ROOMCAST_BIN=$(ASAN_DIR)/src/roomcast $(PYTHON) -m pytest -q tests/e2e \
	  $(foreach f,$(E2E_ASAN_SKIP),--ignore=tests/e2e/$(f))

bench:
	bash scripts/install-deps.sh --bench
	$(MAKE) --no-print-directory build
	@if [ -f perf/run.sh ]; then \
	  bash perf/run.sh; \
	else \
	  echo "bench: perf/run.sh is not there yet" >&2; exit 1; \
	fi

install: build
	meson install -C $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR) $(RUN_DIR)
