/* Allocates 1 MiB blocks until malloc fails (at most 1 GiB), then reports how many it got. The
   blocks are kept and read back so that the compiler cannot elide the allocations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* kept[1024];

int main(void) {
  int blocks = 0;
  for (; blocks < 1024; blocks++) {
    char* p = malloc(1 << 20);
    if (!p) break;
    memset(p, blocks & 0x7f, 1 << 20);
    kept[blocks] = p;
  }
  long sum = 0;
  for (int i = 0; i < blocks; i++) sum += kept[i][i];
  printf("malloc failed after %d MiB\n", blocks);
  return sum < 0; /* never: uses the sum */
}
