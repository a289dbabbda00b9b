# pvemcp — make targets a newcomer guesses. `make help` lists them.
#
# make test installs what it needs by itself (Node.js 22 and the pinned npm MCP
# clients, into the ignored .cache/ folder) and runs every check CI runs.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/pvemcp
PKG       := ./cmd/pvemcp
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)

FUZZTIME  ?= 10s
BENCHTIME ?= 200ms
STATICCHECK_VERSION ?= v0.8.2

# Go files of the project (the caches hold none of ours).
GOFILES    = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './.git/*' -not -path '*/node_modules/*')
# Puts Node.js 22 first on PATH, installing it and the e2e packages on first use.
WITH_NODE  = node_bin=$$(bash e2e/install.sh | tail -n 1); export PATH="$$node_bin:$$PATH";

.PHONY: help build test gotest fmt-check vet fuzz e2e e2e-deps lint demo sim bench snapshots clean distclean

help: ## list the targets
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

build: ## build bin/pvemcp (version stamped from git)
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

test: fmt-check vet gotest fuzz e2e ## everything CI runs: gofmt, vet, go test -race, short fuzz runs, real-client e2e
	@echo "make test: all checks passed"

fmt-check: ## fail if any Go file is not gofmt-clean
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet ./...
	$(GO) vet ./...

gotest: ## go test -race ./...
	$(GO) test -race ./...

# Every `func FuzzX(` in a _test.go file gets a short run of its own.
fuzz: ## run each Fuzz target for FUZZTIME (default 10s)
	@found=0; \
	while IFS= read -r file; do \
	  dir=$$(dirname "$$file"); \
	  for name in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$$file"); do \
	    found=1; \
	    echo "fuzz $$dir $$name ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$dir"; \
	  done; \
	done < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . --exclude-dir=.cache --exclude-dir=.git --exclude-dir=node_modules | sort); \
	if [ $$found = 0 ]; then echo "fuzz: no Fuzz targets found"; fi

e2e-deps: ## install Node.js 22 and the pinned npm MCP clients into .cache/ (if missing)
	@bash e2e/install.sh >/dev/null

e2e: build ## real MCP clients (official TS client, Inspector CLI, conformance suite) against bin/pvemcp
	@$(WITH_NODE) node --test --test-reporter=spec e2e/*.test.mjs

lint: ## gofmt, go vet, staticcheck
	@$(MAKE) --no-print-directory fmt-check vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# Answers to the product description's example questions, from the embedded
# demo cluster, with no MCP client and no Proxmox needed.
demo: build ## show pvemcp answering questions about the embedded demo cluster
	@show() { local q=$$1; shift; \
	  printf '\n=== "%s"\n$$ pvemcp call --demo %s\n' "$$q" "$$*"; \
	  if command -v jq >/dev/null 2>&1; then $(BIN) call --demo --log-level warn "$$@" | jq .; else $(BIN) call --demo --log-level warn "$$@"; fi; }; \
	show "how are my nodes doing on resources?" cluster_overview; \
	show "show me all running VMs on pve-node01" list_guests '{"node":"pve-node01","type":"qemu","status":"running"}'; \
	show "list all containers across the cluster with their resource usage" list_guests '{"type":"lxc"}'; \
	show "tell me about VM 103" get_guest '{"vmid":103}'; \
	printf '\nEvery answer above came from live API calls to the demo cluster (see "sources").\n'; \
	printf 'All tools: %s tools --demo\n\n' "$(BIN)"; \
	printf 'Connect Claude Desktop: add this to claude_desktop_config.json and restart it\n'; \
	printf '  {"mcpServers": {"pvemcp": {"command": "%s", "args": ["serve", "--demo"]}}}\n' "$(abspath $(BIN))"; \
	printf 'Claude Code: claude mcp add pvemcp -- %s serve --demo\n' "$(abspath $(BIN))"

sim: build ## run the Proxmox VE API simulator with the demo scenario (prints PROXMOX_VE_* to use)
	$(BIN) sim

bench: build ## Go benchmarks (short) and whole-process figures
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...
	@$(WITH_NODE) node e2e/coldstart.mjs 20

snapshots: ## regenerate the tools/list golden snapshots after an intended change
	UPDATE_SNAPSHOTS=1 $(GO) test ./schemas/... ./...

clean: ## remove build output
	rm -rf bin

distclean: clean ## also remove the installed Node.js and npm packages (.cache/)
	rm -rf .cache e2e/node_modules
