// Attack: paths that climb out of the root filesystem ("..", absolute and relative symlinks,
// a dirfd at "/") must all land inside it. /etc/conformance-root exists only in the test's root
// filesystem, so reading it proves the root's view; ENOENT would mean the host's.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
static void show(const char* how, int dirfd, const char* path) {
  int fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) {
    printf("%s: %s\n", how, strerrorname_np(errno));
    return;
  }
  char buf[64] = {0};
  CHECK(read(fd, buf, sizeof buf - 1) >= 0);
  close(fd);
  printf("%s: %s", how, buf);
}
int main(void) {
  show("absolute with ..", AT_FDCWD, "/../../../../etc/conformance-root");
  CHECK(chdir("/tmp") == 0);
  show("relative ..", AT_FDCWD, "../../../../../../etc/conformance-root");
  char dir[] = "/tmp/confXXXXXX";
  CHECK(mkdtemp(dir));
  CHECK(chdir(dir) == 0);
  CHECK(symlink("/../../../../etc/conformance-root", "abs") == 0);
  CHECK(symlink("../../../../../../../../etc/conformance-root", "rel") == 0);
  CHECK(symlink("/", "rootlink") == 0);
  show("absolute symlink", AT_FDCWD, "abs");
  show("relative symlink", AT_FDCWD, "rel");
  show("through a symlink to /", AT_FDCWD, "rootlink/../../etc/conformance-root");
  int root = open("/", O_RDONLY | O_DIRECTORY);
  CHECK(root >= 0);
  show("dirfd of / and ..", root, "../../etc/conformance-root");
  // A symlink made to point at the host's files resolves inside the root, so it is missing here.
  CHECK(symlink("/../../../../etc/hostname-of-the-host-never-in-root", "host") == 0);
  show("symlink to a host-only path", AT_FDCWD, "host");
  struct stat a, b;
  CHECK(stat("/", &a) == 0 && stat("/../..", &b) == 0);
  printf("/.. is /: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  unlink("abs"), unlink("rel"), unlink("rootlink"), unlink("host");
  CHECK(chdir("/") == 0 && rmdir(dir) == 0);
  return 0;
}
