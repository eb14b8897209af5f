// RLIMIT_NOFILE bounds the descriptor table: with a limit of 16, dup gives fds up to 15 and then
// EMFILE, and dup2 to 16 is EBADF. (Raising it again depends on the tier's capabilities: not
// compared.)
#include <sys/resource.h>

#include "conf.h"
int main(void) {
  struct rlimit lim = {16, 16};
  CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  int opened = 0, last = -1;
  for (int i = 0; i < 100; i++) {
    int fd = dup(0);
    if (fd < 0) break;
    opened++, last = fd;
  }
  printf("dup until the limit: %d opened, highest fd %d, then %s\n", opened, last, strerrorname_np(errno));
  printf("dup2 to fd 16: %s\n", ERRNO_OF(dup2(0, 16)));
  struct rlimit now;
  CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0);
  printf("limit reads back: %lu/%lu\n", (unsigned long)now.rlim_cur, (unsigned long)now.rlim_max);
  return 0;
}
