/* Signal delivery as Linux does it: handlers with siginfo, masks, SIGCHLD with sigsuspend,
 * SIGPIPE, SA_RESTART against EINTR, nanosleep. One line per check (no pids), to compare with a
 * native run. Usage: signals */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got, got_code, got_pid_ok, chld;

static void on_usr1(int sig, siginfo_t* info, void* uc) {
  (void)uc;
  got = sig;
  got_code = info->si_code;
  got_pid_ok = info->si_pid == getpid();
}
static void on_chld(int sig) { chld += sig == SIGCHLD; }
static void on_plain(int sig) { got = sig; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  /* registers survive a handler: a value kept in a register across the kill */
  long kept = 0;
  for (long i = 0; i < 1000; ++i) kept += i;
  kill(getpid(), SIGUSR1);
  for (long i = 0; i < 1000; ++i) kept += i;
  printf("handler ran: sig %d code %s pid %s kept %ld\n", (int)got, got_code == SI_USER ? "SI_USER" : "other",
         got_pid_ok ? "self" : "wrong", kept);

  /* blocked, then delivered when unblocked */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  got = 0;
  sigprocmask(SIG_BLOCK, &block, &old);
  kill(getpid(), SIGUSR1);
  printf("while blocked: %d\n", (int)got);
  sigset_t pending;
  sigpending(&pending);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("after unblocking: %d\n", (int)got);

  /* SIGCHLD and sigsuspend, as a shell's `wait` */
  signal(SIGCHLD, on_chld);
  sigset_t chldmask, waitmask;
  sigemptyset(&chldmask);
  sigaddset(&chldmask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chldmask, &old);
  pid_t child = fork();
  if (child == 0) _exit(9);
  sigemptyset(&waitmask);
  while (!chld) sigsuspend(&waitmask);
  sigprocmask(SIG_SETMASK, &old, NULL);
  int status = 0;
  printf("SIGCHLD %d, wait %s, status %d\n", (int)chld, waitpid(child, &status, 0) == child ? "ok" : "lost",
         WEXITSTATUS(status));

  /* SIGPIPE caught: the write fails with EPIPE after the handler */
  signal(SIGPIPE, on_plain);
  int p[2];
  pipe(p);
  close(p[0]);
  got = 0;
  errno = 0;
  ssize_t w = write(p[1], "x", 1);
  int e = errno;
  printf("SIGPIPE: handler %d write %zd %s\n", (int)got, w, e == EPIPE ? "EPIPE" : "other");
  close(p[1]);

  /* a blocked read interrupted: EINTR without SA_RESTART, the data with it */
  for (int restart = 0; restart < 2; ++restart) {
    int q[2], r[2];
    pipe(q);
    pipe(r);
    child = fork();
    if (child == 0) {
      struct sigaction c;
      memset(&c, 0, sizeof c);
      c.sa_handler = on_plain;
      c.sa_flags = restart ? SA_RESTART : 0;
      sigaction(SIGUSR2, &c, NULL);
      write(r[1], "r", 1); /* ready */
      char buf[8] = {0};
      errno = 0;
      ssize_t n = read(q[0], buf, sizeof buf - 1);
      int err = errno;
      printf("%s: read %zd %s '%s' after signal %d\n", restart ? "SA_RESTART" : "no SA_RESTART", n,
             n < 0 && err == EINTR ? "EINTR" : "-", buf, (int)got);
      _exit(0);
    }
    char c;
    read(r[0], &c, 1);
    struct timespec ms = {0, 20 * 1000 * 1000};
    nanosleep(&ms, NULL); /* the child is in its read by now */
    kill(child, SIGUSR2);
    nanosleep(&ms, NULL);
    write(q[1], "data", 4);
    waitpid(child, &status, 0);
  }
  /* the default action of a signal the child does not handle */
  child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  struct timespec ms = {0, 10 * 1000 * 1000};
  nanosleep(&ms, NULL);
  kill(child, SIGTERM);
  waitpid(child, &status, 0);
  printf("default action: signaled %d by %d\n", WIFSIGNALED(status), WTERMSIG(status));
  return 0;
}
