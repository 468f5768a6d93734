#!/usr/bin/env bash
# `make bench`: measures each stage of the pipeline next to its physical
# ceiling on this machine, in one run, on the local stack (started if needed,
# and stopped again if this run started it).
#
#   QUICK=1      short run (1 repetition, small counts; proves the harness
#                works; CI runs it). Results and plots stay in .local/bench/.
#   REPS=3       repetitions of every figure (median and spread reported)
#   CONNECTIONS  keep-alive connections of the HTTP stages (default 64)
#   STAGES       stages to run (default "1 2 3 4 5 6"; 2 needs 1)
#   HTTP_N LAT_SECONDS KAFKA_N SINK_N E2E_RATE E2E_SECONDS E2E_S3_EVERY:
#                sizes of the stages (defaults below)
#
# Stages: 1 HTTP ceiling (nginx) vs accept path, 2 open-loop latency, 3 Kafka
# ceiling, 4 sinks (scripts/bench/sinks.sh), 5 end to end (POST -> row in
# Postgres / object in S3, tests/bench/e2e_latency.c), 6 resources.
# Stages 3 and 4 write private topics (bench.<run>.*) as the Kafka admin user,
# so the running services never see those records.
#
# Full runs write docs/bench/latest.md (the table) and docs/bench/*.svg
# (gnuplot); docs/BENCHMARKS.md explains and quotes them.
STEP=bench
. "$(dirname "$0")/lib.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  : "${REPS:=1}" "${HTTP_N:=3000}" "${LAT_SECONDS:=3}" "${KAFKA_N:=5000}" "${SINK_N:=2000}"
  : "${E2E_RATE:=200}" "${E2E_SECONDS:=5}" "${E2E_S3_EVERY:=2}" "${IDLE_WAIT:=60}"
else
  # sized to finish in ~20 minutes on the shared 2-core VM
  : "${REPS:=3}" "${HTTP_N:=20000}" "${LAT_SECONDS:=15}" "${KAFKA_N:=100000}" "${SINK_N:=20000}"
  : "${E2E_RATE:=1000}" "${E2E_SECONDS:=20}" "${E2E_S3_EVERY:=10}"
fi
: "${CONNECTIONS:=64}" "${STAGES:=1 2 3 4 5 6}"
stage_on() { [[ " $STAGES " == *" $1 "* ]]; }
RUN_ID=$(date +%s)
BIN="$ROOT/build/bin"
BENCH_BIN="$ROOT/build/bench"
OUT="$DATA/bench"
RESULTS="$OUT/results.tsv"
NGINX_PORT=$((18300 + OP_PORT_OFFSET))
mkdir -p "$OUT"
: >"$RESULTS"

# ---- what this run starts, it stops ------------------------------------------
# Decided per component by its pidfile, not by `status` (a health check that
# is slow under load must not make this run stop servers it did not start).
COMPONENTS=(postgres redis kafka s3)
SERVICES=(publisher ingress-auth billing archive)
started_components=() started_services=()
cleanup() {
  local rc=$? i
  declare -F sink_stop >/dev/null && sink_stop
  # the run's idempotency records are of no use after it (redis.sh forget)
  "$ROOT/scripts/redis.sh" forget loadtest >/dev/null 2>&1 || true
  [[ -s $OUT/nginx.pid ]] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true
  if ((${#started_services[@]})); then
    "$ROOT/scripts/services.sh" stop "${started_services[@]}" >/dev/null 2>&1 || true
  fi
  for ((i = ${#started_components[@]} - 1; i >= 0; i--)); do
    "$ROOT/scripts/${started_components[i]}.sh" stop >/dev/null 2>&1 || true
  done
  exit $rc
}
trap cleanup EXIT INT TERM

for c in "${COMPONENTS[@]}"; do
  pid_alive "$c" || started_components+=("$c")
done
"$ROOT/scripts/stack.sh" up
"$ROOT/scripts/redis.sh" forget loadtest # a run never starts near Redis's maxmemory
if [[ -x $ROOT/scripts/services.sh ]]; then
  for s in "${SERVICES[@]}"; do
    pid_alive "$s" || started_services+=("$s")
  done
  "$ROOT/scripts/services.sh" start
fi

# record STAGE METRIC VALUE: one measurement of one repetition.
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
# stage_begin N TEXT: announces stage N and records the machine's 1-minute
# load average then (the cores are shared: the table shows what else ran).
stage_begin() {
  record machine "load1_stage$1" "$(cut -d' ' -f1 /proc/loadavg)"
  say "stage $1: $2"
}

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

# wait_consumers_idle: the running billing and archive have drained what the
# stages before put into orders.*, so the next stage does not compete with a
# backlog. Idle: in two reads 6 s apart, either every partition's lag gauge
# (librdkafka statistics, every 5 s) is at most 1 (the trailing transaction
# marker), or the consumers' record counters did not move at all (records of
# aborted transactions, which a read_committed consumer skips without
# committing past them, keep the gauge up with nothing left to do).
# Bounded: warns and goes on after IDLE_WAIT seconds.
consumer_state() { # prints "<max lag> <records handled>"
  local port
  for port in "$BILLING_ADMIN_PORT" "$ARCHIVE_ADMIN_PORT"; do
    curl -fs --max-time 2 "http://127.0.0.1:$port/metrics" || true
  done | awk '/^orders_(billing|archive)_consumer_lag\{/ {if ($2 > lag) lag = $2}
    /^orders_(billing|archive)_records_total\{/ {n += $2}
    END {printf "%d %d\n", lag, n}'
}
wait_consumers_idle() {
  local deadline=$(($(date +%s) + ${IDLE_WAIT:-300})) quiet=0 lag n prev=-1
  while ((quiet < 2)); do
    read -r lag n <<<"$(consumer_state)"
    if ((lag <= 1 || n == prev)); then quiet=$((quiet + 1)); else quiet=0; fi
    prev=$n
    ((quiet < 2)) || break
    (($(date +%s) < deadline)) || { warn "consumers still busy after ${IDLE_WAIT:-300} s; going on"; return 0; }
    sleep 6
  done
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

ingress_url="http://127.0.0.1:$INGRESS_PORT/orders"
declare -A cpu0
if stage_on 1; then
stage_begin 1 "HTTP ceiling (nginx static 202) vs full accept path, $CONNECTIONS connections"
start_nginx
for r in $(seq 1 "$REPS"); do
  # each repetition starts with the consumers idle: it competes with the
  # draining of its own orders, not with the previous repetitions' backlog
  wait_consumers_idle
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
  record accept_path p50_ms "$(load_latency "$OUT/accept-$r.txt" 1)"
  record accept_path p99_ms "$(load_latency "$OUT/accept-$r.txt" 3)"
  record accept_path p999_ms "$(load_latency "$OUT/accept-$r.txt" 4)"
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
fi

# ---- 2. latency, open loop at 25/50/75 % of the sustained rate ---------------
sustained=$(awk -F'\t' '$1 == "accept_path" && $2 == "rate" {print $3}' "$RESULTS" | sort -n |
  awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
if stage_on 2 && [[ -n $sustained ]]; then
stage_begin 2 "latency at 25/50/75% of the sustained rate ($sustained/s)"
for pct in 25 50 75; do
  rate=$(awk -v s="$sustained" -v p="$pct" 'BEGIN {printf "%d", s * p / 100}')
  ((rate > 0)) || continue
  # at a steady X % the consumers handle X %, not stage 1's backlog
  wait_consumers_idle
  count=$((rate * LAT_SECONDS))
  for r in $(seq 1 "$REPS"); do
    f="$OUT/latency-$pct-$r.txt"
    run_load "$ingress_url" "$rate" "$count" "$f" || true
    record "latency_${pct}pct" p50_ms "$(load_latency "$f" 1)"
    record "latency_${pct}pct" p99_ms "$(load_latency "$f" 3)"
    record "latency_${pct}pct" p999_ms "$(load_latency "$f" 4)"
    record "latency_${pct}pct" errors "$(load_count "$f" "errors")"
    record "latency_${pct}pct" rate "$(load_rate "$f")"
  done
done
fi


# ---- 3. Kafka ceiling: raw produce of the same records, same acks ------------
# Into two private topics shaped like orders.* (6 partitions): the running
# consumers would otherwise drain KAFKA_N x REPS records during stages 4-5.
if stage_on 3; then
stage_begin 3 "Kafka ceiling (plain idempotent producer, acks=all, two private topics)"
for r in $(seq 1 "$REPS"); do
  k1="bench.$RUN_ID-k$r.billing" k2="bench.$RUN_ID-k$r.archive"
  "$BENCH_BIN/kafka_topics" create "$KAFKA_TOPIC_PARTITIONS" "$k1" "$k2" || die "cannot create $k1"
  line=$("$BENCH_BIN/kafka_ceiling" "$KAFKA_N" "$k1" "$k2") || die "kafka_ceiling failed"
  record kafka_ceiling orders_per_s "$(awk '{print $4}' <<<"$line")"
  "$BENCH_BIN/kafka_topics" delete "$k1" "$k2" || warn "could not delete $k1 $k2"
done
fi

# ---- 4. sinks: drain rates vs the stores' own ceilings -----------------------
if stage_on 4; then
  . "$ROOT/scripts/bench/sinks.sh"
  wait_consumers_idle
  stage_begin 4 "sinks (billing vs COPY, archive vs raw PUTs, batch mode), $SINK_N orders"
  for r in $(seq 1 "$REPS"); do
    sinks_rep "$RUN_ID-s$r" "$SINK_N" || record sinks failed_rep "$r"
  done
fi

# ---- 5. end to end: POST -> row in Postgres / object in S3 --------------------
# At E2E_RATE (the issue's 1000/s; QUICK: 200/s) and, when the accept path
# sustained less than twice that here, also at 50 % of the sustained rate:
# the pipeline's latency below saturation next to the figure at the target.
e2e_series() { # STAGE-NAME RATE
  local name=$1 rate=$2 n=$(($2 * E2E_SECONDS)) r f k
  for r in $(seq 1 "$REPS"); do
    wait_consumers_idle
    f="$OUT/$name-$r.txt"
    "$BENCH_BIN/e2e_latency" --rate "$rate" --count "$n" --connections "$CONNECTIONS" \
      --secret-file "$secret_file" --s3-every "$E2E_S3_EVERY" --drain-s 60 >"$f" 2>"$f.err" ||
      warn "$name run $r: not every order seen in both sinks (see $f, $f.err)"
    sed -n '/^end to end/,$p' "$f"
    record "$name" rate "$rate"
    for k in errors pg_p50_ms pg_p99_ms pg_lb_p50_ms pg_lb_p99_ms s3_p50_ms s3_p99_ms ack_p50_ms \
      ack_p99_ms missing_pg missing_s3 sender_offset_ms; do
      record "$name" "$k" "$(tr ' ' '\n' <"$f" | awk -F= -v k="$k" '$1 == k {print $2}' | tail -1)"
    done
  done
}
if stage_on 5; then
  stage_begin 5 "end to end at $E2E_RATE orders/s open loop, $((E2E_RATE * E2E_SECONDS)) orders (S3: 1 in $E2E_S3_EVERY)"
  e2e_series e2e "$E2E_RATE"
  half=$(awk -v s="${sustained:-0}" 'BEGIN {printf "%d", s / 2}')
  if ((half > 0 && half < E2E_RATE)); then
    say "stage 5b: end to end at 50% of the sustained rate ($half orders/s)"
    e2e_series e2e_at_50pct "$half"
  fi
fi

# ---- 6. resources ------------------------------------------------------------
if stage_on 6; then
for s in ingress-auth publisher billing archive; do
  pid=$(service_pid "$s" || true)
  [[ -n $pid ]] && record peak_rss_mib "$s" "$(awk -v k="$(hwm_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}')"
done
fi

# ---- report ------------------------------------------------------------------
# med STAGE METRIC: the median of the repetitions ("" when not measured).
med() {
  awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m {print $3}' "$RESULTS" | sort -g |
    awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'
}
# ratio_line LABEL NUM DEN TARGET: one row of the ratio table.
ratio_line() {
  [[ -n $2 && -n $3 ]] || return 0
  awk -v l="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
    if (b > 0) printf "| %s | %s | %s | %.3f | %s |\n", l, a, b, a / b, t }'
}
report="$OUT/latest.md"
{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
    "load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (the cores are shared with other jobs)." \
    "Kafka $KAFKA_VERSION, librdkafka $(pkg-config --modversion rdkafka), $(psql --version | head -1)," \
    "$(redis-server --version | awk '{print $1, $3}'), versitygw $VERSITYGW_VERSION, $(nginx -v 2>&1)," \
    "$(gnuplot --version)." \
    "REPS=$REPS, CONNECTIONS=$CONNECTIONS, QUICK=$QUICK, HTTP_N=$HTTP_N, LAT_SECONDS=$LAT_SECONDS," \
    "KAFKA_N=$KAFKA_N, SINK_N=$SINK_N, E2E_RATE=$E2E_RATE, E2E_SECONDS=$E2E_SECONDS," \
    "E2E_S3_EVERY=$E2E_S3_EVERY, STAGES=\"$STAGES\"."
  echo
  echo "| stage | metric | median | min | max | runs |"
  echo "|---|---|---|---|---|---|"
  awk -F'\t' '{k = $1 "\t" $2; v[k] = v[k] " " $3; if (!(k in seen)) {seen[k] = 1; order[++n] = k}}
    END {for (i = 1; i <= n; i++) print order[i] "\t" v[order[i]]}' "$RESULTS" |
    while IFS=$'\t' read -r stage metric values; do
      read -ra xs <<<"$values"
      sorted=$(printf '%s\n' "${xs[@]}" | sort -g)
      m=$(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' <<<"$sorted")
      echo "| $stage | $metric | $m | $(head -1 <<<"$sorted") | $(tail -1 <<<"$sorted") | ${#xs[@]} |"
    done
  echo
  echo "Ratios (medians; the issue's target where it sets one):"
  echo
  echo "| figure | value | ceiling or target | ratio | target |"
  echo "|---|---|---|---|---|"
  ratio_line "accept path / HTTP ceiling (orders/s)" "$(med accept_path rate)" "$(med http_ceiling rate)" ">= 0.2"
  ratio_line "accept path / Kafka ceiling (orders/s)" "$(med accept_path rate)" "$(med kafka_ceiling orders_per_s)" "-"
  ratio_line "p99 at 50 % / 10 ms" "$(med latency_50pct p99_ms)" 10 "<= 1"
  ratio_line "billing drain / COPY (process start and group join included)" "$(med sink_billing drain_orders_per_s)" "$(med sink_billing copy_rows_per_s)" "-"
  ratio_line "billing steady drain / COPY" "$(med sink_billing steady_orders_per_s)" "$(med sink_billing copy_rows_per_s)" ">= 0.5"
  ratio_line "archive drain / raw PUTs" "$(med sink_archive drain_objects_per_s)" "$(med sink_archive raw_put_objects_per_s)" ">= 0.8"
  ratio_line "archive batch / raw PUTs (records/s)" "$(med sink_archive batch_records_per_s)" "$(med sink_archive raw_put_objects_per_s)" "-"
  ratio_line "e2e p99 POST -> Postgres / 100 ms" "$(med e2e pg_p99_ms)" 100 "< 1"
  ratio_line "e2e p99 POST -> S3 / 100 ms" "$(med e2e s3_p99_ms)" 100 "< 1"
  ratio_line "e2e at 50 % ($(med e2e_at_50pct rate)/s): p99 POST -> Postgres / 100 ms" "$(med e2e_at_50pct pg_p99_ms)" 100 "< 1"
  ratio_line "e2e at 50 % ($(med e2e_at_50pct rate)/s): p99 POST -> S3 / 100 ms" "$(med e2e_at_50pct s3_p99_ms)" 100 "< 1"
  for s in ingress-auth publisher billing archive; do
    ratio_line "peak RSS $s (MiB) / 32 MiB" "$(med peak_rss_mib "$s")" 32 "< 1"
  done
} >"$report"
cat "$report"
# Plots: QUICK renders them too (so they cannot rot), into .local/bench/.
plots_dir="$OUT"
[[ $QUICK == 1 ]] || plots_dir="$ROOT/docs/bench"
"$ROOT/scripts/bench/plots.sh" "$RESULTS" "$plots_dir" || warn "gnuplot failed"
if [[ $QUICK != 1 ]]; then
  mkdir -p "$ROOT/docs/bench"
  cp "$report" "$ROOT/docs/bench/latest.md"
  cp "$RESULTS" "$ROOT/docs/bench/results.tsv"
  say "wrote docs/bench/latest.md, results.tsv and the plots"
fi

# ---- the harness itself must not rot: QUICK=1 runs in CI -------------------
# Pass/fail is about the harness and the absence of errors, never speed.
passed=0 failed=0
check() {
  if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); warn "bench check failed: $1"; fi
}
col() { awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m {print $3}' "$RESULTS"; }
stage_on 1 && check "nginx ceiling measured" '[[ $(col http_ceiling rate | sort -g | tail -1) != "" ]] && awk -v x="$(col http_ceiling rate | sort -g | head -1)" "BEGIN {exit !(x > 0)}"'
stage_on 1 && check "accept path: no errors" '[[ -n $(col accept_path errors) ]] && ! col accept_path errors | grep -qv "^0$"'
stage_on 1 && check "accept path: orders accepted" 'awk -v x="$(col accept_path rate | sort -g | head -1)" "BEGIN {exit !(x > 0)}"'
stage_on 2 && check "latency runs: no errors" '! awk -F"\t" "\$1 ~ /^latency/ && \$2 == \"errors\" && \$3 != 0 {bad = 1} END {exit !bad}" "$RESULTS"'
stage_on 3 && check "Kafka ceiling measured" 'awk -v x="$(col kafka_ceiling orders_per_s | sort -g | head -1)" "BEGIN {exit !(x > 0)}"'
positive() { awk -v x="$(col "$1" "$2" | sort -g | head -1)" 'BEGIN {exit !(x > 0)}'; }
stage_on 4 && check "sinks: no failed repetition" '[[ -z $(col sinks failed_rep) ]]'
stage_on 4 && check "billing drain and COPY measured" 'positive sink_billing drain_orders_per_s && positive sink_billing steady_orders_per_s && positive sink_billing copy_rows_per_s'
stage_on 4 && check "archive drain, raw PUTs and batch measured" 'positive sink_archive drain_objects_per_s && positive sink_archive raw_put_objects_per_s && positive sink_archive batch_records_per_s'
stage_on 5 && check "e2e: every order in Postgres and every sample in S3" '[[ -n $(col e2e missing_pg) ]] && ! col e2e missing_pg | grep -qv "^0$" && ! col e2e missing_s3 | grep -qv "^0$" && ! col e2e errors | grep -qv "^0$"'
stage_on 5 && check "e2e latencies measured" 'positive e2e pg_p50_ms && positive e2e s3_p50_ms'
stage_on 1 && check "accept-path plot rendered" '[[ -s $plots_dir/accept-latency.svg ]]'
stage_on 4 && check "sinks plot rendered" '[[ -s $plots_dir/sinks.svg ]]'
echo "bench: $passed passed, $failed failed"
((failed == 0))
