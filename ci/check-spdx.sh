#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every source, build and script file of the tree carries the licence line
# in its first three lines (LICENSE, docs/abi.md). Prints the files that do
# not and exits 1 when there is one.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files)
else
  files=$(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
fi
missing=0
while IFS= read -r f; do
  case $f in
    *.c|*.h|*.sh|*.ps1|*.cmake|*.cmake.in|*.pc.in|*.yml|*.supp|*CMakeLists.txt|*Dockerfile|.ci/run) ;;
    *) continue ;;
  esac
  if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
    echo "no SPDX-License-Identifier line: $f"
    missing=1
  fi
done <<<"$files"
exit $missing
