// The ioctls Linux answers for any file before its driver: FIONBIO (libuv sets every stdio pipe
// non-blocking with it), FIOCLEX/FIONCLEX, FIONREAD (bytes a read would get); and F_GETFL of a
// /dev file keeps its access mode.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "conf.h"

int main(void) {
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  int on = 1, off = 0, n = -1;
  printf("FIONBIO on a pipe: %s\n", ERRNO_OF(ioctl(pipefd[0], FIONBIO, &on)));
  printf("  O_NONBLOCK in F_GETFL: %d\n", (fcntl(pipefd[0], F_GETFL) & O_NONBLOCK) != 0);
  char c;
  printf("  an empty pipe's read: %s\n", ERRNO_OF(read(pipefd[0], &c, 1)));
  CHECK(write(pipefd[1], "abc", 3) == 3);
  // (Each call before its printf: the order in which arguments are evaluated is unspecified.)
  const char* r = ERRNO_OF(ioctl(pipefd[0], FIONREAD, &n));
  printf("FIONREAD of 3 bytes: %s %d\n", r, n);
  r = ERRNO_OF(ioctl(pipefd[0], FIONBIO, &off));
  printf("FIONBIO off: %s, blocking again: %d\n", r, (fcntl(pipefd[0], F_GETFL) & O_NONBLOCK) == 0);
  r = ERRNO_OF(ioctl(pipefd[1], FIOCLEX));
  printf("FIOCLEX: %s, FD_CLOEXEC %d\n", r, fcntl(pipefd[1], F_GETFD));
  r = ERRNO_OF(ioctl(pipefd[1], FIONCLEX));
  printf("FIONCLEX: %s, FD_CLOEXEC %d\n", r, fcntl(pipefd[1], F_GETFD));
  printf("FIONBIO from a bad pointer: %s\n", ERRNO_OF(ioctl(pipefd[0], FIONBIO, (int*)8)));
  printf("FIONREAD on a closed fd: %s\n", ERRNO_OF(ioctl(1000, FIONREAD, &n)));

  int pair[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  CHECK(write(pair[0], "hello", 5) == 5);
  n = -1;
  r = ERRNO_OF(ioctl(pair[1], FIONREAD, &n));
  printf("FIONREAD on a socket: %s %d\n", r, n);

  int file = open("/tmp/conf-ioctl-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(file >= 0);
  CHECK(write(file, "0123456789", 10) == 10);
  CHECK(lseek(file, 4, SEEK_SET) == 4);
  n = -1;
  r = ERRNO_OF(ioctl(file, FIONREAD, &n));
  printf("FIONREAD on a file at 4 of 10: %s %d\n", r, n);

  int null = open("/dev/null", O_WRONLY);
  CHECK(null >= 0);
  printf("/dev/null F_GETFL access mode O_WRONLY: %d\n", (fcntl(null, F_GETFL) & O_ACCMODE) == O_WRONLY);
  r = ERRNO_OF(ioctl(null, FIONBIO, &on));
  printf("/dev/null FIONBIO: %s, O_NONBLOCK %d\n", r, (fcntl(null, F_GETFL) & O_NONBLOCK) != 0);
  printf("/dev/null FIONREAD: %s\n", ERRNO_OF(ioctl(null, FIONREAD, &n)));
  printf("/dev/null TCGETS: %s\n", ERRNO_OF(ioctl(null, TCGETS, &n)));
  return 0;
}
