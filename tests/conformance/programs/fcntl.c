// fcntl: O_NONBLOCK on a pipe (EAGAIN), FD_CLOEXEC, F_GETFL access mode, O_APPEND.
#include <fcntl.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  printf("blocking by default: %d\n", !(fcntl(p[0], F_GETFL) & O_NONBLOCK));
  CHECK(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) == 0);
  char c;
  printf("empty non-blocking read: %s\n", ERRNO_OF(read(p[0], &c, 1)));
  printf("access modes: %d %d\n", (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY,
         (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
  printf("cloexec before: %d\n", fcntl(p[1], F_GETFD));
  CHECK(fcntl(p[1], F_SETFD, FD_CLOEXEC) == 0);
  printf("cloexec after: %d\n", fcntl(p[1], F_GETFD));
  printf("bad fd: %s\n", ERRNO_OF(fcntl(777, F_GETFD)));
  char path[] = "/tmp/confXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
  CHECK(fcntl(fd, F_SETFL, O_APPEND) == 0);
  CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "d", 1) == 1);
  char buf[8] = {0};
  CHECK(pread(fd, buf, 7, 0) == 4);
  printf("O_APPEND writes at the end: %s\n", buf);
  unlink(path);
  return 0;
}
