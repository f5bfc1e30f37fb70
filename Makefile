# gophone: `make run` starts the daemon, `make test` runs every check.

GO ?= go
BIN ?= bin/gophone

.PHONY: run build build-malgo test bench

run:
	$(GO) run ./cmd/gophone serve

build:
	$(GO) build -o $(BIN) ./cmd/gophone

# build-malgo builds with sound cards (card:NAME devices; cgo, miniaudio).
build-malgo:
	CGO_ENABLED=1 $(GO) build -tags malgo -o $(BIN) ./cmd/gophone

test:
	bash scripts/test.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
