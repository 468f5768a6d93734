#!/usr/bin/env bash
# Checks that every tracked C file matches .clang-format (make fmt fixes it).
cd "$(dirname "$0")/.." || exit 1
mapfile -t files < <(find common services tests -name '*.[ch]' | sort)
bad=0
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f"; bad=$((bad + 1)); }
done
echo "format: $(( ${#files[@]} - bad )) passed, $bad failed"
((bad == 0))
