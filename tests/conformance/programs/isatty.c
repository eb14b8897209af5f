// isatty is 0 with ENOTTY on files, pipes and /dev/null (the runner gives the program no terminal).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  int null = open("/dev/null", O_RDONLY);
  char path[] = "/tmp/confXXXXXX";
  int file = mkstemp(path);
  int fds[] = {p[0], null, file, 1};
  const char* names[] = {"pipe", "/dev/null", "file", "stdout"};
  for (int i = 0; i < 4; i++) {
    errno = 0;
    int r = isatty(fds[i]);
    printf("%s: isatty=%d errno=%s\n", names[i], r, strerrorname_np(errno));
  }
  struct winsize ws;
  printf("TIOCGWINSZ on a pipe: %s\n", ERRNO_OF(ioctl(p[0], TIOCGWINSZ, &ws)));
  printf("isatty on a closed fd: %d %s\n", isatty(77), strerrorname_np(errno));
  unlink(path);
  return 0;
}
