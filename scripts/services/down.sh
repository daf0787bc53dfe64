#!/usr/bin/env bash
# Stops the engines started by up.sh. Data stays in .services/ unless --purge is given.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${CHAT_SERVICES_DIR:-$ROOT/.services}
stop() {
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    echo "services: stopped $2" >&2
  fi
  rm -f "$1"
}
stop "$STATE/opensearch/opensearch.pid" opensearch
stop "$STATE/kafka/kafka.pid" kafka
stop "$STATE/ferretdb/ferretdb.pid" ferretdb
stop "$STATE/ferretdb/ferretdb-auth.pid" ferretdb-auth
stop "$STATE/redis/redis.pid" redis
PDIR=$(cat "$STATE/postgres.dir" 2>/dev/null || echo "$STATE/postgres")
if [ -f "$PDIR/data/postmaster.pid" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
  as_pg "$PG_BIN/pg_ctl" -D "$PDIR/data" -m fast -w stop >/dev/null 2>&1 && echo "services: stopped postgresql" >&2
fi
if [ "${1:-}" = "--purge" ]; then
  case "$PDIR" in /var/tmp/chat-services-postgres-*) rm -rf "$PDIR" ;; esac
  rm -rf "$STATE"; echo "services: purged $STATE" >&2
fi
