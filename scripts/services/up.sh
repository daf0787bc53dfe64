#!/usr/bin/env bash
# Starts real engines natively on loopback for chat's service suites, idempotently:
#   Redis (Debian package), Apache Kafka 4.1 in KRaft mode (jars from Maven Central, Java 17),
#   FerretDB 1.24 (MongoDB wire protocol, built from the Go module proxy) on PostgreSQL (Debian
#   package; a cluster of its own in .services/postgres), OpenSearch 2.19 (the integ-test
#   distribution from Maven Central, Java 17, run as a system user of its own: it refuses root).
# Writes their URLs as export lines to .services/env and prints them. Quick when already up.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${CHAT_SERVICES_DIR:-$ROOT/.services}
CACHE=${CHAT_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-services}
REDIS_PORT=${CHAT_REDIS_PORT:-6390}
KAFKA_PORT=${CHAT_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${CHAT_KAFKA_CONTROLLER_PORT:-19093}
# A second client listener that asks for SASL/PLAIN (one user, for the authentication test).
KAFKA_SASL_PORT=${CHAT_KAFKA_SASL_PORT:-19094}
KAFKA_SASL_USER=chat
KAFKA_SASL_PASSWORD=chat-sasl-test-password
FERRETDB_PORT=${CHAT_FERRETDB_PORT:-27027}
# A second FerretDB that asks for a user and password (checked by PostgreSQL, scram-sha-256), for the
# MONGODB_USERNAME/MONGODB_PASSWORD test.
FERRETDB_AUTH_PORT=${CHAT_FERRETDB_AUTH_PORT:-27028}
MONGO_AUTH_USER=chatd_auth
MONGO_AUTH_PASSWORD=chat-mongo-test-password
POSTGRES_PORT=${CHAT_POSTGRES_PORT:-55433}
OPENSEARCH_PORT=${CHAT_OPENSEARCH_PORT:-19200}
OPENSEARCH_TRANSPORT_PORT=${CHAT_OPENSEARCH_TRANSPORT_PORT:-19300}
OPENSEARCH_VERSION=2.19.1
KAFKA_VERSION=4.1.1
FERRETDB_VERSION=v1.24.2
KAFKA_LIBS=$CACHE/kafka-$KAFKA_VERSION
# The wrapper's own source is part of the key: a changed wrapper is rebuilt.
FERRETDB_SRC=$(cat "$ROOT"/scripts/services/ferretdb/{main.go,go.mod,go.sum} | sha256sum | cut -c1-12)
FERRETDB_BIN=$CACHE/ferretdb-$FERRETDB_VERSION-$FERRETDB_SRC/ferretdb
mkdir -p "$STATE" "$CACHE"

log() { echo "services: $*" >&2; }
# Toolchains may live outside a minimal PATH (CI runs with the machine's environment).
for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do [ -x "$d/go" ] && case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac; done
for tool in java mvn go; do command -v "$tool" >/dev/null || { log "$tool is required (Java 17 + Maven for Kafka, Go for FerretDB)"; exit 1; }; done
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds logfile
  local i
  for ((i = 0; i < $3 * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  log "$2 did not open port $1 in $3 s"; [ -f "$4" ] && tail -n 40 "$4" >&2
  return 1
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- Redis -------------------------------------------------------------------
if ! command -v redis-server >/dev/null; then
  log "installing redis-server from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
mkdir -p "$STATE/redis"
if ! port_open "$REDIS_PORT"; then
  log "starting redis on $REDIS_PORT"
  # AOF so the failed-publish store survives a Redis restart; noeviction so its keys are never evicted.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction --dir "$STATE/redis" --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log"
  wait_port "$REDIS_PORT" redis 20 "$STATE/redis/redis.log"
fi

# --- Kafka ---------------------------------------------------------------------
if [ ! -f "$KAFKA_LIBS/.complete" ]; then
  log "resolving Kafka $KAFKA_VERSION from Maven Central"
  rm -rf "$KAFKA_LIBS.tmp"
  mvn -q -B -f "$ROOT/scripts/services/kafka/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies >"$CACHE/mvn.log" \
    -DoutputDirectory="$KAFKA_LIBS.tmp" -DincludeScope=runtime
  rm -rf "$KAFKA_LIBS" && mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS" && touch "$KAFKA_LIBS/.complete"
fi
KDIR=$STATE/kafka
mkdir -p "$KDIR"
if ! port_open "$KAFKA_PORT"; then
  cat > "$KDIR/node.properties" <<PROPS
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
log.dirs=$KDIR/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat > "$KDIR/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    Console: { name: STDOUT, PatternLayout: { Pattern: "[%d] %p %m (%c)%n" } }
  Loggers:
    Root: { level: WARN, AppenderRef: [{ ref: STDOUT }] }
    Logger:
      - { name: kafka.server.KafkaServer, level: INFO }
      - { name: kafka.server.BrokerServer, level: INFO }
YAML
  if [ ! -f "$KDIR/data/meta.properties" ]; then
    CID=$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -Dlog4j2.configurationFile="$KDIR/log4j2.yaml" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format --standalone -t "$CID" -c "$KDIR/node.properties" >"$KDIR/format.log" 2>&1
  fi
  log "starting kafka on $KAFKA_PORT"
  nohup java -Xms512m -Xmx512m -Dlog4j2.configurationFile="$KDIR/log4j2.yaml" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KDIR/node.properties" >"$KDIR/kafka.log" 2>&1 &
  echo $! >"$KDIR/kafka.pid"
  wait_port "$KAFKA_PORT" kafka 90 "$KDIR/kafka.log"
fi

# --- PostgreSQL (FerretDB's backend) ---------------------------------------------
# FerretDB's PostgreSQL backend takes concurrent writes (its SQLite backend has one writer):
# bulk inserts from 2 to 4 writers at once reached 19-25k documents/s here, against 11-13k on SQLite.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PG_BIN" ]; then
  log "installing postgresql from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
# PostgreSQL refuses to run as root: as root, its cluster belongs to the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
PDIR=$STATE/postgres
mkdir -p "$PDIR"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$PDIR"
  # A checkout under a private directory (root's home, say) is out of the postgres user's reach:
  # the cluster then lives in /var/tmp, named after this state directory.
  if ! (cd / && runuser -u postgres -- test -w "$PDIR"); then
    PDIR=/var/tmp/chat-services-postgres-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
    mkdir -p "$PDIR" && chown postgres "$PDIR" && chmod 700 "$PDIR"
  fi
fi
echo "$PDIR" >"$STATE/postgres.dir"
if [ ! -f "$PDIR/data/PG_VERSION" ]; then
  log "creating a PostgreSQL cluster in $PDIR/data"
  # trust: the cluster listens on loopback only, for the tests on this machine.
  as_pg "$PG_BIN/initdb" -D "$PDIR/data" -A trust -U chat >"$PDIR/initdb.log" 2>&1 || { cat "$PDIR/initdb.log" >&2; exit 1; }
fi
if ! port_open "$POSTGRES_PORT"; then
  log "starting postgresql on $POSTGRES_PORT"
  as_pg "$PG_BIN/pg_ctl" -D "$PDIR/data" -l "$PDIR/postgres.log" -w -t 60 \
    -o "-p $POSTGRES_PORT -k $PDIR -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_wal_size=2GB -c max_connections=300" start >/dev/null \
    || { tail -n 40 "$PDIR/postgres.log" >&2; exit 1; }
fi
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U chat -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1 \
  || as_pg "$PG_BIN/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U chat -d postgres -c 'CREATE DATABASE ferretdb'

# The password-checked database: its own role and database, and a pg_hba rule (before the trust
# rules: the first match wins) that asks that role for its password.
HBA="host ferretdb_auth $MONGO_AUTH_USER 127.0.0.1/32 scram-sha-256"
if ! grep -qxF "$HBA" "$PDIR/data/pg_hba.conf"; then
  { echo "$HBA"; cat "$PDIR/data/pg_hba.conf"; } >"$PDIR/pg_hba.new" && cat "$PDIR/pg_hba.new" >"$PDIR/data/pg_hba.conf" && rm -f "$PDIR/pg_hba.new"
  as_pg "$PG_BIN/pg_ctl" -D "$PDIR/data" reload >/dev/null
fi
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U chat -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$MONGO_AUTH_USER'" | grep -q 1 \
  || as_pg "$PG_BIN/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U chat -d postgres -c "SET password_encryption = 'scram-sha-256'; CREATE ROLE $MONGO_AUTH_USER LOGIN PASSWORD '$MONGO_AUTH_PASSWORD'"
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U chat -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb_auth'" | grep -q 1 \
  || as_pg "$PG_BIN/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U chat -d postgres -c "CREATE DATABASE ferretdb_auth OWNER $MONGO_AUTH_USER"

# --- FerretDB ------------------------------------------------------------------
if [ ! -x "$FERRETDB_BIN" ]; then
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$ROOT/scripts/services/ferretdb" && go build -o "$FERRETDB_BIN.tmp" . && mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN")
fi
FDIR=$STATE/ferretdb
mkdir -p "$FDIR"
if ! port_open "$FERRETDB_PORT"; then
  log "starting ferretdb on $FERRETDB_PORT"
  # pool_max_conns: FerretDB 1.x holds a pooled connection per statement of an update command
  # until the command returns (MongoStore sends 16 at a time, one command at a time per process).
  nohup "$FERRETDB_BIN" -listen "127.0.0.1:$FERRETDB_PORT" -postgresql "postgres://chat@127.0.0.1:$POSTGRES_PORT/ferretdb?pool_max_conns=200" >"$FDIR/ferretdb.log" 2>&1 &
  echo $! >"$FDIR/ferretdb.pid"
  wait_port "$FERRETDB_PORT" ferretdb 30 "$FDIR/ferretdb.log"
fi
if ! port_open "$FERRETDB_AUTH_PORT"; then
  log "starting ferretdb (with authentication) on $FERRETDB_AUTH_PORT"
  # No user in the PostgreSQL URL: FerretDB 1.x connects as the client's user with its password (PLAIN).
  nohup "$FERRETDB_BIN" -listen "127.0.0.1:$FERRETDB_AUTH_PORT" -postgresql "postgres://127.0.0.1:$POSTGRES_PORT/ferretdb_auth" >"$FDIR/ferretdb-auth.log" 2>&1 &
  echo $! >"$FDIR/ferretdb-auth.pid"
  wait_port "$FERRETDB_AUTH_PORT" ferretdb-auth 30 "$FDIR/ferretdb-auth.log"
fi

# --- OpenSearch ------------------------------------------------------------------
# The integ-test distribution: no JDK (the machine's Java 17) and only the transport module (the
# standard analyzer; chatd folds accents itself). It refuses to run as root: as root it runs as a
# system user of its own, from a folder that user can reach.
OS_HOME=${CHAT_OPENSEARCH_HOME:-/var/cache/chat-services/opensearch-$OPENSEARCH_VERSION}
as_os() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u chat-opensearch -- "$@"); else "$@"; fi; }
if [ ! -f "$OS_HOME/.complete" ]; then
  log "resolving OpenSearch $OPENSEARCH_VERSION from Maven Central"
  mvn -q -B dependency:get -Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip -Dtransitive=false >"$CACHE/mvn-opensearch.log"
  ZIP=$(find "$HOME/.m2/repository/org/opensearch/distribution/integ-test-zip/opensearch/$OPENSEARCH_VERSION" -name "opensearch-$OPENSEARCH_VERSION.zip" | head -n 1)
  rm -rf "$OS_HOME.tmp" && mkdir -p "$OS_HOME.tmp" && unzip -q "$ZIP" -d "$OS_HOME.tmp"
  rm -rf "$OS_HOME" && mv "$OS_HOME.tmp/opensearch-$OPENSEARCH_VERSION" "$OS_HOME" && rm -rf "$OS_HOME.tmp" && touch "$OS_HOME/.complete"
fi
ODIR=$STATE/opensearch
mkdir -p "$ODIR/data"
if [ "$(id -u)" = 0 ]; then
  id chat-opensearch >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin chat-opensearch
  chown -R chat-opensearch "$OS_HOME" "$ODIR"
fi
if ! port_open "$OPENSEARCH_PORT"; then
  log "starting opensearch on $OPENSEARCH_PORT"
  JAVA_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  # -d -p: it daemonizes and writes its own pid (the JVM's, which down.sh stops), whoever runs it.
  rm -f "$ODIR/opensearch.pid"
  as_os env OPENSEARCH_JAVA_HOME="$JAVA_DIR" OPENSEARCH_JAVA_OPTS="-Xms256m -Xmx256m" "$OS_HOME/bin/opensearch" -d -p "$ODIR/opensearch.pid" \
    -E discovery.type=single-node -E network.host=127.0.0.1 -E http.port="$OPENSEARCH_PORT" -E transport.port="$OPENSEARCH_TRANSPORT_PORT" \
    -E path.data="$ODIR/data" -E path.logs="$ODIR" -E cluster.routing.allocation.disk.threshold_enabled=false >"$ODIR/opensearch.out" 2>&1
  wait_port "$OPENSEARCH_PORT" opensearch 90 "$ODIR/opensearch.out"
fi

cat >"$STATE/env" <<ENV
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export KAFKA_SASL_BROKERS=127.0.0.1:$KAFKA_SASL_PORT KAFKA_SASL_TEST_USER=$KAFKA_SASL_USER KAFKA_SASL_TEST_PASSWORD=$KAFKA_SASL_PASSWORD
export MONGODB_URI='mongodb://127.0.0.1:$FERRETDB_PORT/chat?directConnection=true'
export MONGODB_AUTH_URI='mongodb://127.0.0.1:$FERRETDB_AUTH_PORT/chat?directConnection=true&authMechanism=PLAIN' MONGODB_AUTH_TEST_USER=$MONGO_AUTH_USER MONGODB_AUTH_TEST_PASSWORD=$MONGO_AUTH_PASSWORD
export CHAT_KAFKA_LIBS=$KAFKA_LIBS
export CHAT_FERRETDB_BIN=$FERRETDB_BIN
export OPENSEARCH_URL=http://127.0.0.1:$OPENSEARCH_PORT
ENV
cat "$STATE/env"
