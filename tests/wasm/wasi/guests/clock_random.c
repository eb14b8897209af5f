/* Clocks move forward, realtime is plausible, a sleep lasts at least as asked, random bytes
   differ between calls. Prints "clock_random ok" or the failed check and exits 1. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
  int64_t real = ns(CLOCK_REALTIME);
  if (real < (int64_t)1600000000 * 1000000000) {
    puts("FAILED realtime before 2020");
    return 1;
  }
  int64_t a = ns(CLOCK_MONOTONIC);
  struct timespec nap = {0, 50 * 1000 * 1000};
  nanosleep(&nap, 0);
  int64_t b = ns(CLOCK_MONOTONIC);
  if (b - a < 50 * 1000 * 1000) {
    printf("FAILED slept only %lld ns\n", (long long)(b - a));
    return 1;
  }
  unsigned char x[32], y[32];
  if (getentropy(x, sizeof x) != 0 || getentropy(y, sizeof y) != 0 || memcmp(x, y, sizeof x) == 0) {
    puts("FAILED random");
    return 1;
  }
  puts("clock_random ok");
  return 0;
}
