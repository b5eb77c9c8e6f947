# SPDX-License-Identifier: MIT
# Cross-compile tether for Windows with MinGW-w64 (Debian: mingw-w64) and run
# the test executables under Wine.
#
#   cmake --preset mingw                      # or, by hand:
#   cmake -G Ninja -B build/mingw \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw-w64.cmake
#
# Knobs (cache variables or environment variables of the same name):
#   HOST_ARCH              x86_64 (default) or i686
#   TETHER_CMOCKA_PREFIX   where ci/build-cmocka-mingw.sh installed cmocka for
#                          the target. Default: $TETHER_CACHE/cmocka-mingw, or
#                          $HOME/.cache/tether/cmocka-mingw (the script's
#                          default too). Added to CMAKE_PREFIX_PATH and
#                          CMAKE_FIND_ROOT_PATH so find_package(cmocka) and
#                          pkg-config find it.
#   TETHER_WINE_RUN        emulator wrapper; default ci/wine-run.sh of this tree.
#
# Modelled on libuv cmake-toolchains/cross-mingw32.cmake.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_VERSION 10.0)

if(NOT HOST_ARCH)
  if(DEFINED ENV{HOST_ARCH} AND NOT "$ENV{HOST_ARCH}" STREQUAL "")
    set(HOST_ARCH "$ENV{HOST_ARCH}")
  else()
    set(HOST_ARCH x86_64)
  endif()
endif()
set(CMAKE_SYSTEM_PROCESSOR ${HOST_ARCH})
set(TETHER_MINGW_TRIPLE ${HOST_ARCH}-w64-mingw32)

find_program(CMAKE_C_COMPILER NAMES ${TETHER_MINGW_TRIPLE}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${TETHER_MINGW_TRIPLE}-g++)
find_program(CMAKE_RC_COMPILER NAMES ${TETHER_MINGW_TRIPLE}-windres)

# Where cmocka for the target lives (built by ci/build-cmocka-mingw.sh).
if(NOT TETHER_CMOCKA_PREFIX)
  if(DEFINED ENV{TETHER_CMOCKA_PREFIX} AND NOT "$ENV{TETHER_CMOCKA_PREFIX}" STREQUAL "")
    set(TETHER_CMOCKA_PREFIX "$ENV{TETHER_CMOCKA_PREFIX}")
  elseif(DEFINED ENV{TETHER_CACHE} AND NOT "$ENV{TETHER_CACHE}" STREQUAL "")
    set(TETHER_CMOCKA_PREFIX "$ENV{TETHER_CACHE}/cmocka-mingw")
  else()
    set(TETHER_CMOCKA_PREFIX "$ENV{HOME}/.cache/tether/cmocka-mingw")
  endif()
endif()

# Search the target's sysroot and the cmocka prefix for libraries, headers
# and packages; never for programs (those run on the build machine).
# Prefixes given as -DCMAKE_PREFIX_PATH=... become roots too (with MODE ONLY,
# prefixes outside every root are not searched).
set(CMAKE_FIND_ROOT_PATH /usr/${TETHER_MINGW_TRIPLE} "${TETHER_CMOCKA_PREFIX}" ${CMAKE_PREFIX_PATH})
list(APPEND CMAKE_PREFIX_PATH "${TETHER_CMOCKA_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config: only the target's .pc files, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR}
  "${TETHER_CMOCKA_PREFIX}/lib/pkgconfig:/usr/${TETHER_MINGW_TRIPLE}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Make executables and DLLs self-contained: libgcc (and libstdc++ for C++)
# linked statically, so nothing but system DLLs is needed under Wine. With
# Debian's default win32 thread model nothing links libwinpthread; should the
# posix-thread-model compiler be selected, ci/wine-run.sh also puts the MinGW
# runtime DLL folders on WINEPATH.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# Every add_test(NAME x COMMAND <target>) runs through Wine.
if(NOT TETHER_WINE_RUN)
  if(DEFINED ENV{TETHER_WINE_RUN} AND NOT "$ENV{TETHER_WINE_RUN}" STREQUAL "")
    set(TETHER_WINE_RUN "$ENV{TETHER_WINE_RUN}")
  else()
    get_filename_component(TETHER_WINE_RUN "${CMAKE_CURRENT_LIST_DIR}/../ci/wine-run.sh" ABSOLUTE)
  endif()
endif()
# Through bash, so a checkout that lost the executable bit still works.
set(CMAKE_CROSSCOMPILING_EMULATOR /bin/bash "${TETHER_WINE_RUN}")

# try_compile() projects re-read this file; hand them the same choices.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HOST_ARCH TETHER_CMOCKA_PREFIX TETHER_WINE_RUN)
