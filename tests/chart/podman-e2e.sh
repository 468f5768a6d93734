#!/usr/bin/env bash
# Containerised end-to-end run (issue 5): the service images, built with
# podman (scripts/images.sh, incremental), run in one podman pod with the
# configuration, Secrets and security context that `helm template` renders
# for tests/chart/values-podman-e2e.yaml pointed at the local stack (Kafka,
# Postgres, Redis, versitygw on loopback; OP_PORT_OFFSET respected).
# tests/chart/kube2podman.py turns each rendered workload into `podman run`
# arguments; nothing is hand-written, so a broken chart fails this test.
# The pod shares the host network: the stack listens on loopback and Kafka
# advertises 127.0.0.1. (`podman kube play` would need hostNetwork patched
# into the manifests and turns httpGet probes into curl runs inside the
# shell-less images.) Service DNS names become --add-host entries, and each
# service is rendered with its local.env admin port instead of the shared
# 9090 (one port per pod in Kubernetes, one loopback here).
#
# Checks: image size < 60 MB, UID 65532, no shell; each container's process
# as the kernel sees it (UID/GID 65532, no capabilities, no_new_privs,
# seccomp, read-only root, /tmp a tmpfs, secrets read-only); the chart's own
# helm test pod; E2E_ORDERS signed orders through the containerised
# ingress-auth (ordersctl image), each then in billing.orders and in the
# bucket; no secret in any log; SIGTERM -> exit status 0 for each service.
# Ends with "N passed, N failed".
#
# Env: E2E_ORDERS (20), E2E_SKIP_BUILD=1 (use the images as they are),
#      E2E_WAIT (90 s: bound on every wait), E2E_KEEP=1 (leave the pod for
#      debugging), IMAGE_REPO, IMAGE_TAG,
#      OP_PODMAN_ROOT (private podman store, see tests/chart/podman-env.sh).
# Starts the local stack when it is down and then stops it again.
#
# `[[ cond ]] && ok .. || bad ..` below is an if/else: ok always returns 0.
# shellcheck disable=SC2015
STEP=podman-e2e
. "$(dirname "$0")/../../scripts/lib.sh"

E2E_ORDERS="${E2E_ORDERS:-20}"
E2E_WAIT="${E2E_WAIT:-90}"
export IMAGE_REPO="${IMAGE_REPO:-localhost/orders-pipeline}"
export IMAGE_TAG="${IMAGE_TAG:-0.1.0}"
IMAGE_MAX_MB=60
UIDN=65532
CHART="$ROOT/charts/orders-pipeline"
RELEASE=op
FULL="$RELEASE-orders-pipeline" # the chart's <fullname> for this release
POD="op-e2e-$OP_PORT_OFFSET"    # podman pod (names are global in the store)
SECRET_MOUNT=/var/run/secrets/orders-pipeline
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
t0=$(date +%s)

passed=0 failed=0
ok()  { passed=$((passed + 1)); printf '  PASS %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf '  FAIL %s\n' "$1"; }
# check NAME CMD...: CMD must succeed.
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }

# Services in start order (ingress-auth needs the publisher); archive joins
# as soon as services/archive exists.
SERVICES=()
for s in publisher ingress-auth billing archive; do
  [[ -f $ROOT/services/$s/main.c ]] && SERVICES+=("$s")
done
have() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

# ---- images -----------------------------------------------------------------
if [[ ${E2E_SKIP_BUILD:-0} != 1 ]]; then
  tb=$(date +%s)
  "$ROOT/scripts/images.sh" "${SERVICES[@]}" ordersctl || die "image build failed"
  say "images ready in $(($(date +%s) - tb)) s"
fi
# shellcheck source=podman-env.sh
. "$ROOT/tests/chart/podman-env.sh"
# helm, and a Python with PyYAML, from the pinned tools chart-test uses.
"$ROOT/scripts/install-k8s-tools.sh" >/dev/null
BIN="$("$ROOT/scripts/install-k8s-tools.sh" --bin-dir)"
export PATH="$BIN:$PATH"
PY="$CACHE/k8s-tools/venv/bin/python"

OUT="$(mktemp -d)"
chmod 700 "$OUT"
STARTED=() # stack components this run started (and stops again)
cleanup() {
  if [[ ${E2E_KEEP:-0} == 1 ]]; then say "E2E_KEEP=1: pod $POD kept (podman pod rm -f $POD)"
  else podman pod rm -f -t 0 "$POD" >/dev/null 2>&1 || true; fi
  rm -rf "$OUT"
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    "$ROOT/scripts/${STARTED[i]}.sh" stop >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
podman pod rm -f -t 0 "$POD" >/dev/null 2>&1 || true # a previous run's leftovers

say "images"
for s in "${SERVICES[@]}" ordersctl; do
  img="$IMAGE_REPO/$s:$IMAGE_TAG"
  if ! podman image exists "$img"; then bad "$img exists"; continue; fi
  mb=$(($(podman image inspect --format '{{.Size}}' "$img") / 1000000))
  ((mb < IMAGE_MAX_MB)) && ok "$s image is $mb MB (< $IMAGE_MAX_MB)" || bad "$s image is $mb MB (want < $IMAGE_MAX_MB)"
  user="$(podman image inspect --format '{{.Config.User}}' "$img")"
  [[ $user == "$UIDN:$UIDN" ]] && ok "$s image user $user" || bad "$s image user '$user' (want $UIDN:$UIDN)"
  if podman run --rm --pull=never --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1; then
    bad "$s image has no /bin/sh"; else ok "$s image has no /bin/sh"; fi
done

# ---- the local stack ----------------------------------------------------------
for c in postgres redis kafka s3; do
  "$ROOT/scripts/$c.sh" status >/dev/null 2>&1 && continue
  say "starting $c (stopped again at the end)"
  STARTED+=("$c")
  "$ROOT/scripts/$c.sh" start >"$OUT/stack.log" 2>&1 || { tail -30 "$OUT/stack.log" >&2; die "$c did not start"; }
done

# ---- render the chart ---------------------------------------------------------
# Values that come from scripts/local.env (this stack's endpoints, ports and
# FAKE credentials) and a random secret of the e2e client, as a generated
# values file (JSON is YAML) next to the rendered Secrets, mode 0600.
E2E_SECRET="$(openssl rand -hex 24)"
PUBLISHER_TOKEN="$(openssl rand -hex 24)"
RUN_ID="e2e$(date +%s)$$"
export E2E_SECRET PUBLISHER_TOKEN
(umask 077; "$PY" - >"$OUT/values-local.json") <<'PYEOF'
import json, os
e = os.environ
print(json.dumps({
  "image": {"repository": e["IMAGE_REPO"], "tag": e["IMAGE_TAG"]},
  "stores": {
    "kafka": {"bootstrap": e["KAFKA_BOOTSTRAP"], "saslMechanism": e["KAFKA_SASL_MECHANISM"],
              "users": {"publisher": e["KAFKA_PUBLISHER_USER"], "billing": e["KAFKA_BILLING_USER"],
                        "archive": e["KAFKA_ARCHIVE_USER"], "admin": e["KAFKA_ADMIN_USER"]}},
    "postgres": {"host": e["PG_HOST"], "port": int(e["PG_PORT"]), "database": e["PG_DATABASE"],
                 "billingUser": e["PG_BILLING_USER"], "migratorUser": e["PG_MIGRATOR_USER"]},
    "redis": {"host": e["REDIS_HOST"], "port": int(e["REDIS_PORT"]),
              "username": e["REDIS_INGRESS_USER"], "keyPrefix": e["REDIS_KEY_PREFIX"]},
    "s3": {"endpoint": e["S3_ENDPOINT"], "region": e["S3_REGION"], "bucket": e["S3_BUCKET"],
           "archiveAccessKey": e["S3_ARCHIVE_ACCESS_KEY"]},
  },
  "topics": {"billing": e["KAFKA_TOPIC_BILLING"], "archive": e["KAFKA_TOPIC_ARCHIVE"],
             "transactionalIdPrefix": e["KAFKA_TRANSACTIONAL_ID_PREFIX"]},
  "ingressAuth": {"port": int(e["INGRESS_PORT"])},
  "publisher": {"port": int(e["PUBLISHER_PORT"])},
  "billing": {"group": e["KAFKA_GROUP_BILLING"]},
  "archive": {"group": e["KAFKA_GROUP_ARCHIVE"]},
  "secrets": {"values": {
    "clientsJson": json.dumps({"e2e": {"secrets": [e["E2E_SECRET"]],
                                       "rate_per_second": 100000, "burst": 100000}}),
    "publisherToken": e["PUBLISHER_TOKEN"],
    "redisPassword": e["REDIS_INGRESS_PASSWORD"],
    "kafkaPublisherPassword": e["KAFKA_PUBLISHER_PASSWORD"],
    "kafkaBillingPassword": e["KAFKA_BILLING_PASSWORD"],
    "kafkaArchivePassword": e["KAFKA_ARCHIVE_PASSWORD"],
    "pgBillingPassword": e["PG_BILLING_PASSWORD"],
    "s3ArchiveSecretKey": e["S3_ARCHIVE_SECRET_KEY"],
    "testClientSecret": e["E2E_SECRET"],
  }},
}))
PYEOF

# The chart gives every service the same admin port (9090, one per pod in
# Kubernetes). Here all containers share the host's loopback, where the
# stack already is, so each service comes from a render with its own
# local.env admin port; everything else is identical between the renders.
admin_port() {
  case "$1" in
    publisher) echo "$PUBLISHER_ADMIN_PORT" ;; ingress-auth) echo "$INGRESS_ADMIN_PORT" ;;
    billing) echo "$BILLING_ADMIN_PORT" ;; archive) echo "$ARCHIVE_ADMIN_PORT" ;;
  esac
}
say "helm template ($RELEASE, tests/chart/values-podman-e2e.yaml + local stack)"
for s in "${SERVICES[@]}"; do
  (umask 077; helm template "$RELEASE" "$CHART" --namespace orders --kube-version 1.31.0 \
    -f "$ROOT/tests/chart/values-podman-e2e.yaml" -f "$OUT/values-local.json" \
    --set adminPort="$(admin_port "$s")" >"$OUT/$s.yaml" 2>"$OUT/helm.err") ||
    { cat "$OUT/helm.err" >&2; die "helm template failed for $s"; }
done
ok "chart renders for the local stack"
# The translation drops nothing silently: a field it does not translate
# (here envFrom, which would carry configuration) is an error.
sed 's/^          env:$/          envFrom: [{secretRef: {name: x}}]\n          env:/' \
  "$OUT/${SERVICES[0]}.yaml" >"$OUT/mutated.yaml"
if grep -q envFrom "$OUT/mutated.yaml" && ! "$PY" "$ROOT/tests/chart/kube2podman.py" "$OUT/mutated.yaml" \
    "${SERVICES[0]}" x "$OUT/vol-mutated" >/dev/null 2>"$OUT/k2p.err" && grep -q envFrom "$OUT/k2p.err"; then
  ok "kube2podman refuses a field it does not translate (envFrom)"
else
  bad "kube2podman refuses a field it does not translate (envFrom)"
fi

# ---- run the services -----------------------------------------------------------
# pod_name COMPONENT: the Kubernetes pod name (publisher: StatefulSet pod 0,
# whose name makes its transactional id).
pod_name() { [[ $1 == publisher ]] && echo "$FULL-publisher-0" || echo "$FULL-$1"; }
ctr() { echo "$POD-$1"; }
# The Services' DNS names, as the cluster would resolve them; on the host
# network they are all loopback.
HOSTS=(--add-host "$FULL-publisher:127.0.0.1" --add-host "$FULL-ingress-auth:127.0.0.1")
podman pod create --infra=false --name "$POD" --label "io.orders-pipeline.e2e=$OP_PORT_OFFSET" >/dev/null

# run_workload COMPONENT MANIFEST [podman flags...]: podman run -d of the rendered workload.
run_workload() {
  local c=$1 manifest=$2; shift 2
  local -a args
  mkdir -p "$OUT/vol-$c"
  mapfile -d '' args < <("$PY" "$ROOT/tests/chart/kube2podman.py" "$manifest" "$c" \
    "$(pod_name "$c")" "$OUT/vol-$c") && ((${#args[@]} > 0)) || return 1
  podman run -d --pod "$POD" --network host "${HOSTS[@]}" --name "$(ctr "$c")" "$@" "${args[@]}" >/dev/null
}
ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(admin_port "$1")/readyz"; }

tr=$(date +%s)
for s in "${SERVICES[@]}"; do
  say "$s container"
  if ! run_workload "$s" "$OUT/$s.yaml"; then bad "$s container starts"; continue; fi
  if wait_until "$E2E_WAIT" "$s /readyz" ready "$s"; then ok "$s container is ready (/readyz)"
  else bad "$s container is ready"; podman logs --tail 20 "$(ctr "$s")" >&2 || true; fi
done

# ---- the kernel's view of each container ----------------------------------------
# proc_field PID NAME: a field of /proc/PID/status, whitespace squeezed.
proc_field() { awk -v k="$2:" '$1==k {$1=""; sub(/^ /,""); print}' "/proc/$1/status"; }
# mount_of PID PATH: "<options> <fstype> <super options>" of the mount at PATH.
mount_of() { awk -v p="$2" '$5==p {for(i=7;$i!="-";i++); print $6, $(i+1), $(i+3)}' "/proc/$1/mountinfo" | tail -1; }
say "security of the running containers (/proc)"
for s in "${SERVICES[@]}"; do
  pid="$(podman inspect --format '{{.State.Pid}}' "$(ctr "$s")" 2>/dev/null || echo 0)"
  if [[ -z $pid || $pid == 0 ]]; then bad "$s is running"; continue; fi
  uids="$(proc_field "$pid" Uid)" gids="$(proc_field "$pid" Gid)"
  [[ $uids == "$UIDN $UIDN $UIDN $UIDN" && $gids == "$UIDN $UIDN $UIDN $UIDN" ]] &&
    ok "$s runs as $UIDN:$UIDN" || bad "$s runs as uid '$uids' gid '$gids'"
  caps="$(for f in CapInh CapPrm CapEff CapBnd CapAmb; do proc_field "$pid" $f; done | sort -u)"
  [[ $caps == 0000000000000000 ]] && ok "$s has no capabilities" || bad "$s capabilities: ${caps//$'\n'/ }"
  [[ $(proc_field "$pid" NoNewPrivs) == 1 ]] && ok "$s no_new_privs" || bad "$s no_new_privs not set"
  [[ $(proc_field "$pid" Seccomp) == 2 ]] && ok "$s seccomp filter" || bad "$s has no seccomp filter"
  read -r opts _ _ <<<"$(mount_of "$pid" /)"
  [[ ,$opts, == *,ro,* ]] && ok "$s root filesystem read-only" || bad "$s root filesystem mounted '$opts'"
  read -r opts fstype _ <<<"$(mount_of "$pid" /tmp)"
  [[ $fstype == tmpfs && ,$opts, == *,rw,* ]] && ok "$s /tmp is a writable tmpfs" || bad "$s /tmp is '$fstype' '$opts'"
  read -r opts _ _ <<<"$(mount_of "$pid" "$SECRET_MOUNT")"
  [[ ,$opts, == *,ro,* ]] && ok "$s secrets mounted read-only" || bad "$s secrets mount '$opts'"
done

# ---- orders through the containerised ingress-auth -------------------------------
URL="http://127.0.0.1:$INGRESS_PORT/orders"
say "unsigned and wrongly signed requests"
body='{"order_id":"'"$RUN_ID"'-bad","customer_id":"c","currency":"EUR","items":[{"sku":"s","quantity":1,"unit_price_cents":1}],"total_cents":1}'
code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$URL" -H 'Content-Type: application/json' \
  -H 'X-Client-Id: e2e' -H "X-Timestamp: $(date +%s)" -H "X-Signature: $(printf '0%.0s' {1..64})" \
  --data-binary "$body" || true)"
[[ $code == 401 ]] && ok "wrong signature: 401" || bad "wrong signature: $code (want 401)"

say "the chart's helm test pod"
if (mkdir -p "$OUT/vol-test" && mapfile -d '' targs < <("$PY" "$ROOT/tests/chart/kube2podman.py" \
      "$OUT/${SERVICES[0]}.yaml" test "$FULL-test-signed-order" "$OUT/vol-test") && ((${#targs[@]})) &&
    podman run --rm --pod "$POD" --network host "${HOSTS[@]}" --name "$(ctr test)" "${targs[@]}" \
      >"$OUT/helm-test.out" 2>&1); then
  ok "helm test pod: signed order accepted"
else
  bad "helm test pod"; sed 's/^/       /' "$OUT/helm-test.out" | tail -5
fi

say "$E2E_ORDERS signed orders (ordersctl load, ordersctl image)"
tl=$(date +%s)
day0="$(date -u +%Y/%m/%d)"
# The test pod's own Secret volume holds the e2e client's secret.
if podman run --rm --pod "$POD" --network host --name "$(ctr load)" --pull=never \
    --read-only --read-only-tmpfs=false --user "$UIDN:$UIDN" --cap-drop=ALL \
    --security-opt=no-new-privileges -v "$OUT/vol-test/secrets:$SECRET_MOUNT:ro" \
    "$IMAGE_REPO/ordersctl:$IMAGE_TAG" load --url "$URL" --client-id e2e \
    --secret-file "$SECRET_MOUNT/client-secret" -n "$E2E_ORDERS" --rate 0 --connections 2 \
    --prefix "$RUN_ID" >"$OUT/load.out" 2>&1; then
  ok "$E2E_ORDERS orders accepted (every response 2xx)"
else
  bad "ordersctl load"; tail -15 "$OUT/load.out" | sed 's/^/       /'
fi
day1="$(date -u +%Y/%m/%d)"
expected="$(seq -f "$RUN_ID-%g" 1 "$E2E_ORDERS" | sort)"

if have billing; then
  pg_ids() {
    # On stdin: psql interpolates :'prefix' there, not in -c.
    echo "SELECT order_id FROM billing.orders WHERE client_id = 'e2e' AND order_id LIKE :'prefix';" |
      PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" \
        -d "$PG_DATABASE" -XAtq -v ON_ERROR_STOP=1 -v prefix="$RUN_ID-%" | sort
  }
  all_billed() { [[ "$(pg_ids)" == "$expected" ]]; }
  if wait_until "$E2E_WAIT" "orders in billing.orders" all_billed; then
    ok "all $E2E_ORDERS orders in billing.orders, once each"
  else
    bad "billing.orders has $(pg_ids | grep -c . || true) of $E2E_ORDERS orders"
  fi
fi

if have archive; then
  # s3_get KEY: status of a root-signed GET of the object, body in $OUT/obj.
  s3_get() {
    printf 'user = "%s:%s"\n' "$S3_ROOT_ACCESS_KEY" "$S3_ROOT_SECRET_KEY" |
      curl -sS -o "$OUT/obj" -w '%{http_code}' --max-time 10 -K - \
        --aws-sigv4 "aws:amz:$S3_REGION:s3" -H "x-amz-content-sha256: $EMPTY_SHA" \
        "$S3_ENDPOINT/$S3_BUCKET/$1" 2>/dev/null || true
  }
  # archived ID: the order's object exists (under the date the run started
  # or ended: the key carries the ce_time date) and holds that order.
  archived() {
    local d
    for d in "$day0" "$day1"; do
      [[ $(s3_get "orders/$d/e2e/$1.json") == 200 ]] && "$PY" -c '
import json, sys
doc = json.load(open(sys.argv[1]))  # CloudEvents structured mode: the order in "data"
sys.exit(0 if doc.get("data", {}).get("order_id") == sys.argv[2] else 1)' "$OUT/obj" "$1" && return 0
    done
    return 1
  }
  all_archived() { local id; for id in $expected; do archived "$id" || return 1; done; }
  if wait_until "$E2E_WAIT" "orders in the bucket" all_archived; then
    ok "all $E2E_ORDERS orders in s3://$S3_BUCKET, each its own object"
  else
    n=0; for id in $expected; do archived "$id" && n=$((n + 1)); done
    bad "bucket has $n of $E2E_ORDERS orders"
  fi
else
  say "SKIP archive container and bucket checks: services/archive is not in this tree"
fi
say "orders sent and verified in $(($(date +%s) - tl)) s"

# ---- logs and shutdown --------------------------------------------------------------
say "logs hold no secret"
for s in "${SERVICES[@]}"; do
  podman logs "$(ctr "$s")" >"$OUT/log-$s" 2>&1 || true
  leaked=0
  for v in "$E2E_SECRET" "$PUBLISHER_TOKEN" "$REDIS_INGRESS_PASSWORD" "$KAFKA_PUBLISHER_PASSWORD" \
    "$KAFKA_BILLING_PASSWORD" "$KAFKA_ARCHIVE_PASSWORD" "$PG_BILLING_PASSWORD" "$S3_ARCHIVE_SECRET_KEY"; do
    grep -qF -- "$v" "$OUT/log-$s" && leaked=1
  done
  ((leaked == 0)) && ok "$s logs: no secret" || bad "$s logs contain a secret"
done

say "SIGTERM (what the kubelet sends after preStop): clean exit"
# Front to back, as a rollout drains: ingress-auth, publisher, consumers.
for s in ingress-auth publisher billing archive; do
  have "$s" || continue
  podman stop "$(ctr "$s")" >/dev/null 2>&1 || true # --stop-timeout: the pod's grace
  rc="$(podman inspect --format '{{.State.ExitCode}}' "$(ctr "$s")" 2>/dev/null || echo unknown)"
  [[ $rc == 0 ]] && ok "$s: SIGTERM -> exit status 0" || bad "$s: SIGTERM -> exit status $rc (want 0)"
done
say "containers ran $(($(date +%s) - tr)) s; whole run $(($(date +%s) - t0)) s"

echo "$passed passed, $failed failed"
((failed == 0))
