// /proc/self/fd lists exactly the open descriptors, each a link to what it refers to.
#include <dirent.h>
#include <fcntl.h>

#include "conf.h"
static int by_number(const void* a, const void* b) { return *(const int*)a - *(const int*)b; }
int main(void) {
  int extra = open("/etc/conformance-root", O_RDONLY);
  CHECK(extra == 3);
  DIR* d = opendir("/proc/self/fd");
  CHECK(d);
  int fds[64], n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL && n < 64)
    if (e->d_name[0] != '.') fds[n++] = atoi(e->d_name);
  closedir(d);
  qsort(fds, n, sizeof *fds, by_number);
  printf("fds (the listing's own is 4):");
  for (int i = 0; i < n; i++) printf(" %d", fds[i]);
  printf("\n");
  char target[64] = {0};
  CHECK(readlink("/proc/self/fd/3", target, sizeof target - 1) > 0);
  printf("fd 3 -> %s\n", target);
  close(3);
  printf("closed fd 3: %s\n", ERRNO_OF(readlink("/proc/self/fd/3", target, sizeof target)));
  int again = open("/proc/self/fd/0", O_RDONLY);
  printf("reopen stdin through it: %d\n", again >= 0);
  return 0;
}
