# tapagent — see README.md. `make help` lists the targets.
GO       ?= go
BIN      ?= bin
RUN_DIR  ?= run
FUZZTIME ?= 30s
# Debian packages the tests need (the test bed, capture checks, netns tests).
TEST_DEBS := snmpd snmp smitools snmptrapd tshark iproute2 nftables netsniff-ng
# Packages measured with -race on top of the plain run (race doubles time).
RACE_PKGS := $(foreach d,agent intercept portsec,$(if $(wildcard $(d)/*.go $(d)/*/*.go),./$(d)/...))
# Benchmarks: packages, and programs that print comparison figures
# (the lead adds them, e.g. BENCH_PROGRAMS += ./cmd/benchfig).
# BENCH_FIGURES are the end-to-end figures (private snmpd, fixed workloads,
# each run once with -benchtime=1x, then one table); the micro-benchmark run
# over BENCH_PKGS leaves them out. BENCH_ARGS tune them, e.g. "-taps 200".
BENCH_PKGS     ?= ./...
BENCH_FIGURES  ?= ./bench
BENCH_ARGS     ?=
BENCH_PROGRAMS ?=
HAVE_CMDS := $(wildcard cmd/*/*.go)

.PHONY: help build deps run stop test vet race bench fuzz lint clean

help:
	@echo "build  go build ./cmd/... into $(BIN)/"
	@echo "deps   install missing Debian packages: $(TEST_DEBS)"
	@echo "run    deps + build, then start snmpd + tapagent in $(RUN_DIR)/ (scripts/run.sh)"
	@echo "stop   stop what run started"
	@echo "test   deps + go vet + go test ./... (+ -race on $(or $(RACE_PKGS),nothing yet))"
	@echo "bench  benchmarks with -benchmem, then BENCH_PROGRAMS"
	@echo "fuzz   $(FUZZTIME) of FuzzDecode in agent/agentx"
	@echo "lint   gofmt check + go vet"

build:
ifneq ($(HAVE_CMDS),)
	$(GO) build -o $(BIN)/ ./cmd/...
else
	@echo "build: no commands under cmd/ yet"
endif

deps:
	@scripts/deps.sh $(TEST_DEBS)

run: deps build
	RUN_DIR=$(RUN_DIR) BIN_DIR=$(BIN) SKIP_DEPS=1 SKIP_BUILD=1 scripts/run.sh

stop:
	@scripts/stop.sh $(RUN_DIR)

vet:
	$(GO) vet ./...

# -count=1: tests start binaries built outside the go test cache's view.
test: deps vet
	$(GO) test -count=1 -timeout 12m ./...
ifneq ($(RACE_PKGS),)
	$(GO) test -count=1 -race -timeout 12m $(RACE_PKGS)
endif

race:
	$(GO) test -count=1 -race -timeout 20m ./...

bench: deps
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 $$($(GO) list $(BENCH_PKGS) | grep -v '^tapagent/bench\(/\|$$\)')
	$(GO) test -run='^$$' -bench=. -benchtime=1x -count=1 -timeout=10m $(BENCH_FIGURES) $(if $(BENCH_ARGS),-args $(BENCH_ARGS))
	@for p in $(BENCH_PROGRAMS); do echo "== $$p"; $(GO) run $$p || exit 1; done

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./agent/agentx

lint: vet
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './$(BIN)/*' -not -path './$(RUN_DIR)/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean: stop
	rm -rf $(BIN) $(RUN_DIR)
