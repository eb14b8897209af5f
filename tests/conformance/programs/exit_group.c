// _exit skips atexit handlers and stdio buffers; the code is taken modulo 256.
#include "conf.h"
static void never(void) { printf("atexit must not run\n"); }
int main(void) {
  atexit(never);
  printf("before _exit\n");
  fflush(stdout);
  printf("unflushed, never written");
  _exit(256 + 7);
}
