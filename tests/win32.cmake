# Windows-backend tests (included by tests/CMakeLists.txt when
# TETHER_BACKEND_EFFECTIVE is win32). test_console drives the console
# control handler and tether's hidden window through private seams
# (win32/win32_seam.h) and spawns itself for native Ctrl+C scenarios.
tether_add_test(test_console SOURCES test_console.c TIMEOUT 240 LABELS win32)
target_include_directories(test_console PRIVATE ${PROJECT_SOURCE_DIR}/win32)
# The test itself finds and messages windows (EnumWindows, PostMessageW);
# the library loads user32 only at run time.
target_link_libraries(test_console PRIVATE user32)
