// sigaltstack as Linux keeps it, per thread: none at first (SS_DISABLE); a handler installed with
// SA_ONSTACK runs on it, sees SS_ONSTACK and cannot change it there (EPERM); a handler without
// SA_ONSTACK stays on the thread's stack; a bad mode is EINVAL and a size below MINSIGSTKSZ
// ENOMEM; SS_AUTODISARM disarms it inside the handler and rt_sigreturn arms it again; a fork child
// keeps it, a new thread starts without one, execve drops it.
// And the stack clash: recursion past the end of the stack faults (SIGSEGV, handled on the
// alternate stack) before it writes into the mapping mmap placed nearest below the stack.
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "conf.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)  // linux/signal.h's; glibc does not define it
#endif

static char alt[64 * 1024] __attribute__((aligned(16)));
static volatile int handler_on_alt, handler_flags, handler_change_errno;
static sigjmp_buf overflow_exit;

static int on_alt(const void* p) { return (const char*)p > alt && (const char*)p <= alt + sizeof alt; }

static const char* flags_text(int flags) {
  static char texts[2][64];  // two in one printf
  static int next;
  char* text = texts[next++ % 2];
  text[0] = 0;
  if (flags & SS_ONSTACK) strcat(text, "ONSTACK ");
  if (flags & SS_DISABLE) strcat(text, "DISABLE ");
  if ((unsigned)flags & SS_AUTODISARM) strcat(text, "AUTODISARM ");
  if (!text[0]) strcat(text, "0 ");
  text[strlen(text) - 1] = 0;
  return text;
}

static stack_t current(void) {
  stack_t now;
  memset(&now, 0, sizeof now);
  if (sigaltstack(NULL, &now) != 0) printf("sigaltstack query failed: %s\n", strerrorname_np(errno));
  return now;
}

static void handler(int sig) {
  (void)sig;
  volatile int local = 0;
  handler_on_alt = on_alt((const void*)&local);
  handler_flags = current().ss_flags;
  if (!handler_on_alt) return;  // (a change here would be allowed, and stay)
  stack_t other = {.ss_sp = alt, .ss_size = sizeof alt / 2, .ss_flags = 0};
  handler_change_errno = sigaltstack(&other, NULL) == 0 ? 0 : errno;
}

static void install(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigaction(sig, &sa, NULL);
}

static void* thread_main(void* arg) {
  (void)arg;
  printf("a new thread: %s\n", flags_text(current().ss_flags));
  return NULL;
}

static void overflow_handler(int sig) {
  volatile int local = 0;
  if (on_alt((const void*)&local)) siglongjmp(overflow_exit, sig);
  siglongjmp(overflow_exit, 100 + sig);  // not on the alternate stack
}

__attribute__((noinline)) static int recurse(int depth) {
  volatile char frame[4096];
  memset((char*)frame, depth & 0xff, sizeof frame);
  if (depth > 1 << 20) return 0;  // 4 GiB of stack: never reached
  return recurse(depth + 1) + frame[depth % sizeof frame];
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    printf("after execve: %s\n", flags_text(current().ss_flags));
    return 0;
  }
  printf("at start: %s\n", flags_text(current().ss_flags));

  stack_t bad = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 4};
  printf("unknown mode: %s\n", sigaltstack(&bad, NULL) == 0 ? "accepted" : strerrorname_np(errno));
  bad.ss_flags = 0;
  bad.ss_size = 1024;  // the kernel's MINSIGSTKSZ is 2048 (glibc's may be larger: it asks the CPU)
  printf("below MINSIGSTKSZ: %s\n", sigaltstack(&bad, NULL) == 0 ? "accepted" : strerrorname_np(errno));
  printf("still: %s\n", flags_text(current().ss_flags));

  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) printf("set failed: %s\n", strerrorname_np(errno));
  stack_t now = current();
  printf("set: %s, same stack %d\n", flags_text(now.ss_flags),
         now.ss_sp == (void*)alt && now.ss_size == sizeof alt);

  install(SIGUSR1, handler, SA_ONSTACK);
  raise(SIGUSR1);
  printf("SA_ONSTACK handler: on the alternate stack %d, sees %s, change there: %s\n", handler_on_alt,
         flags_text(handler_flags), handler_change_errno ? strerrorname_np(handler_change_errno) : "allowed");
  install(SIGUSR2, handler, 0);
  raise(SIGUSR2);
  printf("plain handler: on the alternate stack %d, sees %s\n", handler_on_alt, flags_text(handler_flags));

  pid_t child = fork();
  if (child == 0) {
    now = current();
    printf("fork child: %s, same stack %d\n", flags_text(now.ss_flags),
           now.ss_sp == (void*)alt && now.ss_size == sizeof alt);
    _exit(0);
  }
  waitpid(child, NULL, 0);
  pthread_t thread;
  pthread_create(&thread, NULL, thread_main, NULL);
  pthread_join(thread, NULL);

  ss.ss_flags = (int)SS_AUTODISARM;
  if (sigaltstack(&ss, NULL) != 0) printf("SS_AUTODISARM refused: %s\n", strerrorname_np(errno));
  raise(SIGUSR1);
  now = current();
  printf("SS_AUTODISARM: handler on the alternate stack %d, sees %s; afterwards %s, same stack %d\n",
         handler_on_alt, flags_text(handler_flags), flags_text(now.ss_flags),
         now.ss_sp == (void*)alt && now.ss_size == sizeof alt);

  // The stack clash: a mapping placed by mmap itself, then recursion without end.
  unsigned char* below = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (below == MAP_FAILED) return 1;
  memset(below, 0x5a, 1 << 16);
  struct rlimit stack_limit = {8 << 20, 8 << 20};  // a native run ends where the sandbox's does
  setrlimit(RLIMIT_STACK, &stack_limit);
  ss.ss_flags = 0;
  sigaltstack(&ss, NULL);
  install(SIGSEGV, overflow_handler, SA_ONSTACK);
  int caught = sigsetjmp(overflow_exit, 1);
  if (caught == 0) {
    recurse(0);
    printf("recursion ended?\n");
  }
  int intact = 1;
  for (int i = 0; i < 1 << 16; ++i) intact &= below[i] == 0x5a;
  printf("stack overflow: %s%s, the mapping below intact %d\n", caught > 100 ? "" : sigabbrev_np(caught),
         caught > 100 ? "handled off the alternate stack" : " on the alternate stack", intact);

  fflush(stdout);
  ss.ss_flags = 0;
  sigaltstack(&ss, NULL);
  execl("/proc/self/exe", argv[0], "exec-child", (char*)NULL);
  printf("exec failed: %s\n", strerrorname_np(errno));
  return 1;
}
