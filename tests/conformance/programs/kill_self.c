// kill(getpid(), SIGTERM) with the default action ends the process by that signal.
#include <signal.h>

#include "conf.h"
int main(void) {
  printf("sending SIGTERM to myself\n");
  kill(getpid(), SIGTERM);
  printf("still alive\n");
  return 0;
}
