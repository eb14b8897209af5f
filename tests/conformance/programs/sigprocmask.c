// A blocked signal stays pending (sigpending) and is delivered when unblocked; sigsuspend waits.
#include <signal.h>

#include "conf.h"
static volatile sig_atomic_t count;
static void on_signal(int sig) {
  (void)sig;
  count++;
}
int main(void) {
  signal(SIGUSR1, on_signal);
  sigset_t block, old, pending;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
  raise(SIGUSR1);
  raise(SIGUSR1);
  CHECK(sigpending(&pending) == 0);
  printf("pending while blocked: %d, handled: %d\n", sigismember(&pending, SIGUSR1), count);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  printf("after unblock, handled once (standard signals do not queue): %d\n", count);
  sigset_t now;
  CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
  printf("blocked now: %d\n", sigismember(&now, SIGUSR1));
  // Real-time signals queue.
  signal(SIGRTMIN, on_signal);
  sigemptyset(&block);
  sigaddset(&block, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &block, NULL);
  count = 0;
  for (int i = 0; i < 3; i++) {
    union sigval v = {.sival_int = i};
    CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
  }
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  printf("real-time signals queued and delivered: %d\n", count);
  // SIGKILL cannot be blocked: the mask ignores it.
  sigfillset(&block);
  CHECK(sigprocmask(SIG_SETMASK, &block, NULL) == 0);
  CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
  printf("SIGKILL in mask: %d, SIGSTOP in mask: %d\n", sigismember(&now, SIGKILL),
         sigismember(&now, SIGSTOP));
  // sigsuspend: wait for a signal with the mask swapped.
  sigdelset(&block, SIGUSR1);
  count = 0;
  raise(SIGUSR1);  // blocked: pending
  int r = sigsuspend(&block);
  printf("sigsuspend returned %d (%s), handled %d\n", r, strerrorname_np(errno), count);
  // sigwaitinfo takes a blocked signal without a handler.
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, SIGUSR2);
  raise(SIGUSR2);
  siginfo_t info;
  printf("sigwaitinfo: %s\n", sigabbrev_np(sigwaitinfo(&only, &info)));
  return 0;
}
