// The exit code of main's return reaches the parent, and atexit handlers run first.
#include "conf.h"
static void bye(void) { printf("atexit ran\n"); }
int main(void) {
  atexit(bye);
  printf("main returns 42\n");
  return 42;
}
