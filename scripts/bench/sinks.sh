# shellcheck shell=bash
# Stage 4 of scripts/bench.sh (sourced, not run): each sink's drain rate
# next to the store's own ceiling, on private topics so the running services
# never see these records.
#
# One repetition (sinks_rep ID N):
#   1. two private topics bench.ID.billing / bench.ID.archive (6 partitions,
#      like orders.*), filled with the same N orders by kafka_ceiling as the
#      Kafka admin user (only it may write outside the service ACLs);
#   2. billing drain: build/bin/billing on the private topic and group, as
#      the least-privilege Postgres role; orders/s from exec (start-up, group
#      join and seek included) until the offsets it stores in Postgres reach
#      the topic's end; then every row is checked to be there;
#   3. its ceiling: COPY of the very same rows, by the same billing role,
#      into a scratch table made LIKE billing.orders (same columns, primary
#      key and WAL logging; a temporary table would skip the WAL and flatter
#      the ceiling);
#   4. archive drain (object mode, the default): build/bin/archive as the
#      PutObject-only store user; objects/s from exec until its stored
#      counter reaches N;
#   5. its ceiling: s3_raw_puts, the same objects (rendered by the archive's
#      own functions) PUT with the archive's PUT engine at the same
#      concurrency (64) by the same user;
#   6. archive batch mode (NDJSON objects of up to ARCHIVE_BATCH_MAX records
#      per partition) on the same topic with another group: records/s from
#      exec. ARCHIVE_BATCH_AGE is 200 ms here (default 5 s): a drain of a
#      backlog fills its batches; only the last partial batch of each
#      partition waits for the age.
# A failed step warns and ends the repetition (returning 1) instead of the
# whole run: bench.sh records it and its checks fail.
# Needs from bench.sh: ROOT BIN BENCH_BIN OUT, record(), say/warn.

SINK_IN_FLIGHT=64
SINK_PORT_BILLING=$((BILLING_ADMIN_PORT + 7))
SINK_PORT_ARCHIVE=$((ARCHIVE_ADMIN_PORT + 7))
SINK_SECRETS="$OUT/secrets"
SINK_PID=

mkdir -p "$SINK_SECRETS" && chmod 700 "$SINK_SECRETS"
(
  umask 077
  printf '%s' "$KAFKA_ADMIN_PASSWORD" >"$SINK_SECRETS/kafka-admin"
  printf '%s' "$PG_BILLING_PASSWORD" >"$SINK_SECRETS/pg-billing"
  printf '%s' "$S3_ARCHIVE_SECRET_KEY" >"$SINK_SECRETS/s3-archive"
)

sink_migrator_psql() {
  PGPASSWORD="$PG_MIGRATOR_PASSWORD" psql -X -q -tA -v ON_ERROR_STOP=1 -h "$PG_HOST" \
    -p "$PG_PORT" -U "$PG_MIGRATOR_USER" -d "$PG_DATABASE" "$@"
}
sink_billing_psql() {
  PGPASSWORD="$PG_BILLING_PASSWORD" psql -X -q -tA -v ON_ERROR_STOP=1 -h "$PG_HOST" \
    -p "$PG_PORT" -U "$PG_BILLING_USER" -d "$PG_DATABASE" "$@"
}

# sink_start LOG NAME=VALUE...: starts a consumer (the last argument is the
# binary) with ONLY the given environment, as scripts/services.sh does.
sink_start() {
  local log=$1
  shift
  env -i PATH="$PATH" LOG_LEVEL=warn "$@" >"$log" 2>&1 </dev/null &
  SINK_PID=$!
}

# sink_stop: SIGTERM the consumer this stage started, bounded wait.
sink_stop() {
  [[ -n $SINK_PID ]] || return 0
  kill -TERM "$SINK_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=
}

sink_kafka_env() {
  printf '%s\n' "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP" "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" \
    "KAFKA_SASL_MECHANISM=$KAFKA_SASL_MECHANISM" "KAFKA_USERNAME=$KAFKA_ADMIN_USER" \
    "KAFKA_PASSWORD_FILE=$SINK_SECRETS/kafka-admin"
}

# sink_wait_count LIMIT_S LOG CMD...: polls CMD (prints a number) every 0.1 s
# until it reaches $SINK_TARGET; fails if the consumer died or time ran out.
sink_wait_count() {
  local limit=$1 log=$2
  shift 2
  local deadline=$(($(date +%s) + limit)) have
  while :; do
    have=$("$@" 2>/dev/null || echo 0)
    [[ ${have:-0} -ge $SINK_TARGET ]] && return 0
    kill -0 "$SINK_PID" 2>/dev/null || { warn "consumer exited: $(tail -3 "$log")"; return 1; }
    (($(date +%s) < deadline)) || { warn "drain not done after ${limit}s ($have of $SINK_TARGET)"; return 1; }
    sleep 0.1
  done
}

sink_pg_offsets() {
  sink_migrator_psql -c "SELECT coalesce(sum(next_offset), 0) FROM billing.consumer_offsets WHERE topic = '$1'"
}
sink_archive_stored() {
  curl -fs --max-time 2 "http://127.0.0.1:$SINK_PORT_ARCHIVE/metrics" |
    awk '/^orders_archive_records_total\{result="stored"\}/ {printf "%d", $2}'
}

# sink_rate N T0 T1: N / (T1 - T0), one decimal.
sink_rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%.1f", n / (b - a)}'; }

# sink_fail MESSAGE: warns, stops the consumer, drops the repetition's
# topics, rows and scratch table (uses sinks_rep's locals).
sink_fail() {
  warn "sinks: $1"
  sink_stop
  sink_migrator_psql -c "DROP TABLE IF EXISTS $scratch; DELETE FROM billing.orders WHERE client_id = '$client';
    DELETE FROM billing.consumer_offsets WHERE topic = '$tb'" >/dev/null 2>&1 || true
  "$BENCH_BIN/kafka_topics" delete "$tb" "$ta" "$tb.dlq" "$ta.dlq" >/dev/null 2>&1 || true
}

sinks_rep() {
  local id=$1 n=$2 tb="bench.$1.billing" ta="bench.$1.archive" client="bench-$1"
  local log="$OUT/sinks-$id" t0 t1 rows scratch="billing.bench_copy_${1//[^a-zA-Z0-9]/_}"
  SINK_TARGET=$n
  "$BENCH_BIN/kafka_topics" create 6 "$tb" "$ta" || { warn "cannot create $tb/$ta"; return 1; }
  BENCH_CLIENT_ID=$client "$BENCH_BIN/kafka_ceiling" "$n" "$tb" "$ta" >/dev/null ||
    { sink_fail "cannot fill $tb/$ta"; return 1; }

  # ---- billing drain
  local -a benv
  mapfile -t benv < <(sink_kafka_env)
  t0=$(date +%s.%N)
  sink_start "$log-billing.log" "${benv[@]}" BILLING_TOPIC="$tb" BILLING_GROUP="$tb" \
    BILLING_ADMIN_PORT="$SINK_PORT_BILLING" PG_HOST="$PG_HOST" PG_PORT="$PG_PORT" \
    PG_DATABASE="$PG_DATABASE" PG_USER="$PG_BILLING_USER" \
    PG_PASSWORD_FILE="$SINK_SECRETS/pg-billing" PG_SSLMODE=disable "$BIN/billing"
  sink_wait_count 600 "$log-billing.log" sink_pg_offsets "$tb" || { sink_fail "billing drain failed"; return 1; }
  t1=$(date +%s.%N)
  sink_stop
  rows=$(sink_migrator_psql -c "SELECT count(*) FROM billing.orders WHERE client_id = '$client'")
  [[ $rows == "$n" ]] || { sink_fail "billing drain: expected $n rows, found $rows"; return 1; }
  record sink_billing drain_orders_per_s "$(sink_rate "$n" "$t0" "$t1")"
  # The same drain without process start and group join: billed_at is each
  # batch transaction's start, so the rows of every batch but the last,
  # over the time from the first batch's start to the last one's.
  record sink_billing steady_orders_per_s "$(sink_migrator_psql -c "
    WITH b AS (SELECT billed_at, max(billed_at) OVER () AS last, min(billed_at) OVER () AS first
               FROM billing.orders WHERE client_id = '$client')
    SELECT CASE WHEN max(last) > max(first)
           THEN round(count(*) FILTER (WHERE billed_at < last)
                      / extract(epoch FROM max(last) - max(first)), 1) ELSE 0 END FROM b")"

  # ---- COPY ceiling: the same rows, the same role, a logged table like billing.orders
  sink_migrator_psql -c "\\copy (SELECT * FROM billing.orders WHERE client_id = '$client') TO '$log-rows.copy'"
  sink_migrator_psql -c "CREATE TABLE $scratch (LIKE billing.orders INCLUDING ALL);
    GRANT INSERT ON $scratch TO \"$PG_BILLING_USER\""
  local copy_s
  copy_s=$(sink_billing_psql <<SQL | tail -1
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
\copy $scratch FROM '$log-rows.copy'
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 4);
SQL
  ) || { sink_fail "COPY ceiling failed"; return 1; }
  sink_migrator_psql -c "DROP TABLE $scratch; DELETE FROM billing.orders WHERE client_id = '$client';
    DELETE FROM billing.consumer_offsets WHERE topic = '$tb'"
  rm -f "$log-rows.copy"
  record sink_billing copy_rows_per_s "$(awk -v n="$n" -v s="$copy_s" 'BEGIN {printf "%.1f", n / s}')"

  # ---- archive drain, object mode
  local -a aenv
  mapfile -t aenv < <(sink_kafka_env)
  aenv+=(ARCHIVE_TOPIC="$ta" ARCHIVE_ADMIN_PORT="$SINK_PORT_ARCHIVE" S3_ENDPOINT="$S3_ENDPOINT"
    S3_REGION="$S3_REGION" S3_BUCKET="$S3_BUCKET" S3_ACCESS_KEY="$S3_ARCHIVE_ACCESS_KEY"
    S3_SECRET_KEY_FILE="$SINK_SECRETS/s3-archive" ARCHIVE_MAX_IN_FLIGHT="$SINK_IN_FLIGHT")
  t0=$(date +%s.%N)
  sink_start "$log-archive.log" "${aenv[@]}" ARCHIVE_GROUP="$ta.object" "$BIN/archive"
  sink_wait_count 600 "$log-archive.log" sink_archive_stored || { sink_fail "archive drain failed"; return 1; }
  t1=$(date +%s.%N)
  sink_stop
  record sink_archive drain_objects_per_s "$(sink_rate "$n" "$t0" "$t1")"

  # ---- raw PUT ceiling
  local line
  line=$("$BENCH_BIN/s3_raw_puts" "$ta" "$n" "$SINK_IN_FLIGHT") || { sink_fail "s3_raw_puts failed"; return 1; }
  record sink_archive raw_put_objects_per_s "$(awk '{print $3}' <<<"$line")"

  # ---- archive batch mode
  t0=$(date +%s.%N)
  sink_start "$log-batch.log" "${aenv[@]}" ARCHIVE_GROUP="$ta.batch" ARCHIVE_MODE=batch \
    ARCHIVE_BATCH_AGE=200ms "$BIN/archive"
  sink_wait_count 600 "$log-batch.log" sink_archive_stored || { sink_fail "archive batch drain failed"; return 1; }
  t1=$(date +%s.%N)
  sink_stop
  record sink_archive batch_records_per_s "$(sink_rate "$n" "$t0" "$t1")"

  "$BENCH_BIN/kafka_topics" delete "$tb" "$ta" "$tb.dlq" "$ta.dlq" ||
    warn "could not delete $tb/$ta"
}
