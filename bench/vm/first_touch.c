/* First-touch cost of memory: maps MIB mebibytes of anonymous memory, writes one byte per 4 KiB
 * page (each write is the page's first touch: a fault the kernel, or in the vm tier the guest's
 * page tables already backed by the monitor plus the host's own fault, must serve), then writes
 * them all again (no fault). Prints microseconds per page for both passes, and for the mmap call
 * plus the first pass (where a tier moves fault work into mmap, the sum is the fair comparison).
 * Usage: first_touch [MIB] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 128;
  const size_t pages = mib << 8;
  double m = now_ns();
  volatile char* p = mmap(0, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  double a = now_ns();
  for (size_t i = 0; i < pages; ++i) p[i << 12] = 1;
  double b = now_ns();
  for (size_t i = 0; i < pages; ++i) p[i << 12] = 2;
  double c = now_ns();
  printf("first touch %.3f us/page, mmap + first touch %.3f us/page, again %.4f us/page (%zu MiB)\n",
         (b - a) / pages / 1e3, (b - m) / pages / 1e3, (c - b) / pages / 1e3, mib);
  return 0;
}
