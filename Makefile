# berth: developer and CI entry points. `make` alone lists the targets.
# Run everything serially: cargo parallelises internally, and the engine must be up
# before images are built.
.NOTPARALLEL:
.DEFAULT_GOAL := help
SHELL := /bin/bash

CARGO    ?= cargo
BERTH    ?= target/debug/berth
INSTANCE ?= demo
MANIFESTS ?= manifests/
POLICY   ?= manifests/policy.yaml
SESSIONS ?= manifests/sessions
SCHEMA   ?= schemas/berth-v1.json
# The integration tests that also run against Podman (make test-podman): everything that
# does not need Docker-only tooling (docker events filters, the Docker socket path), nor the
# tests that start a socket proxy in front of Docker's socket. Health checks run there too:
# berth drives them on Podman (docs/proxy.md).
PODMAN_TESTS ?= podman:: apply:: safety:: ports:: policy::apply_and_diff policy::run_holds \
	run::files run::a_killed run::a_session run::an_agent_declared run::an_invalid_file \
	run::kill_9 run::sigterm run::an_unhealthy logs:: exec::exec_passes exec::exec_without exec::exec_it
PODMAN_SKIP  ?=

.PHONY: help build images image engine tools test test-proxy test-podman demo demo-down schema fmt lint clean \
	bench bench-quick fuzz fuzz-smoke man

help: ## List the targets
	@echo "Usage: make <target> [BERTH=$(BERTH)] [INSTANCE=$(INSTANCE)]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

build: ## Build the berth binary (debug)
	$(CARGO) build

engine: ## Make sure a Docker engine answers (starts dockerd as root if needed)
	bash scripts/ensure-engine.sh

images: ## Build the local test images berth-runtime:1 and :2 (no registry needed)
	bash scripts/build-images.sh

image: engine images ## Build the images berth:latest (release binary) and berth-socket-proxy:latest (no registry)
	bash scripts/build-berth-image.sh

tools: ## Install haproxy, GNU time, groff, systemd-analyze, caddy, nginx, chromium and Compose v2 if missing
	bash scripts/ensure-tools.sh

# The service tests (tests/it/service/) need the images: `make test` packages the debug
# build it makes anyway (same script and layout as `make image`, no release build in CI).
test: engine images tools ## fmt, clippy -D warnings, cargo test, the suite through the socket proxy, and on Podman
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	bash scripts/build-berth-image.sh --profile debug
	@# docs/proxy.md runs `berth doctor` on Podman: the docs test needs it installed.
	bash scripts/ensure-tools.sh podman catatonit
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory test-proxy
	$(MAKE) --no-print-directory test-podman

# The service tests start their own proxies: they run once, in `cargo test`.
test-proxy: engine images tools ## The integration suite again, every berth call through the socket proxy (minimal flags)
	bash scripts/with-socket-proxy.sh $(CARGO) test --test it -- --skip service:: --skip docs::

test-podman: engine images ## A subset of the integration suite against `podman system service` (installs podman)
	bash scripts/ensure-tools.sh podman catatonit
	bash scripts/with-podman.sh $(CARGO) test --test it -- --include-ignored $(PODMAN_TESTS) $(PODMAN_SKIP)

# SKIP_BUILD=1: use the berth already built (the docs test sets it, so that it never relinks
# the binary other tests are running).
demo: engine images $(if $(SKIP_BUILD),,build) ## Apply the reference tree manifests/ as instance INSTANCE (default demo), show it
	$(BERTH) validate --policy $(POLICY) --sessions $(SESSIONS) $(MANIFESTS)
	$(BERTH) apply --instance $(INSTANCE) --policy $(POLICY) --sessions $(SESSIONS) --wait --timeout 60s $(MANIFESTS)
	$(BERTH) get --instance $(INSTANCE) -o wide
	@echo
	@echo "Edit a file in $(MANIFESTS) and run: $(BERTH) diff --instance $(INSTANCE) --policy $(POLICY) --sessions $(SESSIONS) $(MANIFESTS)"
	@echo "Remove everything: make demo-down"

demo-down: ## Remove everything the demo instance created
	$(BERTH) down --instance $(INSTANCE) --volumes

# The benchmarks (issue 6): release builds on the real engine, against the floor (a bare
# bollard loop) and Docker Compose v2 from a venv that bench/setup.sh prepares. Not part of
# `make test`. Extra flags for berth-bench go in ARGS, e.g. ARGS="--only cold".
BENCH_QUICK_DIR ?= target/bench-quick

bench: engine images ## Benchmarks on the real engine (~25 min, quiet machine): docs/benchmarks.md + .png, bench/results.json
	$(CARGO) build --release -p berth -p berth-bench
	compose=$$(bash bench/setup.sh) && target/release/berth-bench --compose "$$compose" \
		--out docs/benchmarks.md --plot docs/benchmarks.png --json bench/results.json $(ARGS)

bench-quick: engine images ## Smoke run of the benchmarks (small N, 1 repetition): writes under target/bench-quick/
	$(CARGO) build --release -p berth -p berth-bench
	compose=$$(bash bench/setup.sh) && target/release/berth-bench --quick --compose "$$compose" \
		--out $(BENCH_QUICK_DIR)/benchmarks.md --plot $(BENCH_QUICK_DIR)/benchmarks.png \
		--json $(BENCH_QUICK_DIR)/results.json $(ARGS)

fuzz-smoke: ## The manifest fuzz target, 20 000 inputs (part of make test)
	$(CARGO) run --quiet -p berth-fuzz -- --inputs 20000

fuzz: ## The manifest fuzz target, a million inputs (release build; ARGS="--seed 7" for another run)
	$(CARGO) run --release --quiet -p berth-fuzz -- --inputs 1000000 $(ARGS)

schema: ## Regenerate the JSON schema in schemas/berth-v1.json
	@mkdir -p $(dir $(SCHEMA))
	$(CARGO) run --quiet -- schema > $(SCHEMA).tmp
	mv $(SCHEMA).tmp $(SCHEMA)

man: ## Write the man pages (berth.1 and one per command, berth-logs.1 ...) into target/man/
	$(CARGO) run --quiet -- man --dir target/man
	@echo "read one with: man -l target/man/berth.1"

fmt: ## Format the code (cargo fmt)
	$(CARGO) fmt --all

lint: ## Run clippy on all targets, warnings are errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean: ## Remove build output (cargo clean)
	$(CARGO) clean
	rm -f $(SCHEMA).tmp
