// clone3: a fork through struct clone_args, and the struct a hostile caller gets wrong (sizes
// below the first version, above a page, unknown non-zero tails, pointers it cannot read, flags
// and fields Linux refuses), each refused as Linux refuses it.
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "conf.h"
// The uapi's struct clone_args (linux/sched.h, which musl's headers lack), version 2: 88 bytes.
struct clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
      cgroup;
};
_Static_assert(sizeof(struct clone_args) == 88, "CLONE_ARGS_SIZE_VER2");
#define CLONE_CLEAR_SIGHAND 0x100000000ull
#define CLONE_INTO_CGROUP 0x200000000ull
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
static long clone3_raw(void* args, size_t size) { return syscall(SYS_clone3, args, size); }

static void refused(const char* what, void* args, size_t size) {
  errno = 0;
  long r = clone3_raw(args, size);
  if (r == 0) _exit(99);  // a child that should not exist
  if (r > 0) waitpid((pid_t)r, NULL, 0);
  printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : "created");
}

int main(void) {
  // A plain fork.
  struct clone_args args = {0};
  args.exit_signal = SIGCHLD;
  long pid = clone3_raw(&args, sizeof args);
  CHECK(pid >= 0);
  if (pid == 0) _exit(7);
  int status;
  CHECK(waitpid((pid_t)pid, &status, 0) == pid);
  printf("clone3 fork: child code %d\n", WEXITSTATUS(status));

  // A larger struct than the kernel knows, zero past what it knows: accepted.
  unsigned char big[256] = {0};
  memcpy(big, &args, sizeof args);
  pid = clone3_raw(big, sizeof big);
  CHECK(pid >= 0);
  if (pid == 0) _exit(8);
  CHECK(waitpid((pid_t)pid, &status, 0) == pid);
  printf("larger zero-tailed struct: child code %d\n", WEXITSTATUS(status));

  // CLONE_CLEAR_SIGHAND: the child's handled signals are back at their default, ignored stay so.
  signal(SIGUSR1, (void (*)(int))1 + 1);  // any handler address: never called
  signal(SIGUSR2, SIG_IGN);
  struct clone_args clear = {.flags = CLONE_CLEAR_SIGHAND, .exit_signal = SIGCHLD};
  pid = clone3_raw(&clear, sizeof clear);
  CHECK(pid >= 0);
  if (pid == 0) {
    struct sigaction a1, a2;
    sigaction(SIGUSR1, NULL, &a1);
    sigaction(SIGUSR2, NULL, &a2);
    _exit((a1.sa_handler == SIG_DFL ? 1 : 0) | (a2.sa_handler == SIG_IGN ? 2 : 0));
  }
  CHECK(waitpid((pid_t)pid, &status, 0) == pid);
  printf("CLONE_CLEAR_SIGHAND: handler reset %d, ignored kept %d\n", WEXITSTATUS(status) & 1,
         (WEXITSTATUS(status) >> 1) & 1);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);

  // What a caller gets wrong.
  refused("size 0", &args, 0);
  refused("size below version 0", &args, 63);
  refused("size above a page", big, 4097);
  big[200] = 1;
  refused("non-zero unknown tail", big, sizeof big);
  refused("null pointer", NULL, sizeof args);
  refused("kernel address", (void*)0xffffffff81000000ul, sizeof args);
  void* none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(none != MAP_FAILED);
  refused("unreadable memory", none, sizeof args);
  // The struct's last bytes past the end of a readable page.
  char* pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(pages != MAP_FAILED && munmap(pages + 4096, 4096) == 0);
  memset(pages, 0, 4096);
  refused("struct across the end of a mapping", pages + 4096 - 32, sizeof args);
  struct clone_args bad;
  bad = args, bad.exit_signal = 65;
  refused("exit signal 65", &bad, sizeof bad);
  bad = args, bad.exit_signal = 1ull << 32 | SIGCHLD;
  refused("exit signal with high bits", &bad, sizeof bad);
  bad = args, bad.flags = SIGCHLD;
  refused("a signal in flags", &bad, sizeof bad);
  bad = args, bad.flags = 1ull << 40;
  refused("unknown flag", &bad, sizeof bad);
  bad = args, bad.flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
  refused("CLONE_SIGHAND with CLONE_CLEAR_SIGHAND", &bad, sizeof bad);
  bad = args, bad.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
  refused("a thread with an exit signal", &bad, sizeof bad);
  bad = args, bad.flags = CLONE_SIGHAND;
  bad.exit_signal = SIGCHLD;
  refused("CLONE_SIGHAND without CLONE_VM", &bad, sizeof bad);
  bad = args, bad.stack = (unsigned long)pages, bad.stack_size = 0;
  refused("a stack of size 0", &bad, sizeof bad);
  bad = args, bad.stack = 0, bad.stack_size = 4096;
  refused("a stack size without a stack", &bad, sizeof bad);
  bad = args, bad.stack = ~0ull - 4095, bad.stack_size = 8192;
  refused("a stack that wraps around", &bad, sizeof bad);
  bad = args, bad.set_tid_size = 1;
  refused("set_tid_size without set_tid", &bad, sizeof bad);
  pid_t tids[40] = {0};
  bad = args, bad.set_tid = (unsigned long)tids, bad.set_tid_size = 40;
  refused("set_tid_size above the nesting limit", &bad, sizeof bad);
  bad = args, bad.flags = CLONE_INTO_CGROUP, bad.cgroup = 1ull << 32;
  refused("a cgroup fd above INT_MAX", &bad, sizeof bad);
  return 0;
}
