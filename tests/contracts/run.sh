#!/usr/bin/env bash
# The single entry point of the contract checks: make sure the pinned venv is
# there (setup.sh; network only the first time), then run check.py on proto/.
# Prints one line per check and ends with "N passed, N failed"; exits non-zero
# on any failure. Arguments are passed to check.py (e.g. -q: failures only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$("$here/setup.sh" --print-python)"
exec "$python" "$here/check.py" "$@"
