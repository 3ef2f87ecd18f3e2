# roomcast build entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:

PYTHON    ?= /usr/bin/python3
NODE      ?= node
NODE_MODULES := /usr/share/nodejs
ARGS      ?= --listen 0.0.0.0:8080

BUILD_DIR := build
ASAN_DIR  := build-asan

.DEFAULT_GOAL := build
.PHONY: deps build build-asan run test test-unit test-js-unit test-e2e e2e-asan bench install clean check-layers

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

run: build
	exec ./$(BUILD_DIR)/src/roomcast $(ARGS)

# Unit tests under the sanitizers first, then the release build; then the end-to-end suites
# against the release binary (ROOMCAST_BIN overrides it).
test: build build-asan
	$(MAKE) --no-print-directory check-layers
	meson test -C $(ASAN_DIR) --suite unit --print-errorlogs
	meson test -C $(BUILD_DIR) --suite unit --print-errorlogs
	$(MAKE) --no-print-directory test-js-unit
	$(MAKE) --no-print-directory test-e2e

# Every #include respects the layers (scripts/check_layers.py), and the checker itself fails on a
# wrong include (tests/tools); no function is over 80 lines (scripts/long_functions.py).
check-layers:
	$(PYTHON) scripts/check_layers.py
	$(PYTHON) -m pytest -q tests/tools
	$(PYTHON) scripts/long_functions.py --check src perf

test-unit: build build-asan
	meson test -C $(ASAN_DIR) --suite unit --print-errorlogs
	meson test -C $(BUILD_DIR) --suite unit --print-errorlogs
	$(MAKE) --no-print-directory test-js-unit

# The JS client's logic (fake transports) and its size: under 8 KB minified and gzipped.
test-js-unit: deps
	$(NODE) --test tests/unit/web/
	$(NODE) scripts/client_size.mjs --max 8192

test-e2e:
	$(PYTHON) -m pytest -q tests/e2e
	NODE_PATH=$(NODE_MODULES) $(NODE) --test tests/e2e/

# The end-to-end suites against the sanitizer build (not part of `test`: slower).
e2e-asan: build-asan
	ROOMCAST_BIN=$(ASAN_DIR)/src/roomcast $(MAKE) --no-print-directory test-e2e

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
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
