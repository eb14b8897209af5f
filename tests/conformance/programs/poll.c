// poll on a pipe: nothing ready, readable after a write, POLLHUP after the writer closes; ppoll.
#include <poll.h>
#include <signal.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  struct pollfd fds[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLOUT}};
  int n = poll(fds, 1, 0);
  printf("empty: %d ready\n", n);
  n = poll(fds, 2, 1000);
  printf("write end writable: %d ready, revents=%#x\n", n, fds[1].revents);
  CHECK(write(p[1], "x", 1) == 1);
  n = poll(fds, 1, 1000);
  printf("after write: %d ready, POLLIN=%d\n", n, !!(fds[0].revents & POLLIN));
  char c;
  CHECK(read(p[0], &c, 1) == 1);
  close(p[1]);
  n = poll(fds, 1, 1000);
  printf("writer closed: %d ready, POLLHUP=%d\n", n, !!(fds[0].revents & POLLHUP));
  struct pollfd bad = {.fd = 999, .events = POLLIN};
  n = poll(&bad, 1, 0);
  printf("closed fd: %d ready, POLLNVAL=%d\n", n, !!(bad.revents & POLLNVAL));
  struct pollfd none = {.fd = -1, .events = POLLIN};
  printf("negative fd ignored: %d\n", poll(&none, 1, 0));
  int q[2];
  CHECK(pipe(q) == 0);
  struct pollfd wait_one = {.fd = q[0], .events = POLLIN};
  struct timespec ts = {0, 20 * 1000 * 1000};
  sigset_t mask;
  sigemptyset(&mask);
  printf("ppoll timeout: %d\n", ppoll(&wait_one, 1, &ts, &mask));
  return 0;
}
