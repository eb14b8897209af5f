// Preemption between processes: parent and child each poll a non-blocking pipe in a loop (a
// system call that never blocks), so neither gives the CPU up by waiting: a ping, a pong, done.
#include <fcntl.h>
#include <sys/wait.h>

#include "conf.h"
static void spin_read(int fd, char* c) {
  while (read(fd, c, 1) != 1) CHECK(errno == EAGAIN);
}
int main(void) {
  int ping[2], pong[2];
  CHECK(pipe2(ping, O_NONBLOCK) == 0 && pipe2(pong, O_NONBLOCK) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  char c;
  if (pid == 0) {
    spin_read(ping[0], &c);
    c++;
    CHECK(write(pong[1], &c, 1) == 1);
    _exit(0);
  }
  // The parent spins first, before the child has run at all.
  volatile long work = 0;
  for (long i = 0; i < 20000000; i++) work += i;
  c = 'a';
  CHECK(write(ping[1], &c, 1) == 1);
  spin_read(pong[0], &c);
  printf("pong: %c\n", c);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child code %d\n", WEXITSTATUS(status));
  return 0;
}
