// The CPU-time clocks and getrusage count the program's own instructions: a fixed loop (tens of
// milliseconds of CPU on any machine, whatever the load) shows in CLOCK_PROCESS_CPUTIME_ID,
// CLOCK_THREAD_CPUTIME_ID, getrusage(RUSAGE_SELF and RUSAGE_THREAD) and times(); a child's in
// wait4's rusage and, once waited for, in RUSAGE_CHILDREN and tms_cutime, not in the process clock.
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"

static double clock_s(clockid_t clock) {
  struct timespec t;
  CHECK(clock_gettime(clock, &t) == 0);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static double usage_s(int who) {
  struct rusage u;
  CHECK(getrusage(who, &u) == 0);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
         (double)u.ru_stime.tv_usec / 1e6;
}
static void work(void) {
  volatile unsigned long x = 0;
  for (unsigned long i = 0; i < 100000000ul; i++) x += i;
}

int main(void) {
  const double process0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), thread0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
  work();
  const double process = clock_s(CLOCK_PROCESS_CPUTIME_ID) - process0;
  const double thread = clock_s(CLOCK_THREAD_CPUTIME_ID) - thread0;
  printf("the loop in the process clock (> 10 ms): %d, in the thread clock: %d\n", process > 0.01, thread > 0.01);
  printf("getrusage self and thread at least the clocks: %d %d\n", usage_s(RUSAGE_SELF) >= process - 0.01,
         usage_s(RUSAGE_THREAD) >= thread - 0.01);
  struct tms t;
  CHECK(times(&t) != (clock_t)-1);
  // (Not that RUSAGE_CHILDREN is 0 yet: what the launcher's children used survives its execve.)
  printf("times: utime+stime at least 1 tick: %d\n", t.tms_utime + t.tms_stime >= 1);
  const double children0 = usage_s(RUSAGE_CHILDREN);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    work();
    _exit(0);
  }
  int status;
  struct rusage u;
  CHECK(wait4(child, &status, 0, &u) == child);
  const double child_s = (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
                         (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
  printf("wait4's rusage has the child's loop: %d\n", child_s > 0.01);
  printf("RUSAGE_CHILDREN has it: %d\n", usage_s(RUSAGE_CHILDREN) - children0 >= child_s - 0.001);
  CHECK(times(&t) != (clock_t)-1);
  printf("times: tms_cutime+cstime at least 1 tick: %d\n", t.tms_cutime + t.tms_cstime >= 1);
  printf("the process clock did not take the child's: %d\n",
         clock_s(CLOCK_PROCESS_CPUTIME_ID) - process0 < process + child_s * 0.5 + 0.05);
  return 0;
}
