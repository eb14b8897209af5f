// fork: the child has its own memory, getppid is the parent; wait4/waitpid collect exit codes.
#include <sys/resource.h>
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  int value = 1;
  pid_t parent = getpid();
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    value = 2;
    printf("child: getppid is the parent: %d, own pid differs: %d\n", getppid() == parent,
           getpid() != parent);
    _exit(3);
  }
  int status;
  struct rusage ru;
  CHECK(wait4(pid, &status, 0, &ru) == pid);
  printf("parent: value still %d, exited=%d code=%d\n", value, WIFEXITED(status), WEXITSTATUS(status));
  for (int i = 0; i < 5; i++) {
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) _exit(10 + i);
  }
  int sum = 0;
  for (int i = 0; i < 5; i++) {
    CHECK(wait(&status) > 0);
    sum += WEXITSTATUS(status);
  }
  printf("five children, codes sum to %d\n", sum);
  printf("no more children: %s\n", ERRNO_OF(wait(&status)));
  // WNOHANG on a child that is still running returns 0 (the child waits for the parent's
  // pipe to close, so no load makes it exit first), then the child is reaped.
  int hold[2];
  CHECK(pipe(hold) == 0);
  pid_t slow = fork();
  if (slow == 0) {
    char c;
    close(hold[1]);
    (void)read(hold[0], &c, 1);
    _exit(0);
  }
  close(hold[0]);
  printf("WNOHANG while running: %d\n", waitpid(slow, &status, WNOHANG));
  close(hold[1]);
  CHECK(waitpid(slow, &status, 0) == slow);
  siginfo_t info;
  pid_t w = fork();
  if (w == 0) _exit(9);
  memset(&info, 0, sizeof info);
  CHECK(waitid(P_PID, w, &info, WEXITED) == 0);
  printf("waitid: code=%d status=%d pid matches=%d\n", info.si_code == CLD_EXITED, info.si_status,
         info.si_pid == w);
  return 0;
}
