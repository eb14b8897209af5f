// A PROT_NONE reservation far larger than the memory a run may use (malloc's arenas, Go's and the
// JVM's heaps reserve this way, and V8's sandbox reserves 1 TiB): it commits nothing, so mmap
// succeeds (in the vm and sandbox tiers, without page tables per page: 1 TiB of them would be 2 GiB); a piece made accessible by
// mprotect is zeroed memory a fork child copies; the rest still faults (SEGV_ACCERR), and the
// whole reservation can be given back.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "conf.h"

static sigjmp_buf back;
static volatile int fault_code;
static void on_segv(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)ctx;
  fault_code = info->si_code;
  siglongjmp(back, 1);
}

int main(void) {
  const size_t size = (size_t)1 << 40;  // beyond the tiers' default --memory, and any host's RAM
  char* reserve = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("1 TiB PROT_NONE reservation: %s\n", reserve == MAP_FAILED ? strerrorname_np(errno) : "mapped");
  if (reserve == MAP_FAILED) return 1;
  char* piece = reserve + ((size_t)1 << 30);
  printf("mprotect 1 MiB of it: %s\n", ERRNO_OF(mprotect(piece, 1 << 20, PROT_READ | PROT_WRITE)));
  int zero = 1;
  for (int i = 0; i < 1 << 20; i += 4096) zero &= piece[i] == 0;
  printf("reads as zero: %d\n", zero);
  memset(piece, 7, 1 << 20);
  pid_t child = fork();
  if (child == 0) _exit(piece[(1 << 20) - 1] == 7 && piece[0] == 7 ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  printf("the fork child sees it: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  if (sigsetjmp(back, 1) == 0) {
    (void)*(volatile char*)(piece + (1 << 20));
    printf("the rest did not fault\n");
  }
  printf("the rest faults: SEGV_ACCERR %d\n", fault_code == SEGV_ACCERR);
  printf("munmap of it all: %s\n", ERRNO_OF(munmap(reserve, size)));
  return 0;
}
