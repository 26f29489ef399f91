# Chorus — build, test and benchmark entry points. Everything a fresh machine needs
# (Go tools at pinned versions) is installed by these targets themselves.

SHELL := /bin/bash
GO ?= go
export GOFLAGS := -tags=gowaku_no_rln
export CGO_ENABLED := 1

STATICCHECK_VERSION := v0.8.2
PROTOC_GEN_GO_VERSION := v1.36.12
TOOLS := $(CURDIR)/bin

BENCHTIME ?= 1s
SCALE_FLAGS ?=
TEST_TIMEOUT ?= 50m

.PHONY: all test test-serial vet race property test-rln demo-rln jsdeps vectors vectors-check conformance examples fuzz-smoke bench demo proto lint tools \
	bindings-lib bindings-test bindings-c-test bindings-rust-test bindings-nim-test bindings-package bindings-bench

all: test

## test: vet, the race tests, the C, Rust and Nim bindings (bindings-test), then conformance
## vectors, the status-go sample, the examples and a fuzz smoke of every target side by side
## (scripts/test.sh times each phase)
test:
	@MAKE="$(MAKE)" scripts/test.sh
	@echo "make test: all checks passed"

## test-serial: the same phases one after another
test-serial:
	@MAKE="$(MAKE)" TEST_SERIAL=1 scripts/test.sh
	@echo "make test: all checks passed"

vet:
	$(GO) vet ./...

race: jsdeps
	CHORUS_EPOCHS_SEEDS=20 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## property: the key-schedule v2 property test over all 200 seeds (10 % drop, duplicate,
## reorder), without the race detector (the race phase runs 20 of them); and the frame
## scratch allocation check, which sync.Pool makes nondeterministic under the race detector
property:
	$(GO) test -count=1 -timeout 20m -run '^(TestEpochsProperty|TestKeyEventReceiveFrameReused)$$' ./protocol/

## test-rln: the RLN tests (TestRLN*) built without -tags gowaku_no_rln, on real
## RLN-enabled go-waku nodes on loopback (zerokit, one message per second per node); one
## package at a time and without the race detector (zerokit's set-up and proofs are
## CPU-bound: under -race they outlast the one-second epoch); the quota logic itself runs
## under -race in the race phase (transport/memory, TestQuota*)
test-rln:
	GOFLAGS= $(GO) test -p 1 -count=1 -timeout 10m -run 'RLN' ./transport/waku/ ./protocol/ ./cmd/chorus/

## jsdeps: js-waku's @waku/message-hash (pinned by package-lock.json), which the
## transport/waku tests run under node to cross-check message hashes; needs node and npm
jsdeps:
	@cd transport/waku/testdata/jshash && npm ci --no-audit --no-fund --silent

## vectors: regenerate spec/vectors/*.json from the generators in spec/gen/*
vectors:
	@scripts/vectors.sh generate spec/vectors

## vectors-check: regenerate into a temp dir and fail if the committed vectors differ
vectors-check:
	@scripts/vectors.sh check spec/vectors

## conformance: the Status membership sample under the status rules
conformance:
	$(GO) run ./cmd/chorus conformance status-membership spec/status-membership

fuzz-smoke:
	@scripts/fuzz-smoke.sh

## examples: build, vet and run every examples/* module (each its own go.mod with a replace
## to this checkout: proof that the documented embedding works from a fresh module)
examples:
	@set -e; for d in examples/*/; do \
		echo "examples: $$d"; \
		(cd $$d && $(GO) vet . && $(GO) run .); \
	done

## bench: every benchmark as readable tables with the primitive floor ratios
## (SCALE_FLAGS=-large adds N=1000 to the scale simulation)
bench:
	@$(GO) run ./cmd/benchtab -benchtime $(BENCHTIME) ./...
	@echo
	@echo "## Scale simulation (package sim; chorus bench scale)"
	@$(GO) run ./cmd/chorus bench scale $(SCALE_FLAGS)

## demo: the end-to-end scenario on an embedded Waku network
demo:
	$(GO) run ./cmd/chorus demo

## demo-rln: the RLN scenario (quota, a queued burst, a publish without proof) on
## RLN-enabled go-waku nodes; built without -tags gowaku_no_rln
demo-rln:
	GOFLAGS= $(GO) run ./cmd/chorus demo-rln

## proto: regenerate committed protobuf code with pinned protoc and protoc-gen-go
proto:
	@PROTOC_GEN_GO_VERSION=$(PROTOC_GEN_GO_VERSION) TOOLS=$(TOOLS) scripts/proto.sh

## lint: gofmt, go vet and staticcheck (pinned)
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go' ':!third_party/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(TOOLS)/staticcheck ./...

## ---- bindings (bindings/c, bindings/rust, bindings/nim) ----
## The Go library is built once (bindings-lib) and shared by the C, Rust and Nim tests.
BINDINGS_BUILD := $(CURDIR)/build/bindings
BINDINGS_LIB := $(BINDINGS_BUILD)/libchorus.a
BINDINGS_LDLIBS := -lpthread -ldl -lm -lresolv
CARGO ?= cargo
CC ?= cc
NIM ?= nim
BINDINGS_CARGO := cd bindings/rust && CHORUS_LIB_DIR=$(BINDINGS_BUILD) CARGO_TARGET_DIR=$(BINDINGS_BUILD)/cargo

## bindings-lib: the C ABI as a static library, build/bindings/libchorus.a
bindings-lib:
	@mkdir -p $(BINDINGS_BUILD)
	@t0=$$(date +%s); $(GO) build -buildmode=c-archive -o $(BINDINGS_LIB) ./bindings/c; \
	echo "bindings-lib: libchorus.a built in $$(( $$(date +%s) - t0 )) s"

## bindings-test: the C lifecycle test under AddressSanitizer (leaks fail it), the Rust crates'
## tests (go-waku and in-memory), the Nim smoke test, and the crates' packaging
bindings-test: bindings-c-test bindings-rust-test bindings-nim-test bindings-package

bindings-c-test: bindings-lib
	$(CC) -std=c99 -Wall -Werror -D_POSIX_C_SOURCE=200809L -fsanitize=address -fno-omit-frame-pointer -g \
		-Ibindings/c -o $(BINDINGS_BUILD)/c_lifecycle bindings/c/test/lifecycle.c $(BINDINGS_LIB) $(BINDINGS_LDLIBS)
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 $(BINDINGS_BUILD)/c_lifecycle "$$d"

bindings-rust-test: bindings-lib
	$(BINDINGS_CARGO) $(CARGO) test --offline --workspace

bindings-nim-test: bindings-lib
	@scripts/install-nim.sh
	$(NIM) c --hints:off --verbosity:0 --nimcache:$(BINDINGS_BUILD)/nimcache --passL:$(BINDINGS_LIB) \
		--passL:"$(BINDINGS_LDLIBS)" -o:$(BINDINGS_BUILD)/nim_smoke bindings/nim/smoke.nim
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; $(BINDINGS_BUILD)/nim_smoke "$$d"

## bindings-package: both crates pass cargo package, verified (packaged crates build against
## the shared library; no registry needed)
bindings-package: bindings-lib
	$(BINDINGS_CARGO) $(CARGO) package --offline --allow-dirty --workspace

## bindings-bench: the cost of a send and of a received event through the C ABI from Rust,
## next to the same calls made in Go in the same process (library built with the chorus_bench
## tag); then the Go benchmarks of the same calls in a Go process
bindings-bench:
	@mkdir -p $(BINDINGS_BUILD)/bench
	$(GO) build -tags gowaku_no_rln,chorus_bench -buildmode=c-archive -o $(BINDINGS_BUILD)/bench/libchorus.a ./bindings/c
	cd bindings/rust && CHORUS_LIB_DIR=$(BINDINGS_BUILD)/bench CARGO_TARGET_DIR=$(BINDINGS_BUILD)/cargo-bench \
		$(CARGO) bench --offline -p chorus --bench boundary
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./bindings/c
