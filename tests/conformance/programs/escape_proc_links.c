// Attack: /proc's other doors. The exe link opened for writing (CVE-2019-5736's first step), fd
// links of descriptors the program never had (a monitor's or runtime's fds must not show), the
// root and cwd links with ".." after them and nested, and changes inside /proc. Each is refused,
// or stays inside the root, as on Linux.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
static void show(const char* what, const char* path) {
  int fd = open(path, O_RDONLY);
  char buf[64] = {0};
  if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0)
    printf("%s: %s", what, buf);
  else
    printf("%s: %s\n", what, strerrorname_np(errno));
  if (fd >= 0) close(fd);
}
int main(void) {
  printf("exe for writing: %s\n", ERRNO_OF(open("/proc/self/exe", O_WRONLY)));
  printf("exe truncated: %s\n", ERRNO_OF(truncate("/proc/self/exe", 0)));
  int others = 0;
  char path[64], target[256];
  for (int fd = 3; fd < 1024; fd++) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    others += readlink(path, target, sizeof target) >= 0;
  }
  printf("fds beyond stdio: %d\n", others);
  CHECK(chdir("/etc") == 0);
  show("cwd/../../..", "/proc/self/cwd/../../../etc/conformance-root");
  show("root/proc/self/root", "/proc/self/root/proc/self/root/etc/conformance-root");
  show("root/..", "/proc/self/root/../../../../etc/conformance-root");
  printf("create in /proc: %s\n", ERRNO_OF(open("/proc/self/new", O_CREAT | O_WRONLY, 0600)));
  printf("mkdir in /proc: %s\n", ERRNO_OF(mkdir("/proc/self/dir", 0700)));
  return 0;
}
