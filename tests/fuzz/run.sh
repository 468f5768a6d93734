#!/usr/bin/env bash
# Builds the libFuzzer targets into build/fuzz/ and runs each for a bounded time.
#   tests/fuzz/run.sh [SECONDS]     # default 30 per target
# Seeds: tests/contracts/examples/*/*.json and scripts/dev/clients.json (copied
# to build/fuzz/seeds/ on every run); what the fuzzer finds accumulates in
# build/fuzz/corpus/; a crashing input is saved as build/fuzz/crash-*.
# Ends with one line "fuzz: N passed, N failed" and exits non-zero on a failure.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SECS="${1:-30}"
OUT="$ROOT/build/fuzz"
CC="${FUZZ_CC:-clang}"

finish() { # passed failed
  echo "fuzz: $1 passed, $2 failed"
  exit $(($2 > 0))
}

if ! [[ $SECS =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]  (a positive integer, got '$SECS')" >&2
  finish 0 1
fi
if ! command -v "$CC" >/dev/null; then
  echo "$CC not found (apt package clang)" >&2
  finish 0 1
fi
if ! FLAGS="$(pkg-config --cflags --libs libcjson openssl)"; then
  echo "pkg-config cannot find libcjson/openssl" >&2
  finish 0 1
fi

mkdir -p "$OUT/corpus" "$OUT/seeds"
rm -f "$OUT"/seeds/*
for f in "$ROOT"/tests/contracts/examples/*/*.json; do
  kind="$(basename "$(dirname "$f")")"
  cp "$f" "$OUT/seeds/$kind-$(basename "$f")"
done
cp "$ROOT/scripts/dev/clients.json" "$OUT/seeds/clients.json"

# One target per file; each is linked with the ingress-auth library code and
# the common modules it uses.
SRC=(common/order_validate.c common/jsonscan.c
  services/ingress-auth/clients.c services/ingress-auth/auth.c common/crypto.c common/utf8.c)
passed=0
failed=0
for target in "$ROOT"/tests/fuzz/fuzz_*.c; do
  name="$(basename "$target" .c)"
  bin="$OUT/$name"
  log="$OUT/$name.log"
  echo "== $name: build"
  # shellcheck disable=SC2086 # FLAGS holds several words on purpose
  if ! (cd "$ROOT" && "$CC" -g -O1 -std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L \
    -D_DEFAULT_SOURCE -pthread -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer -Icommon -Iservices/ingress-auth "$target" "${SRC[@]}" \
    -o "$bin" $FLAGS); then
    echo "$name: build failed (is libclang-rt / libFuzzer installed?)" >&2
    failed=$((failed + 1))
    continue
  fi
  echo "== $name: fuzzing for ${SECS}s (log: $log)"
  if "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
    -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus" "$OUT/seeds" >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units)' "$log"
    passed=$((passed + 1))
  else
    tail -n 60 "$log"
    echo "$name: FAILED (crash input saved under $OUT/)"
    failed=$((failed + 1))
  fi
done
finish "$passed" "$failed"
