#!/usr/bin/env bash
# Renders the benchmark's plots with gnuplot to SVG from a results file of
# scripts/bench.sh (lines: stage <TAB> metric <TAB> value, one per
# repetition; medians are plotted, min-max as error bars).
#   scripts/bench/plots.sh RESULTS.tsv OUTDIR
# Writes OUTDIR/accept-latency.svg (accept path: latency vs throughput, open
# loop at 25/50/75 % and the closed-loop maximum) and OUTDIR/sinks.svg
# (drain rates next to their ceilings); a plot without data (its stages did
# not run) is left out. Exit 1 if gnuplot fails.
set -euo pipefail
results=$1 outdir=$2
mkdir -p "$outdir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# stat STAGE METRIC: "median min max" of the repetitions (nothing if none).
stat() {
  awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m {print $3}' "$results" | sort -g |
    awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)], a[1], a[NR]}'
}

# ---- accept path: x = achieved orders/s, y = latency (ms), log scale
{
  for pct in 25 50 75; do
    read -r rate _ _ <<<"$(stat "latency_${pct}pct" rate)"
    [[ -n $rate ]] || continue
    read -r p50 p50lo p50hi <<<"$(stat "latency_${pct}pct" p50_ms)"
    read -r p99 p99lo p99hi <<<"$(stat "latency_${pct}pct" p99_ms)"
    read -r p999 _ _ <<<"$(stat "latency_${pct}pct" p999_ms)"
    echo "$rate $p50 $p50lo $p50hi $p99 $p99lo $p99hi $p999 ${pct}%"
  done
  read -r rate _ _ <<<"$(stat accept_path rate)"
  if [[ -n $rate ]]; then
    read -r p50 p50lo p50hi <<<"$(stat accept_path p50_ms)"
    read -r p99 p99lo p99hi <<<"$(stat accept_path p99_ms)"
    read -r p999 _ _ <<<"$(stat accept_path p999_ms)"
    echo "$rate $p50 $p50lo $p50hi $p99 $p99lo $p99hi $p999 max"
  fi
} >"$tmp/accept.dat"

# A stage that did not run (STAGES) leaves its plot out.
if [[ -s $tmp/accept.dat ]]; then
rm -f "$outdir/accept-latency.svg"
gnuplot <<GP
set terminal svg size 760,460 dynamic font "sans,11"
set output "$outdir/accept-latency.svg"
set title "Accept path (POST /orders -> 202): latency vs throughput"
set xlabel "accepted orders/s (open loop at 25/50/75 % of the sustained rate; 'max' = closed loop)"
set ylabel "latency (ms, log scale)"
set logscale y
set yrange [1:*]
set grid
set key top left
set arrow from graph 0, first 10 to graph 1, first 10 nohead dashtype 2 lc rgb "#aa0000"
set label "target p99 10 ms at 50 %" at graph 0.02, first 11.5 tc rgb "#aa0000"
plot "$tmp/accept.dat" using 1:2:3:4 with yerrorlines title "p50" pt 7, \
     "" using 1:5:6:7 with yerrorlines title "p99" pt 5, \
     "" using 1:8 with linespoints title "p99.9" pt 9, \
     "" using 1:5:9 with labels offset 0,1 notitle
GP
fi

# ---- sinks: each drain next to its ceiling, records/s
{
  emit() { # LABEL STAGE METRIC COLOUR-INDEX
    local med lo hi
    read -r med lo hi <<<"$(stat "$2" "$3")"
    [[ -z $med ]] || echo "\"$1\" $med $lo $hi $4"
  }
  emit "billing drain" sink_billing drain_orders_per_s 1
  emit "billing steady" sink_billing steady_orders_per_s 1
  emit "COPY (ceiling)" sink_billing copy_rows_per_s 2
  emit "archive drain" sink_archive drain_objects_per_s 1
  emit "raw PUTs (ceiling)" sink_archive raw_put_objects_per_s 2
  emit "archive batch" sink_archive batch_records_per_s 3
} >"$tmp/sinks.dat"

if [[ -s $tmp/sinks.dat ]]; then
rm -f "$outdir/sinks.svg"
gnuplot <<GP
set terminal svg size 760,460 dynamic font "sans,11"
set output "$outdir/sinks.svg"
set title "Sinks: drain rate vs the store's own ceiling (median, min-max)"
set ylabel "records/s (log scale)"
set logscale y
set grid ytics
set style fill solid 0.7 border -1
set boxwidth 0.6
set xtics rotate by -20
set key off
set yrange [10:*]
plot "$tmp/sinks.dat" using 0:2:(0.6):5:xtic(1) with boxes lc variable, \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,1
GP
fi
echo "plots in $outdir: $(cd "$outdir" && ls accept-latency.svg sinks.svg 2>/dev/null | tr '\n' ' ')"
