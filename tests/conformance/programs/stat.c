// stat, fstat, lstat and fstatat: sizes, types, modes, a symlink's own entry.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
int main(void) {
  char dir[] = "/tmp/confXXXXXX";
  CHECK(mkdtemp(dir));
  CHECK(chdir(dir) == 0);
  int fd = open("f", O_WRONLY | O_CREAT, 0640);
  CHECK(fd >= 0 && write(fd, "12345", 5) == 5);
  CHECK(fchmod(fd, 0640) == 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("fstat: regular=%d size=%lld mode=%o\n", S_ISREG(st.st_mode), (long long)st.st_size,
         st.st_mode & 07777);
  CHECK(symlink("f", "l") == 0);
  CHECK(lstat("l", &st) == 0);
  printf("lstat link: symlink=%d size=%lld\n", S_ISLNK(st.st_mode), (long long)st.st_size);
  CHECK(stat("l", &st) == 0);
  printf("stat link: regular=%d size=%lld\n", S_ISREG(st.st_mode), (long long)st.st_size);
  CHECK(fstatat(AT_FDCWD, ".", &st, 0) == 0);
  printf("dir: %d\n", S_ISDIR(st.st_mode));
  CHECK(stat("/", &st) == 0);
  printf("root dir: %d\n", S_ISDIR(st.st_mode));
  struct stat a, b;
  CHECK(stat("f", &a) == 0 && fstat(fd, &b) == 0);
  printf("same inode via path and fd: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  printf("missing: %s\n", ERRNO_OF(stat("nope", &st)));
  printf("through a file: %s\n", ERRNO_OF(stat("f/x", &st)));
  struct statx sx;
  CHECK(statx(AT_FDCWD, "f", 0, STATX_SIZE, &sx) == 0);
  printf("statx size: %llu\n", (unsigned long long)sx.stx_size);
  char target[16] = {0};
  CHECK(readlink("l", target, sizeof target) == 1);
  printf("readlink: %s\n", target);
  close(fd);
  CHECK(unlink("l") == 0 && unlink("f") == 0 && chdir("/") == 0 && rmdir(dir) == 0);
  return 0;
}
