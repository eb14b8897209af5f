// Process groups and sessions: setpgid, getpgid, setsid; kill of a whole group.
#include <signal.h>
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  printf("own group readable: %d\n", getpgid(0) == getpgrp());
  int sync[2];
  CHECK(pipe(sync) == 0);
  pid_t leader = fork();
  CHECK(leader >= 0);
  if (leader == 0) {
    pid_t me = getpid();
    CHECK(setpgid(0, 0) == 0);
    printf("child leads a group: %d\n", getpgid(0) == me);
    printf("setsid as group leader: %s\n", ERRNO_OF(setsid()));
    pid_t inner = fork();
    if (inner == 0) {
      pid_t s = setsid();
      printf("grandchild setsid: new session=%d group=%d\n", s == getpid() && getsid(0) == getpid(),
             getpgrp() == getpid());
      _exit(0);
    }
    int st;
    CHECK(waitpid(inner, &st, 0) == inner);
    _exit(0);
  }
  int status;
  CHECK(waitpid(leader, &status, 0) == leader);
  // Two children in one new group, then one kill(-group).
  pid_t a = fork();
  if (a == 0) {
    setpgid(0, 0);
    for (;;) PAUSE();
  }
  setpgid(a, a);
  pid_t b = fork();
  if (b == 0) {
    setpgid(0, a);
    close(sync[0]);
    CHECK(write(sync[1], "r", 1) == 1);
    for (;;) PAUSE();
  }
  setpgid(b, a);
  char c;
  CHECK(read(sync[0], &c, 1) == 1);
  printf("same group: %d\n", getpgid(b) == a);
  CHECK(kill(-a, SIGTERM) == 0);
  int killed = 0;
  for (int i = 0; i < 2; i++) {
    CHECK(wait(&status) > 0);
    killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
  }
  printf("killed by group: %d\n", killed);
  return 0;
}
