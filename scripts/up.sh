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
if [[ -x "$ROOT/scripts/services.sh" ]]; then
  "$ROOT/scripts/services.sh" status || true
  bin="$ROOT/build/bin"; [[ $SAN == 1 ]] && bin="$ROOT/build-san/bin"
  if [[ -x $bin/ordersctl && -x $bin/ingress-auth ]]; then
    # Smoke check: one signed order through ingress-auth, the publisher and Kafka.
    say "smoke check: one signed order end to end"
    write_secret demo-client.secret dev-only-demo-secret # FAKE, from scripts/dev/clients.json
    "$bin/ordersctl" send --url "http://127.0.0.1:$INGRESS_PORT/orders" --client-id demo \
      --secret-file "$SECRETS/demo-client.secret" --generate \
      || warn "the smoke order was not accepted (see $LOGS/ingress-auth.log)"
  fi
fi
cat <<TXT

Local endpoints (credentials: scripts/local.env, development-only values):
  PostgreSQL  $PG_HOST:$PG_PORT db=$PG_DATABASE     scripts/postgres.sh psql
  Redis       $REDIS_HOST:$REDIS_PORT               scripts/redis.sh cli
  Kafka       $KAFKA_BOOTSTRAP (SASL_PLAINTEXT, $KAFKA_SASL_MECHANISM)
  S3          $S3_ENDPOINT bucket=$S3_BUCKET
  ingress-auth http://127.0.0.1:$INGRESS_PORT/orders  (admin http://127.0.0.1:$INGRESS_ADMIN_PORT/metrics)
  publisher   http://127.0.0.1:$PUBLISHER_PORT/v1/publish (internal; admin :$PUBLISHER_ADMIN_PORT)
Logs in $LOGS; services: scripts/services.sh start|stop|status
Stop everything with: make down

TXT
"$ROOT/scripts/example-request.sh"
