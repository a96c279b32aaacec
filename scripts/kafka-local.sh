#!/usr/bin/env bash
# Single-node KRaft Apache Kafka (broker+controller) from Maven Central jars, on 127.0.0.1.
# Usage: scripts/kafka-local.sh fetch|start|stop|status
# Env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_HOME_DIR (.kafka; holds
# run-$KAFKA_PORT/ with the config, data, log and pid), KAFKA_LIBS_DIR ($KAFKA_HOME_DIR/libs),
# KAFKA_HEAP_OPTS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$(cd "$HERE/.." && pwd)/.kafka}"
case "$KAFKA_HOME_DIR" in /*) ;; *) KAFKA_HOME_DIR="$PWD/$KAFKA_HOME_DIR" ;; esac
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
LIBS="${KAFKA_LIBS_DIR:-$KAFKA_HOME_DIR/libs}"
RUN="$KAFKA_HOME_DIR/run-$KAFKA_PORT"
PIDFILE="$RUN/kafka.pid"
LOG4J="-Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties"

fetch() {
  if [ ! -f "$LIBS/.complete" ]; then
    command -v mvn >/dev/null || { echo "mvn not found: install Maven (apt-get install maven) to fetch Kafka's jars" >&2; exit 1; }
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

# The pid file names our broker only while that process lives and is a broker on this config
# (after a reboot or a kill -9 the pid may belong to anything else).
is_running() {
  local pid
  [ -f "$PIDFILE" ] && pid="$(cat "$PIDFILE")" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0  # no /proc: trust the pid
  local args=()
  mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
  [ "${#args[@]}" -ge 2 ] && [ "${args[-2]}" = kafka.Kafka ] && [ "${args[-1]}" -ef "$RUN/server.properties" ]
}

port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

start() {
  if is_running; then echo "kafka already running on 127.0.0.1:${KAFKA_PORT} (pid $(cat "$PIDFILE"))"; return 0; fi
  command -v java >/dev/null || { echo "java not found: install OpenJDK 17" >&2; exit 1; }
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_in_use "$port"; then
      echo "port 127.0.0.1:$port is already in use (by a process this script did not start from $RUN):" \
           "stop it or choose KAFKA_PORT / KAFKA_CONTROLLER_PORT" >&2
      exit 1
    fi
  done
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
  local pid=$!
  echo "$pid" >"$PIDFILE"
  for _ in $(seq 1 240); do
    if grep -q "Kafka Server started" "$RUN/server.out"; then
      echo "kafka up on 127.0.0.1:${KAFKA_PORT} (pid $pid)"; return 0
    fi
    # (not is_running: until nohup execs java, the child's command line is still this script's)
    if ! kill -0 "$pid" 2>/dev/null; then echo "kafka exited early:" >&2; tail -n 50 "$RUN/server.out" >&2; exit 1; fi
    sleep 0.5
  done
  echo "kafka did not start within 120 s" >&2; tail -n 50 "$RUN/server.out" >&2
  stop >/dev/null; exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  if is_running; then
    local pid; pid="$(cat "$PIDFILE")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
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
