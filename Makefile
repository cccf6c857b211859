# Tests run against real services on 127.0.0.1 (PostgreSQL 15 and DynamoDB
# Local), started and stopped by scripts/services.sh.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Packages for `make test`, e.g. make test PKGS=./internal/testenv/...
PKGS ?= ./...

.PHONY: help test services-up services-down services-env services-status demo bench

help:
	@echo "make test            start services, go test $(PKGS), stop services (exit code of go test)"
	@echo "                     knobs: PKGS=..., GOTEST_FLAGS='-run X -v', GOTEST_P=2, GOTEST_TIMEOUT=40m, KEEP_SERVICES=1"
	@echo "make services-up     start PostgreSQL 15 + DynamoDB Local on loopback, write .run/env"
	@echo "make services-down   stop them (idempotent)"
	@echo "make services-env    print .run/env (then: . .run/env)"
	@echo "make demo            scripts/demo.sh"
	@echo "make bench           scripts/bench.sh"

test:
	scripts/test.sh $(PKGS)

services-up:
	scripts/services.sh up

services-down:
	scripts/services.sh down

services-env:
	@scripts/services.sh env

services-status:
	@scripts/services.sh status

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh
