// Create, link, rename (also over an existing file), unlink, mkdir/rmdir in a temporary folder.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
static char dir[] = "/tmp/confXXXXXX";
static const char* at(const char* name) {
  static char path[2][128];
  static int which;
  which ^= 1;
  snprintf(path[which], sizeof path[which], "%s/%s", dir, name);
  return path[which];
}
static void put(const char* name, const char* text) {
  int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0);
}
static void show(const char* name) {
  char buf[64] = {0};
  int fd = open(at(name), O_RDONLY);
  if (fd < 0) {
    printf("%s: %s\n", name, strerrorname_np(errno));
    return;
  }
  CHECK(read(fd, buf, sizeof buf - 1) >= 0);
  close(fd);
  printf("%s: %s\n", name, buf);
}
int main(void) {
  CHECK(mkdtemp(dir));
  put("a", "one");
  put("b", "two");
  CHECK(link(at("a"), at("a2")) == 0);
  struct stat st;
  CHECK(stat(at("a"), &st) == 0);
  printf("links after link: %lu\n", (unsigned long)st.st_nlink);
  CHECK(rename(at("b"), at("c")) == 0);
  show("b");
  show("c");
  CHECK(rename(at("c"), at("a")) == 0);
  show("a");
  show("a2");
  CHECK(renameat2(AT_FDCWD, at("a"), AT_FDCWD, at("a2"), RENAME_NOREPLACE) < 0);
  printf("RENAME_NOREPLACE over existing: %s\n", strerrorname_np(errno));
  CHECK(mkdir(at("sub"), 0755) == 0);
  printf("mkdir again: %s\n", ERRNO_OF(mkdir(at("sub"), 0755)));
  put("sub/x", "inner");
  printf("rmdir non-empty: %s\n", ERRNO_OF(rmdir(at("sub"))));
  CHECK(unlink(at("sub/x")) == 0 && rmdir(at("sub")) == 0);
  printf("unlink twice: %s\n", ERRNO_OF(unlink(at("sub/x"))));
  printf("unlink a folder: %s\n", ERRNO_OF(unlink(dir)));
  CHECK(unlink(at("a")) == 0 && unlink(at("a2")) == 0 && rmdir(dir) == 0);
  printf("rmdir done: %s\n", ERRNO_OF(access(dir, F_OK)));
  return 0;
}
