// brk: the break grows, the new memory is zero and writable, and shrinks again. Nothing is printed
// until the break is back: printf must not take heap memory from under a moving break.
#include <stdint.h>

#include "conf.h"
int main(void) {
  char* start = sbrk(0);
  CHECK(start != (char*)-1);
  char* old = sbrk(256 * 1024);
  CHECK(old == start);
  char* end = sbrk(0);
  int zero = 1;
  for (char* p = start; p < end; p += 4096) zero &= *p == 0, *p = 1;
  CHECK(brk(start) == 0);
  int shrunk = sbrk(0) == start;
  // A huge request fails without moving the break.
  int huge_fails = sbrk((intptr_t)1 << 46) == (void*)-1;
  int unchanged = sbrk(0) == start;
  printf("grew by %ld\n", (long)(end - start));
  printf("new memory zero and writable: %d\n", zero);
  printf("shrunk back: %d\n", shrunk);
  printf("huge: %d, unchanged=%d\n", huge_fails, unchanged);
  return 0;
}
