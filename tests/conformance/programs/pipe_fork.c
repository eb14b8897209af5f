// A child writes into a pipe, the parent reads until EOF (the child's end closes when it exits).
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    for (int i = 0; i < 1000; i++) {
      char line[32];
      int n = snprintf(line, sizeof line, "line %d\n", i);
      CHECK(write(p[1], line, n) == n);
    }
    _exit(0);
  }
  close(p[1]);
  char buf[4096];
  size_t total = 0, lines = 0;
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) {
    total += n;
    for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
  }
  CHECK(n == 0);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("read %zu bytes, %zu lines, child exit %d\n", total, lines, WEXITSTATUS(status));
  return 0;
}
