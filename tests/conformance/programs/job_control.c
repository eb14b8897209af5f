// Job control: a stop signal stops a child until SIGCONT (it runs no code meanwhile), the parent
// sees it stop and go on (WUNTRACED, WCONTINUED, SIGCHLD's CLD_STOPPED/CLD_CONTINUED), a caught
// SIGCONT reaches its handler, a blocked SIGTSTP stops only once unblocked, SIGKILL ends a stopped
// child, and SA_NOCLDSTOP keeps SIGCHLD for exits only. The children here are not orphaned (an
// orphaned group's stop signals are discarded: orphan_sigwait.c).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"
static volatile sig_atomic_t chld_codes[8], chld_count, cont_seen;
static void on_chld(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)ctx;
  if (chld_count < 8) chld_codes[chld_count++] = info->si_code;
}
static void on_cont(int sig) { (void)sig, cont_seen = 1; }
static const char* code_name(int code) {
  return code == CLD_STOPPED ? "STOPPED" : code == CLD_CONTINUED ? "CONTINUED" : code == CLD_EXITED ? "EXITED"
         : code == CLD_KILLED ? "KILLED" : "other";
}
static void describe(const char* what, int status) {
  if (WIFSTOPPED(status)) printf("%s: stopped %s\n", what, sigabbrev_np(WSTOPSIG(status)));
  else if (WIFCONTINUED(status)) printf("%s: continued\n", what);
  else if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) printf("%s: signaled %s\n", what, sigabbrev_np(WTERMSIG(status)));
}
int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    // A process group of its own whose parent is in another group of the session: not orphaned,
    // so SIGTSTP is not discarded (where the workload leads a session, as in a container).
    setpgid(0, 0);
    signal(SIGCONT, on_cont);
    close(fds[0]);
    for (;;) {
      char c = cont_seen ? 'c' : 'x';
      if (write(fds[1], &c, 1) != 1) _exit(1);
      struct timespec ms = {0, 1000 * 1000};
      nanosleep(&ms, NULL);
    }
  }
  close(fds[1]);
  char c;
  CHECK(read(fds[0], &c, 1) == 1);  // it runs
  CHECK(kill(child, SIGTSTP) == 0);
  int status;
  CHECK(waitpid(child, &status, WUNTRACED) == child);
  describe("after SIGTSTP", status);
  // Drain what it wrote before it stopped, then nothing comes while it is stopped.
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buf[4096];
  while (read(fds[0], buf, sizeof buf) > 0) {
  }
  struct timespec wait = {0, 100 * 1000 * 1000};
  nanosleep(&wait, NULL);
  printf("wrote while stopped: %d\n", read(fds[0], buf, sizeof buf) > 0);
  CHECK(kill(child, SIGCONT) == 0);
  CHECK(waitpid(child, &status, WCONTINUED) == child);
  describe("after SIGCONT", status);
  fcntl(fds[0], F_SETFL, 0);
  do CHECK(read(fds[0], &c, 1) == 1);
  while (c != 'c');
  printf("its SIGCONT handler ran: %d\n", c == 'c');
  CHECK(kill(child, SIGSTOP) == 0);
  CHECK(waitpid(child, &status, WUNTRACED) == child);
  describe("after SIGSTOP", status);
  CHECK(kill(child, SIGKILL) == 0);
  CHECK(waitpid(child, &status, 0) == child);
  describe("SIGKILL while stopped", status);
  printf("SIGCHLD codes:");
  for (int i = 0; i < chld_count; i++) printf(" %s", code_name(chld_codes[i]));
  printf("\n");

  // A blocked SIGTSTP stops the child only when it unblocks it; SA_NOCLDSTOP: no SIGCHLD for it.
  sa.sa_flags |= SA_NOCLDSTOP;
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
  chld_count = 0;
  CHECK(pipe(fds) == 0);
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    setpgid(0, 0);
    sigset_t tstp;
    sigemptyset(&tstp);
    sigaddset(&tstp, SIGTSTP);
    sigprocmask(SIG_BLOCK, &tstp, NULL);
    raise(SIGTSTP);
    if (write(fds[1], "b", 1) != 1) _exit(1);  // still running: it was blocked
    sigprocmask(SIG_UNBLOCK, &tstp, NULL);      // stops here
    if (write(fds[1], "a", 1) != 1) _exit(1);
    _exit(7);
  }
  close(fds[1]);
  CHECK(read(fds[0], &c, 1) == 1);
  printf("ran on while SIGTSTP was blocked: %c\n", c);
  CHECK(waitpid(child, &status, WUNTRACED) == child);
  describe("once unblocked", status);
  CHECK(kill(child, SIGCONT) == 0);
  CHECK(read(fds[0], &c, 1) == 1);
  CHECK(waitpid(child, &status, 0) == child);
  describe("continued", status);
  printf("SIGCHLD with SA_NOCLDSTOP:");
  for (int i = 0; i < chld_count; i++) printf(" %s", code_name(chld_codes[i]));
  printf("\n");
  return 0;
}
