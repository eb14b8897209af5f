// ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time: a loop that spins gets SIGVTALRM or
// SIGPROF once its CPU time passes the value (and again per interval), a sleep of the same length
// does not; getitimer reads back what is left; a zero value disarms; fork's child has none.
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"

static volatile sig_atomic_t virtual_signals, prof_signals;
static void on_signal(int sig) {
  if (sig == SIGVTALRM) virtual_signals++;
  if (sig == SIGPROF) prof_signals++;
}

static double cpu_s(void) {
  struct timespec t;
  CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static void spin_cpu(double seconds) {
  const double start = cpu_s();
  while (cpu_s() - start < seconds) {
    for (volatile int i = 0; i < 10000; i++) {
    }
  }
}
static struct itimerval after_ms(long value, long interval) {
  struct itimerval v = {{interval / 1000, interval % 1000 * 1000}, {value / 1000, value % 1000 * 1000}};
  return v;
}

int main(void) {
  signal(SIGVTALRM, on_signal);
  signal(SIGPROF, on_signal);

  struct itimerval v = after_ms(50, 0), left;
  CHECK(setitimer(ITIMER_VIRTUAL, &v, NULL) == 0);
  CHECK(getitimer(ITIMER_VIRTUAL, &left) == 0);
  // (Linux adds a tick to a CPU-time timer's value: 4 ms at HZ=250.)
  printf("armed, reads back at most 50 ms and a tick: %d\n",
         left.it_value.tv_sec == 0 && left.it_value.tv_usec > 0 && left.it_value.tv_usec <= 60000);
  struct timespec nap = {0, 100000000};
  nanosleep(&nap, NULL);
  printf("a 100 ms sleep: SIGVTALRM %d\n", virtual_signals);
  spin_cpu(0.2);
  printf("200 ms of CPU: SIGVTALRM %d\n", virtual_signals);
  CHECK(getitimer(ITIMER_VIRTUAL, &left) == 0);
  printf("then disarmed: %d\n", left.it_value.tv_sec == 0 && left.it_value.tv_usec == 0);

  v = after_ms(20, 20);
  CHECK(setitimer(ITIMER_PROF, &v, NULL) == 0);
  spin_cpu(0.3);
  printf("300 ms of CPU, every 20 ms: at least 3 SIGPROF: %d\n", prof_signals >= 3);
  CHECK(getitimer(ITIMER_PROF, &left) == 0);
  printf("still armed, interval 20 ms: %d %d\n", left.it_value.tv_sec == 0 && left.it_value.tv_usec > 0,
         left.it_interval.tv_sec == 0 && left.it_interval.tv_usec == 20000);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    struct itimerval mine;
    CHECK(getitimer(ITIMER_PROF, &mine) == 0);
    printf("fork's child: ITIMER_PROF armed %d\n", mine.it_value.tv_sec != 0 || mine.it_value.tv_usec != 0);
    _exit(0);
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  struct itimerval zero = after_ms(0, 0), old;
  CHECK(setitimer(ITIMER_PROF, &zero, &old) == 0);
  printf("disarmed; the old one had the interval: %d\n", old.it_interval.tv_usec == 20000);
  const int before = prof_signals;
  spin_cpu(0.1);
  printf("no SIGPROF after: %d\n", prof_signals == before);

  // A loop that makes no system call is stopped at the end of its time slice to check the timer.
  const int earlier = prof_signals;
  struct itimerval once = after_ms(30, 0);
  CHECK(setitimer(ITIMER_PROF, &once, NULL) == 0);
  for (unsigned long i = 0; i < 20000000000ul && prof_signals == earlier; i++) {
  }
  printf("a loop without system calls gets SIGPROF: %d\n", prof_signals == earlier + 1);

  // The default action of SIGPROF ends the process.
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    signal(SIGPROF, SIG_DFL);
    struct itimerval once = after_ms(10, 0);
    CHECK(setitimer(ITIMER_PROF, &once, NULL) == 0);
    spin_cpu(5);
    _exit(0);
  }
  CHECK(waitpid(child, &status, 0) == child);
  printf("default action: killed by SIGPROF %d\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGPROF);
  printf("bad timer: %s\n", ERRNO_OF(setitimer(7, &v, NULL)));
  return 0;
}
