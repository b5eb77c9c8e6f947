# SPDX-License-Identifier: MIT
# Windows-backend tests (included by tests/CMakeLists.txt when
# TETHER_BACKEND_EFFECTIVE is win32).

# The helpers the Windows tests share (support_win32.h; plain Win32, so
# that test_dll_host, which links nothing of tether, compiles them too).
target_sources(tether_testsupport PRIVATE support_win32.c)

# test_console drives the console control handler and tether's hidden
# window through private seams (win32/win32_seam.h) and spawns itself for
# native Ctrl+C scenarios.
tether_add_test(test_console SOURCES test_console.c TIMEOUT 240 LABELS win32)
target_include_directories(test_console PRIVATE ${PROJECT_SOURCE_DIR}/win32)
# The test itself finds and messages windows (EnumWindows, PostMessageW);
# the library loads user32 only at run time.
target_link_libraries(test_console PRIVATE user32 advapi32)

# The tests that drive Wine from the Linux side (a Unix signal to a Wine
# process, the Unix view of its processes): on when the tests run under
# ci/wine-run.sh (the MinGW toolchain file's emulator), else off.
set(tether_wine_default OFF)
if(CMAKE_HOST_UNIX AND CMAKE_CROSSCOMPILING_EMULATOR MATCHES "wine-run\\.sh")
  set(tether_wine_default ON)
endif()
option(TETHER_TEST_WINE "Register the tests that drive Wine from the host" ${tether_wine_default})
if(TETHER_TEST_WINE AND NOT CMAKE_CROSSCOMPILING_EMULATOR MATCHES "wine-run\\.sh")
  message(FATAL_ERROR "TETHER_TEST_WINE needs ci/wine-run.sh as CMAKE_CROSSCOMPILING_EMULATOR "
                      "(cmake/toolchain-mingw-w64.cmake sets it)")
endif()

# A Unix SIGINT to the Wine process running tether.exe (only when the tests
# run under Wine through ci/wine-run.sh on a Linux host).
if(TETHER_BUILD_TOOLS AND TETHER_TEST_WINE)
  list(GET CMAKE_CROSSCOMPILING_EMULATOR -1 tether_wine_run)
  tether_add_script_test(wine_unix_sigint TIMEOUT 120 LABELS win32
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/wine_sigint.sh
      ${tether_wine_run} $<TARGET_FILE:tether_cli>)
  # A Unix SIGKILL to the Wine process of a tethered child's parent (and its
  # ExitProcess; a detached child as the control): the tree is gone. The
  # processes are test_spawn_win32's wine_middle/wine_tree scenarios.
  tether_add_script_test(wine_unix_sigkill TIMEOUT 180 LABELS win32
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/wine_sigkill.sh
      ${tether_wine_run} $<TARGET_FILE:test_spawn_win32>)
  # `tether.exe run`: exit codes, timers, CTRL_C_EVENT, and a Unix SIGKILL
  # of its Wine process (the tree dies: the Job Object).
  tether_add_script_test(wine_cli_run TIMEOUT 240 LABELS win32
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/wine_run.sh
      ${tether_wine_run} $<TARGET_FILE:tether_cli> $<TARGET_FILE:test_spawn_win32>)
endif()

# The spawn command-line builder (win32/cmdline.c) against CommandLineToArgvW
# (in process) and the C runtimes' argv parsers (in child processes).
tether_add_test(test_cmdline SOURCES test_cmdline.c TIMEOUT 300 LABELS win32)
target_include_directories(test_cmdline PRIVATE ${PROJECT_SOURCE_DIR}/win32)
target_link_libraries(test_cmdline PRIVATE shell32)

# Tethered children on Windows (win32/spawn.c): Job Objects, stdio, events,
# the console helper. Child scenarios re-run the test executable.
tether_add_test(test_spawn_win32 SOURCES test_spawn_win32.c TIMEOUT 300 LABELS win32)
target_include_directories(test_spawn_win32 PRIVATE ${PROJECT_SOURCE_DIR}/win32)
target_link_libraries(test_spawn_win32 PRIVATE shell32)

# TETHER_SPAWN_CONSOLE_GROUP and tether_send() (win32/send.c, the console
# helper's send mode). Child scenarios re-run the test executable.
tether_add_test(test_send_win32 SOURCES test_send_win32.c TIMEOUT 240 LABELS win32)
target_link_libraries(test_send_win32 PRIVATE advapi32)

# `tether.exe send` to a `tether.exe events` on a pseudo-terminal console
# (interrupt through the console helper, WM_CLOSE, kill, errors), under Wine
# through ci/wine-run.sh on a Linux host.
if(TETHER_BUILD_TOOLS AND TETHER_TEST_WINE)
  list(GET CMAKE_CROSSCOMPILING_EMULATOR -1 tether_wine_run)
  tether_add_script_test(wine_cli_send TIMEOUT 120 LABELS win32
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/wine_send.sh
      ${tether_wine_run} $<TARGET_FILE:tether_cli>)
endif()

# Torture (label "torture"): the parent of tethered trees killed with
# TerminateProcess at a random moment leaves no survivor (Windows side: named
# mutexes and a process snapshot; under Wine also a Linux-side scan of
# /proc/*/cmdline for the run's marker, tests/torture/wine_torture.sh).
if(TETHER_TEST_WINE)
  add_executable(torture_spawn_win32 torture/torture_spawn_win32.c)
  target_link_libraries(torture_spawn_win32 PRIVATE tether_testsupport)
  tether_target_warnings(torture_spawn_win32)
  list(GET CMAKE_CROSSCOMPILING_EMULATOR -1 tether_wine_run)
  add_test(NAME torture_spawn_win32
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/torture/wine_torture.sh
      ${tether_wine_run} $<TARGET_FILE:torture_spawn_win32>)
  # RUN_SERIAL: it kills Wine processes in the middle of CreateProcessW
  # hundreds of times; other Wine tests of the same prefix must not share
  # the wineserver with that (an example once hung at exit meanwhile).
  set_tests_properties(torture_spawn_win32 PROPERTIES TIMEOUT 600 LABELS "torture;win32"
    RUN_SERIAL TRUE)
else()
  tether_add_test(torture_spawn_win32 SOURCES torture/torture_spawn_win32.c TIMEOUT 600 LABELS torture win32)
endif()

# tether as a DLL loaded at run time by a host that links nothing of it
# (python.exe + ctypes, .NET P/Invoke, plugin hosts): the console helper is
# tether-ctrl.exe, never the host run again; a missing helper is
# TETHER_EHELPER; FreeLibrary with a console handler or the hidden window
# alive, then the event, does not crash (the DLL is pinned). The DLL is
# built without the install and build-tree helper paths, so that only
# %TETHER_CTRL% and the DLL's and executable's folders can find the helper.
list(TRANSFORM TETHER_SOURCES PREPEND "${PROJECT_SOURCE_DIR}/" OUTPUT_VARIABLE tether_hostdll_sources)
add_library(tether_hostdll SHARED ${tether_hostdll_sources})
tether__configure(tether_hostdll)
target_compile_definitions(tether_hostdll PRIVATE TETHER_SHARED)
get_target_property(tether_hostdll_defs tether_hostdll COMPILE_DEFINITIONS)
list(FILTER tether_hostdll_defs EXCLUDE REGEX "^TETHER_CTRL_(BUILD|INSTALL)_PATH=")
set_target_properties(tether_hostdll PROPERTIES PREFIX "" COMPILE_DEFINITIONS "${tether_hostdll_defs}")
add_executable(test_dll_host win32_dll_host.c support_win32.c)
target_compile_definitions(test_dll_host PRIVATE TT_SUPPORT_WIN32_NO_TETHER)
target_include_directories(test_dll_host PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(test_dll_host PRIVATE user32)
tether_target_warnings(test_dll_host)
add_dependencies(test_dll_host tether_hostdll tether-ctrl)
add_test(NAME test_dll_host COMMAND test_dll_host driver)
set_tests_properties(test_dll_host PROPERTIES TIMEOUT 300 LABELS win32
  FAIL_REGULAR_EXPRESSION "FAIL ")
