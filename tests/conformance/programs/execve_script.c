// execve of a script with "#!": the interpreter runs with the script's path and arguments.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  char dir[] = "/tmp/confXXXXXX";
  CHECK(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof path, "%s/script", dir);
  const char* text = "#!/bin/sh -e\necho \"script says: $1 $2\"\nexit 6\n";
  int fd = open(path, O_WRONLY | O_CREAT, 0755);
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char* args[] = {path, "first", "second", NULL};
    char* env[] = {"PATH=/bin", NULL};
    execve(path, args, env);
    printf("execve failed: %s\n", strerrorname_np(errno));
    _exit(127);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("script exit code %d\n", WEXITSTATUS(status));
  unlink(path);
  rmdir(dir);
  return 0;
}
