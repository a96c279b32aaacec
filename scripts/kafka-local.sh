#!/usr/bin/env bash
# Single-node KRaft Apache Kafka (broker+controller) from Maven Central jars, on 127.0.0.1.
# Usage: scripts/kafka-local.sh fetch|start|stop|status
# Env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HOME_DIR (.kafka), KAFKA_HEAP_OPTS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$HERE/../.kafka}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
LIBS="$KAFKA_HOME_DIR/libs"
RUN="$KAFKA_HOME_DIR/run-$KAFKA_PORT"
PIDFILE="$RUN/kafka.pid"
LOG4J="-Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties"

fetch() {
  if [ ! -f "$LIBS/.complete" ]; then
    rm -rf "$LIBS"
    mvn -B -q -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$LIBS"
    touch "$LIBS/.complete"
  fi
}

write_config() {
  mkdir -p "$RUN"
  cat > "$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${RUN}/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
PROPS
}

is_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if is_running; then echo "kafka already running on 127.0.0.1:${KAFKA_PORT} (pid $(cat "$PIDFILE"))"; return 0; fi
  command -v java >/dev/null || { echo "java not found: install OpenJDK 17" >&2; exit 1; }
  fetch
  rm -rf "$RUN"; write_config
  local cid
  # base64url(16 random bytes), like `kafka-storage random-uuid`; never starting with '-'
  cid="$(python3 -c 'import base64,uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break')"
  java -Xmx256m "$LOG4J" -cp "$LIBS/*" kafka.tools.StorageTool format \
       -t "$cid" -c "$RUN/server.properties" >"$RUN/format.out" 2>&1 \
    || { cat "$RUN/format.out" >&2; exit 1; }
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is deliberately word-split
  nohup java $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
       -Djava.awt.headless=true "$LOG4J" -Dkafka.logs.dir="$RUN" \
       -cp "$LIBS/*" kafka.Kafka "$RUN/server.properties" >"$RUN/server.out" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 240); do
    if grep -q "Kafka Server started" "$RUN/server.out"; then
      echo "kafka up on 127.0.0.1:${KAFKA_PORT} (pid $(cat "$PIDFILE"))"; return 0
    fi
    if ! is_running; then echo "kafka exited early:" >&2; tail -n 50 "$RUN/server.out" >&2; exit 1; fi
    sleep 0.5
  done
  echo "kafka did not start within 120 s" >&2; tail -n 50 "$RUN/server.out" >&2; exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  local pid; pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE"
  echo "kafka on 127.0.0.1:${KAFKA_PORT} stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) if is_running; then echo "running (pid $(cat "$PIDFILE"))"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
