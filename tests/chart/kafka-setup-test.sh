#!/usr/bin/env bash
# The chart's Kafka bootstrap against the REAL local broker (scripts/kafka.sh,
# started here when it is not running, and then stopped again):
#   - renders the kafka-setup Job with helm (test-only principals, topics and
#     groups: cs-*, so the local stack's own users and ACLs are not touched),
#     takes its script (files/kafka-setup.sh) and environment from the
#     rendered manifest and runs it with kafka-{topics,configs,acls}.sh shims
#     that run the same tool classes as the image's scripts;
#   - the users it upserts log in with SCRAM-SHA-256 and -512, the topics
#     exist, the ACLs of each principal are exactly the chart's list;
#   - stale grants (an extra ALLOW, a DENY, a principal listed in
#     bootstrap.kafka.revokePrincipals) are removed by a second run, while an
#     unmanaged principal's ACL stays;
#   - every command line the script started (recorded by the shims) holds
#     no password, and scripts/kafka.sh formats a fresh broker without any
#     password on a command line (recorded by a `java` shim);
#   - the chart's dev broker script (files/dev-kafka.sh, taken from the
#     rendered StatefulSet) runs on local ports: the admin logs in with
#     SCRAM-SHA-256/512 (a wrong password is refused), also after a restart,
#     SIGTERM stops it, and none of its command lines holds the password.
# Ends with "N passed, N failed".
STEP=kafka-setup-test
. "$(dirname "$0")/../../scripts/lib.sh"

"$ROOT/scripts/install-k8s-tools.sh" >/dev/null
export PATH="$("$ROOT/scripts/install-k8s-tools.sh" --bin-dir):$PATH"
PY="$CACHE/k8s-tools/venv/bin/python"
CHART="$ROOT/charts/orders-pipeline"
KAFKA="$ROOT/scripts/kafka.sh"
T="$(mktemp -d)"
started=0
cleanup() {
  if [[ -s $T/admin.properties ]]; then drop_test_state >/dev/null 2>&1 || true; fi
  if ((started)); then "$KAFKA" stop >/dev/null 2>&1 || true; fi
  if [[ -d $T/fresh ]]; then fresh stop >/dev/null 2>&1 || true; fi
  dev_stop >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

passed=0 failed=0
ok()  { passed=$((passed + 1)); printf '  PASS %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf '  FAIL %s\n' "$1"; if [[ -s $T/err ]]; then sed 's/^/       /' "$T/err" | head -30; fi; }
check() { local n=$1; shift; if "$@" >"$T/err" 2>&1; then ok "$n"; else bad "$n"; fi; }

if ! "$KAFKA" status >/dev/null 2>&1; then
  say "starting the local Kafka (OP_PORT_OFFSET=$OP_PORT_OFFSET)"
  "$KAFKA" start >/dev/null
  started=1
fi
cp "$DATA/kafka/admin.properties" "$T/admin.properties"
run() { "$KAFKA" run "$@"; }
acls() { run kafka.admin.AclCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$T/admin.properties" "$@"; }
topics() { run org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$T/admin.properties" "$@"; }

USERS=(cs-publisher cs-billing cs-archive)
# Removes the test's ACLs (the chart's script itself, with every test
# principal declared without ACLs) and topics. Its SCRAM users stay (random
# passwords, upserted by every run): Kafka 3.9.1 loses the format-time
# SCRAM credentials (the admin's) on the next restart once any SCRAM
# credential was deleted (seen here: delete one user, restart, the admin's
# login fails).
drop_test_state() {
  local spec="" u
  for u in "${USERS[@]}" cs-retired cs-other; do spec+="principal User:$u"$'\n'; done
  printf 'KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\0KAFKA_SASL_MECHANISM=%s\0KAFKA_ADMIN_USER=%s\0KAFKA_SETUP_SPEC=%s\0' \
    "$KAFKA_SASL_MECHANISM" "$KAFKA_ADMIN_USER" "$spec" >"$T/cleanup/env"
  run_job "$T/cleanup" >/dev/null
  topics --delete --if-exists --topic 'cs\..*' >/dev/null 2>&1 || true
}

say "render the kafka-setup Job (test principals cs-*)"
PW_ADMIN="$KAFKA_ADMIN_PASSWORD"
declare -A PW=([cs-publisher]="cs-pub-$RANDOM$RANDOM" [cs-billing]="cs-bil-$RANDOM$RANDOM" [cs-archive]="cs-arc-$RANDOM$RANDOM")
render() {
  helm template op "$CHART" --namespace orders --kube-version 1.31.0 -f "$CHART/values-kind.yaml" \
    --set dev.kafka.enabled=false --set "stores.kafka.bootstrap=$KAFKA_BOOTSTRAP" \
    --set stores.kafka.users.publisher=cs-publisher --set stores.kafka.users.billing=cs-billing \
    --set stores.kafka.users.archive=cs-archive --set "stores.kafka.users.admin=$KAFKA_ADMIN_USER" \
    --set topics.billing=cs.billing --set topics.archive=cs.archive \
    --set topics.partitions=2 --set billing.group=cs-billing-group --set archive.group=cs-archive-group \
    --set "secrets.values.kafkaAdminPassword=$PW_ADMIN" \
    --set "secrets.values.kafkaPublisherPassword=${PW[cs-publisher]}" \
    --set "secrets.values.kafkaBillingPassword=${PW[cs-billing]}" \
    --set "secrets.values.kafkaArchivePassword=${PW[cs-archive]}" "$@"
}
# job_parts RENDERED DIR: DIR/script (the container's bash -c script),
# DIR/env (NAME=VALUE, NUL-separated) and DIR/secrets/* (the Job's Secret).
job_parts() {
  "$PY" - "$1" "$2" <<'PYEOF'
import base64, os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
job = next(d for d in docs if d["kind"] == "Job" and "-kafka-setup-" in d["metadata"]["name"])
spec = job["spec"]["template"]["spec"]
c = spec["containers"][0]
assert c["command"] == ["/bin/bash", "-c"], c["command"]
out = sys.argv[2]
os.makedirs(out + "/secrets", mode=0o700)
open(out + "/script", "w").write(c["args"][0])
with open(out + "/env", "w") as f:
    for e in c["env"]:
        f.write(f'{e["name"]}={e["value"]}\0')
secret_name = next(v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v)
secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == secret_name)
for k, v in secret["data"].items():
    fd = os.open(f"{out}/secrets/{k}", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, base64.b64decode(v))
    os.close(fd)
PYEOF
}
render_to() { local out=$1; shift; render "$@" >"$out"; }
check "helm template (kafka-setup Job, manageUsers, cs-* names)" render_to "$T/r1.yaml"
check "extract the Job's script, environment and Secret" job_parts "$T/r1.yaml" "$T/job1"
check "the Job runs files/kafka-setup.sh verbatim" cmp "$T/job1/script" "$CHART/files/kafka-setup.sh"

# Shims named like the image's tools: record the command line, then run the
# tool class those scripts run (kafka-run-class.sh CLASS "$@").
mkdir -p "$T/bin"
for shim in kafka-topics:org.apache.kafka.tools.TopicCommand kafka-configs:kafka.admin.ConfigCommand \
            kafka-acls:kafka.admin.AclCommand; do
  cat >"$T/bin/${shim%%:*}.sh" <<EOF
#!/usr/bin/env bash
printf '%s\\0' "\$0" "\$@" >>"$T/argv.log"; printf '\\n\\0' >>"$T/argv.log"
exec "$KAFKA" run ${shim#*:} "\$@"
EOF
  chmod +x "$T/bin/${shim%%:*}.sh"
done

# run_job DIR: the script with the Job's environment, the test's shims,
# secrets and broker.
run_job() {
  local env=()
  mapfile -d '' env <"$1/env"
  # the Job's environment first, then what differs here (HOME: the jar cache)
  env -i "${env[@]}" PATH="$PATH" HOME="$HOME" ${XDG_CACHE_HOME:+XDG_CACHE_HOME="$XDG_CACHE_HOME"} TMPDIR="$T" KAFKA_BIN="$T/bin" SECRETS_DIR="$1/secrets" \
    KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP" KAFKA_HEAP_OPTS= KAFKA_LOG4J_OPTS= KAFKA_WAIT_SECONDS=60 \
    OP_PORT_OFFSET="$OP_PORT_OFFSET" OP_DATA_DIR="$OP_DATA_DIR" bash -c "$(cat "$1/script")"
}

mkdir -p "$T/cleanup/secrets"
cp "$CHART/files/kafka-setup.sh" "$T/cleanup/script"
printf '%s' "$KAFKA_ADMIN_PASSWORD" >"$T/cleanup/secrets/kafka-admin-password"
drop_test_state

# declared SPEC_ENV_FILE: the chart's ACL list in the script's listing form.
declared() {
  tr '\0' '\n' <"$1" | sed -n '/^KAFKA_SETUP_SPEC=/,/^KAFKA_HEAP_OPTS=/p' | sed '1s/^KAFKA_SETUP_SPEC=//' |
    awk '$1 == "acl" { printf "%s|%s|%s|%s|%s|ALLOW|*\n", $2, $3, $4, $5, $6 }' | LC_ALL=C sort -u
}
# served: what the broker holds for the test principals, same form.
served() {
  local p
  for p in "$@"; do acls --list --principal "User:$p"; done | awk '
    /resourceType=/ { match($0, /resourceType=[A-Z_]+/); rt = substr($0, RSTART + 13, RLENGTH - 13)
                      match($0, /name=[^,]+/); rn = substr($0, RSTART + 5, RLENGTH - 5)
                      match($0, /patternType=[A-Z_]+/); rp = substr($0, RSTART + 12, RLENGTH - 12) }
    /\(principal=/  { match($0, /principal=[^,]+/); pr = substr($0, RSTART + 10, RLENGTH - 10)
                      match($0, /host=[^,]+/); h = substr($0, RSTART + 5, RLENGTH - 5)
                      match($0, /operation=[A-Z_]+/); op = substr($0, RSTART + 10, RLENGTH - 10)
                      match($0, /permissionType=[A-Z]+/); pt = substr($0, RSTART + 15, RLENGTH - 15)
                      printf "%s|%s|%s|%s|%s|%s|%s\n", pr, rt, rp, rn, op, pt, h }' | LC_ALL=C sort -u
}
# login USER MECHANISM: an authenticated admin request as USER.
login() {
  printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=%s\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";\n' \
    "$2" "$1" "${PW[$1]}" >"$T/login.properties"
  run org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "$KAFKA_BOOTSTRAP" --config "$T/login.properties"
}

say "first run: users, topics, ACLs"
check "kafka-setup.sh succeeds against the local Kafka" run_job "$T/job1"
check "cs-publisher logs in with SCRAM-SHA-512" login cs-publisher SCRAM-SHA-512
check "cs-billing logs in with SCRAM-SHA-256" login cs-billing SCRAM-SHA-256
check "cs-archive logs in with SCRAM-SHA-256" login cs-archive SCRAM-SHA-256
four_topics() { [[ $(topics --list | grep -cE '^cs\.(billing|archive)(\.dlq)?$') == 4 ]]; }
check "topics cs.billing, cs.archive and their .dlq exist" four_topics
declared "$T/job1/env" >"$T/declared"
served "${USERS[@]}" >"$T/served1"
check "the broker serves exactly the chart's ACL list ($(wc -l <"$T/declared") entries)" diff -u "$T/declared" "$T/served1"
check "... including the publisher's ordersctl dlq grants" grep -qx 'User:cs-publisher|GROUP|PREFIXED|ordersctl-dlq-|READ|ALLOW|\*' "$T/served1"

say "stale grants are removed on the next run"
acls --add --allow-principal User:cs-billing --operation Write --topic cs.archive >/dev/null
acls --add --deny-principal User:cs-archive --operation Read --group cs-archive-group --resource-pattern-type prefixed >/dev/null
acls --add --allow-principal User:cs-retired --operation Read --topic cs.billing >/dev/null
acls --add --allow-principal User:cs-other --operation Read --topic cs.billing >/dev/null
served cs-billing cs-archive cs-retired >"$T/stale"
stale_in_place() { [[ $(grep -c . "$T/stale") -eq $(( $(grep -cE '^User:cs-(billing|archive)\|' "$T/declared") + 3 )) ]]; }
check "(setup) the stale grants are in place" stale_in_place
check "helm template with bootstrap.kafka.revokePrincipals={User:cs-retired}" render_to "$T/r2.yaml" --set 'bootstrap.kafka.revokePrincipals={User:cs-retired}' --set bootstrap.kafka.manageUsers=false
check "extract the second Job" job_parts "$T/r2.yaml" "$T/job2"
check "kafka-setup.sh reconciles" run_job "$T/job2"
served "${USERS[@]}" >"$T/served2"
check "the stale ALLOW and DENY are gone: the broker serves exactly the chart's list again" diff -u "$T/declared" "$T/served2"
revoked() { [[ -z $(served cs-retired) ]]; }
untouched() { [[ $(served cs-other) == 'User:cs-other|TOPIC|LITERAL|cs.billing|READ|ALLOW|*' ]]; }
check "the revoked principal has no ACL left" revoked
check "an unmanaged principal's ACL is left alone" untouched

say "no password on any command line"
# no_secret_in LOG SECRET...: none of the secrets occurs in the recorded argv.
no_secret_in() {
  local log=$1 s; shift
  [[ -s $log ]] || { echo "nothing recorded in $log"; return 1; }
  for s in "$@"; do
    if grep -aqF -- "$s" "$log"; then echo "a password is on a recorded command line"; return 1; fi
  done
}
recorded() { grep -aqF -- '--add-config-file' "$T/argv.log" && grep -aqF -- '--remove' "$T/argv.log"; }
check "the shims recorded the SCRAM upserts (--add-config-file) and the ACL removals" recorded
check "no recorded kafka-* command line holds a password" no_secret_in "$T/argv.log" "$PW_ADMIN" "${PW[@]}"

# scripts/kafka.sh: format and start a fresh broker (own data dir and ports)
# with every java command line recorded.
mkdir -p "$T/jbin"
REAL_JAVA="$(command -v java)"
cat >"$T/jbin/java" <<EOF
#!/usr/bin/env bash
printf '%s\\0' "\$@" >>"$T/java-argv.log"; printf '\\n\\0' >>"$T/java-argv.log"
exec "$REAL_JAVA" "\$@"
EOF
chmod +x "$T/jbin/java"
# A clean environment: local.env derives every port from OP_PORT_OFFSET.
fresh() {
  env -i PATH="$T/jbin:$PATH" HOME="$HOME" ${XDG_CACHE_HOME:+XDG_CACHE_HOME="$XDG_CACHE_HOME"} \
    OP_DATA_DIR="$T/fresh" OP_PORT_OFFSET=$((OP_PORT_OFFSET + 50)) KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-300}" "$KAFKA" "$@"
}
check "scripts/kafka.sh starts a fresh broker (offset +50, own data dir)" fresh start
check "... which formatted its storage through KafkaBootstrap format" grep -aqF 'KafkaBootstrap' "$T/java-argv.log"
fresh stop >/dev/null 2>&1 || true
check "no java command line of scripts/kafka.sh holds a password" no_secret_in "$T/java-argv.log" \
  "$KAFKA_ADMIN_PASSWORD" "$KAFKA_PUBLISHER_PASSWORD" "$KAFKA_BILLING_PASSWORD" "$KAFKA_ARCHIVE_PASSWORD"

say "dev broker of the chart (files/dev-kafka.sh) on local ports"
# Its StatefulSet's script, run with shims for the image's kafka-*.sh.
render_kind() { helm template op "$CHART" --namespace orders --kube-version 1.31.0 -f "$CHART/values-kind.yaml" >"$1"; }
dev_script() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
sts = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"].endswith("-kafka"))
c = sts["spec"]["template"]["spec"]["containers"][0]
assert c["command"] == ["/bin/bash", "-c"], c["command"]
open(sys.argv[2], "w").write(c["args"][0])
PYEOF
}
check "helm template (kind: dev Kafka StatefulSet)" render_kind "$T/kind.yaml"
check "extract the dev Kafka script" dev_script "$T/kind.yaml" "$T/dev-kafka.sh"
check "the dev Kafka runs files/dev-kafka.sh verbatim" cmp "$T/dev-kafka.sh" "$CHART/files/dev-kafka.sh"
DK="$T/devk"
mkdir -p "$DK/bin" "$DK/secrets" "$DK/work" "$DK/data"
DEV_PW="dk-admin-$RANDOM$RANDOM"
printf '%s' "$DEV_PW" >"$DK/secrets/kafka-admin-password"
for shim in kafka-storage:kafka.tools.StorageTool kafka-server-start:kafka.Kafka kafka-configs:kafka.admin.ConfigCommand; do
  cat >"$DK/bin/${shim%%:*}.sh" <<SHIM
#!/usr/bin/env bash
printf '%s\\0' "\$0" "\$@" >>"$DK/argv.log"; printf '\\n\\0' >>"$DK/argv.log"
exec "$KAFKA" run ${shim#*:} "\$@"
SHIM
  chmod +x "$DK/bin/${shim%%:*}.sh"
done
DK_PORT=$((19092 + OP_PORT_OFFSET + 70))
dev_start() {
  env -i PATH="$PATH" HOME="$HOME" ${XDG_CACHE_HOME:+XDG_CACHE_HOME="$XDG_CACHE_HOME"} \
    OP_PORT_OFFSET="$OP_PORT_OFFSET" OP_DATA_DIR="$OP_DATA_DIR" \
    KAFKA_ADMIN_USER=admin KAFKA_ADVERTISED_HOST=127.0.0.1 KAFKA_LISTEN_HOST=127.0.0.1 \
    KAFKA_CLIENT_PORT=$DK_PORT KAFKA_CONTROLLER_PORT=$((DK_PORT + 1)) KAFKA_BOOT_PORT=$((DK_PORT + 2)) \
    SECRETS_DIR="$DK/secrets" KAFKA_BIN="$DK/bin" KAFKA_DATA_DIR="$DK/data" KAFKA_WORK_DIR="$DK/work" \
    setsid bash -c "$(cat "$T/dev-kafka.sh")" >"$DK/out.log" 2>&1 &
  DK_PID=$!
}
dev_stop() { # TERM the script (it forwards to the broker); bounded wait
  [[ -n ${DK_PID:-} ]] || return 0
  kill -TERM "$DK_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 600); do kill -0 "$DK_PID" 2>/dev/null || break; sleep 0.2; done  # 120 s
  if kill -0 "$DK_PID" 2>/dev/null; then kill -KILL -- "-$DK_PID" 2>/dev/null || true; DK_PID=; return 1; fi
  wait "$DK_PID" 2>/dev/null || true
  DK_PID=
}
admin_login() { # admin_login MECHANISM PASSWORD
  printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=%s\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' \
    "$1" "$2" >"$T/dk-login.properties"
  run org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "127.0.0.1:$DK_PORT" --config "$T/dk-login.properties"
}
dev_ready() { # bounded wait (KAFKA_START_TIMEOUT, 300 s) for the admin's SCRAM login
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-300}))
  # the script says so once both mechanisms are upserted
  until grep -q 'admin SCRAM credential in place' "$DK/out.log" 2>/dev/null && admin_login SCRAM-SHA-256 "$DEV_PW" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || ! kill -0 "$DK_PID" 2>/dev/null; then tail -n 20 "$DK/out.log"; return 1; fi
    sleep 2
  done
}
refute() { local n=$1; shift; if "$@" >"$T/err" 2>&1; then : >"$T/err"; bad "$n (unexpectedly succeeded)"; else ok "$n"; fi; }
dev_start
check "the dev broker starts and the admin logs in with SCRAM-SHA-256 (client listener)" dev_ready
check "... and with SCRAM-SHA-512" admin_login SCRAM-SHA-512 "$DEV_PW"
refute "a wrong admin password is refused" admin_login SCRAM-SHA-256 "not-$DEV_PW"
check "SIGTERM stops the script and its broker" dev_stop
dev_start
check "after a restart (storage already formatted) the admin logs in again" dev_ready
check "SIGTERM stops it again" dev_stop
check "the dev broker's tools were recorded (--add-config-file)" grep -aqF -- '--add-config-file' "$DK/argv.log"
check "no command line of the dev broker holds the admin password" no_secret_in "$DK/argv.log" "$DEV_PW"

echo "kafka-setup-test: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
((failed == 0))
