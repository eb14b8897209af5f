// vfork: the parent waits until the child execs or exits; the child's exit code reaches it.
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  volatile int order = 0;
  pid_t pid = vfork();
  CHECK(pid >= 0);
  if (pid == 0) {
    order = 1;  // shared memory until exit: the parent sees it
    _exit(21);
  }
  printf("parent resumed after the child: %d\n", order == 1);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child code %d\n", WEXITSTATUS(status));
  pid = vfork();
  if (pid == 0) {
    char* args[] = {"/bin/sh", "-c", "echo from sh via vfork+exec; exit 2", NULL};
    execv(args[0], args);
    _exit(127);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("exec'd child code %d\n", WEXITSTATUS(status));
  return 0;
}
