// getcwd/chdir/fchdir: starts at /, follows relative and absolute changes, ".." stops at the root.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
static void show(const char* what) {
  char buf[256];
  CHECK(getcwd(buf, sizeof buf));
  printf("%s: %s\n", what, buf);
}
int main(void) {
  show("start");
  CHECK(chdir("/tmp") == 0);
  show("chdir /tmp");
  CHECK(mkdir("conf-cwd", 0755) == 0 || errno == EEXIST);
  CHECK(chdir("conf-cwd") == 0);
  show("relative");
  CHECK(chdir("..") == 0);
  show("..");
  int root = open("/", O_RDONLY | O_DIRECTORY);
  CHECK(root >= 0);
  CHECK(fchdir(root) == 0);
  show("fchdir /");
  CHECK(chdir("../../..") == 0);
  show("../../.. from /");
  printf("chdir to a file: %s\n", ERRNO_OF(chdir("/etc/passwd")));
  printf("chdir to nothing: %s\n", ERRNO_OF(chdir("/no/such/dir")));
  CHECK(chdir("/tmp") == 0);
  char small[2];
  printf("getcwd too small: %s\n", getcwd(small, sizeof small) ? "ok" : strerrorname_np(errno));
  rmdir("/tmp/conf-cwd");
  return 0;
}
