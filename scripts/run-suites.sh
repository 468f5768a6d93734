#!/usr/bin/env bash
# Runs test suites and sums their results.
#   scripts/run-suites.sh 'CMD [ARGS]' ...
# Each argument is one suite's command line: a Criterion binary (its
# "Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C" line is read)
# or any program that ends with a line "N passed, N failed". A suite that exits
# non-zero without such a line counts as one failure, and so does any
# sanitizer report in its output. The last line printed is
# always "N passed, N failed"; the exit status is non-zero if anything failed.
set -uo pipefail

total_pass=0
total_fail=0
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

for suite in "$@"; do
  printf '\n=== %s\n' "$suite"
  bash -c "$suite" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  clean="$(sed 's/\x1b\[[0-9;]*m//g' "$out")"
  synth="$(grep -E 'Synthesis: Tested: [0-9]+' <<<"$clean" | tail -1)"
  plain="$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' <<<"$clean" | tail -1)"
  if [[ -n $synth ]]; then
    pass=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$synth")
    fail=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$synth")
    crash=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$synth")
    fail=$((fail + crash))
  elif [[ -n $plain ]]; then
    pass=$(sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/' <<<"$plain")
    fail=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$plain")
  else
    pass=0; fail=0
  fi
  # Sanitizer reports from forked test workers do not always fail the test
  # that caused them: any report fails the suite.
  if grep -qE 'ERROR: (Leak|Address|Thread)Sanitizer|runtime error:' <<<"$clean"; then
    echo "sanitizer report in this suite: counted as a failure"
    fail=$((fail + 1))
  fi
  if ((rc != 0 && fail == 0)); then
    echo "suite exited with status $rc: counted as a failure"
    fail=1
  fi
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
done

echo
echo "$total_pass passed, $total_fail failed"
# A caller that prints more afterwards (make test stops servers) repeats it.
if [[ -n ${SUITES_SUMMARY_FILE:-} ]]; then
  echo "$total_pass passed, $total_fail failed" > "$SUITES_SUMMARY_FILE"
fi
((total_fail == 0))
