#!/usr/bin/env bash
# Local S3-compatible object store: versitygw (Apache-2.0) with its posix
# backend on loopback, built from the Go module proxy. Bootstraps the archive
# bucket, the archive user and a bucket policy that lets that user only
# PutObject. Settings come from scripts/local.env.
#
#   scripts/s3.sh install   go install versitygw (pinned), binary in $(go env GOPATH)/bin
#   scripts/s3.sh start     install if needed, start, wait until ready, bootstrap
#   scripts/s3.sh stop      stop the gateway started here (data is kept)
#   scripts/s3.sh status    exit 0 when running and answering signed requests
#   scripts/s3.sh reset     stop and delete the data ($DATA/s3)
#
# versitygw logs one line per request; VGW_QUIET=true in the environment
# silences that.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEP=s3

: "${S3_START_TIMEOUT:=30}"          # seconds until the gateway answers a signed request
: "${S3_STOP_TIMEOUT:=15}"           # seconds of SIGTERM grace before SIGKILL

NAME=s3
HERE="$ROOT/scripts/s3"
SDIR="$DATA/s3"                      # iam/ (users.json), data/ (buckets), archive-policy.json
LOG="$LOGS/s3.log"
MODULE=github.com/versity/versitygw
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

VGW=""                               # $(go env GOPATH)/bin/versitygw, set by find_vgw

find_vgw() {
  [[ -n $VGW ]] && return 0
  command -v go >/dev/null || die "go is not installed (versitygw $VERSITYGW_VERSION needs Go >= 1.25)"
  local gopath; gopath="$(go env GOPATH)"
  GOBIN_DIR="${gopath%%:*}/bin"          # where `go install` puts it (first GOPATH entry)
  VGW="$GOBIN_DIR/versitygw"
}

RESP="$(mktemp "${TMPDIR:-/tmp}/s3sh.XXXXXX")"
trap 'rm -f "$RESP"' EXIT

# ---- install ------------------------------------------------------------------
installed() {
  find_vgw
  [[ -x $VGW ]] || return 1
  local v; v="$("$VGW" --version 2>/dev/null)" || return 1
  [[ $'\n'$v$'\n' == *$'\n'"Version  : $VERSITYGW_VERSION"$'\n'* ]]
}

cmd_install() {
  if installed; then
    say "versitygw $VERSITYGW_VERSION installed: $VGW"
    return 0
  fi
  command -v curl >/dev/null || die "curl is missing (Debian: apt-get install curl)"
  say "building versitygw $VERSITYGW_VERSION (go install; modules cached in $(go env GOMODCACHE))"
  # GOTOOLCHAIN=local: never fetch another Go toolchain behind our back.
  local log="$CACHE/versitygw-install.log"
  # From the module cache alone if it has everything (GOPROXY=off), else
  # through the module proxy.
  local gi=(go install -ldflags "-X main.Version=$VERSITYGW_VERSION -X main.Build=go-install"
            "$MODULE/cmd/versitygw@$VERSITYGW_VERSION")
  export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$GOBIN_DIR"
  if ! GOPROXY=off "${gi[@]}" >"$log" 2>&1 && ! "${gi[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "go install $MODULE/cmd/versitygw@$VERSITYGW_VERSION failed (Go: $(go env GOVERSION)); full output in $log"
  fi
  installed || die "$VGW does not report version $VERSITYGW_VERSION after install"
}

# ---- signed requests --------------------------------------------------------------
check_credentials() {
  local v
  for v in S3_ROOT_ACCESS_KEY S3_ROOT_SECRET_KEY S3_ARCHIVE_ACCESS_KEY S3_ARCHIVE_SECRET_KEY; do
    [[ ${!v} =~ ^[A-Za-z0-9._~+=/-]+$ ]] ||
      die "$v must be non-empty and use only A-Z a-z 0-9 . _ ~ + = / -"
  done
  [[ $S3_BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "S3_BUCKET=$S3_BUCKET is not a valid bucket name"
}

# s3_req KEY SECRET METHOD PATH [BODY_FILE [CONTENT_TYPE]]: a SigV4-signed
# request; prints the HTTP status, leaves the response body in $RESP. curl
# 7.88 signs an empty payload unless x-amz-content-sha256 is given, and signs
# a bare "?policy" differently from the server: write subresources as
# "?policy=". Credentials go through stdin (-K -), not argv.
s3_req() {
  local key=$1 secret=$2 method=$3 path=$4 body=${5:-} ctype=${6:-} sha=$EMPTY_SHA
  local args=(-sS -o "$RESP" -w '%{http_code}' --max-time 10 -X "$method"
              --aws-sigv4 "aws:amz:$S3_REGION:s3")
  if [[ -n $body ]]; then
    sha="$(sha256sum <"$body" | cut -d' ' -f1)"
    args+=(--data-binary "@$body")
  fi
  [[ -n $ctype ]] && args+=(-H "Content-Type: $ctype")
  args+=(-H "x-amz-content-sha256: $sha")
  # With -w, curl prints 000 itself when there is no HTTP answer.
  printf 'user = "%s:%s"\n' "$key" "$secret" |
    curl "${args[@]}" -K - "$S3_ENDPOINT$path" 2>/dev/null || true
}

root_req() { s3_req "$S3_ROOT_ACCESS_KEY" "$S3_ROOT_SECRET_KEY" "$@"; }

# Readiness: a signed ListBuckets as root answered 200.
ready() { [[ "$(root_req GET /)" == 200 ]]; }

s3_error() { sed -n 's:.*<Code>\(.*\)</Code>.*:\1:p' "$RESP" | head -1; }

# ---- process --------------------------------------------------------------------------
ours() { pid_runs "$NAME" "*versitygw* --iam-dir $SDIR/iam *"; }


ready_or_dead() { ready || ! pid_alive "$NAME"; }

launch() {
  if port_open "$S3_PORT"; then
    die "port $S3_PORT is taken by a process this script did not start (owner: $(port_owner "$S3_PORT")); stop it or change S3_PORT"
  fi
  rm -f "$RUN/$NAME.pid"
  mkdir -p "$SDIR/iam" "$SDIR/data"; chmod 700 "$SDIR"
  say "starting versitygw $VERSITYGW_VERSION on $S3_ENDPOINT (region $S3_REGION), log $LOG"
  printf -- '--- %s s3.sh start ---\n' "$(date -u +%FT%TZ)" >>"$LOG"
  # A clean environment: root credentials only through it (not argv), and no
  # stray ROOT_ACCESS_KEY_ID / LOGFILE / VGW_* settings from the caller's shell.
  local envv=(PATH="$PATH" HOME="$HOME"
              ROOT_ACCESS_KEY="$S3_ROOT_ACCESS_KEY" ROOT_SECRET_KEY="$S3_ROOT_SECRET_KEY")
  [[ -n ${VGW_QUIET:-} ]] && envv+=(VGW_QUIET="$VGW_QUIET")
  env -i "${envv[@]}" setsid nohup "$VGW" --port "$S3_HOST:$S3_PORT" --region "$S3_REGION" \
      --iam-dir "$SDIR/iam" posix "$SDIR/data" </dev/null >>"$LOG" 2>&1 &
  echo $! >"$RUN/$NAME.pid"
  if ! wait_until "$S3_START_TIMEOUT" "versitygw on port $S3_PORT" ready_or_dead; then
    stop_pid "$NAME" 5
    fail "versitygw did not answer a signed request within ${S3_START_TIMEOUT}s (stopped it)"
  fi
  if ! pid_alive "$NAME"; then
    rm -f "$RUN/$NAME.pid"
    fail "versitygw exited during start-up"
  fi
}

bootstrap() {
  local code

  # Bucket, owned by root.
  code="$(root_req PUT "/$S3_BUCKET")"
  case "$code" in
    200) say "bucket $S3_BUCKET created" ;;
    409) [[ "$(s3_error)" == BucketAlreadyOwnedByYou ]] ||
           fail "bucket $S3_BUCKET: 409 $(s3_error)"
         say "bucket $S3_BUCKET exists" ;;
    *) fail "create bucket $S3_BUCKET: HTTP $code $(s3_error)" ;;
  esac

  # Archive user (role "user": no bucket of its own, nothing but what a
  # policy grants). Created, or brought in step with local.env.
  local out
  export ADMIN_ACCESS_KEY="$S3_ROOT_ACCESS_KEY" ADMIN_SECRET_KEY="$S3_ROOT_SECRET_KEY" \
         ADMIN_ENDPOINT_URL="$S3_ENDPOINT" ADMIN_REGION="$S3_REGION"
  if out="$("$VGW" admin create-user --access "$S3_ARCHIVE_ACCESS_KEY" \
               --secret "$S3_ARCHIVE_SECRET_KEY" --role user 2>&1)"; then
    say "user $S3_ARCHIVE_ACCESS_KEY created (role user)"
  elif [[ $out == *XAdminUserExists* ]]; then
    out="$("$VGW" admin update-user --access "$S3_ARCHIVE_ACCESS_KEY" \
             --secret "$S3_ARCHIVE_SECRET_KEY" --role user 2>&1)" ||
      fail "update user $S3_ARCHIVE_ACCESS_KEY: $out"
    say "user $S3_ARCHIVE_ACCESS_KEY exists (secret and role re-applied)"
  else
    fail "create user $S3_ARCHIVE_ACCESS_KEY: $out"
  fi

  # Bucket policy: the archive user may only PutObject into the bucket.
  local policy="$SDIR/archive-policy.json" text
  text="$(<"$HERE/archive-policy.json")"
  text="${text//@S3_ARCHIVE_ACCESS_KEY@/"$S3_ARCHIVE_ACCESS_KEY"}"
  text="${text//@S3_BUCKET@/"$S3_BUCKET"}"
  printf '%s\n' "$text" >"$policy"
  code="$(root_req PUT "/$S3_BUCKET?policy=" "$policy" application/json)"
  [[ $code == 20[04] ]] || fail "put bucket policy on $S3_BUCKET: HTTP $code $(s3_error)"
  say "bucket policy applied: only $S3_ARCHIVE_ACCESS_KEY, only s3:PutObject on arn:aws:s3:::$S3_BUCKET/*"
}

cmd_start() {
  check_credentials
  installed || cmd_install
  if ours; then
    say "already running (pid $(cat "$RUN/$NAME.pid")); re-applying the bootstrap"
    wait_until "$S3_START_TIMEOUT" "versitygw on port $S3_PORT" ready ||
      fail "versitygw (pid $(cat "$RUN/$NAME.pid")) does not answer signed requests"
  else
    launch
  fi
  say "ready: signed ListBuckets as root answered 200"
  bootstrap
  say "ready: $S3_ENDPOINT, bucket $S3_BUCKET"
}

cmd_stop() {
  stop_owned "$NAME" "$S3_STOP_TIMEOUT"
}

cmd_status() {
  if ! ours; then
    say "not running"
    return 1
  fi
  if ready; then
    say "pid $(cat "$RUN/$NAME.pid"), $S3_ENDPOINT answers signed requests"
    return 0
  fi
  say "pid $(cat "$RUN/$NAME.pid"): no answer to a signed request on $S3_ENDPOINT"
  return 1
}

cmd_reset() {
  cmd_stop
  say "deleting $SDIR"
  rm -rf "$SDIR"
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  reset)   cmd_reset ;;
  *) echo "usage: $0 install|start|stop|status|reset" >&2; exit 2 ;;
esac
