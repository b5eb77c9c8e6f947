# SPDX-License-Identifier: MIT
# Warning and sanitizer settings, applied per target (never globally), so
# that tether can be consumed with add_subdirectory() without imposing flags.

function(tether_target_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4)
    if(TETHER_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -pedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wwrite-strings -Wpointer-arith -Wformat=2)
    if(TETHER_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

function(tether_target_sanitizers target)
  if(TETHER_SANITIZE AND NOT MSVC AND NOT MINGW AND NOT WIN32)
    target_compile_options(${target} PUBLIC
      -fsanitize=${TETHER_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${TETHER_SANITIZE})
  endif()
endfunction()
