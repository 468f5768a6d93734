#!/usr/bin/env bash
# Local Apache Kafka: one KRaft node (broker + controller) on loopback, jars
# from Maven Central, SASL/SCRAM users and least-privilege ACLs as in the
# cluster. Settings come from scripts/local.env.
#
#   scripts/kafka.sh install   fetch the jars (cached), compile the bootstrap helper
#   scripts/kafka.sh start     install if needed, start, wait until ready, bootstrap
#   scripts/kafka.sh stop      stop the broker started here (data is kept)
#   scripts/kafka.sh status    exit 0 when running and serving authenticated requests
#   scripts/kafka.sh reset     stop and delete the data ($DATA/kafka)
#   scripts/kafka.sh run CLASS [ARGS...]   a Kafka CLI class on the same classpath, e.g.
#       scripts/kafka.sh run org.apache.kafka.tools.TopicCommand --list \
#         --bootstrap-server 127.0.0.1:19092 --command-config .local/kafka/admin.properties
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP=kafka

: "${KAFKA_START_TIMEOUT:=90}"       # seconds: listener up, then ready + bootstrapped
: "${KAFKA_STOP_TIMEOUT:=30}"        # seconds of SIGTERM grace before SIGKILL
: "${KAFKA_HEAP_OPTS:=-Xmx512m}"

NAME=kafka
HERE="$ROOT/scripts/kafka"
KDIR="$DATA/kafka"                   # server.properties, admin.properties, data/
CONF="$KDIR/server.properties"
ADMIN_CONF="$KDIR/admin.properties"
LOG="$LOGS/kafka.log"
KCACHE="$CACHE/kafka-$KAFKA_VERSION"
LIB="$KCACHE/lib"
# Tool JVMs live a second or two: favour start-up time over peak speed.
TOOL_JVM=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
          "-Dlog4j.configuration=file:$HERE/tools-log4j.properties")

hash_of() { cat "$@" | sha256sum | cut -c1-12; }
lib_stamp() { printf '%s %s\n' "$KAFKA_VERSION" "$(hash_of "$HERE/pom.xml")"; }
helper_dir() { printf '%s/bootstrap-%s' "$KCACHE" "$(hash_of "$HERE/KafkaBootstrap.java" "$LIB/.complete")"; }

# ---- install ------------------------------------------------------------------
installed() {
  [[ -f $LIB/.complete && "$(cat "$LIB/.complete")" == "$(lib_stamp)" ]] &&
    [[ -f "$(helper_dir)/KafkaBootstrap.class" ]]
}

apt_install() {
  if ! command -v apt-get >/dev/null || (( EUID != 0 )); then
    die "missing $*: install them (Debian: apt-get install $*)"
  fi
  say "installing $* (apt)"
  apt-get install -y -q "$@" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}

cmd_install() {
  case "$KAFKA_VERSION" in
    3.[5-9].*) ;;
    *) die "KAFKA_VERSION=$KAFKA_VERSION: this script supports Kafka 3.5-3.9 (KRaft + --add-scram, reload4j logging)" ;;
  esac
  local missing=()
  command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || missing+=(maven)
  (( ${#missing[@]} == 0 )) || apt_install "${missing[@]}"

  if [[ -f $LIB/.complete && "$(cat "$LIB/.complete")" == "$(lib_stamp)" ]]; then
    say "kafka $KAFKA_VERSION jars cached in $LIB"
  else
    say "fetching kafka $KAFKA_VERSION jars with Maven (~/.m2, else Maven Central)"
    local tmp="$KCACHE/lib.tmp.$$"
    rm -rf "$tmp"; mkdir -p "$KCACHE"
    # Offline first (everything may be in ~/.m2 already), then Maven Central.
    # Maven prints colour codes even in batch mode: keep its output for errors.
    local mvn=(mvn -B -q -f "$HERE/pom.xml" -Dkafka.version="$KAFKA_VERSION"
               dependency:copy-dependencies -DoutputDirectory="$tmp")
    if ! "${mvn[@]}" -o >"$KCACHE/mvn.log" 2>&1 && ! "${mvn[@]}" >"$KCACHE/mvn.log" 2>&1; then
      sed 's/\x1b\[[0-9;]*m//g' "$KCACHE/mvn.log" | tail -n 30 >&2
      rm -rf "$tmp"; die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
    fi
    lib_stamp > "$tmp/.complete"
    rm -rf "$LIB"; mv "$tmp" "$LIB"
  fi

  ensure_helper
}

# The helper is compiled into the shared cache under a hash of its source,
# so checkouts with different versions of it coexist: never delete another
# build (a concurrent checkout may be running it); builds unused for 30 days go.
ensure_helper() {
  local hd; hd="$(helper_dir)"
  [[ -f $hd/KafkaBootstrap.class ]] && return 0
  say "compiling the bootstrap helper"
  rm -rf "$hd.tmp.$$"; mkdir -p "$hd.tmp.$$"
  javac -nowarn -encoding UTF-8 -cp "$LIB/*" -d "$hd.tmp.$$" "$HERE/KafkaBootstrap.java" ||
    { rm -rf "$hd.tmp.$$"; die "javac failed on $HERE/KafkaBootstrap.java"; }
  rm -rf "$hd"; mv "$hd.tmp.$$" "$hd" 2>/dev/null || rm -rf "$hd.tmp.$$"
  find "$KCACHE" -maxdepth 1 -name 'bootstrap-*' ! -path "$hd" -mtime +30 -exec rm -rf {} + 2>/dev/null || true
}

# ---- configuration ----------------------------------------------------------------
# Values end up in .properties files, JAAS strings and StorageTool's
# --add-scram syntax: keep them to a plain character set.
check_credentials() {
  local v
  for v in KAFKA_ADMIN_USER KAFKA_ADMIN_PASSWORD KAFKA_PUBLISHER_USER KAFKA_PUBLISHER_PASSWORD \
           KAFKA_BILLING_USER KAFKA_BILLING_PASSWORD KAFKA_ARCHIVE_USER KAFKA_ARCHIVE_PASSWORD; do
    [[ ${!v} =~ ^[A-Za-z0-9._~@%+:/-]+$ ]] ||
      die "$v must be non-empty and use only A-Z a-z 0-9 . _ ~ @ % + : / -"
  done
}

# render TEMPLATE OUT VAR...: replace @VAR@ by $VAR (literally), write OUT 0600.
render() {
  local tmpl=$1 out=$2 text v; shift 2
  text="$(<"$tmpl")"
  for v in "$@"; do text="${text//@$v@/"${!v}"}"; done
  [[ ! $text =~ @[A-Z][A-Z_]*@ ]] || die "unreplaced placeholder ${BASH_REMATCH[0]} in $tmpl"
  ( umask 077; printf '%s\n' "$text" > "$out.tmp" ) && mv "$out.tmp" "$out"
}

write_configs() {
  check_credentials
  mkdir -p "$KDIR"; chmod 700 "$KDIR"
  # shellcheck disable=SC2034  # read by render through ${!v}
  local KAFKA_LOG_DIR="$KDIR/data"
  render "$HERE/server.properties.in" "$CONF" KAFKA_HOST KAFKA_PORT KAFKA_CONTROLLER_PORT \
    KAFKA_ADMIN_USER KAFKA_ADMIN_PASSWORD KAFKA_LOG_DIR
  ( umask 077; cat > "$ADMIN_CONF.tmp" <<EOF
# Admin client settings for the local broker (--command-config of the Kafka CLI).
bootstrap.servers=$KAFKA_BOOTSTRAP
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_ADMIN_USER" password="$KAFKA_ADMIN_PASSWORD";
EOF
  ) && mv "$ADMIN_CONF.tmp" "$ADMIN_CONF"
}

# Kafka's Uuid: 16 random bytes, base64url without padding; like
# Uuid.randomUuid(), avoid a leading '-' (it would read as a CLI flag).
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ $id != -* ]] && break
  done
  printf '%s' "$id"
}

format_storage() {
  [[ -f $KDIR/data/meta.properties ]] && return 0
  say "formatting storage in $KDIR/data (SCRAM user: $KAFKA_ADMIN_USER; the bootstrap adds the others)"
  # The helper runs StorageTool in its own JVM and takes the admin's
  # credential on stdin: `--add-scram ...password=...` on a command line is
  # readable by every local process (/proc/PID/cmdline).
  ensure_helper
  printf 'user %s %s\n' "$KAFKA_ADMIN_USER" "$KAFKA_ADMIN_PASSWORD" |
    java "${TOOL_JVM[@]}" -cp "$(helper_dir):$LIB/*" KafkaBootstrap format "$CONF" "$(random_cluster_id)" >>"$LOG" 2>&1 ||
    fail "storage format failed (log $LOG)"
}

# ---- process --------------------------------------------------------------------------
# The recorded pid is a live broker started from this data dir (not a
# recycled pid or someone else's Kafka).
ours() { pid_runs "$NAME" "*kafka.Kafka $CONF *"; }


ensure_ports_free() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $p is taken by a process this script did not start (owner: $(port_owner "$p")); stop it or change KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done
}

# Class-data sharing for the broker JVM: a dynamic archive of the classes a
# start-up loads cuts ~1 s off each start. The first broker dumps it when it
# exits ($jsa.new); the next start promotes it once `java -Xshare:on` accepts
# it (a truncated archive would crash the JVM). Keyed by the jars and the JDK.
cds_flags() {
  local key jsa
  key="$(printf '%s|%s|%s' "$(cat "$LIB/.complete")" "$(stat -c %Y "$LIB/.complete")" \
           "$(stat -L -c '%Y %s' "$(command -v java)")" | sha256sum | cut -c1-12)"
  jsa="$KCACHE/broker-$key.jsa"
  if [[ -f $jsa.new ]] && ! ours; then
    if java -Xshare:on -XX:SharedArchiveFile="$jsa.new" -cp "$LIB/*" -version >/dev/null 2>&1; then
      mv "$jsa.new" "$jsa"
    else
      rm -f "$jsa.new"
    fi
  fi
  if [[ -f $jsa ]]; then
    CDS_FLAGS=(-XX:SharedArchiveFile="$jsa")
  else
    find "$KCACHE" -maxdepth 1 -name 'broker-*.jsa*' -delete
    CDS_FLAGS=(-XX:ArchiveClassesAtExit="$jsa.new" '-Xlog:cds*=error')
  fi
}

helper() { # helper check|bootstrap TIMEOUT_S
  ensure_helper
  java "${TOOL_JVM[@]}" -cp "$(helper_dir):$LIB/*" KafkaBootstrap "$1" "$ADMIN_CONF" "$(( $2 * 1000 ))"
}

listening_or_dead() { port_open "$KAFKA_PORT" || ! pid_alive "$NAME"; }

launch() {
  ensure_ports_free
  rm -f "$RUN/$NAME.pid"
  write_configs
  format_storage
  say "starting kafka $KAFKA_VERSION (KRaft) on SASL_PLAINTEXT://$KAFKA_BOOTSTRAP, log $LOG"
  printf -- '--- %s kafka.sh start ---\n' "$(date -u +%FT%TZ)" >>"$LOG"
  local CDS_FLAGS=(); cds_flags
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
  setsid nohup java $KAFKA_HEAP_OPTS "${CDS_FLAGS[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true "-Dlog4j.configuration=file:$HERE/log4j.properties" \
      -cp "$LIB/*" kafka.Kafka "$CONF" </dev/null >>"$LOG" 2>&1 &
  echo $! >"$RUN/$NAME.pid"
  if ! wait_until "$KAFKA_START_TIMEOUT" "kafka listener on port $KAFKA_PORT" listening_or_dead; then
    stop_pid "$NAME" 10
    fail "kafka did not open port $KAFKA_PORT within ${KAFKA_START_TIMEOUT}s (stopped it)"
  fi
  if ! pid_alive "$NAME"; then
    rm -f "$RUN/$NAME.pid"
    fail "kafka exited during start-up"
  fi
}

# The declared state: SCRAM users, topics and least-privilege ACLs (literal
# names unless PREFIXED). Anything else a managed principal holds is removed.
bootstrap_spec() {
  local tb=$KAFKA_TOPIC_BILLING ta=$KAFKA_TOPIC_ARCHIVE
  local pub="User:$KAFKA_PUBLISHER_USER" bil="User:$KAFKA_BILLING_USER" arc="User:$KAFKA_ARCHIVE_USER"
  cat <<EOF
user $KAFKA_PUBLISHER_USER $KAFKA_PUBLISHER_PASSWORD
user $KAFKA_BILLING_USER $KAFKA_BILLING_PASSWORD
user $KAFKA_ARCHIVE_USER $KAFKA_ARCHIVE_PASSWORD

topic $tb $KAFKA_TOPIC_PARTITIONS
topic $ta $KAFKA_TOPIC_PARTITIONS
topic $tb.dlq $KAFKA_DLQ_PARTITIONS
topic $ta.dlq $KAFKA_DLQ_PARTITIONS

# publisher: writes every subscription topic, transactionally (idempotent
# producers need no cluster IdempotentWrite since Kafka 2.8, KIP-679)
acl $pub TOPIC LITERAL $tb WRITE
acl $pub TOPIC LITERAL $tb DESCRIBE
acl $pub TOPIC LITERAL $ta WRITE
acl $pub TOPIC LITERAL $ta DESCRIBE
acl $pub TRANSACTIONAL_ID PREFIXED $KAFKA_TRANSACTIONAL_ID_PREFIX WRITE
acl $pub TRANSACTIONAL_ID PREFIXED $KAFKA_TRANSACTIONAL_ID_PREFIX DESCRIBE
# publisher, as \`ordersctl dlq list|redrive\` (the only principal that may
# write orders.* may re-publish dead letters): reads the dead-letter topics
# and tracks redrive progress in groups ordersctl-dlq-<subscription>
acl $pub TOPIC LITERAL $tb.dlq READ
acl $pub TOPIC LITERAL $ta.dlq READ
acl $pub GROUP PREFIXED ordersctl-dlq- READ

# billing: reads its topic in its group, writes its dead letters
acl $bil TOPIC LITERAL $tb READ
acl $bil TOPIC LITERAL $tb DESCRIBE
acl $bil GROUP LITERAL $KAFKA_GROUP_BILLING READ
acl $bil TOPIC LITERAL $tb.dlq WRITE
acl $bil TOPIC LITERAL $tb.dlq DESCRIBE

# archive: likewise
acl $arc TOPIC LITERAL $ta READ
acl $arc TOPIC LITERAL $ta DESCRIBE
acl $arc GROUP LITERAL $KAFKA_GROUP_ARCHIVE READ
acl $arc TOPIC LITERAL $ta.dlq WRITE
acl $arc TOPIC LITERAL $ta.dlq DESCRIBE
EOF
}

cmd_start() {
  installed || cmd_install
  if ours; then
    say "already running (pid $(cat "$RUN/$NAME.pid")); re-applying the bootstrap"
    write_configs
  else
    launch
  fi
  say "waiting for an authenticated admin request, then bootstrapping users, topics, ACLs"
  if ! bootstrap_spec | helper bootstrap "$KAFKA_START_TIMEOUT" | while IFS= read -r l; do say "$l"; done; then
    fail "kafka readiness check or bootstrap failed"
  fi
  say "ready: SASL_PLAINTEXT://$KAFKA_BOOTSTRAP (SCRAM-SHA-256/512), admin client config $ADMIN_CONF"
}

cmd_stop() {
  stop_owned "$NAME" "$KAFKA_STOP_TIMEOUT"
}

cmd_status() {
  if ! ours; then
    say "not running"
    return 1
  fi
  local pid; pid="$(cat "$RUN/$NAME.pid")"
  if ! port_open "$KAFKA_PORT"; then
    say "pid $pid alive, port $KAFKA_PORT not open yet"
    return 1
  fi
  [[ -f $ADMIN_CONF ]] || write_configs
  if helper check 10 | while IFS= read -r l; do say "pid $pid, $l"; done; then
    return 0
  fi
  say "pid $pid: not answering authenticated admin requests"
  return 1
}

cmd_reset() {
  cmd_stop
  say "deleting $KDIR"
  rm -rf "$KDIR"
}

cmd_run() {
  (( $# >= 1 )) || die "usage: $0 run CLASS [ARGS...]"
  installed || cmd_install
  exec java "${TOOL_JVM[@]}" -cp "$LIB/*" "$@"
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  reset)   cmd_reset ;;
  run)     shift; cmd_run "$@" ;;
  *) echo "usage: $0 install|start|stop|status|reset|run CLASS [ARGS...]" >&2; exit 2 ;;
esac
