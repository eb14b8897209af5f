// Two signal rules of Linux's: sigtimedwait takes a signal of its set that arrives while it waits
// even when that signal is not blocked (its handler does not run), and SIGTSTP, SIGTTIN and
// SIGTTOU sent to an orphaned process group (here a new session's, whose parent is in another
// session) are discarded, while SIGSTOP still stops it.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig, handled = 1; }

// Its state letter in /proc/PID/stat.
static char state_of(pid_t pid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  const char* close = strrchr(text, ')');
  return close && close[1] == ' ' ? close[2] : '?';
}

// A line from the child within 5 s, or '-'.
static char answer(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  char c;
  if (poll(&p, 1, 5000) != 1 || read(fd, &c, 1) != 1) return '-';
  return c;
}

static pid_t orphan_child;
static int to_parent[2];
static void on_usr2(int sig) {
  (void)sig;
  (void)!write(to_parent[1], "u", 1);
}

int main(void) {
  // sigtimedwait with SIGUSR1 caught and not blocked: a child sends it once the parent sleeps in
  // the call (its state is S).
  signal(SIGUSR1, on_usr1);
  pid_t parent = getpid();
  fflush(stdout);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    for (int i = 0; i < 5000 && state_of(parent) != 'S'; i++) {
      struct timespec ms = {0, 1000 * 1000};
      nanosleep(&ms, NULL);
    }
    struct timespec settle = {0, 20 * 1000 * 1000};
    nanosleep(&settle, NULL);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  struct timespec timeout = {10, 0};
  siginfo_t info;
  int got = sigtimedwait(&set, &info, &timeout);
  printf("sigtimedwait took it: %s (from the child: %d), handler ran: %d\n",
         got > 0 ? sigabbrev_np(got) : strerrorname_np(errno), got > 0 && info.si_pid == child, (int)handled);
  CHECK(waitpid(child, NULL, 0) == child);

  // The orphaned group: the child leads a session of its own.
  CHECK(pipe(to_parent) == 0);
  int ready[2];
  CHECK(pipe(ready) == 0);
  fflush(stdout);
  orphan_child = fork();
  CHECK(orphan_child >= 0);
  if (orphan_child == 0) {
    signal(SIGUSR2, on_usr2);
    CHECK(setsid() == getpid());
    CHECK(write(ready[1], "r", 1) == 1);
    for (;;) pause();
  }
  char c;
  CHECK(read(ready[0], &c, 1) == 1);
  const int stops[] = {SIGTSTP, SIGTTIN, SIGTTOU};
  for (int i = 0; i < 3; i++) {
    CHECK(kill(orphan_child, stops[i]) == 0);
    CHECK(kill(orphan_child, SIGUSR2) == 0);
    printf("after %s it still answers: %c\n", sigabbrev_np(stops[i]), answer(to_parent[0]));
  }
  int status;
  printf("reported as stopped: %d\n", waitpid(orphan_child, &status, WUNTRACED | WNOHANG) != 0);
  CHECK(kill(orphan_child, SIGSTOP) == 0);
  CHECK(waitpid(orphan_child, &status, WUNTRACED) == orphan_child);
  printf("SIGSTOP stops it: %d (%s)\n", WIFSTOPPED(status),
         WIFSTOPPED(status) ? sigabbrev_np(WSTOPSIG(status)) : "-");
  CHECK(kill(orphan_child, SIGKILL) == 0);
  CHECK(waitpid(orphan_child, &status, 0) == orphan_child);
  printf("then SIGKILL: %s\n", WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exited");
  return 0;
}
