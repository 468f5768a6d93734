#!/usr/bin/env bash
# Creates the Python venv of the contract checks, with the pinned, hash-checked
# packages of requirements.txt, under
#   ${XDG_CACHE_HOME:-~/.cache}/orders-pipeline/venv-contracts
# (override with CONTRACTS_VENV; choose the interpreter with PYTHON, default
# python3, which must be >= 3.11).
#
# Idempotent and fast: when the venv exists, was built from the same
# requirements.txt by the same interpreter and imports, it does nothing and
# needs no network. Otherwise it rebuilds the venv from scratch (PyPI needed).
#
#   tests/contracts/setup.sh                 # make sure the venv is there
#   tests/contracts/setup.sh --print-python  # ... and print its python on stdout
#
# Messages go to stderr, so that --print-python's stdout is just the path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/orders-pipeline"
venv="${CONTRACTS_VENV:-$cache/venv-contracts}"
req="$here/requirements.txt"
stamp="$venv/.orders-pipeline-contracts.stamp"
python="${PYTHON:-python3}"

say() { printf '[contracts-setup] %s\n' "$*" >&2; }
die() { printf '[contracts-setup] error: %s\n' "$*" >&2; exit 1; }

print_python=0
case "${1:-}" in
  --print-python) print_python=1 ;;
  "") ;;
  *) die "usage: $0 [--print-python]" ;;
esac

command -v "$python" >/dev/null 2>&1 || die "no '$python' on PATH (set PYTHON=/path/to/python3.11+)"
# The interpreter's identity: its real path and exact version. A venv made by
# another interpreter (pyenv switch, Debian upgrade) is rebuilt.
py_id="$("$python" - <<'EOF'
import os, sys
if sys.version_info < (3, 11):
    sys.exit("python >= 3.11 needed (rpds-py, pydantic-settings), found %s" % sys.version.split()[0])
print(os.path.realpath(sys.executable), sys.version.split()[0])
EOF
)" || die "unusable interpreter '$python'"
want="$(sha256sum "$req" | cut -d' ' -f1) $py_id"

up_to_date() {
  [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
    "$venv/bin/python" -c 'import jsonschema, openapi_spec_validator, yaml, referencing' 2>/dev/null
}

finish() {
  if (( print_python )); then printf '%s\n' "$venv/bin/python"; fi
  exit 0
}

if up_to_date; then finish; fi

mkdir -p "$(dirname "$venv")"
# One builder at a time (two test runs started together share the cache).
exec 9>"$venv.lock"
flock 9
if up_to_date; then finish; fi   # another run built it while we waited

if [[ -e "$venv" ]]; then
  # Only ever delete something that is a venv.
  [[ -f "$venv/pyvenv.cfg" ]] || die "$venv exists and is not a venv; remove it or set CONTRACTS_VENV"
  say "rebuilding $venv (requirements or interpreter changed)"
  rm -rf -- "$venv"
else
  say "creating $venv"
fi

"$python" -m venv "$venv" ||
  die "'$python -m venv' failed (on Debian's own python3: apt-get install python3-venv)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes -r "$req" >&2 ||
  die "pip install failed (PyPI reachable? see the messages above)"
"$venv/bin/python" -c 'import jsonschema, openapi_spec_validator, yaml, referencing' ||
  die "the new venv does not import its packages"
printf '%s\n' "$want" > "$stamp"
say "ready: $("$venv/bin/python" -m pip freeze --disable-pip-version-check | tr '\n' ' ')"
finish
