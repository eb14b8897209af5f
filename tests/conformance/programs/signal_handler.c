// rt_sigaction with real delivery: a handler runs, gets siginfo, and the program continues after it.
#include <signal.h>
#include <sys/wait.h>

#include "conf.h"
static volatile sig_atomic_t got, code, nested;
static void on_usr1(int sig) { got = sig; }
static void on_usr2(int sig, siginfo_t* info, void* ctx) {
  (void)ctx;
  code = info->si_code == SI_TKILL || info->si_code == SI_USER;
  got = sig;
  // SIGUSR1 is in sa_mask: raised here it waits until this handler returns.
  raise(SIGUSR1);
  nested = got == SIGUSR2;
}
int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  CHECK(raise(SIGUSR1) == 0);
  printf("handler ran: %s\n", got == SIGUSR1 ? "SIGUSR1" : "no");
  struct sigaction si = {0};
  si.sa_sigaction = on_usr2;
  si.sa_flags = SA_SIGINFO;
  sigemptyset(&si.sa_mask);
  sigaddset(&si.sa_mask, SIGUSR1);
  CHECK(sigaction(SIGUSR2, &si, NULL) == 0);
  got = 0;
  CHECK(kill(getpid(), SIGUSR2) == 0);
  printf("siginfo handler: code ok=%d, masked signal waited=%d, then ran=%d\n", code, nested, got == SIGUSR1);
  struct sigaction old;
  CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
  printf("sigaction reads back the handler: %d\n", old.sa_handler == on_usr1);
  printf("invalid signal: %s\n", ERRNO_OF(sigaction(SIGKILL, &sa, NULL)));
  // SA_RESETHAND is one-shot: a second delivery takes the default action. In a child: the
  // workload itself may be a pid namespace's init, which no signal's default action ends.
  sa.sa_flags = SA_RESETHAND;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    got = 0;
    raise(SIGUSR1);
    printf("child: first delivery handled: %d\n", got == SIGUSR1);
    raise(SIGUSR1);
    printf("child: not reached\n");
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("child ended by: %s\n", WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exit");
  return 0;
}
