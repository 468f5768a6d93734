#!/usr/bin/env bash
# `make bench`: measures each stage of the pipeline next to its physical
# ceiling on this machine, in one run, on the local stack (started if needed,
# and stopped again if this run started it).
#
#   QUICK=1      short run (1 repetition, small counts; proves the harness
#                works; CI runs it). Results stay in .local/bench/.
#   REPS=3       repetitions of every figure (median and spread reported)
#   CONNECTIONS  keep-alive connections of the HTTP stages (default 64)
#
# Full runs write docs/bench/latest.md (the table) and docs/bench/*.svg
# (gnuplot); docs/BENCHMARKS.md explains and quotes them.
STEP=bench
. "$(dirname "$0")/lib.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  : "${REPS:=1}" "${HTTP_N:=3000}" "${LAT_SECONDS:=3}" "${KAFKA_N:=5000}"
else
  : "${REPS:=3}" "${HTTP_N:=100000}" "${LAT_SECONDS:=20}" "${KAFKA_N:=200000}"
fi
: "${CONNECTIONS:=64}"
BIN="$ROOT/build/bin"
BENCH_BIN="$ROOT/build/bench"
OUT="$DATA/bench"
RESULTS="$OUT/results.tsv"
NGINX_PORT=$((18300 + OP_PORT_OFFSET))
mkdir -p "$OUT"
: >"$RESULTS"

# ---- what this run starts, it stops ------------------------------------------
started_stack=0 started_services=0
cleanup() {
  local rc=$?
  [[ -s $OUT/nginx.pid ]] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true
  if ((started_services)); then "$ROOT/scripts/services.sh" stop >/dev/null 2>&1 || true; fi
  if ((started_stack)); then "$ROOT/scripts/stack.sh" down >/dev/null 2>&1 || true; fi
  exit $rc
}
trap cleanup EXIT INT TERM

if ! "$ROOT/scripts/stack.sh" status >/dev/null 2>&1; then
  started_stack=1
  "$ROOT/scripts/stack.sh" up
fi
if [[ -x $ROOT/scripts/services.sh ]] && ! "$ROOT/scripts/services.sh" status >/dev/null 2>&1; then
  started_services=1
  "$ROOT/scripts/services.sh" start
fi

# record STAGE METRIC VALUE: one measurement of one repetition.
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

# Values from `ordersctl load`'s final table.
load_rate() { awk '/^achieved rate/ {print $3}' "$1"; }
load_count() { awk -v l="$2" 'index($0, l) == 1 {print $NF; exit}' "$1"; }
load_latency() { # FILE COLUMN(1=p50 2=p90 3=p99 4=p99.9 5=max 6=mean)
  awk -v c="$2" '/^latency \(ms\)/ {getline; print $c; exit}' "$1"
}

secret_file="$OUT/loadtest.secret"
printf '%s' dev-only-loadtest-secret >"$secret_file"
chmod 600 "$secret_file"

# run_load URL RATE COUNT OUTFILE [extra args]: one ordersctl load run.
run_load() {
  local url=$1 rate=$2 count=$3 out=$4
  shift 4
  "$BIN/ordersctl" load --url "$url" --client-id loadtest --secret-file "$secret_file" \
    -n "$count" --rate "$rate" --connections "$CONNECTIONS" --duration-limit 600 \
    --allow-errors "$@" >"$out" 2>"$out.err"
}

# ---- 1. HTTP ceiling: nginx answering a static 202 ---------------------------
start_nginx() {
  cat >"$OUT/nginx.conf" <<CONF
worker_processes auto;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    keepalive_requests 10000000;
    location = /orders {
      default_type application/json;
      return 202 '{"order_id":"x","event_id":"00000000-0000-4000-8000-000000000000","status":"accepted"}';
    }
  }
}
CONF
  nginx -c "$OUT/nginx.conf" -e "$OUT/nginx-error.log" || die "nginx did not start"
  wait_until 10 nginx port_open "$NGINX_PORT" || die "nginx is not listening"
}

service_pid() { [[ -s $RUN/$1.pid ]] && cat "$RUN/$1.pid"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

say "stage 1: HTTP ceiling (nginx static 202) vs full accept path, $CONNECTIONS connections"
start_nginx
ingress_url="http://127.0.0.1:$INGRESS_PORT/orders"
declare -A cpu0
for r in $(seq 1 "$REPS"); do
  run_load "http://127.0.0.1:$NGINX_PORT/orders" 0 "$HTTP_N" "$OUT/nginx-$r.txt" ||
    die "ordersctl load against nginx failed: $(cat "$OUT/nginx-$r.txt.err")"
  record http_ceiling rate "$(load_rate "$OUT/nginx-$r.txt")"
  for s in ingress-auth publisher; do
    pid=$(service_pid "$s" || true)
    [[ -n $pid ]] && cpu0[$s]=$(cpu_ticks "$pid")
  done
  run_load "$ingress_url" 0 "$HTTP_N" "$OUT/accept-$r.txt" || true
  accepted=$(load_count "$OUT/accept-$r.txt" "accepted (202)")
  errors=$(load_count "$OUT/accept-$r.txt" "errors")
  elapsed=$(awk '/^elapsed/ {print $2}' "$OUT/accept-$r.txt")
  # sustained = accepted orders per second: errors do not count as throughput
  record accept_path rate "$(awk -v a="${accepted:-0}" -v e="${elapsed:-0}" 'BEGIN {if (e > 0) printf "%.1f", a / e; else print 0}')"
  record accept_path errors "${errors:-$HTTP_N}"
  ((${errors:-1} == 0)) || warn "accept path run $r: $errors errors (see $OUT/accept-$r.txt)"
  for s in ingress-auth publisher; do
    pid=$(service_pid "$s" || true)
    [[ -n $pid && -n ${cpu0[$s]:-} ]] || continue
    ticks=$(($(cpu_ticks "$pid") - cpu0[$s]))
    # CPU milliseconds per 1000 accepted orders (USER_HZ ticks of 10 ms)
    record "cpu_per_1000_orders_ms" "$s" "$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" \
      -v n="${accepted:-0}" 'BEGIN { if (n > 0) printf "%.1f", t * 1000 / hz / n * 1000; else print 0 }')"
  done
done

# ---- 2. latency, open loop at 25/50/75 % of the sustained rate ---------------
sustained=$(awk -F'\t' '$1 == "accept_path" && $2 == "rate" {print $3}' "$RESULTS" | sort -n |
  awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
say "stage 2: latency at 25/50/75% of the sustained rate ($sustained/s)"
for pct in 25 50 75; do
  rate=$(awk -v s="$sustained" -v p="$pct" 'BEGIN {printf "%d", s * p / 100}')
  ((rate > 0)) || continue
  count=$((rate * LAT_SECONDS))
  for r in $(seq 1 "$REPS"); do
    f="$OUT/latency-$pct-$r.txt"
    run_load "$ingress_url" "$rate" "$count" "$f" || true
    record "latency_${pct}pct" p50_ms "$(load_latency "$f" 1)"
    record "latency_${pct}pct" p99_ms "$(load_latency "$f" 3)"
    record "latency_${pct}pct" p999_ms "$(load_latency "$f" 4)"
    record "latency_${pct}pct" errors "$(load_count "$f" "errors")"
  done
done

# ---- 3. Kafka ceiling: raw produce of the same records, same acks ------------
say "stage 3: Kafka ceiling (plain idempotent producer, acks=all, both topics)"
for r in $(seq 1 "$REPS"); do
  line=$("$BENCH_BIN/kafka_ceiling" "$KAFKA_N") || die "kafka_ceiling failed"
  record kafka_ceiling orders_per_s "$(awk '{print $4}' <<<"$line")"
done

# ---- 6. resources ------------------------------------------------------------
for s in ingress-auth publisher billing archive; do
  pid=$(service_pid "$s" || true)
  [[ -n $pid ]] && record peak_rss_mib "$s" "$(awk -v k="$(hwm_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}')"
done

# ---- report ------------------------------------------------------------------
report="$OUT/latest.md"
{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)." \
    "Kafka $KAFKA_VERSION, $(psql --version | head -1), $(redis-server --version | awk '{print $1, $3}')," \
    "$(nginx -v 2>&1). REPS=$REPS, CONNECTIONS=$CONNECTIONS, QUICK=$QUICK."
  echo
  echo "| stage | metric | median | min | max | runs |"
  echo "|---|---|---|---|---|---|"
  awk -F'\t' '{k = $1 "\t" $2; v[k] = v[k] " " $3; if (!(k in seen)) {seen[k] = 1; order[++n] = k}}
    END {for (i = 1; i <= n; i++) print order[i] "\t" v[order[i]]}' "$RESULTS" |
    while IFS=$'\t' read -r stage metric values; do
      read -ra xs <<<"$values"
      sorted=$(printf '%s\n' "${xs[@]}" | sort -g)
      med=$(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' <<<"$sorted")
      echo "| $stage | $metric | $med | $(head -1 <<<"$sorted") | $(tail -1 <<<"$sorted") | ${#xs[@]} |"
    done
  ceiling=$(awk -F'\t' '$1 == "http_ceiling" {print $3}' "$RESULTS" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  kafka=$(awk -F'\t' '$1 == "kafka_ceiling" {print $3}' "$RESULTS" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo
  awk -v a="$sustained" -v c="$ceiling" -v k="$kafka" 'BEGIN {
    if (c > 0) printf "Accept path / HTTP ceiling: %.3f (target >= 0.2)\n\n", a / c
    if (k > 0) printf "Accept path / Kafka ceiling (orders/s): %.3f\n", a / k }'
} >"$report"
cat "$report"
if [[ $QUICK != 1 ]]; then
  mkdir -p "$ROOT/docs/bench"
  cp "$report" "$ROOT/docs/bench/latest.md"
  say "wrote docs/bench/latest.md"
fi

# ---- the harness itself must not rot: QUICK=1 runs in CI -------------------
# Pass/fail is about the harness and the absence of errors, never speed.
passed=0 failed=0
check() {
  if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); warn "bench check failed: $1"; fi
}
col() { awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m {print $3}' "$RESULTS"; }
check "nginx ceiling measured" '[[ $(col http_ceiling rate | sort -g | tail -1) != "" ]] && awk -v x="$(col http_ceiling rate | sort -g | head -1)" "BEGIN {exit !(x > 0)}"'
check "accept path: no errors" '[[ -n $(col accept_path errors) ]] && ! col accept_path errors | grep -qv "^0$"'
check "accept path: orders accepted" 'awk -v x="$(col accept_path rate | sort -g | head -1)" "BEGIN {exit !(x > 0)}"'
check "latency runs: no errors" '! awk -F"\t" "\$1 ~ /^latency/ && \$2 == \"errors\" && \$3 != 0 {bad = 1} END {exit !bad}" "$RESULTS"'
check "Kafka ceiling measured" 'awk -v x="$(col kafka_ceiling orders_per_s | sort -g | head -1)" "BEGIN {exit !(x > 0)}"'
echo "bench: $passed passed, $failed failed"
