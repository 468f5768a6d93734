# Dev Kafka of the chart (kind only): one KRaft node, broker + controller,
# run by the dev kafka StatefulSet with bash -c; tests/chart/kafka-setup-test.sh
# runs the same file against local ports.
#
# Clients (services, bootstrap Job) use SASL/SCRAM on the client listener
# with deny-by-default ACLs; only the admin is super. The admin's SCRAM
# credential is NOT given to kafka-storage format (--add-scram takes the
# password on the command line, readable in /proc/PID/cmdline by every
# process in the pod): the broker also listens on loopback (BOOT, SASL
# PLAIN, its one user the admin, defined in the 0600 server.properties), and
# once it is up this script upserts the admin's SCRAM credential through it
# from 0600 files (kafka-configs --add-config-file). Inter-broker traffic
# uses BOOT too, so it never depends on a SCRAM credential.
#
# Environment: KAFKA_ADMIN_USER, KAFKA_ADVERTISED_HOST; for local runs also
#   SECRETS_DIR, KAFKA_BIN, KAFKA_DATA_DIR, KAFKA_WORK_DIR, KAFKA_LISTEN_HOST,
#   KAFKA_CLIENT_PORT, KAFKA_CONTROLLER_PORT, KAFKA_BOOT_PORT, KAFKA_CLUSTER_ID
set -euo pipefail
: "${SECRETS_DIR:=/var/run/secrets/orders-pipeline}" "${KAFKA_BIN:=/opt/kafka/bin}"
: "${KAFKA_DATA_DIR:=/var/lib/kafka/data}" "${KAFKA_WORK_DIR:=/tmp}" "${KAFKA_LISTEN_HOST:=0.0.0.0}"
: "${KAFKA_CLIENT_PORT:=9092}" "${KAFKA_CONTROLLER_PORT:=9093}" "${KAFKA_BOOT_PORT:=9094}"
: "${KAFKA_CLUSTER_ID:=b3JkZXJzLXBpcGVsaW5lMA}"
A="$KAFKA_ADMIN_USER"
P="$(<"$SECRETS_DIR/kafka-admin-password")"
[[ -n $P && $P != *[\"\\$'\n\r']* ]] || { echo "kafka-admin-password is empty or holds a quote, backslash or line break" >&2; exit 1; }
W="$KAFKA_WORK_DIR"
umask 077
cat >"$W/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=SASL_PLAINTEXT://$KAFKA_LISTEN_HOST:$KAFKA_CLIENT_PORT,BOOT://127.0.0.1:$KAFKA_BOOT_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$KAFKA_ADVERTISED_HOST:$KAFKA_CLIENT_PORT,BOOT://127.0.0.1:$KAFKA_BOOT_PORT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,BOOT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=BOOT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.boot.sasl.enabled.mechanisms=PLAIN
listener.name.boot.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$A" password="$P" user_$A="$P";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$A" password="$P" user_$A="$P";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$A
log.dirs=$KAFKA_DATA_DIR
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
group.initial.rebalance.delay.ms=0
CONF
cat >"$W/boot.properties" <<CONF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$A" password="$P";
CONF
for m in SCRAM-SHA-256 SCRAM-SHA-512; do printf '%s=password=%s\n' "$m" "$P" >"$W/$m.properties"; done
unset P

"$KAFKA_BIN/kafka-storage.sh" format --ignore-formatted -t "$KAFKA_CLUSTER_ID" -c "$W/server.properties"
"$KAFKA_BIN/kafka-server-start.sh" "$W/server.properties" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT

# One mechanism per request (the broker refuses two alterations of one user
# in one request); retried until the broker answers on BOOT.
for m in SCRAM-SHA-256 SCRAM-SHA-512; do
  until "$KAFKA_BIN/kafka-configs.sh" --bootstrap-server "127.0.0.1:$KAFKA_BOOT_PORT" --command-config "$W/boot.properties" \
        --alter --entity-type users --entity-name "$A" --add-config-file "$W/$m.properties" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || break 2
    sleep 2
  done
done
rm -f "$W"/SCRAM-SHA-*.properties
kill -0 "$pid" 2>/dev/null && echo "admin SCRAM credential in place (SCRAM-SHA-256/512)"

# Until the broker exits; a trapped signal interrupts the first wait.
status=0
wait "$pid" || status=$?
if kill -0 "$pid" 2>/dev/null; then wait "$pid" || status=$?; fi
exit "$status"
