#!/usr/bin/env bash
# Starts real engines natively on loopback for chat's service suites, idempotently:
#   Redis (Debian package), Apache Kafka 4.1 in KRaft mode (jars from Maven Central, Java 17),
#   FerretDB 1.24 on SQLite (MongoDB wire protocol, built from the Go module proxy).
# Writes their URLs as export lines to .services/env and prints them. Quick when already up.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${CHAT_SERVICES_DIR:-$ROOT/.services}
CACHE=${CHAT_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-services}
REDIS_PORT=${CHAT_REDIS_PORT:-6390}
KAFKA_PORT=${CHAT_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${CHAT_KAFKA_CONTROLLER_PORT:-19093}
FERRETDB_PORT=${CHAT_FERRETDB_PORT:-27027}
KAFKA_VERSION=4.1.1
FERRETDB_VERSION=v1.24.2
KAFKA_LIBS=$CACHE/kafka-$KAFKA_VERSION
FERRETDB_BIN=$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb
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
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
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

# --- FerretDB ------------------------------------------------------------------
if [ ! -x "$FERRETDB_BIN" ]; then
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$ROOT/scripts/services/ferretdb" && go build -o "$FERRETDB_BIN.tmp" . && mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN")
fi
FDIR=$STATE/ferretdb
mkdir -p "$FDIR/data"
if ! port_open "$FERRETDB_PORT"; then
  log "starting ferretdb on $FERRETDB_PORT"
  nohup "$FERRETDB_BIN" -listen "127.0.0.1:$FERRETDB_PORT" -dir "$FDIR/data" >"$FDIR/ferretdb.log" 2>&1 &
  echo $! >"$FDIR/ferretdb.pid"
  wait_port "$FERRETDB_PORT" ferretdb 30 "$FDIR/ferretdb.log"
fi

cat >"$STATE/env" <<ENV
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export MONGODB_URI='mongodb://127.0.0.1:$FERRETDB_PORT/chat?directConnection=true'
export CHAT_KAFKA_LIBS=$KAFKA_LIBS
export CHAT_FERRETDB_BIN=$FERRETDB_BIN
ENV
cat "$STATE/env"
