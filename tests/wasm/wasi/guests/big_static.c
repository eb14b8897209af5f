/* 32 MiB of zero-initialised data: the module's initial linear memory is larger than that. */
#include <stdio.h>

static char big[32 << 20];

int main(int argc, char** argv) {
  big[argc] = 1;
  printf("%d\n", big[1] + big[argc > 5 ? 0 : 2]);
  return 0;
}
