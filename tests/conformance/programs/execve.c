// execve replaces the program: new argv and environment, the same pid, fds kept unless CLOEXEC.
#include <fcntl.h>
#include <sys/wait.h>

#include "conf.h"
int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "again") == 0) {
    printf("after execve: argc=%d argv[2]=%s CONF_VAR=%s\n", argc, argv[2], getenv("CONF_VAR"));
    printf("kept fd 5: %d, cloexec fd 6 closed: %d\n", fcntl(5, F_GETFD) == 0, fcntl(6, F_GETFD) < 0);
    printf("same pid: %d\n", getpid() == atoi(argv[3]));
    return 4;
  }
  int fd = open("/dev/null", O_RDONLY);
  CHECK(fd >= 0 && dup2(fd, 5) == 5);
  CHECK(dup3(fd, 6, O_CLOEXEC) == 6);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char self[16];
    snprintf(self, sizeof self, "%d", getpid());
    char* args[] = {argv[0], "again", "second word", self, NULL};
    char* env[] = {"CONF_VAR=from-parent", NULL};
    execve(argv[0], args, env);
    printf("execve failed: %s\n", strerrorname_np(errno));
    _exit(127);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child exit code %d\n", WEXITSTATUS(status));
  return 0;
}
