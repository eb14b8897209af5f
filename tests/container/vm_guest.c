/* The vm handler's test guest (static, so that the vm tier runs it):
 *   vm_guest ignore-term   ignores SIGTERM, prints "ready" and sleeps until a signal ends it; every
 *                          sleep a signal cuts short prints "interrupted" and sleeps again
 *   vm_guest sleep         prints "ready" and sleeps (the default action of SIGTERM ends it) */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2 || (strcmp(argv[1], "ignore-term") != 0 && strcmp(argv[1], "sleep") != 0)) {
    fprintf(stderr, "usage: vm_guest ignore-term|sleep\n");
    return 2;
  }
  if (strcmp(argv[1], "ignore-term") == 0) signal(SIGTERM, SIG_IGN);
  printf("ready\n");
  fflush(stdout);
  for (;;)
    if (sleep(1000) != 0) {
      printf("interrupted\n");
      fflush(stdout);
    }
}
