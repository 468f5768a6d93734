#!/usr/bin/env bash
# Containerised end-to-end check of the service images against the local
# stack (scripts/stack.sh, OP_PORT_OFFSET respected): each image runs the way
# the chart runs it (read-only root, UID 65532, no capabilities, no new
# privileges, secrets as 0400 files under /var/run/secrets/orders-pipeline,
# the chart's env names) on the host network, since the stack listens on
# loopback. Needs the images (scripts/images.sh) and a running Kafka
# (scripts/kafka.sh start). Ends with "N passed, N failed".
# Covers the images that exist today: publisher and ordersctl; ingress-auth,
# billing and archive join once their services land.
STEP=podman-e2e
. "$(dirname "$0")/../../scripts/lib.sh"

export CONTAINERS_CONF="$CACHE/containers.conf"
[[ -s $CONTAINERS_CONF ]] || die "run scripts/images.sh first (it writes $CONTAINERS_CONF)"
REPO="${IMAGE_REPO:-localhost/orders-pipeline}"
TAG="${IMAGE_TAG:-0.1.0}"
UIDN=65532
TOKEN="dev-only-publisher-internal-token"
NAME="op-e2e-publisher-$OP_PORT_OFFSET"
SEC="$(mktemp -d)"
passed=0 failed=0
ok()  { passed=$((passed + 1)); printf '  PASS %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf '  FAIL %s\n' "$1"; }
cleanup() { podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true; rm -rf "$SEC"; }
trap cleanup EXIT

for s in publisher ordersctl; do
  podman image exists "$REPO/$s:$TAG" || die "image $REPO/$s:$TAG missing: run scripts/images.sh"
done
"$ROOT/scripts/kafka.sh" status >/dev/null 2>&1 || die "Kafka is not running (scripts/kafka.sh start)"

# Secrets as the kubelet mounts them: owned by the pod's fsGroup, 0400.
printf '%s' "$TOKEN" >"$SEC/publisher-token"
printf '%s' "$KAFKA_PUBLISHER_PASSWORD" >"$SEC/kafka-password"
chown -R "$UIDN:$UIDN" "$SEC"; chmod 0500 "$SEC"; chmod 0400 "$SEC"/*

RUNFLAGS=(--read-only --user "$UIDN:$UIDN" --cap-drop=ALL --security-opt=no-new-privileges --network host)

say "ordersctl image runs without a shell"
if podman run --rm "${RUNFLAGS[@]}" "$REPO/ordersctl:$TAG" --help >/dev/null 2>&1; then ok "ordersctl --help"; else bad "ordersctl --help"; fi
if podman run --rm --entrypoint /bin/sh "$REPO/ordersctl:$TAG" -c true >/dev/null 2>&1; then
  bad "image has no /bin/sh"; else ok "image has no /bin/sh"; fi

say "publisher image against the local Kafka ($KAFKA_BOOTSTRAP)"
podman run -d --name "$NAME" "${RUNFLAGS[@]}" --stop-timeout 30 \
  -v "$SEC:/var/run/secrets/orders-pipeline:ro" \
  -e LOG_LEVEL=info \
  -e PUBLISHER_ADMIN_BIND=127.0.0.1 -e PUBLISHER_ADMIN_PORT="$PUBLISHER_ADMIN_PORT" \
  -e PUBLISHER_BIND=127.0.0.1 -e PUBLISHER_PORT="$PUBLISHER_PORT" \
  -e PUBLISHER_INTERNAL_TOKEN_FILE=/var/run/secrets/orders-pipeline/publisher-token \
  -e PUBLISHER_TRANSACTIONAL_ID="publisher-e2e-$OP_PORT_OFFSET" \
  -e KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP" -e KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT \
  -e KAFKA_SASL_MECHANISM="$KAFKA_SASL_MECHANISM" -e KAFKA_USERNAME="$KAFKA_PUBLISHER_USER" \
  -e KAFKA_PASSWORD_FILE=/var/run/secrets/orders-pipeline/kafka-password \
  "$REPO/publisher:$TAG" >/dev/null
ready() { curl -fsS -o /dev/null "http://127.0.0.1:$PUBLISHER_ADMIN_PORT/readyz"; }
if wait_until 60 "publisher /readyz" ready; then ok "publisher container becomes ready (Kafka transactions initialised)"
else bad "publisher container becomes ready"; podman logs --tail 20 "$NAME" >&2 || true; fi

body='{"order_id":"e2e-'"$$"'","customer_id":"cust-1","currency":"EUR","items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}],"total_cents":2500}'
post() { # post TOKEN -> HTTP status
  curl -sS -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$PUBLISHER_PORT/v1/publish" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -H 'X-Client-Id: e2e' \
    --data-binary "$body" || echo 000
}
code="$(post "$TOKEN")"
[[ $code == 202 ]] && ok "POST /v1/publish with the mounted token: 202" || bad "POST /v1/publish with the mounted token: $code (want 202)"
code="$(post "wrong-token-wrong-token")"
[[ $code == 401 ]] && ok "wrong token: 401" || bad "wrong token: $code (want 401)"
if curl -fsS "http://127.0.0.1:$PUBLISHER_ADMIN_PORT/metrics" | grep -q '^# TYPE'; then ok "/metrics answers"; else bad "/metrics answers"; fi
if podman logs "$NAME" 2>&1 | grep -qF "$KAFKA_PUBLISHER_PASSWORD"; then bad "Kafka password appears in the logs"; else ok "no secret in the logs"; fi

# SIGTERM (what the kubelet sends after preStop): a clean exit within the grace.
podman stop -t 30 "$NAME" >/dev/null 2>&1 || true
rc="$(podman inspect --format '{{.State.ExitCode}}' "$NAME" 2>/dev/null || echo unknown)"
[[ $rc == 0 ]] && ok "SIGTERM: clean exit (status 0)" || bad "SIGTERM: exit status $rc (want 0)"

echo "$passed passed, $failed failed"
((failed == 0))
