/* Allocates 1 MiB blocks until malloc fails (at most 1 GiB), then reports how many it got. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  int blocks = 0;
  for (; blocks < 1024; blocks++) {
    char* p = malloc(1 << 20);
    if (!p) break;
    memset(p, 1, 1 << 20);
  }
  printf("malloc failed after %d MiB\n", blocks);
  return 0;
}
