/* Processes as a shell uses them; one line per check, so a run can be compared with a native one
 * (no pid is printed, only relations between them). Usage: tasks ids | tasks exec-attack |
 * tasks fork-bomb | tasks signals */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* err_name(int e) {
  switch (e) {
    case EFAULT:
      return "EFAULT";
    case E2BIG:
      return "E2BIG";
    case EACCES:
      return "EACCES";
    case ENOEXEC:
      return "ENOEXEC";
    case ENOENT:
      return "ENOENT";
    case ELOOP:
      return "ELOOP";
    case ECHILD:
      return "ECHILD";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case ESRCH:
      return "ESRCH";
    case EPERM:
      return "EPERM";
    case EINVAL:
      return "EINVAL";
    default:
      return "other";
  }
}
#define SHOW(what, call)                                                         \
  do {                                                                           \
    errno = 0;                                                                   \
    long r_ = (long)(call);                                                      \
    int e_ = errno;                                                              \
    printf("%s %s\n", what, r_ < 0 ? err_name(e_) : r_ == 0 ? "0" : "positive"); \
  } while (0)

static int ids(void) {
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    printf("child: ppid is the parent: %s\n", getppid() == parent ? "yes" : "no");
    printf("child: same group: %s\n", getpgrp() == getpgid(parent) ? "yes" : "no");
    SHOW("child: setpgid(0, 0)", setpgid(0, 0));
    printf("child: own group: %s\n", getpgrp() == getpid() ? "yes" : "no");
    SHOW("child: setsid of a group leader", setsid());
    _exit(3);
  }
  int status;
  SHOW("waitpid", waitpid(child, &status, 0));
  printf("exit status %d\n", WEXITSTATUS(status));
  SHOW("waitpid with no child", waitpid(-1, &status, 0));
  SHOW("waitpid WNOHANG with no child", waitpid(-1, &status, WNOHANG));
  /* a child killed by a signal, and one that is still running for WNOHANG */
  int p[2];
  pipe(p);
  child = fork();
  if (child == 0) {
    char c;
    read(p[0], &c, 1); /* blocks until the parent writes */
    if (c == 'k') kill(getpid(), SIGTERM);
    _exit(0);
  }
  SHOW("waitpid WNOHANG while it runs", waitpid(child, &status, WNOHANG));
  write(p[1], "k", 1);
  SHOW("waitpid", waitpid(child, &status, 0));
  printf("signaled %d signal %d\n", WIFSIGNALED(status), WTERMSIG(status));
  /* kill from the parent */
  child = fork();
  if (child == 0) {
    char c;
    read(p[0], &c, 1);
    _exit(0);
  }
  SHOW("kill of the child", kill(child, SIGKILL));
  SHOW("waitpid", waitpid(child, &status, 0));
  printf("signaled %d signal %d\n", WIFSIGNALED(status), WTERMSIG(status));
  SHOW("kill of a reaped child", kill(child, 0));
  /* waitid */
  child = fork();
  if (child == 0) _exit(5);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  SHOW("waitid", waitid(P_PID, child, &info, WEXITED));
  printf("waitid: signo %s code %s status %d pid %s\n", info.si_signo == SIGCHLD ? "SIGCHLD" : "other",
         info.si_code == CLD_EXITED ? "CLD_EXITED" : "other", info.si_status,
         info.si_pid == child ? "ok" : "wrong");
  return 0;
}

static int exec_attack(void) {
  char* argv[] = {"x", NULL};
  SHOW("execve of a directory", execve("/bin", argv, NULL));
  SHOW("execve of a missing file", execve("/bin/missing", argv, NULL));
  SHOW("execve of a non-executable file", execve("/data/plain.txt", argv, NULL));
  SHOW("execve of garbage", execve("/bin/garbage", argv, NULL));
  SHOW("execve of a #! loop", execve("/bin/loop.sh", argv, NULL));
  SHOW("execve with argv in the kernel area", execve("/bin/tasks", (char**)0x1000, NULL));
  SHOW("execve with a path in the kernel area", execve((char*)0x1000, argv, NULL));
  char* bad[] = {"x", (char*)0x1000, NULL};
  SHOW("execve with a string in the kernel area", execve("/bin/tasks", bad, NULL));
  /* 2^20 pointers to one 64 KiB string: 64 GiB of arguments */
  static char big[1 << 16];
  memset(big, 'a', sizeof big - 1);
  char** many = malloc(sizeof(char*) * ((1 << 20) + 1));
  for (int i = 0; i < (1 << 20); ++i) many[i] = big;
  many[1 << 20] = NULL;
  SHOW("execve with too many arguments", execve("/bin/tasks", many, NULL));
  printf("still here\n");
  return 0;
}

/* Forks until fork fails; every child waits on a pipe, so all are alive at once. */
static int fork_bomb(void) {
  int p[2];
  pipe(p);
  int n = 0, err = 0;
  for (; n < 4096; ++n) {
    pid_t c = fork();
    if (c == 0) {
      char x;
      close(p[1]);
      read(p[0], &x, 1);
      _exit(0);
    }
    if (c < 0) {
      err = errno;
      break;
    }
  }
  printf("forks %d then %s\n", n, err ? err_name(err) : "no failure");
  close(p[1]); /* every child reads EOF and exits */
  int reaped = 0;
  while (wait(NULL) > 0) ++reaped;
  printf("reaped %d\n", reaped);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strcmp(argv[1], "ids")) return ids();
  if (argc > 1 && !strcmp(argv[1], "exec-attack")) return exec_attack();
  if (argc > 1 && !strcmp(argv[1], "fork-bomb")) return fork_bomb();
  return 2;
}
