#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's cmocka source, for the cross builds of cmocka
# (ci/build-cmocka-mingw.sh, ci/build-cmocka-macos.sh):
#
#   ci/cmocka-source.sh WORKDIR    -> prints the unpacked tree's path
#
# $TETHER_CMOCKA_SRC (an unpacked cmocka source tree) is used as it is.
# Otherwise `apt-get source cmocka` into WORKDIR; when no deb-src entry is
# configured (a fresh Debian 12 has none), one is added first, mirroring
# the binary entries in a file of our own (never editing the
# distribution's files; needs root). Messages go to stderr.
set -euo pipefail

log() { printf 'cmocka-source: %s\n' "$*" >&2; }

[[ $# -eq 1 ]] || { echo "usage: $0 WORKDIR" >&2; exit 2; }
work=$1

if [[ -n "${TETHER_CMOCKA_SRC:-}" ]]; then
  printf '%s\n' "$TETHER_CMOCKA_SRC"
  exit 0
fi

command -v dpkg-source >/dev/null ||
  { log "error: dpkg-source missing (apt-get install dpkg-dev)"; exit 1; }

have_deb_src() {
  grep -Eqs '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}

add_deb_src() {
  local out=/etc/apt/sources.list.d/tether-deb-src.sources
  [[ $(id -u) -eq 0 ]] || { log "error: no deb-src entry configured and not root"; exit 1; }
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    sed -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb-src/' \
      /etc/apt/sources.list.d/debian.sources >"$out"
  elif grep -Eqs '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
    out=/etc/apt/sources.list.d/tether-deb-src.list
    sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' /etc/apt/sources.list >"$out"
  else
    log "error: cannot find Debian apt sources to mirror as deb-src"; exit 1
  fi
  log "added $out"
}

fetch() {
  (cd "$work" && apt-get source -qq cmocka 2>&1) |
    grep -v '^W: Download is performed unsandboxed' >&2 || true
  find "$work" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' | head -n1
}

# Several builders may run at once (two lanes, two worktrees): one changes
# the apt configuration at a time.
mkdir -p "$work"
exec 9>"${TMPDIR:-/tmp}/tether-cmocka-source.lock"
flock 9
if ! have_deb_src; then
  add_deb_src
  apt-get update -qq >&2
fi
src=$(fetch)
if [[ -z "$src" ]]; then
  # Maybe the package lists are stale: refresh once and retry.
  apt-get update -qq >&2
  src=$(fetch)
fi
[[ -n "$src" ]] || { log "error: apt-get source cmocka produced no tree"; exit 1; }
printf '%s\n' "$src"
