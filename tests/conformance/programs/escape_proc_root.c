// Attack: /proc/self/root and /proc/self/cwd, magic links a workload could use to reach the host's
// root. Through them a program must see its own root filesystem (or be refused), never the host's.
#include <fcntl.h>

#include "conf.h"
int main(void) {
  int fd = open("/proc/self/root/etc/conformance-root", O_RDONLY);
  if (fd < 0) {
    printf("/proc/self/root: %s\n", strerrorname_np(errno));
  } else {
    char buf[64] = {0};
    CHECK(read(fd, buf, sizeof buf - 1) > 0);
    printf("/proc/self/root: %s", buf);
  }
  printf("host-only file via /proc/self/root: %s\n",
         ERRNO_OF(open("/proc/self/root/../../etc/hostname-of-the-host-never-in-root", O_RDONLY)));
  CHECK(chdir("/etc") == 0);
  char target[64] = {0};
  printf("/proc/self/cwd: %s\n",
         readlink("/proc/self/cwd", target, sizeof target - 1) > 0 ? target : strerrorname_np(errno));
  return 0;
}
