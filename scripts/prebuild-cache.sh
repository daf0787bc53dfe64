#!/usr/bin/env bash
# Keeps the better-sqlite3 binary that an install compiled, for the next install on the same Node
# ABI, platform and version: prebuild-install (better-sqlite3's install script) looks in the folder
# named by npm_config_better_sqlite3_local_prebuilds before it downloads or compiles, and finds it
# there under the name it would download. CI sets that variable; SQLite's one C file then compiles
# once per Node line and better-sqlite3 version instead of in every npm ci. Remove the folder to
# compile again. Usage: prebuild-cache.sh save <project dir>, with the Node that built it on PATH.
set -euo pipefail
[ "${1:-}" = save ] || { echo "usage: prebuild-cache.sh save <project dir>" >&2; exit 2; }
cache="${npm_config_better_sqlite3_local_prebuilds:?set npm_config_better_sqlite3_local_prebuilds}"
pkg="${2:?usage: prebuild-cache.sh save <project dir>}/node_modules/better-sqlite3"
binary="$pkg/build/Release/better_sqlite3.node"
[ -f "$binary" ] || { echo "prebuild-cache: no $binary" >&2; exit 1; }
# The name prebuild-install asks for: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz
name="$(node -p '`better-sqlite3-v${require(process.argv[1]).version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`' "$pkg/package.json")"
if [ -f "$cache/$name" ]; then echo "prebuild-cache: $name is kept already"; exit 0; fi
# It must load on this Node before it is kept.
node -e 'require(process.argv[1])' "$binary" || { echo "prebuild-cache: $binary does not load on $(node --version)" >&2; exit 1; }
mkdir -p "$cache" && chmod 0700 "$cache"
tmp="$(mktemp "$cache/.partial.XXXXXX")"
tar -czf "$tmp" -C "$pkg" build/Release/better_sqlite3.node && mv "$tmp" "$cache/$name"
echo "prebuild-cache: kept $name ($(du -k "$cache/$name" | cut -f1) KiB)"
