# Shared shell helpers for the local-stack scripts. Source it; do not run it.
# Sets ROOT (repository root), loads scripts/local.env, defines logging,
# readiness waits and pidfile handling.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=local.env
. "$ROOT/scripts/local.env"
case "$OP_DATA_DIR" in /*) DATA="$OP_DATA_DIR" ;; *) DATA="$ROOT/$OP_DATA_DIR" ;; esac
export OP_DATA_ABS="$DATA"
RUN="$DATA/run"        # pidfiles and "started by us" markers
LOGS="$DATA/logs"
SECRETS="$DATA/secrets"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/orders-pipeline"
mkdir -p "$RUN" "$LOGS" "$CACHE"

say()  { printf '\033[1m[%s]\033[0m %s\n' "${STEP:-stack}" "$*"; }
warn() { printf '\033[33m[%s] warning:\033[0m %s\n' "${STEP:-stack}" "$*" >&2; }
die()  { printf '\033[31m[%s] error:\033[0m %s\n' "${STEP:-stack}" "$*" >&2; exit 1; }

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds.
# Fails (returning 1) after SECONDS, so no wait is unbounded.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then
      warn "$what not ready after ${limit}s"
      return 1
    fi
    sleep 0.2
  done
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive NAME: the pid recorded in $RUN/NAME.pid is a live process.
pid_alive() {
  local f="$RUN/$1.pid"
  [[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# stop_pid NAME [SECONDS]: SIGTERM the recorded process, wait, then SIGKILL.
stop_pid() {
  local name=$1 limit=${2:-30} pid
  [[ -s "$RUN/$name.pid" ]] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$(( $(date +%s) + limit ))
    while kill -0 "$pid" 2>/dev/null; do
      if (( $(date +%s) >= deadline )); then
        warn "$name (pid $pid) ignored SIGTERM for ${limit}s; killing"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
  rm -f "$RUN/$name.pid"
}

# write_secret NAME VALUE: a 0600 file under $SECRETS, as Kubernetes mounts them.
write_secret() {
  mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
  ( umask 077; printf '%s' "$2" > "$SECRETS/$1" )
}

# stop_owned NAME SECONDS: stop the process recorded in $RUN/NAME.pid when the
# caller's `ours` function confirms it is still the server we started; a
# pidfile that now names some other process is dropped, never killed.
stop_owned() {
  local name=$1 limit=$2
  if [[ -s $RUN/$name.pid ]] && ! ours; then
    warn "pidfile $RUN/$name.pid does not point at our server any more; removing it"
    rm -f "$RUN/$name.pid"
    return 0
  fi
  if ! ours; then say "not running"; return 0; fi
  say "stopping (pid $(cat "$RUN/$name.pid"))"
  stop_pid "$name" "$limit"
  say "stopped"
}

# fail MSG: print MSG and the last 30 lines of the caller's server log ($LOG),
# then exit 1.
fail() {
  warn "$1"
  if [[ -n ${LOG:-} && -s $LOG ]]; then
    printf -- '--- last 30 lines of %s ---\n' "$LOG" >&2
    tail -n 30 "$LOG" >&2
  fi
  exit 1
}

# pid_runs NAME PATTERN: the process in $RUN/NAME.pid is alive and its
# command line matches the glob PATTERN (not a recycled pid or someone else's
# server).
pid_runs() {
  pid_alive "$1" || return 1
  local cmd; cmd="$(tr '\0' ' ' <"/proc/$(cat "$RUN/$1.pid")/cmdline" 2>/dev/null)" || return 1
  # shellcheck disable=SC2053
  [[ $cmd == $2 ]]
}

# port_owner PORT: the process listening on 127.0.0.1:PORT, as ss names it.
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -1; }
