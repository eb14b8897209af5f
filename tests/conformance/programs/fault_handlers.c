// Faults reach the program's handlers with Linux's siginfo (si_code, si_addr), and a handler can
// leave by siglongjmp; a fault inside the handler (its signal blocked there) or a stack overflow
// with no room for the frame ends the process with SIGSEGV, never the sandbox.
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include "conf.h"
static sigjmp_buf back;
static volatile int* volatile null_address = (int*)0;
static volatile int* volatile low_address = (int*)0x1000;
static volatile int* volatile tiny_address = (int*)16;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr;
static void on_fault(int sig, siginfo_t* info, void* ctx) {
  (void)ctx;
  got_sig = sig, got_code = info->si_code, got_addr = (uintptr_t)info->si_addr;
  siglongjmp(back, 1);
}
static void on_fault_again(int sig) {
  (void)sig;
  *tiny_address = 1;  // faults again with SIGSEGV blocked
}
static int depth(int n) {
  volatile char pad[1024];
  pad[0] = (char)n;
  return n == 0 ? 0 : depth(n + 1) + pad[0];
}
static void child_status(const char* what, void (*body)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("%s: %s\n", what, WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exited");
}
static void fault_in_handler(void) {
  signal(SIGSEGV, on_fault_again);
  *null_address = 1;
}
static void overflow(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  depth(1);
}
int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  CHECK(sigaction(SIGFPE, &sa, NULL) == 0);
  CHECK(sigaction(SIGILL, &sa, NULL) == 0);
  if (sigsetjmp(back, 1) == 0) (void)*null_address;
  printf("null read: %s MAPERR=%d addr=%#lx\n", sigabbrev_np(got_sig), got_code == SEGV_MAPERR, (unsigned long)got_addr);
  got_sig = got_code = 0;
  if (sigsetjmp(back, 1) == 0) *low_address = 1;
  printf("low write: %s MAPERR=%d addr=%#lx\n", sigabbrev_np(got_sig), got_code == SEGV_MAPERR, (unsigned long)got_addr);
  volatile int zero = 0, seven = 7;
  got_sig = got_code = 0;
  if (sigsetjmp(back, 1) == 0) printf("%d\n", seven / zero);
  printf("divide by zero: %s INTDIV=%d\n", sigabbrev_np(got_sig), got_code == FPE_INTDIV);
  got_sig = got_code = 0;
  if (sigsetjmp(back, 1) == 0) __asm__ volatile("ud2");
  printf("ud2: %s ILLOPN=%d\n", sigabbrev_np(got_sig), got_code == ILL_ILLOPN);
  child_status("a fault in the handler", fault_in_handler);
  child_status("stack overflow with a handler", overflow);
  return 0;
}
