# wasm_exporter — build, run and test.
#
#   make run     build the host and the shipped plugins, and serve them
#   make run-dir stage the shipped plugins in build/plugins.d (make run, docker run)
#   make test    lint and the whole test suite (installs what it needs)
#   make plugins build every plugin to wasm32-wasip2 (release, stripped)
#   make guest-plugins  the conformance plugin in Python and JavaScript
#   make man     the man pages, build/man/*.1
#   make lint    cargo fmt --check and clippy -D warnings
#   make demo    a local HAProxy and the exporter
#   make fuzz    cargo-fuzz targets, bounded (nightly; not CI)
#   make soak    wrk at 64 connections against the shipped plugins (not CI)
#   make bench   side by side with haproxy_exporter and the Go random example;
#                rewrites the tables in BENCHMARKS.md (not CI)
#
# Everything the host builds uses the `release` profile and one target dir,
# so wasmtime is compiled once for `make run` and `make test` alike.

SHELL          := /bin/bash
CARGO          ?= cargo
WASM_TARGET    := wasm32-wasip2
BUILD          := build
PLUGIN_OUT     := $(BUILD)/plugins
RUN_DIR        := $(BUILD)/plugins.d
VENV           := $(BUILD)/venv
LISTEN         ?= :10157
# 0.23 reads quoted UTF-8 names (text 1.0.0, OpenMetrics with allow-utf-8).
PY_CLIENT      := prometheus-client==0.23.1
# The independent parser of the protobuf exposition.
PY_PROTOBUF    := protobuf==5.29.5
# Plugin authors' tools, for the Python and JavaScript plugins and templates.
COMPONENTIZE_PY := componentize-py==0.25.1
COMPONENTIZE_JS := @bytecodealliance/componentize-js@0.23.0
# componentize-js 0.23 imports preview2-shim but lists it only as a dev
# dependency; a second `npm install` prunes it unless it is named. 0.25:
# with 0.26 reading the WIT fails ("No such file or directory (os error 44)"),
# the bug behind `jco componentize`'s "failed to get path metadata".
PREVIEW2_SHIM  := @bytecodealliance/preview2-shim@0.25.0
TYPESCRIPT     := typescript@7.0.2
NPM_PREFIX     := $(BUILD)/npm
# Prometheus 3: the newest 3.x the Go module proxy serves (the module tags
# 3.16.0 as v0.316.0), built with the machine's Go as `go install` builds
# it; its promtool checks the shipped configs that use Kubernetes discovery,
# which Debian's 2.42 is built without. Other discovery left out: smaller.
PROMETHEUS3    := 3.16.0
PROMETHEUS3_MODULE := v0.316.0
PROMETHEUS3_DIR := $(BUILD)/prometheus-$(PROMETHEUS3)
# Validates deploy/kubernetes/ against the Kubernetes API's schemas.
K8S_SCHEMA     := $(BUILD)/tools/k8s-schema

# Plugins served by `make run` (plugins/NAME/), and test-only plugins
# (tests/plugins/NAME/): every directory with a Cargo.toml, the SDK aside.
# A new plugin is a new directory; nothing here to edit.
SHIPPED_PLUGINS := $(filter-out sdk,$(notdir $(patsubst %/Cargo.toml,%,$(wildcard plugins/*/Cargo.toml))))
TEST_PLUGINS    := $(notdir $(patsubst %/Cargo.toml,%,$(wildcard tests/plugins/*/Cargo.toml)))
ALL_PLUGINS     := $(SHIPPED_PLUGINS) $(TEST_PLUGINS)
# The conformance plugin again, in Python and in JavaScript.
GUEST_PLUGINS   := $(PLUGIN_OUT)/conformance-py.wasm $(PLUGIN_OUT)/conformance-js.wasm \
                   $(PLUGIN_OUT)/foreign-api-py.wasm $(PLUGIN_OUT)/foreign-api-js.wasm \
                   $(PLUGIN_OUT)/equivalence.wasm $(BUILD)/go/equivalence-native \
                   $(PLUGIN_OUT)/conformance-go.wasm $(PLUGIN_OUT)/latency-simulator-go.wasm
WIT             := plugins/sdk/wit


export WASM_EXPORTER_REVISION := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export WASM_EXPORTER_BRANCH   := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
export WASM_EXPORTER_PLUGINS  := $(abspath $(PLUGIN_OUT))
export WASM_EXPORTER_TEST_PYTHON := $(abspath $(VENV))/bin/python
export WASM_EXPORTER_PROMTOOL3 := $(abspath $(PROMETHEUS3_DIR))/promtool
export WASM_EXPORTER_PROMETHEUS3 := $(abspath $(PROMETHEUS3_DIR))/prometheus
export WASM_EXPORTER_K8S_SCHEMA := $(abspath $(K8S_SCHEMA))

.PHONY: all run run-dir demo test lint plugins guest-plugins build setup setup-rust setup-test setup-authors setup-go go-tools fmt clean fuzz soak man bench bench-floor

all: build plugins

## Set-up ---------------------------------------------------------------

setup-rust:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' \
	  || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

setup-test: setup-rust
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v haproxy >/dev/null || missing="$$missing haproxy"; \
	command -v prometheus-haproxy-exporter >/dev/null || missing="$$missing prometheus-haproxy-exporter"; \
	command -v prometheus-node-exporter >/dev/null || missing="$$missing prometheus-node-exporter"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v systemd-socket-activate >/dev/null || missing="$$missing systemd"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -x /usr/bin/kill ] || [ -x /bin/kill ] || missing="$$missing procps"; \
	command -v python3 >/dev/null || missing="$$missing python3"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@[ -x $(VENV)/bin/python ] || python3 -m venv $(VENV)
	@$(VENV)/bin/python -c 'import google.protobuf, prometheus_client, sys; \
	  from importlib.metadata import version as v; \
	  sys.exit(v("prometheus-client") + " " + v("protobuf") != "$(subst prometheus-client==,,$(PY_CLIENT)) $(subst protobuf==,,$(PY_PROTOBUF))")' 2>/dev/null \
	  || $(VENV)/bin/pip install -q --disable-pip-version-check '$(PY_CLIENT)' '$(PY_PROTOBUF)'

# componentize-py in build/venv, componentize-js and TypeScript (to check
# the JavaScript SDK's types) under build/npm, with the build script beside
# them so that it finds the package; Node.js from Debian.
setup-authors: setup-test
	@command -v npm >/dev/null || { echo "installing Debian packages: nodejs npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@[ -x $(VENV)/bin/componentize-py ] \
	  || $(VENV)/bin/pip install -q --disable-pip-version-check '$(COMPONENTIZE_PY)'
	@[ -d $(NPM_PREFIX)/node_modules/@bytecodealliance/componentize-js ] \
	  && [ -d $(NPM_PREFIX)/node_modules/@bytecodealliance/preview2-shim ] \
	  && [ -x $(NPM_PREFIX)/node_modules/.bin/tsc ] \
	  || npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --loglevel=error -E \
	       '$(COMPONENTIZE_JS)' '$(PREVIEW2_SHIM)' '$(TYPESCRIPT)'
	@cp plugins/sdk-js/componentize.mjs $(NPM_PREFIX)/componentize.mjs

# Go (1.26 or newer, with the module proxy) for the tools built from Go
# sources; Debian's golang-go is too old for them.
setup-go:
	@command -v go >/dev/null || { echo "make test needs Go 1.26 or newer on PATH (Debian's golang-go is too old): https://go.dev/dl/"; exit 1; }

go-tools: $(PROMETHEUS3_DIR)/prometheus $(PROMETHEUS3_DIR)/promtool $(K8S_SCHEMA)

# Prometheus 3 as `go install` builds it (the web UI's assets are not built
# in; the API is all the tests use), with the service discoveries left out
# except Kubernetes, which promtool needs for the shipped Kubernetes config.
$(PROMETHEUS3_DIR)/prometheus $(PROMETHEUS3_DIR)/promtool &: | setup-go
	GOBIN=$(abspath $(PROMETHEUS3_DIR)) go install -tags remove_all_sd,enable_kubernetes_sd \
	  -ldflags "-X github.com/prometheus/common/version.Version=$(PROMETHEUS3)" \
	  github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS3_MODULE) \
	  github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS3_MODULE)

$(K8S_SCHEMA): tests/k8s-schema/main.go tests/k8s-schema/go.mod tests/k8s-schema/go.sum | setup-go
	cd tests/k8s-schema && go build -o $(abspath $@) .

setup: setup-rust setup-test setup-authors

## Build ----------------------------------------------------------------

# `--workspace` resolves features as `cargo test --workspace` does (the
# plugin crates' dependencies are unified in), so `make run` after `make test`
# reuses the same wasmtime build instead of compiling a second variant.
build: setup-rust
	$(CARGO) build --release --workspace --bin wasm_exporter

plugins: setup-rust
	$(CARGO) build --profile plugin --target $(WASM_TARGET) $(addprefix -p ,$(ALL_PLUGINS))
	@mkdir -p $(PLUGIN_OUT)
	@for p in $(ALL_PLUGINS); do \
	  cp target/$(WASM_TARGET)/plugin/$$(echo $$p | tr - _).wasm $(PLUGIN_OUT)/$$p.wasm; \
	done
	@ls -l $(PLUGIN_OUT)

guest-plugins: $(GUEST_PLUGINS)

$(PLUGIN_OUT)/conformance-py.wasm: tests/plugins/conformance-py/app.py \
  plugins/sdk-python/wasm_exporter_sdk.py $(WIT)/plugin.wit | setup-authors
	@mkdir -p $(PLUGIN_OUT)
	$(VENV)/bin/componentize-py -d $(WIT) -w plugin componentize \
	  -p tests/plugins/conformance-py -p plugins/sdk-python app -o $@

# One set of client_golang collectors (tests/go/equivalence), built as a Go
# plugin (stock Go for wasip1, then this exporter's plugin componentize)
# and as a native program served by promhttp, the reference.
# The conformance plugin in Go, too (tests/go/conformance), and the latency
# simulator on client_golang (tests/go/simulator).
GO_TESTS := $(wildcard tests/go/*/*.go tests/go/*/*/*.go) tests/go/go.mod \
            $(wildcard plugins/sdk-go/*.go) plugins/sdk-go/go.mod
$(PLUGIN_OUT)/equivalence.wasm: GO_PKG := ./equivalence/plugin
$(PLUGIN_OUT)/conformance-go.wasm: GO_PKG := ./conformance
$(PLUGIN_OUT)/latency-simulator-go.wasm: GO_PKG := ./simulator
$(PLUGIN_OUT)/equivalence.wasm $(PLUGIN_OUT)/conformance-go.wasm \
$(PLUGIN_OUT)/latency-simulator-go.wasm: $(GO_TESTS) | build setup-go
	@mkdir -p $(PLUGIN_OUT) $(BUILD)/go
	cd tests/go && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared \
	  -ldflags=-checklinkname=0 -o $(abspath $(BUILD))/go/$(notdir $@) $(GO_PKG)
	target/release/wasm_exporter plugin componentize $(BUILD)/go/$(notdir $@) -o $@

$(BUILD)/go/equivalence-native: $(GO_TESTS) | setup-go
	@mkdir -p $(BUILD)/go
	cd tests/go && go build -o $(abspath $@) ./equivalence/native

# The foreign JSON API plugins: the contract's WIT alone, no SDK.
$(PLUGIN_OUT)/foreign-api-py.wasm: tests/plugins/foreign-api-py/app.py $(WIT)/plugin.wit | setup-authors
	@mkdir -p $(PLUGIN_OUT)
	$(VENV)/bin/componentize-py -d $(WIT) -w plugin componentize \
	  -p tests/plugins/foreign-api-py app -o $@

$(PLUGIN_OUT)/foreign-api-js.wasm: tests/plugins/foreign-api-js/app.js \
  plugins/sdk-js/componentize.mjs $(WIT)/plugin.wit | setup-authors
	@mkdir -p $(PLUGIN_OUT)
	node $(NPM_PREFIX)/componentize.mjs tests/plugins/foreign-api-js/app.js $(WIT) $@

$(PLUGIN_OUT)/conformance-js.wasm: tests/plugins/conformance-js/app.js \
  plugins/sdk-js/wasm_exporter_sdk.js plugins/sdk-js/componentize.mjs $(WIT)/plugin.wit | setup-authors
	@mkdir -p $(PLUGIN_OUT)
	node $(NPM_PREFIX)/componentize.mjs tests/plugins/conformance-js/app.js $(WIT) $@

# The man pages, generated from the same clap definitions as --help:
# wasm_exporter(1) and one per command, in build/man/.
man: setup-rust
	$(CARGO) build --release -q --workspace --bin wasm_exporter-man
	@rm -rf $(BUILD)/man
	./target/release/wasm_exporter-man $(BUILD)/man
	@echo "man -l $(BUILD)/man/wasm_exporter.1"

## Run ------------------------------------------------------------------

# The shipped plugins and their NAME.yml, staged in build/plugins.d (what
# `make run` serves; a plugins volume for the Docker image). `make run`'s
# textfile plugin reads build/textfile instead of the system directory.
TEXTFILE_DIR := $(abspath $(BUILD))/textfile

run-dir: plugins
	@rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR) $(TEXTFILE_DIR)
	@for p in $(SHIPPED_PLUGINS); do \
	  cp $(PLUGIN_OUT)/$$p.wasm $(RUN_DIR)/; \
	  for y in plugins/$$p/$$p.yml; do [ -f $$y ] && cp $$y $(RUN_DIR)/ || true; done; \
	done
	@sed -i 's|/var/lib/node_exporter/textfile_collector|$(TEXTFILE_DIR)|' $(RUN_DIR)/textfile.yml

run: build run-dir
	./target/release/wasm_exporter --plugins.dir $(RUN_DIR) --plugins.cache-dir $(BUILD)/cache --web.listen-address $(LISTEN)

## Demo: a local HAProxy and the exporter, for a first look ------------------

DEMO_DIR := $(BUILD)/demo

demo: build plugins
	@command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)/plugins.d
	@sed "s|@DIR@|$(abspath $(DEMO_DIR))|g" deploy/demo/haproxy.cfg > $(DEMO_DIR)/haproxy.cfg
	@cp $(PLUGIN_OUT)/haproxy.wasm $(PLUGIN_OUT)/latency-simulator.wasm $(DEMO_DIR)/plugins.d/
	@cp deploy/demo/haproxy.yml $(DEMO_DIR)/plugins.d/haproxy.yml
	@cp plugins/latency-simulator/latency-simulator.yml $(DEMO_DIR)/plugins.d/
	@haproxy -f $(DEMO_DIR)/haproxy.cfg -db > $(DEMO_DIR)/haproxy.log 2>&1 & echo $$! > $(DEMO_DIR)/haproxy.pid
	@echo "HAProxy started (pid $$(cat $(DEMO_DIR)/haproxy.pid)): stats on 127.0.0.1:8404, traffic on 127.0.0.1:8080"
	@echo "Scrape http://localhost$(LISTEN)/metrics ; Ctrl-C stops both."
	@trap 'kill $$(cat $(DEMO_DIR)/haproxy.pid) 2>/dev/null' EXIT INT TERM; \
	  ./target/release/wasm_exporter --plugins.dir $(DEMO_DIR)/plugins.d --web.listen-address $(LISTEN)

## Test -----------------------------------------------------------------

fmt:
	$(CARGO) fmt --all

lint: setup-rust setup-go
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p haproxy --features floor --target $(WASM_TARGET) -- -D warnings
	cd plugins/sdk-go && test -z "$$(gofmt -l $$(ls *.go internal/plugin/*.go wit/export_*/*.go))" \
	  && go vet . ./internal/...
	test -z "$$(gofmt -l tests/go)"

# The Go SDK's own tests run natively, beside the workspace's.
test: setup-test setup-authors lint go-tools plugins guest-plugins
	@mkdir -p $(BUILD)
	@set -o pipefail; { $(CARGO) test --release --workspace --no-fail-fast 2>&1 \
	  && (cd plugins/sdk-go && go test -count=1 ./... 2>&1); } | tee $(BUILD)/test.log
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "all tests: %d passed, %d failed\n", p, f }' $(BUILD)/test.log

## Reliability (scripts, not CI; figures go to RELIABILITY.md) -------------

fuzz:
	bash scripts/fuzz.sh

soak: build plugins
	bash scripts/soak.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)

## Benchmarks (not CI; figures go to BENCHMARKS.md) ------------------------

BENCH_PACKAGES := haproxy:haproxy prometheus-haproxy-exporter:prometheus-haproxy-exporter \
  wrk:wrk go:golang-go perf:linux-perf

# The haproxy plugin's floor build (`floor` in plugins/haproxy/src/lib.rs),
# for `make bench` only: a target directory of its own, so that the shipped
# plugin's build never sees the feature.
bench-floor: setup-rust
	$(CARGO) build --profile plugin --target $(WASM_TARGET) -p haproxy --features floor \
	  --target-dir $(BUILD)/bench/floor-target
	cp $(BUILD)/bench/floor-target/$(WASM_TARGET)/plugin/haproxy.wasm $(BUILD)/bench/haproxy-floor.wasm

bench: build plugins bench-floor $(PLUGIN_OUT)/latency-simulator-go.wasm
	@missing=""; \
	for pair in $(BENCH_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	[ -d /usr/share/gocode/src/github.com/prometheus/client_golang ] \
	  || missing="$$missing golang-github-prometheus-client-golang-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	python3 scripts/bench.py

# The Go SDK's bindings, regenerated from the contract with wit-bindgen go
# (installed into build/tools); the export_* packages are written by hand
# and kept.
sdk-go-bindings: setup-rust
	$(CARGO) install -q wit-bindgen-cli --version 0.61.1 --root $(BUILD)/tools
	cd plugins/sdk-go && ../../$(BUILD)/tools/bin/wit-bindgen go -w probe-plugin \
	  --pkg-name wasm_exporter/sdk/wit --out-dir wit ../sdk/wit
.PHONY: sdk-go-bindings
