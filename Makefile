# Stele build, test, benchmark, fuzz and demo targets.
# Everything runs with the Go toolchain alone; see README.md.

GO        ?= go
BIN       := bin
GOFLAGS_BUILD := -trimpath -ldflags='-s -w -buildid='
FUZZTIME  ?= 10s
BENCHCOUNT ?= 5

.PHONY: all build test bench fuzz demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/supervisor ./supervisor
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/store ./store

# The README's test command: formatting, vet, and every test with the race detector.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -timeout 25m ./...

# Benchmarks: every Benchmark in the module, several runs each so medians can be taken
# (pipe the output to benchstat). BENCH=regexp narrows them. Benchmarks that run whole
# programs take longer than the default benchtime once, so they run once per count.
BENCH ?= .
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -count $(BENCHCOUNT) -timeout 60m ./...

# Runs every fuzz target of every package for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

demo: build
	./testdata/demo.sh

clean:
	rm -rf $(BIN)
