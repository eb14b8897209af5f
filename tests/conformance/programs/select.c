// select and pselect on pipes: readiness, timeouts, EBADF.
#include <sys/select.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  fd_set r, w;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timeval tv = {0, 0};
  printf("empty: %d\n", select(p[0] + 1, &r, NULL, NULL, &tv));
  CHECK(write(p[1], "abc", 3) == 3);
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  FD_ZERO(&w);
  FD_SET(p[1], &w);
  tv.tv_sec = 1;
  int n = select(p[1] + 1, &r, &w, NULL, &tv);
  printf("after write: %d ready, read set=%d write set=%d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timespec ts = {0, 20 * 1000 * 1000};
  char buf[8];
  CHECK(read(p[0], buf, sizeof buf) == 3);
  printf("pselect timeout: %d\n", pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL));
  FD_ZERO(&r);
  FD_SET(p[0] + 10, &r);
  tv.tv_sec = 0;
  printf("closed fd: %s\n", ERRNO_OF(select(p[0] + 11, &r, NULL, NULL, &tv)));
  return 0;
}
