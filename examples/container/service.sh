#!/bin/sh
# SPDX-License-Identifier: MIT
# A small service for examples/container/Dockerfile: it leaves an orphan
# behind (a background job of a subshell that exits), stops cleanly on
# SIGTERM, and says so. SERVICE_READY, if set, is a file it creates once
# its trap is in place (tests/cli/container.sh).
trap 'echo "service: SIGTERM, stopping"; exit 0' TERM
sh -c 'sleep 0.2 &' # the orphan: re-parented and reaped, never a zombie
echo "service: up as pid $$"
[ -n "${SERVICE_READY:-}" ] && : >"$SERVICE_READY"
while :; do
  sleep 0.1
done
