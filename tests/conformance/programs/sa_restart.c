// A signal during a blocking read: without SA_RESTART the read fails with EINTR after the
// handler; with SA_RESTART it goes on and returns the data that arrives later. An interval timer
// keeps signalling while the read blocks, and the data is written only after the handler has run
// three times (the handler tells a child), so the outcome never depends on timing.
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "conf.h"
static volatile int go_fd = -1;
static void on_alarm(int sig) {
  (void)sig;
  if (go_fd >= 0 && write(go_fd, "g", 1) != 1) _exit(3);
}
static void timer(long usec) {
  struct itimerval it = {.it_interval = {0, usec}, .it_value = {0, usec}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}
int main(void) {
  int data[2], go[2];
  CHECK(pipe(data) == 0 && pipe(go) == 0);
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  char c;
  timer(20000);
  ssize_t n = read(data[0], &c, 1);
  int err = errno;
  timer(0);
  printf("without SA_RESTART: read=%zd %s\n", n, n < 0 ? strerrorname_np(err) : "");
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    for (int i = 0; i < 3; i++) CHECK(read(go[0], &c, 1) == 1);
    CHECK(write(data[1], "x", 1) == 1);
    _exit(0);
  }
  sa.sa_flags = SA_RESTART;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  go_fd = go[1];
  timer(20000);
  n = read(data[0], &c, 1);
  err = errno;
  timer(0);
  printf("with SA_RESTART: read=%zd '%c'%s\n", n, n == 1 ? c : '-', n < 0 ? strerrorname_np(err) : "");
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  return 0;
}
