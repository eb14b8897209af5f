// alarm and setitimer deliver SIGALRM; pause returns EINTR after the handler.
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "conf.h"
static volatile sig_atomic_t rings;
static void on_alarm(int sig) {
  (void)sig;
  rings++;
}
int main(void) {
  signal(SIGALRM, on_alarm);
  // The first alarm is far off, so that no load can let it ring before it is replaced.
  CHECK(alarm(100) == 0);
  printf("alarm pending: %d\n", alarm(1) > 0);
  int r = pause();
  printf("pause returned %d (%s) after %d ring\n", r, strerrorname_np(errno), rings);
  struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  while (rings < 4) PAUSE();
  struct itimerval off = {0};
  CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
  printf("interval timer rang at least 3 more times\n");
  // The default action of SIGALRM ends the process (in a child: the workload itself may be a
  // pid namespace's init, which no signal's default action ends).
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    signal(SIGALRM, SIG_DFL);
    alarm(1);
    for (;;) PAUSE();
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child with the default action: %s\n",
         WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exited");
  return 0;
}
