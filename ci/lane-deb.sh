# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# deb lane (sourced by ci/lane.sh): the Debian source package in debian/
# builds libtether1, libtether-dev and tether with dpkg-buildpackage, passes
# lintian without errors, installs, and the installed packages are used:
# the consumer through find_package and pkg-config from the system paths
# (a tethered child from the packaged library finds the packaged
# tether-guard), and the packaged CLI. The packages are removed again at the
# end, so the machine is left as it was.
lane_deb() {
  local rc=0 version work src debs=() pkgs=(tether libtether-dev libtether1)
  local -a sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
  work=$root/build/deb
  src=$work/tether-$version
  rm -rf "$work"
  mkdir -p "$src"
  # The tree as a release tarball would have it (no build/, no .git).
  (cd "$root" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$src"
  check "dpkg-buildpackage -us -uc builds tether $version" \
    bash -c 'cd "$1" && dpkg-buildpackage -us -uc >"$2" 2>&1 || { tail -n 40 "$2"; exit 1; }' \
    _ "$src" "$logdir/deb-build.log" || return 1
  check "lintian (Debian profile): no errors (warnings shown)" \
    bash -c 'cd "$1" && lintian --profile debian --fail-on error --display-level ">=warning" ./*.changes' _ "$work" || rc=1
  for p in libtether1 libtether-dev tether; do
    debs+=("$work/${p}_${version}_$(dpkg --print-architecture).deb")
  done
  # shellcheck disable=SC2064  # the list is fixed now
  trap "${sudo[*]} dpkg -P ${pkgs[*]} >/dev/null 2>&1 || true" RETURN
  check "the three packages install (dpkg -i)" "${sudo[@]}" dpkg -i "${debs[@]}" || return 1
  check "installed: tether-guard beside the library, no build path in libtether" bash -c '
    g=$(dpkg -L libtether1 | grep "/tether-guard$") && [[ -x $g ]] || exit 1
    ! grep -q "$1" "$(dpkg -L libtether1 | grep "libtether\.so\.[0-9.]*$" | head -n1)"' _ "$work" || rc=1
  check "packaged find_package(tether) consumer builds and runs" bash -c '
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$2" >/dev/null && "$2/tether_consumer"' \
    _ "$root/tests/consumer" "$work/consumer-cmake" || rc=1
  check "packaged pkg-config consumer builds and runs" bash -c '
    cc -std=c99 -Wall -Wextra -pedantic -Werror -o "$2" "$1" $(pkg-config --cflags --libs tether) &&
    "$2"' _ "$root/tests/consumer/main.c" "$work/consumer-pc" || rc=1
  check "packaged CLI: tether run ends like its program (exit 7)" bash -c '
    /usr/bin/tether run -- sh -c "exit 7"; [[ $? -eq 7 ]]' || rc=1
  check "packaged CLI: man tether is installed" test -s /usr/share/man/man1/tether.1.gz || rc=1
  return $rc
}
lane_deb
