#!/usr/bin/env bash
# Installs the package as its users do and uses it: packs the tarball, checks what it ships,
# installs it globally into a temporary prefix (from the registry, with the shrinkwrap's tree),
# then runs chatd from that install and registers, befriends, sends and reads history with its chat.
# Nothing from the checkout is on PATH or in NODE_PATH; the daemon and CLI are the installed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/chat-pack.XXXXXX)"
chatd_pid=""
cleanup() {
  [ -n "$chatd_pid" ] && kill "$chatd_pid" 2>/dev/null && wait "$chatd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "pack-install: $*" >&2; [ -f "$work/chatd.log" ] && tail -20 "$work/chatd.log" >&2; exit 1; }

echo "-- npm pack"
tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
tarball="$work/$tarball"
listing="$(tar -tzf "$tarball")"
for f in package/package.json package/npm-shrinkwrap.json package/LICENSE package/README.md package/bin/chat.js package/bin/chatd.js package/dist/daemon/main.js package/docker-compose.yml package/Dockerfile package/.dockerignore; do
  grep -qx "$f" <<<"$listing" || fail "the tarball lacks $f"
done
if grep -E '^package/(src|test|bench|\.ci|scripts/services)/' <<<"$listing" | head -1 | grep -q .; then fail "the tarball ships the sources or tests"; fi
# Source maps carry their sources (inlineSources): none points at a file the tarball lacks.
mkdir -p "$work/unpacked" && tar -xzf "$tarball" -C "$work/unpacked"
node -e '
  const fs = require("node:fs"), path = require("node:path");
  let maps = 0, bad = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (p.endsWith(".map")) { maps++; const m = JSON.parse(fs.readFileSync(p, "utf8")); if (!m.sourcesContent || m.sourcesContent.length !== m.sources.length || m.sourcesContent.some((c) => typeof c !== "string")) bad.push(p); } } };
  walk(process.argv[1]);
  console.log(`${maps} source maps, ${bad.length} without their sources`);
  if (bad.length) { console.error(bad.slice(0, 5).join("\n")); process.exit(1); }
' "$work/unpacked/package/dist" || fail "source maps without their sources"
echo "$(wc -l <<<"$listing") files, $(du -k "$tarball" | cut -f1) KiB: $(basename "$tarball")"

echo "-- npm install -g (prefix $work/prefix)"
prefix="$work/prefix"
# The two native dependencies build in their install scripts, which npm asks to allow.
# The others npm lists (@google/genai's preinstall echoes "no-op"; protobufjs's postinstall warns
# about version schemes) are not needed: the install below runs without them, and works.
install_start=$(date +%s%N)
npm install -g --prefix "$prefix" --no-audit --no-fund --allow-scripts=argon2,better-sqlite3 "$tarball" >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; fail "global install failed"; }
install_ms=$(( ($(date +%s%N) - install_start) / 1000000 ))
pkg_dir="$prefix/lib/node_modules/chatd"
echo "installed in ${install_ms} ms: $(du -sk "$pkg_dir" | cut -f1) KiB on disk ($(du -sk "$pkg_dir/dist" | cut -f1) KiB of it chatd's own dist/), $(find "$pkg_dir/node_modules" -name package.json -path '*/node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/node_modules/*' | wc -l) packages"
grep -E "install scripts|allow-scripts|not covered" "$work/install.log" | head -5 || true
# Node 20 needs light-my-request (fastify's) on cookie 1.x: cookie 2 requires Node 22. The direct
# dependency pins it, which holds even where npm ignores the shrinkwrap (a local tarball, npm/cli#5325).
cookie="$(cd "$prefix/lib/node_modules/chatd" && node -p 'const lmr = require.resolve("light-my-request/package.json"); require(require.resolve("cookie/package.json", { paths: [require("node:path").dirname(lmr)] })).version')"
echo "installed: $(ls "$prefix/bin" | tr '\n' ' ')(light-my-request's cookie $cookie)"
case "$cookie" in 1.*) ;; *) fail "cookie $cookie under light-my-request: needs Node 22" ;; esac

echo "-- chatd start from the install, then chat register / friends / send / history"
export PATH="$prefix/bin:/usr/bin:/bin"
export HOME="$work/home" CHAT_DATA_DIR="$work/data" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$HOME"
cd "$work"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
chatd start --port "$port" >"$work/chatd.log" 2>&1 &
chatd_pid=$!
export CHAT_SERVER="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fs "$CHAT_SERVER/readyz" >/dev/null 2>&1 && break
  kill -0 "$chatd_pid" 2>/dev/null || fail "chatd exited"
  sleep 0.2
done
curl -fs "$CHAT_SERVER/readyz" >/dev/null || fail "chatd not ready"
ALICE="$work/alice" BOB="$work/bob"
echo 'alice-password' | CHAT_CONFIG_DIR=$ALICE chat register alice --password-stdin
echo 'bob-password' | CHAT_CONFIG_DIR=$BOB chat register bob --password-stdin
CHAT_CONFIG_DIR=$ALICE chat friends add bob
CHAT_CONFIG_DIR=$BOB chat friends accept alice
CHAT_CONFIG_DIR=$ALICE chat send bob "hello from the installed package"
history="$(CHAT_CONFIG_DIR=$BOB chat history alice --json)"
echo "$history"
grep -q '"text":"hello from the installed package"' <<<"$history" || fail "history lacks the message"

echo "-- chat infra from the install: it finds its own compose file and build context"
pkg="$prefix/lib/node_modules/chatd"
# Every COPY source of the Dockerfile exists in the installed package, the compose file's build context.
for src in $(awk '/^COPY / && !/--from/ { for (i = 2; i < NF; i++) print $i }' "$pkg/Dockerfile"); do
  [ -e "$pkg/$src" ] || fail "the Dockerfile copies $src, which the installed package lacks"
done
# No Docker here: the installed chat must get as far as looking for it (not "compose file missing").
set +e
infra="$(chat infra up 2>&1)"; infra_code=$?
set -e
echo "chat infra up: exit $infra_code: $infra"
[ "$infra_code" = 1 ] && grep -q 'Docker is not available' <<<"$infra" || fail "chat infra up from the install did not reach the Docker check"

echo "pack-install: ok ($(chat --version), chatd from $prefix/bin)"
