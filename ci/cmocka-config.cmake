# SPDX-License-Identifier: MIT
# cmocka (static, a cross target), installed by tether's
# ci/build-cmocka-mingw.sh and ci/build-cmocka-macos.sh next to the library
# they build. Provides the imported target cmocka::cmocka and, like
# cmocka's own config, CMOCKA_INCLUDE_DIR, CMOCKA_LIBRARY and
# CMOCKA_LIBRARIES.
get_filename_component(_cmocka_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(CMOCKA_INCLUDE_DIR "${_cmocka_prefix}/include")
set(CMOCKA_LIBRARY "${_cmocka_prefix}/lib/libcmocka.a")
set(CMOCKA_LIBRARIES "${CMOCKA_LIBRARY}")
if(NOT TARGET cmocka::cmocka)
  add_library(cmocka::cmocka STATIC IMPORTED)
  set_target_properties(cmocka::cmocka PROPERTIES
    IMPORTED_LOCATION "${CMOCKA_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}")
endif()
set(cmocka_FOUND TRUE)
unset(_cmocka_prefix)
