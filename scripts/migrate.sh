#!/usr/bin/env bash
# Applies services/billing/migrations/*.sql in order, as the migrator role,
# each in its own transaction together with its row in
# billing.schema_migrations; an advisory lock serialises concurrent runs.
# Idempotent: applied versions are skipped. The billing role name reaches the
# SQL as the psql variable :"billing_role".
STEP=migrate
. "$(dirname "$0")/lib.sh"

MIGRATIONS="${MIGRATIONS_DIR:-$ROOT/services/billing/migrations}"
export PGPASSWORD="$PG_MIGRATOR_PASSWORD" PGOPTIONS="-c client_min_messages=warning"
mpsql() {
  psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_MIGRATOR_USER" \
    -d "$PG_DATABASE" -v billing_role="$PG_BILLING_USER" "$@"
}

mpsql <<'SQL'
CREATE SCHEMA IF NOT EXISTS billing;
CREATE TABLE IF NOT EXISTS billing.schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
SQL

applied=0
for f in "$MIGRATIONS"/*.sql; do
  [[ -e $f ]] || continue
  version="$(basename "$f" .sql)"
  [[ $version =~ ^[0-9]{4}_[a-z0-9_]+$ ]] || die "bad migration name: $version (want NNNN_name.sql)"
  done_already="$(mpsql -tAc "SELECT 1 FROM billing.schema_migrations WHERE version = '$version'")"
  [[ $done_already == 1 ]] && continue
  say "applying $version"
  { echo "SELECT pg_advisory_xact_lock(727274) AS locked \\gset"
    echo "SELECT count(*) > 0 AS already FROM billing.schema_migrations WHERE version = '$version' \\gset"
    echo "\\if :already"
    echo "\\else"
    cat "$f"
    echo
    echo "INSERT INTO billing.schema_migrations (version) VALUES ('$version');"
    echo "\\endif"
  } | mpsql -1 || die "migration $version failed"
  applied=$((applied + 1))
done
say "schema up to date ($applied applied)"
