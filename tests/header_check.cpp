// SPDX-License-Identifier: MIT
// header_check.c, compiled as C++ (tests/CMakeLists.txt).
#include "header_check.c"
