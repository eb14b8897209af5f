// dup2 onto fd 1 redirects stdout to a file; dup restores it; dup3 and F_DUPFD pick numbers.
#include <fcntl.h>

#include "conf.h"
int main(void) {
  char path[] = "/tmp/confXXXXXX";
  int file = mkstemp(path);
  CHECK(file >= 0);
  int saved = dup(1);
  CHECK(saved >= 0);
  CHECK(dup2(file, 1) == 1);
  printf("this line goes to the file\n");
  fflush(stdout);
  CHECK(dup2(saved, 1) == 1);
  close(saved);
  char buf[64] = {0};
  CHECK(pread(file, buf, sizeof buf - 1, 0) > 0);
  printf("file holds: %s", buf);
  printf("dup2 same fd: %d\n", dup2(file, file) == file);
  printf("dup3 same fd: %s\n", ERRNO_OF(dup3(file, file, 0)));
  printf("dup2 bad fd: %s\n", ERRNO_OF(dup2(1000, 5)));
  int high = fcntl(file, F_DUPFD, 50);
  printf("F_DUPFD from 50: %d\n", high);
  int cloexec = dup3(file, 60, O_CLOEXEC);
  printf("dup3 O_CLOEXEC: fd=%d cloexec=%d\n", cloexec, fcntl(cloexec, F_GETFD) & FD_CLOEXEC);
  // Duplicates share the offset.
  CHECK(lseek(file, 0, SEEK_SET) == 0 && lseek(high, 0, SEEK_CUR) == 0);
  CHECK(lseek(file, 5, SEEK_SET) == 5);
  printf("shared offset: %lld\n", (long long)lseek(high, 0, SEEK_CUR));
  unlink(path);
  return 0;
}
