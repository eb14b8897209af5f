/* A reservation as a JVM or V8 makes it: mmap of GIB gibibytes PROT_NONE (MAP_NORESERVE), 16 MiB
 * of it made writable and written, then a fork whose child reads it back. Prints the time of each
 * step: where a tier walks page tables page by page, the mmap and the fork grow with the
 * reservation, not with the memory used. Usage: reserve [GIB] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
int main(int argc, char** argv) {
  size_t gib = argc > 1 ? strtoul(argv[1], 0, 10) : 64;
  double t0 = now();
  char* p = mmap(0, gib << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) { perror("mmap reservation"); return 1; }
  double t1 = now();
  if (mprotect(p + (1ul << 30), 16 << 20, PROT_READ | PROT_WRITE)) { perror("mprotect"); return 1; }
  memset(p + (1ul << 30), 7, 16 << 20);
  double t2 = now();
  pid_t c = fork();
  if (c == 0) _exit(p[(1ul << 30) + 12345] == 7 ? 0 : 3);
  int st; waitpid(c, &st, 0);
  double t3 = now();
  printf("reserved %zu GiB in %.2f ms, 16 MiB made usable and written in %.2f ms, fork+wait %.2f ms, child %d\n", gib, t1 - t0, t2 - t1, t3 - t2, WEXITSTATUS(st));
  return 0;
}
