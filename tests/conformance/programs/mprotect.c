// mprotect: a write to a read-only page raises SIGSEGV (SEGV_ACCERR) at that address; a handler
// that restores the protection lets the write complete; PROT_NONE faults reads.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "conf.h"
static char* page;
static sigjmp_buf back;
static volatile int faults, right_address, accerr;
static void on_segv(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)ctx;
  faults++;
  right_address = (char*)info->si_addr >= page && (char*)info->si_addr < page + 4096;
  accerr = info->si_code == SEGV_ACCERR;
  if (faults == 1) {
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    return;  // the faulting write runs again and succeeds
  }
  siglongjmp(back, 1);
}
int main(void) {
  // Two pages, so that musl's mprotect, which rounds an unaligned start down and the end up,
  // asks for mapped memory whatever lies after the mapping (glibc passes it on: EINVAL).
  page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  CHECK(mprotect(page, 4096, PROT_READ) == 0);
  *(volatile char*)page = 'w';
  printf("write after handler: %c, faults=%d address=%d SEGV_ACCERR=%d\n", page[0], faults, right_address,
         accerr);
  CHECK(mprotect(page, 4096, PROT_NONE) == 0);
  if (sigsetjmp(back, 1) == 0) {
    (void)*(volatile char*)page;
    printf("read of PROT_NONE did not fault\n");
  }
  printf("read of PROT_NONE faulted: %d\n", faults == 2);
  printf("mprotect unaligned: %s\n", ERRNO_OF(mprotect(page + 1, 4096, PROT_READ)));
  // Without a handler the fault ends the process with SIGSEGV.
  signal(SIGSEGV, SIG_DFL);
  fflush(stdout);
  *(volatile char*)page = 'x';
  printf("not reached\n");
  return 0;
}
