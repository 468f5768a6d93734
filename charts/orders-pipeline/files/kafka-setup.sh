# Kafka bootstrap of the orders-pipeline chart (the kafka-setup Job runs it
# with bash -c; tests/chart/kafka-setup-test.sh runs the same file against
# the local broker). Idempotent. With the stock Kafka tools, as the admin:
#   1. optionally upserts the services' SCRAM credentials;
#   2. creates the missing topics;
#   3. reconciles ACLs: every managed principal ends up with exactly the
#      declared entries; anything else it holds (a grant left behind by an
#      earlier values file) is removed. Other principals are not touched.
# Same approach as scripts/kafka.sh (KafkaBootstrap), in shell.
#
# No secret ever reaches a command line (/proc/PID/cmdline is readable by
# every process in the pod): passwords go from the Secret files into 0600
# files under a private temporary directory (the admin's JAAS config, one
# --add-config-file per SCRAM mechanism).
#
# Environment:
#   KAFKA_BOOTSTRAP, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_ADMIN_USER
#   KAFKA_CA_FILE        PEM CA bundle for SASL_SSL (optional)
#   KAFKA_USERS          "user:secret-file ..." SCRAM users to upsert (empty: none)
#   KAFKA_SETUP_SPEC     declarations, one per line ('#' comments):
#                          topic NAME PARTITIONS REPLICATION_FACTOR
#                          acl PRINCIPAL RESOURCE_TYPE PATTERN_TYPE NAME OPERATION  (ALLOW, any host)
#                          principal PRINCIPAL   (managed, no ACL: all of its ACLs are removed)
#   SECRETS_DIR          where kafka-admin-password and KAFKA_USERS' files are
#   KAFKA_BIN            directory of kafka-{topics,configs,acls}.sh
#   KAFKA_WAIT_SECONDS   how long to wait for the broker (default 600)
set -euo pipefail
export LC_ALL=C   # one sort order everywhere
: "${SECRETS_DIR:=/var/run/secrets/orders-pipeline}" "${KAFKA_BIN:=/opt/kafka/bin}"
: "${KAFKA_WAIT_SECONDS:=600}" "${KAFKA_USERS:=}" "${KAFKA_CA_FILE:=}"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

die() { echo "kafka-setup: $*" >&2; exit 1; }

# secret FILE: the file's content, checked to fit a JAAS string and a
# properties value (no quote, backslash or line break).
secret() {
  local v
  v="$(<"$SECRETS_DIR/$1")" || die "cannot read secret file $1"
  [[ -n $v && $v != *[\"\\$'\n\r']* ]] || die "secret $1 is empty or holds a quote, backslash or line break"
  printf '%s' "$v"
}

pw="$(secret kafka-admin-password)"
{ echo "security.protocol=$KAFKA_SECURITY_PROTOCOL"
  echo "sasl.mechanism=$KAFKA_SASL_MECHANISM"
  printf 'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";\n' \
    "$KAFKA_ADMIN_USER" "$pw"
  if [[ -n $KAFKA_CA_FILE ]]; then
    echo "ssl.truststore.type=PEM"
    echo "ssl.truststore.location=$KAFKA_CA_FILE"
  fi
} >"$work/admin.properties"
unset pw

kt() { # kt TOOL ARGS...: a Kafka tool as the admin
  local tool=$1; shift
  "$KAFKA_BIN/$tool.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$work/admin.properties" "$@"
}

# ---- declarations -------------------------------------------------------------
topics=() desired=() principals=()
add_principal() { local p; for p in "${principals[@]}"; do [[ $p == "$1" ]] && return 0; done; principals+=("$1"); }
while read -r kind a b c d e extra; do
  [[ -z $kind || $kind == \#* ]] && continue
  case $kind in
    topic) [[ -n $c && -z $d ]] || die "bad line: topic $a $b $c $d"; topics+=("$a $b $c") ;;
    acl)
      [[ -n $e && -z $extra ]] || die "bad line: acl $a $b $c $d $e $extra"
      # the form the listing prints: PRINCIPAL|TYPE|PATTERN|NAME|OPERATION|PERMISSION|HOST
      desired+=("$a|${b^^}|${c^^}|$d|${e^^}|ALLOW|*"); add_principal "$a" ;;
    principal) [[ -n $a && -z $b ]] || die "bad line: principal $a $b"; add_principal "$a" ;;
    *) die "unknown declaration '$kind'" ;;
  esac
done <<<"${KAFKA_SETUP_SPEC:-}"

# ---- 0. wait for the broker ---------------------------------------------------------
deadline=$((SECONDS + KAFKA_WAIT_SECONDS))
until kt kafka-topics --list >"$work/topics" 2>"$work/err"; do
  ((SECONDS < deadline)) || { tail -n 5 "$work/err" >&2; die "no authenticated answer from $KAFKA_BOOTSTRAP within ${KAFKA_WAIT_SECONDS}s"; }
  echo "waiting for kafka at $KAFKA_BOOTSTRAP"
  sleep 3
done

# ---- 1. SCRAM users ----------------------------------------------------------------
for pair in $KAFKA_USERS; do
  u="${pair%%:*}" f="${pair#*:}"
  pw="$(secret "$f")"
  # One mechanism per request: the broker refuses two alterations of one
  # user in the same request. The file holds "MECHANISM=password=...".
  for m in SCRAM-SHA-256 SCRAM-SHA-512; do
    printf '%s=password=%s\n' "$m" "$pw" >"$work/scram.properties"
    kt kafka-configs --alter --entity-type users --entity-name "$u" --add-config-file "$work/scram.properties" >/dev/null
  done
  rm -f "$work/scram.properties"
  echo "scram user $u upserted (SCRAM-SHA-256/512)"
done

# ---- 2. topics ------------------------------------------------------------------
# (the listing of step 0 saves a tool run per existing topic)
for t in "${topics[@]}"; do
  read -r name parts rf <<<"$t"
  if grep -qxF -- "$name" "$work/topics"; then echo "topic $name exists"; continue; fi
  kt kafka-topics --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$rf" >/dev/null
  echo "topic $name created"
done

# ---- 3. ACLs ----------------------------------------------------------------------
# present: the ACL entries of the managed principals, one line each, in the
# form of `desired`, parsed from kafka-acls --list.
present() {
  local p line rt="" rn="" rp="" re_res re_ace
  re_res='resourceType=([A-Z_]+), name=(.*), patternType=([A-Z_]+)\)'
  re_ace='\(principal=(.*), host=(.*), operation=([A-Z_]+), permissionType=([A-Z]+)\)'
  for p in "${principals[@]}"; do
    kt kafka-acls --list --principal "$p" >"$work/acls" || die "cannot list the ACLs of $p"
    while IFS= read -r line; do
      if [[ $line =~ $re_res ]]; then
        rt=${BASH_REMATCH[1]} rn=${BASH_REMATCH[2]} rp=${BASH_REMATCH[3]}
      elif [[ $line =~ $re_ace ]]; then
        printf '%s|%s|%s|%s|%s|%s|%s\n' "${BASH_REMATCH[1]}" "$rt" "$rp" "$rn" "${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" "${BASH_REMATCH[2]}"
      fi
    done <"$work/acls"
  done | sort -u
}

# acl_run add|remove KEY OPERATION...: one kafka-acls run for the entries of
# one principal and resource. KEY is an entry without its operation:
# PRINCIPAL|TYPE|PATTERN|NAME|PERMISSION|HOST.
acl_run() {
  local action=$1 pr rt pt name perm host res who op args=()
  IFS='|' read -r pr rt pt name perm host <<<"$2"
  shift 2
  case $rt in
    TOPIC) res=(--topic "$name") ;;
    GROUP) res=(--group "$name") ;;
    TRANSACTIONAL_ID) res=(--transactional-id "$name") ;;
    CLUSTER) res=(--cluster) ;;
    DELEGATION_TOKEN) res=(--delegation-token "$name") ;;
    USER) res=(--user-principal "$name") ;;
    *) die "unsupported resource type $rt" ;;
  esac
  who=allow; [[ $perm == DENY ]] && who=deny
  for op in "$@"; do args+=(--operation "$op"); done
  [[ $action == remove ]] && args+=(--force)
  kt kafka-acls "--$action" "--$who-principal" "$pr" "--$who-host" "$host" \
    --resource-pattern-type "$pt" "${res[@]}" "${args[@]}" >/dev/null
}

# apply add|remove < ENTRIES: groups the entries by principal and resource
# (one tool run each); sets count; prints every entry.
apply() {
  local action=$1 entry key op prev="" ops=()
  count=0
  while IFS= read -r entry; do
    op=$(cut -d'|' -f5 <<<"$entry")
    key=$(cut -d'|' -f1-4,6- <<<"$entry")
    if [[ $key != "$prev" && ${#ops[@]} -gt 0 ]]; then acl_run "$action" "$prev" "${ops[@]}"; ops=(); fi
    prev=$key; ops+=("$op"); count=$((count + 1))
    echo "acl $action: $entry"
  done < <(sort -t'|' -k1,4 -k6,7 -k5,5)
  if ((${#ops[@]})); then acl_run "$action" "$prev" "${ops[@]}"; fi
}

printf '%s\n' "${desired[@]}" | sed '/^$/d' | sort -u >"$work/desired"
present >"$work/present"
# (grep -vxFf: the lines of one file that are not in the other)
apply add < <(grep -vxFf "$work/present" "$work/desired" || true); added=$count
apply remove < <(grep -vxFf "$work/desired" "$work/present" || true); removed=$count

# The authorizer applies changes asynchronously: finish only once the broker
# serves exactly the declared set.
for _ in $(seq 1 30); do
  present >"$work/present"
  cmp -s "$work/desired" "$work/present" && break
  sleep 1
done
if ! cmp -s "$work/desired" "$work/present"; then
  diff "$work/desired" "$work/present" >&2 || true
  die "the broker does not serve the declared ACLs"
fi
echo "acls: $(wc -l <"$work/desired") declared for ${principals[*]}, added $added, removed $removed"
echo "kafka topics, users and ACLs in place"
