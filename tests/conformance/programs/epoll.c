// epoll: level- and edge-triggered readiness of pipes, EPOLL_CTL_MOD/DEL, the user data back.
#include <sys/epoll.h>

#include "conf.h"
int main(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  int a[2], b[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 111};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev) == 0);
  ev.data.u64 = 222;
  ev.events = EPOLLIN | EPOLLET;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev) == 0);
  printf("add twice: %s\n", ERRNO_OF(epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev)));
  struct epoll_event out[4];
  printf("nothing ready: %d\n", epoll_wait(ep, out, 4, 0));
  CHECK(write(b[1], "x", 1) == 1);
  int n = epoll_wait(ep, out, 4, 1000);
  printf("edge: %d ready, data=%llu\n", n, (unsigned long long)out[0].data.u64);
  printf("edge again without new data: %d\n", epoll_wait(ep, out, 4, 0));
  CHECK(write(a[1], "y", 1) == 1);
  n = epoll_wait(ep, out, 4, 1000);
  printf("level: %d ready, data=%llu\n", n, (unsigned long long)out[0].data.u64);
  printf("level again: %d\n", epoll_wait(ep, out, 4, 0));
  ev.events = EPOLLOUT;
  ev.data.u64 = 333;
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev) == 0);
  printf("after MOD to EPOLLOUT on a read end: %d\n", epoll_wait(ep, out, 4, 0));
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL) == 0);
  printf("DEL unknown: %s\n", ERRNO_OF(epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL)));
  close(b[1]);
  n = epoll_wait(ep, out, 4, 1000);
  printf("writer closed: %d ready, EPOLLHUP=%d\n", n, !!(out[0].events & EPOLLHUP));
  printf("timeout: %d\n", epoll_wait(ep, out, 4, 20) >= 0);
  return 0;
}
