# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# abi lane (sourced by ci/lane.sh): the public ABI of libtether.so against
# the stored one, abi/libtether.abi (docs/abi.md), and proof that the check
# fails when a field is added to tether_event.
lane_abi() {
  local rc=0
  check "ABI of libtether.so unchanged against abi/libtether.abi (abidiff)" \
    bash "$root/ci/abi.sh" check "$root/build/abi" || rc=1
  check "the ABI check fails on a field added to tether_event (selftest)" \
    bash "$root/ci/abi.sh" selftest "$root/build/abi" || rc=1
  return $rc
}
lane_abi
