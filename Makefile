# gophone: `make run` starts the daemon, `make test` runs every check.

GO ?= go
BIN ?= bin/gophone

.PHONY: run build test bench

run:
	$(GO) run ./cmd/gophone serve

build:
	$(GO) build -o $(BIN) ./cmd/gophone

test:
	bash scripts/test.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
