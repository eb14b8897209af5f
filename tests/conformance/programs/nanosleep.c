// nanosleep and clock_nanosleep sleep at least as long as asked (monotonic clock).
#include <time.h>

#include "conf.h"
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
int main(void) {
  double t0 = now();
  struct timespec req = {0, 30 * 1000 * 1000};
  CHECK(nanosleep(&req, NULL) == 0);
  printf("nanosleep 30 ms slept long enough: %d\n", now() - t0 >= 0.030);
  t0 = now();
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
  printf("clock_nanosleep relative: %d\n", now() - t0 >= 0.030);
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += 20 * 1000 * 1000;
  if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == 0);
  struct timespec after;
  clock_gettime(CLOCK_MONOTONIC, &after);
  printf("clock_nanosleep absolute: %d\n",
         after.tv_sec > until.tv_sec || (after.tv_sec == until.tv_sec && after.tv_nsec >= until.tv_nsec));
  struct timespec bad = {0, 2000000000};
  printf("invalid nanoseconds: %s\n", ERRNO_OF(nanosleep(&bad, NULL)));
  return 0;
}
