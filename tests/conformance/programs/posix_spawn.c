// posix_spawn: glibc's and musl's run the child with CLONE_VM|CLONE_VFORK on a stack of their own
// and learn an exec failure through the memory they share, so a program that does not exist is
// the spawn's error, not a child that exits 127.
#include <spawn.h>
#include <sys/wait.h>

#include "conf.h"
extern char** environ;
int main(void) {
  pid_t pid;
  char* ok[] = {"/bin/sh", "-c", "echo spawned; exit 3", NULL};
  CHECK(posix_spawn(&pid, ok[0], NULL, NULL, ok, environ) == 0);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("spawned child code %d\n", WEXITSTATUS(status));
  char* missing[] = {"/no/such/program", NULL};
  int err = posix_spawn(&pid, missing[0], NULL, NULL, missing, environ);
  printf("spawn of a missing program: %s\n", err ? strerrorname_np(err) : "0");
  if (err == 0) waitpid(pid, &status, 0);
  return 0;
}
