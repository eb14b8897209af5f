// eventfd: counters add up, a read takes all (or one with EFD_SEMAPHORE), empty non-blocking is EAGAIN.
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "conf.h"
int main(void) {
  int fd = eventfd(0, EFD_NONBLOCK);
  CHECK(fd >= 0);
  uint64_t v = 3;
  CHECK(write(fd, &v, 8) == 8);
  v = 4;
  CHECK(write(fd, &v, 8) == 8);
  CHECK(read(fd, &v, 8) == 8);
  printf("read sum: %llu\n", (unsigned long long)v);
  printf("empty: %s\n", ERRNO_OF(read(fd, &v, 8)));
  printf("short read: %s\n", ERRNO_OF(read(fd, &v, 4)));
  int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  CHECK(sem >= 0);
  int reads = 0;
  while (read(sem, &v, 8) == 8) {
    CHECK(v == 1);
    reads++;
  }
  printf("semaphore reads: %d\n", reads);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  printf("poll empty: %d\n", poll(&p, 1, 0));
  v = 1;
  CHECK(write(fd, &v, 8) == 8);
  printf("poll after write: %d\n", poll(&p, 1, 0));
  v = UINT64_MAX;
  printf("write of 2^64-1: %s\n", ERRNO_OF(write(fd, &v, 8)));
  return 0;
}
