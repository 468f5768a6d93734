#!/usr/bin/env bash
# `make up`: install what is missing, build, start the local stack and every
# service that exists, then print a signed example request.
STEP=up
. "$(dirname "$0")/lib.sh"
: "${SAN:=0}"

"$ROOT/scripts/install.sh"
say "building"
make -C "$ROOT" -s -j"$(nproc)" SAN="$SAN" all
"$ROOT/scripts/stack.sh" up
if [[ -x "$ROOT/scripts/services.sh" ]]; then
  SAN="$SAN" "$ROOT/scripts/services.sh" start
fi
echo
"$ROOT/scripts/stack.sh" status || true
cat <<TXT

Local endpoints (credentials: scripts/local.env, development-only values):
  PostgreSQL  $PG_HOST:$PG_PORT db=$PG_DATABASE     scripts/postgres.sh psql
  Redis       $REDIS_HOST:$REDIS_PORT               scripts/redis.sh cli
  Kafka       $KAFKA_BOOTSTRAP (SASL_PLAINTEXT, $KAFKA_SASL_MECHANISM)
  S3          $S3_ENDPOINT bucket=$S3_BUCKET
Stop everything with: make down

TXT
"$ROOT/scripts/example-request.sh"
