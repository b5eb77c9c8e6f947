/* SPDX-License-Identifier: MIT */
/* tether.h on its own: included twice (its guard), its declarations and
 * its options' _INIT macros under the project's warnings, compiled as C99
 * and C11 here and as C++98 and C++11 by header_check.cpp (tests/
 * CMakeLists.txt; ci/lane.sh headers runs other compilers too). Compiling
 * is the test; the program only checks what the macros produced. */
#include "tether.h"
#include "tether.h"

int main(void) {
  tether_channel_options co = TETHER_CHANNEL_OPTIONS_INIT;
  tether_spawn_options so = TETHER_SPAWN_OPTIONS_INIT;
  tether_shutdown_options ho = TETHER_SHUTDOWN_OPTIONS_INIT;
  return co.version == TETHER_CHANNEL_OPTIONS_VERSION &&
                 so.version == TETHER_SPAWN_OPTIONS_VERSION &&
                 ho.version == TETHER_SHUTDOWN_OPTIONS_VERSION && so.flags == 0 &&
                 co.callback == NULL && ho.notify == NULL
             ? 0
             : 1;
}
