// Real-time signals carry their value and queue in order; sigtimedwait takes a blocked signal,
// times out with EAGAIN, and wakes for one another process queues; a sender cannot pass for the
// kernel (a forged si_code to another process is EPERM).
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "conf.h"
static int values[8], count;
static void on_rt(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)ctx;
  if (count < 8) values[count++] = info->si_code == SI_QUEUE ? info->si_value.sival_int : -1;
}
int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_rt;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGRTMIN + 1, &sa, NULL) == 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 1);
  CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
  for (int i = 1; i <= 4; i++) CHECK(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = i * 10}) == 0);
  CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
  printf("delivered in order:");
  for (int i = 0; i < count; i++) printf(" %d", values[i]);
  printf("\n");

  sigset_t wait_set;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &wait_set, NULL) == 0);
  struct timespec short_wait = {0, 20 * 1000 * 1000}, bad = {0, 1000000000}, long_wait = {20, 0};
  printf("nothing pending: %s\n", ERRNO_OF(sigtimedwait(&wait_set, NULL, &short_wait)));
  printf("bad timeout: %s\n", ERRNO_OF(sigtimedwait(&wait_set, NULL, &bad)));
  pid_t parent = getpid();
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    sigqueue(parent, SIGUSR1, (union sigval){.sival_int = 77});
    _exit(0);
  }
  siginfo_t info;
  int sig = sigtimedwait(&wait_set, &info, &long_wait);
  printf("woken: %s value=%d SI_QUEUE=%d from the child=%d\n", sig > 0 ? sigabbrev_np(sig) : strerrorname_np(errno),
         info.si_value.sival_int, info.si_code == SI_QUEUE, info.si_pid == child);
  CHECK(waitpid(child, NULL, 0) == child);

  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    for (;;) PAUSE();
  }
  siginfo_t forged;
  memset(&forged, 0, sizeof forged);
  forged.si_signo = SIGUSR1;
  forged.si_code = SI_KERNEL;
  printf("forged SI_KERNEL to another: %s\n", ERRNO_OF(syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &forged)));
  forged.si_code = SI_QUEUE;
  printf("signal 65: %s\n", ERRNO_OF(syscall(SYS_rt_sigqueueinfo, child, 65, &forged)));
  printf("no such process: %s\n", ERRNO_OF(syscall(SYS_rt_sigqueueinfo, 99999, SIGUSR1, &forged)));
  CHECK(kill(child, SIGKILL) == 0);
  CHECK(waitpid(child, NULL, 0) == child);
  return 0;
}
