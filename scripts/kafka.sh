#!/usr/bin/env bash
# A real, single-node Apache Kafka (KRaft) on 127.0.0.1 for development and tests.
#
#   scripts/kafka.sh start   fetch the broker jars once (Maven Central, kafka/pom.xml), format
#                            KRaft storage with a random cluster id, start the broker in the
#                            background, wait until it answers metadata requests, then print
#                            `export KAFKA_BROKERS=…` (so: eval "$(scripts/kafka.sh start)")
#   scripts/kafka.sh stop    stop the broker and delete its data
#   scripts/kafka.sh env     print the export line
#   scripts/kafka.sh cluster-id [n]   print a fresh KRaft cluster id (what `start` formats with),
#                            or n of them
#
# KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093) and KAFKA_STATE_DIR (.kafka/node) choose a
# second, private broker: the broker-restart test runs one beside the shared one. Starting a
# broker whose storage is already formatted keeps its data (a restart, not a new cluster).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
STATE="${KAFKA_STATE_DIR:-.kafka/node}"
case "$STATE" in /*) ;; *) STATE="$ROOT/$STATE" ;; esac
LIBS=".kafka/libs"
PID_FILE="$STATE/broker.pid"
LOG_FILE="$STATE/broker.log"
PROPS="$STATE/server.properties"
BROKERS="127.0.0.1:${PORT}"
READY_TIMEOUT_S="${KAFKA_READY_TIMEOUT_S:-90}"

say() { echo "kafka.sh: $*" >&2; }

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

fetch_jars() {
  # kafka_2.13 and its runtime dependencies, once; an interrupted fetch leaves no marker.
  if [ -f "$LIBS/.complete" ]; then return; fi
  say "fetching Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' kafka/pom.xml) from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mvn -B -q -Dstyle.color=never -f kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$ROOT/$LIBS" >&2
  touch "$LIBS/.complete"
}

write_properties() {
  mkdir -p "$STATE/data"
  sed -e "s|127.0.0.1:19092|127.0.0.1:${PORT}|g" \
      -e "s|127.0.0.1:19093|127.0.0.1:${CONTROLLER_PORT}|g" \
      -e "s|^log.dirs=.*|log.dirs=${STATE}/data|" \
      kafka/server.properties > "$PROPS"
}

# A KRaft cluster id is 16 random bytes, base64url without padding. One starting with '-' reads
# as an option to the storage tool ("--cluster-id: expected one argument": 1 start in 64 failed
# so), so draw again, as Kafka's own Uuid.randomUuid() does.
new_cluster_id() {
  local id="-"
  while [[ "$id" == -* ]]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; done
  echo "$id"
}

format_storage() {
  if [ -f "$STATE/data/meta.properties" ]; then return; fi
  local cluster_id
  cluster_id="$(new_cluster_id)"
  if ! java -cp "$LIBS/*" -Dlog4j2.configurationFile="$ROOT/kafka/log4j2.properties" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$LOG_FILE" 2>&1; then
    say "formatting KRaft storage failed; last lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
    return 1
  fi
}

wait_ready() {
  # Ready means a client can connect, read cluster metadata and list topics, not just that the
  # port is open (the listener opens before the broker has caught up with its controller).
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until KAFKA_BROKERS="$BROKERS" node -e '
    const { Kafka, logLevel } = require("kafkajs");
    const admin = new Kafka({ clientId: "kafka.sh", brokers: [process.env.KAFKA_BROKERS], logLevel: logLevel.NOTHING,
      retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
    admin.connect().then(() => admin.describeCluster()).then(() => admin.listTopics())
      .then(() => admin.disconnect()).then(() => process.exit(0), () => process.exit(1));
  ' 2>/dev/null; do
    if ! running; then
      say "the broker exited during start-up; last lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "not ready within ${READY_TIMEOUT_S} s; stopping it. Last lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      stop_broker
      return 1
    fi
    sleep 0.5
  done
}

start_broker() {
  if running; then
    say "already running (pid $(cat "$PID_FILE"))"
    echo "export KAFKA_BROKERS=${BROKERS}"
    return
  fi
  command -v java >/dev/null || { say "java (17 or newer) is required"; exit 1; }
  fetch_jars
  write_properties
  format_storage
  # setsid: the broker outlives this script, and a Ctrl-C in the caller's terminal does not reach it.
  setsid java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/kafka/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  wait_ready
  say "broker ready on ${BROKERS} (pid $(cat "$PID_FILE"), log $LOG_FILE)"
  echo "export KAFKA_BROKERS=${BROKERS}"
}

stop_broker() {
  if running; then
    local pid
    pid="$(cat "$PID_FILE")"
    kill -TERM "$pid" 2>/dev/null || true
    # A controlled shutdown takes a few seconds; past 30 s it is stuck.
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  start) start_broker ;;
  stop) stop_broker ;;
  env) echo "export KAFKA_BROKERS=${BROKERS}" ;;
  cluster-id) for ((i = 0; i < ${2:-1}; i++)); do new_cluster_id; done ;;
  *)
    echo "usage: scripts/kafka.sh start|stop|env|cluster-id [n]" >&2
    exit 2
    ;;
esac
