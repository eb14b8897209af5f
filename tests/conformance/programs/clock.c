// Clocks: realtime is after 2024, monotonic never goes back, gettimeofday and time agree with it.
#include <sys/time.h>
#include <time.h>

#include "conf.h"
int main(void) {
  struct timespec r, m1, m2, res;
  // time() may read a coarse clock that lags the precise one by a tick, so it is read first:
  // then it can never be ahead of the clock_gettime after it.
  time_t t = time(NULL);
  CHECK(clock_gettime(CLOCK_REALTIME, &r) == 0);
  printf("realtime after 2024: %d\n", r.tv_sec > 1704067200);
  struct timeval tv;
  CHECK(gettimeofday(&tv, NULL) == 0);
  printf("gettimeofday within 10 s: %d\n", tv.tv_sec - r.tv_sec < 10 && tv.tv_sec >= r.tv_sec);
  printf("time within 10 s before it: %d\n", r.tv_sec - t < 10 && t <= r.tv_sec);
  int back = 0;
  CHECK(clock_gettime(CLOCK_MONOTONIC, &m1) == 0);
  for (int i = 0; i < 10000; i++) {
    CHECK(clock_gettime(CLOCK_MONOTONIC, &m2) == 0);
    back += m2.tv_sec < m1.tv_sec || (m2.tv_sec == m1.tv_sec && m2.tv_nsec < m1.tv_nsec);
    m1 = m2;
  }
  printf("monotonic went back: %d times\n", back);
  CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
  printf("resolution at most 1 ms: %d\n", res.tv_sec == 0 && res.tv_nsec <= 1000000);
  struct timespec cpu;
  printf("process cpu clock: %s\n", ERRNO_OF(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)));
  printf("bad clock: %s\n", ERRNO_OF(clock_gettime(12345, &cpu)));
  return 0;
}
