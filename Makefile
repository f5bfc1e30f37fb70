# gophone: `make run` starts the daemon, `make test` runs every check.

GO ?= go
BIN ?= bin/gophone

.PHONY: run build build-malgo build-opus test bench

run:
	$(GO) run ./cmd/gophone serve

build:
	$(GO) build -o $(BIN) ./cmd/gophone

# build-malgo builds with sound cards (card:NAME devices; cgo, miniaudio).
build-malgo:
	CGO_ENABLED=1 $(GO) build -tags malgo -o $(BIN) ./cmd/gophone

# build-opus builds with the Opus codec (opus/48000/2; cgo, libopus through
# diago's with_opus_c tag: Debian's libopus-dev, libopusfile-dev, pkg-config).
build-opus:
	CGO_ENABLED=1 $(GO) build -tags with_opus_c -o $(BIN) ./cmd/gophone

test:
	bash scripts/test.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
