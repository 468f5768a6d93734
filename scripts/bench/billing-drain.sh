#!/usr/bin/env bash
# Billing drain benchmark (not a test): fills a private topic with N valid
# order events, starts build/bin/billing on it, and measures how fast it
# drains into billing.orders (orders/s, from start until the stored offsets
# reach the topic's end). For comparison it then COPYs the very same rows
# into a temporary copy of the table: the floor of what Postgres alone costs.
#   OP_PORT_OFFSET=400 scripts/bench/billing-drain.sh [N] [BATCH_MAX]
# Needs the local Postgres and Kafka (scripts/postgres.sh start, kafka.sh
# start). Uses the Kafka admin user for the private topic and group; the
# Postgres writes still go through the least-privilege billing role.
STEP=bench
. "$(dirname "$0")/../lib.sh"

N="${1:-50000}"
BATCH="${2:-500}"
RUN="bench-$(date +%s)"
TOPIC="$RUN.billing"
PARTS="${KAFKA_TOPIC_PARTITIONS:-6}"
WORK="$(mktemp -d /tmp/billing-bench.XXXXXX)"
trap 'rm -rf "$WORK"; [[ -n ${BPID:-} ]] && kill "$BPID" 2>/dev/null' EXIT
ADMIN_CONF="$DATA/kafka/admin.properties"
[[ -x $ROOT/build/bin/billing ]] || die "build first: make"
apsql() { PGPASSWORD="$PG_MIGRATOR_PASSWORD" psql -X -q -tA -h "$PG_HOST" -p "$PG_PORT" \
  -U "$PG_MIGRATOR_USER" -d "$PG_DATABASE" "$@"; }

say "topic $TOPIC ($PARTS partitions), $N orders"
"$ROOT/scripts/kafka.sh" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
  --command-config "$ADMIN_CONF" --create --topic "$TOPIC" --partitions "$PARTS" \
  --replication-factor 1 >/dev/null || die "cannot create $TOPIC"

# One line per record: headers <TAB> key <TAB> value (console producer format).
python3 - "$N" "$RUN" >"$WORK/records" <<'PY'
import sys, uuid, datetime
n, client = int(sys.argv[1]), sys.argv[2]
now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")
out = sys.stdout
for i in range(n):
    oid = "o-%d" % i
    q, p = 1 + i % 5, 100 + i % 997
    body = ('{"order_id":"%s","customer_id":"cust-%d","currency":"EUR","items":[{"sku":"SKU-%d",'
            '"quantity":%d,"unit_price_cents":%d}],"total_cents":%d}') % (oid, i % 1000, i % 50, q, p, q * p)
    h = ("ce_specversion:1.0,ce_id:%s,ce_source:/clients/%s,ce_type:orders.order.accepted.v1,"
         "ce_time:%s,ce_subject:%s,ce_clientid:%s,content-type:application/json,"
         "traceparent:00-%s-%s-01") % (uuid.uuid4(), client, now, oid, client,
                                       uuid.uuid4().hex, uuid.uuid4().hex[:16])
    out.write("%s\t%s/%s\t%s\n" % (h, client, oid, body))
PY
t0=$(date +%s.%N)
"$ROOT/scripts/kafka.sh" run kafka.tools.ConsoleProducer --bootstrap-server "$KAFKA_BOOTSTRAP" \
  --producer.config "$ADMIN_CONF" --topic "$TOPIC" --property parse.key=true \
  --property parse.headers=true --property key.separator=$'\t' \
  --property headers.delimiter=$'\t' --producer-property acks=all \
  --producer-property linger.ms=20 <"$WORK/records" >/dev/null 2>"$WORK/producer.err" ||
  die "console producer failed: $(tail -3 "$WORK/producer.err")"
say "topic filled in $(echo "$(date +%s.%N) - $t0" | bc) s"

printf '%s' "$KAFKA_ADMIN_PASSWORD" >"$WORK/kafka-password"
printf '%s' "$PG_BILLING_PASSWORD" >"$WORK/pg-password"
t0=$(date +%s.%N)
KAFKA_USERNAME="$KAFKA_ADMIN_USER" KAFKA_PASSWORD_FILE="$WORK/kafka-password" \
  PG_USER="$PG_BILLING_USER" PG_PASSWORD_FILE="$WORK/pg-password" BILLING_TOPIC="$TOPIC" \
  BILLING_GROUP="$RUN" BILLING_ADMIN_PORT="$((BILLING_ADMIN_PORT + 7))" BILLING_BATCH_MAX="$BATCH" LOG_LEVEL=warn \
  "$ROOT/build/bin/billing" >"$WORK/billing.log" 2>&1 &
BPID=$!
while :; do
  have="$(apsql -c "SELECT coalesce(sum(next_offset),0) FROM billing.consumer_offsets WHERE topic = '$TOPIC'")"
  [[ $have -ge $N ]] && break
  kill -0 "$BPID" 2>/dev/null || die "billing exited: $(tail -3 "$WORK/billing.log")"
  sleep 0.05
done
t1=$(date +%s.%N)
kill -TERM "$BPID"; wait "$BPID" 2>/dev/null; BPID=
drain="$(echo "$t1 - $t0" | bc)"
rows="$(apsql -c "SELECT count(*) FROM billing.orders WHERE client_id = '$RUN'")"
[[ $rows == "$N" ]] || die "expected $N rows, found $rows"

apsql -c "\\copy (SELECT * FROM billing.orders WHERE client_id = '$RUN') TO '$WORK/rows.copy'"
copy_s="$(apsql <<SQL | tail -1
CREATE TEMP TABLE bench_copy (LIKE billing.orders INCLUDING ALL);
SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
\\copy bench_copy FROM '$WORK/rows.copy'
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
)"
apsql -c "DELETE FROM billing.orders WHERE client_id = '$RUN'; DELETE FROM billing.consumer_offsets WHERE topic = '$TOPIC'"
"$ROOT/scripts/kafka.sh" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
  --command-config "$ADMIN_CONF" --delete --topic "$TOPIC" >/dev/null 2>&1 || true

printf 'orders=%s batch_max=%s\n' "$N" "$BATCH"
printf 'billing drain: %.2f s, %.0f orders/s (start, join, seek, consume, commit)\n' "$drain" "$(echo "$N / $drain" | bc -l)"
printf 'psql COPY of the same rows: %.3f s, %.0f rows/s\n' "$copy_s" "$(echo "$N / $copy_s" | bc -l)"
