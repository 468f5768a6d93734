#!/usr/bin/env bash
# PostgreSQL from the Debian package, on loopback, data under $DATA/postgres.
# Creates the database, the migrator role (owns the schema) and the
# least-privilege billing role, then applies the migrations.
# Usage: scripts/postgres.sh install|start|stop|status|reset|psql [args]
STEP=postgres
. "$(dirname "$0")/lib.sh"

PGDATA_DIR="$DATA/postgres"
PGLOG="$LOGS/postgres.log"
# As root the server runs as the postgres user, who must be able to reach the
# data folder. A checkout under a private home (e.g. /root, mode 700) is out
# of its reach: keep the cluster in a folder of its own, one per checkout.
if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
  PG_ALT="/var/lib/postgresql/orders-pipeline/$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
  mkdir -p "$PG_ALT"
  chown postgres "$PG_ALT"
  PGDATA_DIR="$PG_ALT/data"
  PGLOG="$PG_ALT/postgres.log"
fi
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"

# as_pg CMD...: run as the postgres OS user when we are root (initdb and the
# server refuse to run as root), as ourselves otherwise.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

superuser_psql() {
  PGPASSWORD="$PG_SUPERUSER_PASSWORD" PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 \
    -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"
}

ready() { "$PGBIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -d postgres; }

cmd_install() {
  [[ -x "$PGBIN/postgres" ]] || "$ROOT/scripts/install.sh" apt postgresql
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
}

init_cluster() {
  say "initialising cluster in $PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  local pwfile; pwfile="$(mktemp)"
  printf '%s\n' "$PG_SUPERUSER_PASSWORD" > "$pwfile"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$PGDATA_DIR" "$pwfile"; fi
  chmod 700 "$PGDATA_DIR"
  as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$PG_SUPERUSER" --pwfile="$pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$LOGS/postgres-initdb.log" 2>&1 \
    || { rm -f "$pwfile"; tail -30 "$LOGS/postgres-initdb.log"; die "initdb failed"; }
  rm -f "$pwfile"
  # Loopback only, no Unix socket in a shared directory, passwords only.
  cat >> "$PGDATA_DIR/postgresql.conf" <<CONF
# orders-pipeline local stack
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
max_connections = 100
shared_buffers = 128MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
  cat > "$PGDATA_DIR/pg_hba.conf" <<HBA
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   scram-sha-256
HBA
}

# Roles and database; idempotent, and passwords follow local.env.
bootstrap() {
  say "roles: $PG_MIGRATOR_USER (migrations), $PG_BILLING_USER (least privilege)"
  superuser_psql -d postgres \
    -v migrator="$PG_MIGRATOR_USER" -v migrator_pw="$PG_MIGRATOR_PASSWORD" \
    -v billing="$PG_BILLING_USER" -v billing_pw="$PG_BILLING_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'migrator')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'migrator') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'billing')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'billing') \gexec
ALTER ROLE :"migrator" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'migrator_pw';
ALTER ROLE :"billing" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'billing_pw';
SQL
  if ! superuser_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" | grep -q 1; then
    superuser_psql -d postgres -c "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_MIGRATOR_USER\""
  fi
  superuser_psql -d "$PG_DATABASE" -v db="$PG_DATABASE" -v billing="$PG_BILLING_USER" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"billing";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
  "$ROOT/scripts/migrate.sh"
}

cmd_start() {
  cmd_install
  if ready; then
    pid_alive postgres || warn "port $PG_PORT already answers and is not ours; using it as is"
    bootstrap
    return
  fi
  port_open "$PG_PORT" && die "port $PG_PORT is taken by something that is not PostgreSQL"
  [[ -s "$PGDATA_DIR/PG_VERSION" ]] || init_cluster
  say "starting on $PG_HOST:$PG_PORT"
  touch "$PGLOG"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$PGLOG"; fi
  # Address and port follow local.env at every start (not only at initdb),
  # so a changed PG_PORT or OP_PORT_OFFSET applies to an existing cluster.
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=$PG_HOST" start >/dev/null \
    || { tail -30 "$PGLOG"; die "server did not start"; }
  head -1 "$PGDATA_DIR/postmaster.pid" > "$RUN/postgres.pid"
  wait_until 30 postgres ready || die "not accepting connections"
  bootstrap
  say "ready"
}

cmd_stop() {
  if pid_alive postgres; then
    say "stopping"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null || stop_pid postgres 30
  fi
  rm -f "$RUN/postgres.pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) ready ;;
  reset) cmd_stop; rm -rf "$PGDATA_DIR"; say "data removed" ;;
  psql) shift; superuser_psql -d "$PG_DATABASE" "$@" ;;
  *) echo "usage: $0 install|start|stop|status|reset|psql" >&2; exit 2 ;;
esac
