// CPU time comes in two parts: a loop of arithmetic is user time, a loop of system calls adds
// system time, in getrusage, times and a waited-for child's wait4 rusage alike. (How much of a
// call is system time depends on the kernel: on the vm tier the exit to the monitor shows as
// user time, and only the monitor's serving as system time.)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"

static double seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }
static struct rusage usage(int who) {
  struct rusage u;
  CHECK(getrusage(who, &u) == 0);
  return u;
}
static double cpu_s(void) {
  struct timespec t;
  CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static void arithmetic(double for_s) {
  const double start = cpu_s();
  while (cpu_s() - start < for_s)
    for (volatile unsigned long i = 0; i < 2000000ul; i++) {
    }
}
static void calls(double for_s) {
  const double start = cpu_s();
  int fd = open("/dev/null", O_WRONLY);
  CHECK(fd >= 0);
  char byte = 0;
  while (cpu_s() - start < for_s)
    for (int i = 0; i < 200; i++) CHECK(write(fd, &byte, 1) == 1 && syscall(SYS_getppid) >= 0);
  close(fd);
}

int main(void) {
  struct rusage a = usage(RUSAGE_SELF);
  arithmetic(0.2);
  struct rusage b = usage(RUSAGE_SELF);
  const double user = seconds(b.ru_utime) - seconds(a.ru_utime), sys = seconds(b.ru_stime) - seconds(a.ru_stime);
  printf("arithmetic: mostly user time: %d\n", user > 0.15 && sys < user / 4);
  calls(0.3);
  struct rusage c = usage(RUSAGE_SELF);
  printf("system calls: system time: %d\n", seconds(c.ru_stime) > seconds(b.ru_stime));
  struct tms t;
  CHECK(times(&t) != (clock_t)-1);
  printf("times: stime in ticks as getrusage's: %d\n", t.tms_stime * 0.01 - seconds(c.ru_stime) < 0.03 &&
                                                            seconds(c.ru_stime) - t.tms_stime * 0.01 < 0.03);

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    calls(0.3);
    _exit(0);
  }
  int status;
  struct rusage cu;
  CHECK(wait4(child, &status, 0, &cu) == child);
  printf("wait4: the child's system time: %d\n", seconds(cu.ru_stime) > 0);
  struct rusage children = usage(RUSAGE_CHILDREN);
  printf("RUSAGE_CHILDREN has it: %d\n", seconds(children.ru_stime) >= seconds(cu.ru_stime) - 0.001);
  CHECK(times(&t) != (clock_t)-1);
  printf("times: cstime in ticks as RUSAGE_CHILDREN's: %d\n",
         t.tms_cstime * 0.01 - seconds(children.ru_stime) < 0.03 &&
             seconds(children.ru_stime) - t.tms_cstime * 0.01 < 0.03);
  return 0;
}
