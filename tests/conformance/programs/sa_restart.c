// A signal during a blocking read: without SA_RESTART the read fails with EINTR after the
// handler; with SA_RESTART it goes on and returns the data that arrives later. The data is sent
// only once the handler has run (the handler tells a child to write), so no timing decides it.
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "conf.h"
static int go[2];
static volatile sig_atomic_t handled;
static void on_alarm(int sig) {
  (void)sig;
  handled++;
  if (write(go[1], "g", 1) != 1) _exit(3);
}
static void arm(void) {
  struct itimerval it = {.it_value = {0, 50000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}
int main(void) {
  int data[2];
  CHECK(pipe(data) == 0 && pipe(go) == 0);
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  char c;
  arm();
  ssize_t n = read(data[0], &c, 1);
  printf("without SA_RESTART: read=%zd %s, handled=%d\n", n, n < 0 ? strerrorname_np(errno) : "", handled);
  CHECK(read(go[0], &c, 1) == 1);  // the handler's byte from the first round
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    CHECK(read(go[0], &c, 1) == 1);  // until the second handler ran
    CHECK(write(data[1], "x", 1) == 1);
    _exit(0);
  }
  sa.sa_flags = SA_RESTART;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  arm();
  n = read(data[0], &c, 1);
  printf("with SA_RESTART: read=%zd '%c', handled=%d\n", n, n == 1 ? c : '-', handled);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  return 0;
}
