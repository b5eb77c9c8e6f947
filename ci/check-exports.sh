#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ci/check-exports.sh LIB HEADER: the ELF shared library LIB exports exactly
# the TETHER_API functions HEADER declares (nothing missing, nothing
# internal). Used by the install lane and registered as the `exports` ctest
# test of shared Linux builds.
set -euo pipefail
lib=${1:?usage: ci/check-exports.sh LIB HEADER}
header=${2:?usage: ci/check-exports.sh LIB HEADER}
want=$(grep -ozP "TETHER_API[^;]*?\btether_\w+\s*\(" "$header" | tr "\0" "\n" |
       grep -oP "\btether_(?!_)\w+(?=\s*\()" | sort -u)
have=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' | sort -u)
[[ -n "$want" ]] || { echo "no TETHER_API functions found in $header"; exit 1; }
if [[ "$want" != "$have" ]]; then
  echo "missing exports:"; comm -23 <(echo "$want") <(echo "$have")
  echo "unexpected exports:"; comm -13 <(echo "$want") <(echo "$have")
  exit 1
fi
echo "$(wc -l <<<"$have") symbols, as tether.h declares"
