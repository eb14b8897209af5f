// brk (the system call itself: musl's sbrk refuses to grow the break): the break grows, the new
// memory is zero and writable, it shrinks again, and a request the kernel refuses leaves it as
// it was. Nothing is printed until the break is back: stdio must not race a moving break.
#include <stdint.h>
#include <sys/syscall.h>

#include "conf.h"
static char* sys_brk(char* to) { return (char*)syscall(SYS_brk, to); }
int main(void) {
  char* start = sys_brk(0);
  char* end = sys_brk(start + 256 * 1024);
  CHECK(end == start + 256 * 1024);
  int zero = 1;
  for (char* p = start; p < end; p += 4096) zero &= *p == 0, *p = 1;
  int shrunk = sys_brk(start) == start;
  // Beyond the user address space: refused, the break unchanged.
  int huge_refused = sys_brk(start + ((intptr_t)1 << 47)) == start;
  int below_refused = sys_brk((char*)4096) == start;
  printf("grew by %ld\n", (long)(end - start));
  printf("new memory zero and writable: %d\n", zero);
  printf("shrunk back: %d\n", shrunk);
  printf("huge refused: %d, below the start refused: %d\n", huge_refused, below_refused);
  return 0;
}
