// A child killed by a signal is reported as such (WIFSIGNALED, WTERMSIG), and a stopped one too.
#include <signal.h>
#include <sys/wait.h>

#include "conf.h"
static void report(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, WUNTRACED) == pid);
  if (WIFEXITED(status)) printf("exited %d\n", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) printf("signaled %s\n", sigabbrev_np(WTERMSIG(status)));
  if (WIFSTOPPED(status)) printf("stopped %s\n", sigabbrev_np(WSTOPSIG(status)));
}
int main(void) {
  pid_t pid = fork();
  if (pid == 0) {
    raise(SIGKILL);
    _exit(1);
  }
  report(pid);
  pid = fork();
  if (pid == 0) {
    int* volatile bad = (int*)8;
    *bad = 1;
    _exit(1);
  }
  report(pid);
  pid = fork();
  if (pid == 0) {
    for (;;) PAUSE();
  }
  CHECK(kill(pid, SIGTERM) == 0);
  report(pid);
  pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    _exit(5);
  }
  report(pid);
  CHECK(kill(pid, SIGCONT) == 0);
  report(pid);
  return 0;
}
