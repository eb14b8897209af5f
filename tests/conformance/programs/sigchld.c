// SIGCHLD reaches the parent's handler when a child exits; SA_NOCLDWAIT children are not zombies.
#include <signal.h>
#include <sys/wait.h>

#include "conf.h"
static volatile sig_atomic_t chld;
static void on_chld(int sig) {
  (void)sig;
  chld++;
}
int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_chld;
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(0);
  while (!chld) CHECK(sigsuspend(&old) == -1 && errno == EINTR);
  printf("SIGCHLD handled: %d\n", chld);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  sigprocmask(SIG_SETMASK, &old, NULL);
  // SIG_IGN for SIGCHLD: children are reaped by the kernel, wait finds none (ECHILD).
  signal(SIGCHLD, SIG_IGN);
  pid = fork();
  if (pid == 0) _exit(0);
  printf("wait with SIGCHLD ignored: %s\n", ERRNO_OF(waitpid(pid, &status, 0)));
  return 0;
}
