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
# ST1005 (error string style) is off: the simulator reproduces Proxmox's own
# error texts, capitals and full stops included.
STATICCHECK_CHECKS  ?= inherit,-ST1005
DEADCODE_VERSION    ?= v0.52.0
MODULE              := github.com/pvemcp/pvemcp
# What `deadcode ./...` (reachability from the binary) may list, with why:
# - internal/redistest, internal/simtest: test-support packages; only tests
#   import them, so nothing in the binary reaches them.
# - guard.WithClock, guard.WithReplica: NewStore options the tests of tools
#   and cmd/pvemcp pass (a clock to expire plans, names for replicas run in
#   one process); a guard _test.go file cannot serve other packages' tests.
# - harness.Local and its methods: the harness package's documented
#   controller over an in-process simulator, for Go harnesses that import
#   it (the eval suite does); the binary drives a simulator's control plane.
# - mcpserver.Server.MCP: hands the SDK's server to in-process MCP clients
#   in the tests of other packages (tools, resources, cmd/pvemcp), which may
#   not import the SDK's server side themselves (TestMCPSDKBehindOneDoor).
# Anything else only tests call is dead in production: delete it, or move it
# to a _test.go file of its package.
DEADCODE_ALLOW      := internal/redistest.* internal/simtest.* guard.WithClock guard.WithReplica \
                       proxmox/pvesim/harness.Local proxmox/pvesim/harness.local.* \
                       mcpserver.Server.MCP

# Go files of the project (the caches hold none of ours).
GOFILES    = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './.git/*' -not -path '*/node_modules/*')
# Puts Node.js 22 first on PATH, installing it and the e2e packages on first use.
WITH_NODE  = node_bin=$$(bash e2e/install.sh | tail -n 1); export PATH="$$node_bin:$$PATH";

.PHONY: apidata help build test gotest fmt-check vet fuzz e2e e2e-deps lint staticcheck deadcode tidy-check demo sim bench snapshots dashboards mutate clean distclean

help: ## list the targets
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

build: ## build bin/pvemcp (version stamped from git)
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

test: lint gotest fuzz e2e ## everything CI runs: the lint checks, go test -race, short fuzz runs, real-client e2e
	@echo "make test: all checks passed"

fmt-check: ## fail if any Go file is not gofmt-clean
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet ./...
	$(GO) vet ./...

gotest: ## go test -race -shuffle=on ./... (tests pass in any order)
	$(GO) test -race -shuffle=on ./...

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
	@$(WITH_NODE) node --test --test-reporter=spec --test-timeout=300000 e2e/*.test.mjs

lint: fmt-check vet staticcheck deadcode tidy-check ## gofmt, go vet, staticcheck, deadcode, go mod tidy -diff

staticcheck: ## staticcheck (fetched from the Go module proxy at a pinned version)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -checks=$(STATICCHECK_CHECKS) ./...

# deadcode (golang.org/x/tools, pinned) runs twice. With -test, from the
# binary and every test: nothing may be unreachable, test support included.
# Without, from the binary alone: only what DEADCODE_ALLOW names may be.
deadcode: ## fail on functions nothing calls (deadcode, at a pinned version)
	@set -f; dc="$(GO) run golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)"; \
	out=$$($$dc -test ./...); \
	if [ -n "$$out" ]; then printf 'deadcode -test: unreachable from the binary and every test:\n%s\n' "$$out"; exit 1; fi; \
	out=$$($$dc -f '{{range .Funcs}}{{$$.Path}}.{{.Name}} {{.Position}}{{"\n"}}{{end}}' ./...); \
	bad=$$(while read -r fn pos; do \
	  [ -n "$$fn" ] || continue; fn=$${fn#$(MODULE)/}; \
	  for a in $(DEADCODE_ALLOW); do case $$fn in $$a) continue 2;; esac; done; \
	  echo "$$pos: $$fn"; \
	done <<<"$$out"); \
	if [ -n "$$bad" ]; then printf 'deadcode: unreachable from the binary (delete it, or move what only tests use to a _test.go file):\n%s\n' "$$bad"; exit 1; fi; \
	echo "deadcode: nothing unreachable but test support"

tidy-check: ## fail when go.mod or go.sum differ from what go mod tidy writes
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# Answers to the product description's example questions, from the embedded
# demo cluster, with no MCP client and no Proxmox needed (a question whose tool
# does not exist yet is skipped), shown as text (tables, key: value lines;
# pvemcp call --format json gives the structured result).

demo: build ## show pvemcp answering questions about the embedded demo cluster
	@tools=$$($(BIN) tools --demo --log-level warn | awk 'NR > 1 {print $$1}'); \
	show() { local q=$$1 tool=$$2 args=$${3:-}; \
	  grep -qx "$$tool" <<<"$$tools" || return 0; \
	  printf '\n=== "%s"\n$$ pvemcp call --demo --format text %s%s\n' "$$q" "$$tool" "$${args:+ '$$args'}"; \
	  $(BIN) call --demo --format text "$$tool" $${args:+"$$args"}; }; \
	show "show me all running VMs on pve-node01" list_guests '{"node":"pve-node01","type":"qemu","status":"running"}'; \
	show "list all containers across the cluster with their resource usage" list_guests '{"type":"lxc"}'; \
	show "how are my nodes doing on resources?" cluster_overview; \
	show "check ZFS health on all nodes" zfs_health; \
	show "what's the cluster HA status?" ha_status; \
	show "did all backups complete successfully this week?" backup_status '{"days":7}'; \
	show "analyze cluster capacity and suggest rebalancing" capacity_report; \
	show "create a new Ubuntu 22.04 VM on pve-node02, 4 cores, 8GB RAM, 80GB disk (a plan: nothing runs until confirm_plan)" \
	  create_vm '{"node":"pve-node02","name":"ubuntu-2204-new","template":"ubuntu-22.04-cloud","cores":4,"memory_gib":8,"disk_gib":80}'; \
	printf '\nEvery answer above came from live API calls to the demo cluster (see "sources").\n'; \
	printf 'All tools: %s tools --demo\n\n' "$(BIN)"; \
	printf 'Connect Claude Desktop: add this to claude_desktop_config.json and restart it\n'; \
	printf '  {"mcpServers": {"pvemcp": {"command": "%s", "args": ["serve", "--demo"]}}}\n' "$(abspath $(BIN))"; \
	printf 'Claude Code: claude mcp add pvemcp -- %s serve --demo\n' "$(abspath $(BIN))"

sim: build ## run the Proxmox VE API simulator with the demo scenario (prints PROXMOX_VE_* to use)
	$(BIN) sim

# The whole-process figure is printed even when a Go benchmark fails.
bench: build ## Go benchmarks (short) and whole-process figures
	@status=0; \
	PVEMCP_BIN="$(abspath $(BIN))" $(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./... || status=$$?; \
	$(WITH_NODE) node e2e/coldstart.mjs 20; \
	exit $$status

# Not part of `make test`: applies each mutation of internal/mutate to a copy
# of the repository and fails when the tests let one through (minutes).
mutate: ## mutation check before a release: do the tests catch broken logic?
	$(GO) run ./internal/mutate

snapshots: ## regenerate the tools/list golden snapshots after an intended change
	UPDATE_SNAPSHOTS=1 $(GO) test ./schemas/... ./...

DASHBOARDS_DIR ?= dashboards
dashboards: ## render the MCP Apps views in headless Chromium from the demo; PNGs (light, dark, narrow) to DASHBOARDS_DIR
	DASHBOARDS_DIR="$(abspath $(DASHBOARDS_DIR))" $(GO) test -count=1 -run 'TestViewsInBrowser' ./resources/viewtest/
	@ls -1 "$(DASHBOARDS_DIR)"/*.png

clean: ## remove build output
	rm -rf bin

distclean: clean ## also remove the installed Node.js and npm packages (.cache/)
	rm -rf .cache e2e/node_modules

apidata: ## refresh the official API schema test data: make apidata FROM=path/to/apidata.json
	@test -n "$(FROM)" || { echo "usage: make apidata FROM=path/to/apidata.json"; exit 2; }
	@python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$(FROM)" 2>/dev/null || jq empty "$(FROM)"
	gzip -9 -n -c "$(FROM)" > proxmox/pvesim/testdata/apidata.json.gz
	@echo "sha256 of the JSON: $$(sha256sum "$(FROM)" | cut -d' ' -f1) (update proxmox/pvesim/testdata/README.md)"
