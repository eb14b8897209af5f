// Attack surface: a runtime that leaks a descriptor into the workload (a host directory, its own
// binary, a cgroup file: runc's CVE-2024-21626) hands it a way out. At start only 0, 1 and 2 are
// open, and the working directory is the root's "/", not a leaked host directory.
#include <fcntl.h>

#include "conf.h"
int main(void) {
  int open_fds = 0;
  for (int fd = 3; fd < 1024; fd++) open_fds += fcntl(fd, F_GETFD) >= 0;
  printf("descriptors open beyond stdio: %d\n", open_fds);
  char cwd[256];
  printf("working directory: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
  return 0;
}
