#!/usr/bin/env bash
# `make test`: install what is missing, build, start what the tests need, run
# every suite, stop what this run started (servers already running are left
# alone). Ends with the line "N passed, N failed".
STEP=test
. "$(dirname "$0")/lib.sh"
: "${SAN:=0}"
BUILD_DIR=build; [[ $SAN == 1 ]] && BUILD_DIR=build-san

"$ROOT/scripts/install.sh"

say "building (SAN=$SAN)"
make -C "$ROOT" -s -j"$(nproc)" SAN="$SAN" all

COMPONENTS=(postgres redis kafka s3)
started=()
summary="$(mktemp)"
# Stop what this run started, then repeat the summary so that it stays the
# last line of the output.
cleanup() {
  local rc=$?
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    "$ROOT/scripts/${started[i]}.sh" stop >>"$LOGS/test-teardown.log" 2>&1 || true
  done
  if [[ -s $summary ]]; then
    echo "stopped what this run started: ${started[*]:-nothing}"
    cat "$summary"
  fi
  rm -f "$summary"
  exit $rc
}
trap cleanup EXIT INT TERM
for c in "${COMPONENTS[@]}"; do
  if ! "$ROOT/scripts/$c.sh" status >/dev/null 2>&1; then
    started+=("$c")
  fi
  "$ROOT/scripts/$c.sh" start
done

suites=(
  "$ROOT/$BUILD_DIR/tests/unit_tests"
  "$ROOT/scripts/fmt-check.sh"
)
[[ -x "$ROOT/tests/contracts/run.sh" ]] && suites+=("$ROOT/tests/contracts/run.sh")
# Coverage-guided fuzzing of the body validator and header parsers, bounded;
# run longer with FUZZ_SECONDS=600 make test, or tests/fuzz/run.sh 600.
suites+=("$ROOT/tests/fuzz/run.sh ${FUZZ_SECONDS:-20}")
# Offline Helm chart checks: lint, schema validation, policy scan,
# NetworkPolicy connectivity matrix (installs its pinned tools on first use).
suites+=("$ROOT/scripts/chart-test.sh")
# The service images (podman, built incrementally) run with the chart's
# rendered configuration against this stack: orders in, rows and objects out.
suites+=("$ROOT/tests/chart/podman-e2e.sh")
# Integration suites share real servers: one test at a time.
suites+=("CRITERION_JOBS=1 $ROOT/$BUILD_DIR/tests/integration_tests")
# The benchmark harness, short (QUICK=1), so it cannot rot; speed is never a
# pass/fail criterion, only errors and missing measurements are. SAN builds
# skip it (sanitizers make the numbers meaningless).
[[ $SAN == 1 ]] || suites+=("QUICK=1 $ROOT/scripts/bench.sh")

cd "$ROOT"
SUITES_SUMMARY_FILE="$summary" "$ROOT/scripts/run-suites.sh" "${suites[@]}"
