#!/usr/bin/env bash
# The pipeline's services as local processes, started the way Kubernetes
# runs them: from build/bin (build-san/bin with SAN=1), each with ONLY its own
# secrets, written as 0600 files under $OP_DATA_DIR/secrets/<service>/ and
# passed as *_FILE; logs in $OP_DATA_DIR/logs, pids in $OP_DATA_DIR/run.
#   scripts/services.sh start  [service...]  start what is not running, wait for /readyz
#   scripts/services.sh stop   [service...]  SIGTERM (drain), bounded wait, then SIGKILL
#   scripts/services.sh status [service...]  one line each; exit 1 if one is not ready
#   scripts/services.sh restart [service...] stop, then start (after a rebuild)
# Services: publisher, ingress-auth, billing, archive (those whose binary exists).
STEP=services
. "$(dirname "$0")/lib.sh"
: "${SAN:=0}"
: "${SERVICE_READY_TIMEOUT:=60}"
: "${SERVICE_STOP_TIMEOUT:=30}"
: "${LOG_LEVEL:=info}"

case "$SAN" in 0) BIN="$ROOT/build/bin" ;; 1) BIN="$ROOT/build-san/bin" ;; *) die "SAN must be 0 or 1" ;; esac
ALL=(publisher ingress-auth billing archive) # start order: ingress-auth needs the publisher

admin_port() {
  case "$1" in
    publisher) echo "$PUBLISHER_ADMIN_PORT" ;;
    ingress-auth) echo "$INGRESS_ADMIN_PORT" ;;
    billing) echo "$BILLING_ADMIN_PORT" ;;
    archive) echo "$ARCHIVE_ADMIN_PORT" ;;
  esac
}

ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$(admin_port "$1")/readyz"; }
running() { pid_runs "$1" "$BIN/$1*"; }

# secret SERVICE NAME VALUE: writes the file and prints its path.
secret() {
  mkdir -p "$SECRETS/$1"; chmod 700 "$SECRETS" "$SECRETS/$1"
  write_secret "$1/$2" "$3"
  printf '%s' "$SECRETS/$1/$2"
}

# The publisher <-> ingress-auth bearer token: random, made once per data dir.
internal_token() {
  local f="$SECRETS/.internal-token"
  if [[ ! -s $f ]]; then
    mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
    ( umask 077; openssl rand -hex 24 > "$f" )
  fi
  cat "$f"
}

# env_of SERVICE: prints the service's environment, one NAME=value a line.
env_of() {
  local kafka_common="KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP
KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
KAFKA_SASL_MECHANISM=$KAFKA_SASL_MECHANISM"
  case "$1" in
    publisher) cat <<ENV
PUBLISHER_BIND=127.0.0.1
PUBLISHER_PORT=$PUBLISHER_PORT
PUBLISHER_ADMIN_PORT=$PUBLISHER_ADMIN_PORT
PUBLISHER_INTERNAL_TOKEN_FILE=$(secret publisher internal-token "$(internal_token)")
$kafka_common
KAFKA_USERNAME=$KAFKA_PUBLISHER_USER
KAFKA_PASSWORD_FILE=$(secret publisher kafka-password "$KAFKA_PUBLISHER_PASSWORD")
PUBLISHER_TRANSACTIONAL_ID=${KAFKA_TRANSACTIONAL_ID_PREFIX}local-0
PUBLISHER_SUBSCRIPTIONS=billing=$KAFKA_TOPIC_BILLING,archive=$KAFKA_TOPIC_ARCHIVE
ENV
      ;;
    ingress-auth)
      mkdir -p "$SECRETS/ingress-auth"; chmod 700 "$SECRETS/ingress-auth"
      ( umask 077; cp "$ROOT/scripts/dev/clients.json" "$SECRETS/ingress-auth/clients.json" )
      cat <<ENV
INGRESS_BIND=127.0.0.1
INGRESS_PORT=$INGRESS_PORT
INGRESS_ADMIN_PORT=$INGRESS_ADMIN_PORT
INGRESS_CLIENTS_FILE=$SECRETS/ingress-auth/clients.json
REDIS_HOST=$REDIS_HOST
REDIS_PORT=$REDIS_PORT
REDIS_USERNAME=$REDIS_INGRESS_USER
REDIS_PASSWORD_FILE=$(secret ingress-auth redis-password "$REDIS_INGRESS_PASSWORD")
REDIS_KEY_PREFIX=$REDIS_KEY_PREFIX
PUBLISHER_URL=http://127.0.0.1:$PUBLISHER_PORT/v1/publish
PUBLISHER_INTERNAL_TOKEN_FILE=$(secret ingress-auth publisher-token "$(internal_token)")
ENV
      ;;
    billing) cat <<ENV
BILLING_ADMIN_PORT=$BILLING_ADMIN_PORT
BILLING_TOPIC=$KAFKA_TOPIC_BILLING
BILLING_GROUP=$KAFKA_GROUP_BILLING
$kafka_common
KAFKA_USERNAME=$KAFKA_BILLING_USER
KAFKA_PASSWORD_FILE=$(secret billing kafka-password "$KAFKA_BILLING_PASSWORD")
PG_HOST=$PG_HOST
PG_PORT=$PG_PORT
PG_DATABASE=$PG_DATABASE
PG_USER=$PG_BILLING_USER
PG_PASSWORD_FILE=$(secret billing pg-password "$PG_BILLING_PASSWORD")
PG_SSLMODE=disable
ENV
      ;;
    archive) cat <<ENV
ARCHIVE_ADMIN_PORT=$ARCHIVE_ADMIN_PORT
ARCHIVE_TOPIC=$KAFKA_TOPIC_ARCHIVE
ARCHIVE_GROUP=$KAFKA_GROUP_ARCHIVE
$kafka_common
KAFKA_USERNAME=$KAFKA_ARCHIVE_USER
KAFKA_PASSWORD_FILE=$(secret archive kafka-password "$KAFKA_ARCHIVE_PASSWORD")
S3_ENDPOINT=$S3_ENDPOINT
S3_REGION=$S3_REGION
S3_BUCKET=$S3_BUCKET
S3_ACCESS_KEY=$S3_ARCHIVE_ACCESS_KEY
S3_SECRET_KEY_FILE=$(secret archive s3-secret-key "$S3_ARCHIVE_SECRET_KEY")
ENV
      ;;
  esac
}

start_one() {
  local svc=$1 STEP="services/$1" LOG="$LOGS/$1.log"
  if [[ ! -x $BIN/$svc ]]; then say "no $BIN/$svc: skipped"; return 0; fi
  if running "$svc"; then
    wait_until "$SERVICE_READY_TIMEOUT" "$svc" ready "$svc" || fail "running but not ready"
    say "already running (pid $(cat "$RUN/$svc.pid"))"
    return 0
  fi
  local port; port=$(admin_port "$svc")
  port_open "$port" && die "admin port $port is taken by $(port_owner "$port")"
  local -a envs; mapfile -t envs < <(env_of "$svc")
  say "starting"
  # env -i: the service sees only its own settings, never another's secrets.
  setsid env -i PATH="$PATH" LOG_LEVEL="$LOG_LEVEL" "${envs[@]}" "$BIN/$svc" \
    >>"$LOG" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$RUN/$svc.pid"
  local deadline=$(( $(date +%s) + SERVICE_READY_TIMEOUT ))
  until ready "$svc"; do
    # The pid runs setsid, then env, then the service (exec each): until the
    # last exec its command line is not the binary yet, so only its end counts.
    kill -0 "$pid" 2>/dev/null || { rm -f "$RUN/$svc.pid"; fail "exited during start-up"; }
    (( $(date +%s) < deadline )) || fail "not ready after ${SERVICE_READY_TIMEOUT}s"
    sleep 0.2
  done
  running "$svc" || fail "pid $pid answers on :$port but is not $BIN/$svc"
  say "ready (pid $pid, admin :$port)"
}

stop_one() {
  local svc=$1 STEP="services/$1"
  if [[ -s $RUN/$svc.pid ]] && ! running "$svc"; then
    rm -f "$RUN/$svc.pid" # stale: never signal a pid that is not ours
    return 0
  fi
  running "$svc" || return 0
  say "stopping (pid $(cat "$RUN/$svc.pid")): SIGTERM, drain"
  stop_pid "$svc" "$SERVICE_STOP_TIMEOUT"
  say "stopped"
}

cmd=${1:-}; shift || true
svcs=("$@"); (( ${#svcs[@]} )) || svcs=("${ALL[@]}")
for s in "${svcs[@]}"; do
  [[ " ${ALL[*]} " == *" $s "* ]] || die "unknown service $s (one of: ${ALL[*]})"
done
case "$cmd" in
  restart) "$0" stop "${svcs[@]}" && exec "$0" start "${svcs[@]}" ;;
  start) for s in "${ALL[@]}"; do [[ " ${svcs[*]} " == *" $s "* ]] && start_one "$s"; done; true ;;
  stop)
    for ((i = ${#ALL[@]} - 1; i >= 0; i--)); do
      [[ " ${svcs[*]} " == *" ${ALL[i]} "* ]] && stop_one "${ALL[i]}"
    done
    true
    ;;
  status)
    rc=0
    for s in "${svcs[@]}"; do
      if [[ ! -x $BIN/$s ]]; then printf '%-13s not built\n' "$s"
      elif running "$s" && ready "$s"; then printf '%-13s ready (pid %s)\n' "$s" "$(cat "$RUN/$s.pid")"
      elif running "$s"; then printf '%-13s running, not ready\n' "$s"; rc=1
      else printf '%-13s stopped\n' "$s"; rc=1
      fi
    done
    exit $rc
    ;;
  *) echo "usage: $0 start|stop|status|restart [service...]" >&2; exit 2 ;;
esac
