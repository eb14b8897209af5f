// A pipe in one process: bytes in order, EOF once the write end is closed, EPIPE/SIGPIPE ignored.
#include <fcntl.h>
#include <signal.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe2(p, O_CLOEXEC) == 0);
  printf("pipe2 O_CLOEXEC: %d %d\n", fcntl(p[0], F_GETFD), fcntl(p[1], F_GETFD));
  CHECK(write(p[1], "abc", 3) == 3 && write(p[1], "def", 3) == 3);
  char buf[16] = {0};
  CHECK(read(p[0], buf, 4) == 4);
  printf("first read: %s\n", buf);
  memset(buf, 0, sizeof buf);
  CHECK(read(p[0], buf, sizeof buf) == 2);
  printf("second read: %s\n", buf);
  close(p[1]);
  printf("read after the write end closed: %zd\n", read(p[0], buf, sizeof buf));
  int q[2];
  CHECK(pipe(q) == 0);
  close(q[0]);
  signal(SIGPIPE, SIG_IGN);
  printf("write with no reader: %s\n", ERRNO_OF(write(q[1], "x", 1)));
  // A pipe holds at least 64 KiB: 65536 bytes go in without a reader blocking.
  int r[2];
  CHECK(pipe(r) == 0);
  static char big[65536];
  CHECK(write(r[1], big, sizeof big) == (ssize_t)sizeof big);
  CHECK(fcntl(r[1], F_SETFL, O_NONBLOCK) == 0);
  printf("full pipe, non-blocking write: %s\n", ERRNO_OF(write(r[1], big, 1)));
  return 0;
}
