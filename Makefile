# meshproxy — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM ?= npm
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false

.PHONY: help deps build gen typecheck test test-unit run bench-tcp clean system-deps

help:
	@echo "make run        install, build and start the proxy on the embedded demo config"
	@echo "make test       install, build and run every test"
	@echo "make build      generate the proto root and compile TypeScript to dist/"
	@echo "make bench-tcp  TCP throughput side by side with nginx (stream) using iperf3"

node_modules/.installed: package.json package-lock.json
	# npm ci refuses this lockfile: the registry reachable here lacks the other platforms' optional
	# binaries (darwin, win32 builds of buf and swc), so the lockfile cannot list them. npm install
	# honours the lockfile for everything it does list.
	$(NPM) install --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

build/proto-root.json: node_modules/.installed scripts/gen-protos.mjs buf.yaml $(shell find proto -name '*.proto')
	node scripts/gen-protos.mjs

gen: build/proto-root.json

build: gen
	npx tsc -p tsconfig.build.json
	@chmod +x bin/*

typecheck: gen
	npx tsc -p tsconfig.json --noEmit

# Tools the tests drive as real peers (curl, openssl, iproute2/iptables for network namespaces).
# Installed only when missing, and only when we may (root); otherwise those tests skip with a reason.
system-deps:
	@bash scripts/system-deps.sh test

test: build typecheck
	@$(MAKE) --no-print-directory system-deps
	@rc=0; npx jest --ci --json --outputFile=build/jest-results.json || rc=$$?; node scripts/test-summary.mjs build/jest-results.json; exit $$rc

test-unit: build
	npx jest --ci src

run: build
	node scripts/demo.mjs

bench-tcp: build
	bash bench/tcp-vs-nginx.sh

clean:
	rm -rf dist build
