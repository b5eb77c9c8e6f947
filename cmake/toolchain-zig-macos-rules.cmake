# SPDX-License-Identifier: MIT
# Loaded by cmake/toolchain-zig-macos.cmake as CMAKE_USER_MAKE_RULES_OVERRIDE_C,
# after CMake's Darwin platform files. Those take the macOS version from
# `sw_vers`, which a Linux host lacks, then treat the target as older than
# 10.5 and drop rpath support: libtether.dylib would get its absolute build
# path as install name instead of @rpath/libtether.0.dylib as on a Mac.
set(CMAKE_SHARED_LIBRARY_RUNTIME_C_FLAG "-Wl,-rpath,")
