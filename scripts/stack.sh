#!/usr/bin/env bash
# The local stack: PostgreSQL, Redis, Kafka (KRaft, SCRAM + ACLs) and an S3
# server (versitygw), all real, on loopback, data under $OP_DATA_DIR.
#   scripts/stack.sh up       start what is not running (idempotent)
#   scripts/stack.sh down     stop services and servers that we started
#   scripts/stack.sh status   one line per component; exit 1 if any is down
STEP=stack
. "$(dirname "$0")/lib.sh"

COMPONENTS=(postgres redis kafka s3)

case "${1:-}" in
  up)
    for c in "${COMPONENTS[@]}"; do "$ROOT/scripts/$c.sh" start; done
    say "stack is up"
    ;;
  down)
    [[ -x "$ROOT/scripts/services.sh" ]] && "$ROOT/scripts/services.sh" stop
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
      "$ROOT/scripts/${COMPONENTS[i]}.sh" stop
    done
    say "stack is down"
    ;;
  status)
    rc=0
    for c in "${COMPONENTS[@]}"; do
      if "$ROOT/scripts/$c.sh" status >/dev/null 2>&1; then
        printf '%-9s up\n' "$c"
      else
        printf '%-9s down\n' "$c"; rc=1
      fi
    done
    exit $rc
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
