// Writing to a pipe without readers: SIGPIPE kills by default; ignored, the write fails with EPIPE.
#include <signal.h>
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  close(p[0]);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    (void)write(p[1], "x", 1);
    printf("child survived the write\n");
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child: signaled=%d by %s\n", WIFSIGNALED(status),
         WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "-");
  signal(SIGPIPE, SIG_IGN);
  printf("ignored: %s\n", ERRNO_OF(write(p[1], "x", 1)));
  // Blocked, the signal stays pending and the write fails too.
  signal(SIGPIPE, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &set, NULL);
  printf("blocked: %s\n", ERRNO_OF(write(p[1], "x", 1)));
  sigset_t pending;
  sigpending(&pending);
  printf("pending: %d\n", sigismember(&pending, SIGPIPE));
  // Unblocked, the pending signal is delivered and takes its default action (in a child: the
  // workload itself may be a pid namespace's init, which no signal's default action ends).
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    (void)write(p[1], "x", 1);  // pending signals are not inherited: the child makes its own
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("child: not reached\n");
    _exit(0);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("pending SIGPIPE unblocked in a child: %s\n",
         WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exit");
  return 0;
}
