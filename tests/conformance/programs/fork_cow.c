// fork_cow: private writable memory after fork (the sandbox kernel shares its frames copy-on-write
// until the first write). Each side's writes stay its own, however they are made: by the program,
// by read(2) into the memory (the kernel's write), on a signal handler's stack frame; a child that
// writes every page and a parent that writes after the child ended; a grandchild's view. Also 4 MiB
// of populated memory (2 MiB pages in the vm tier): a write and MADV_DONTNEED in the child.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "conf.h"

enum { kPages = 64 };
static char heap_like[kPages][4096];  // .bss: written before the fork
static volatile sig_atomic_t handled;

static unsigned sum(void) {
  unsigned s = 0;
  for (int p = 0; p < kPages; ++p)
    for (int i = 0; i < 4096; i += 512) s = s * 31 + (unsigned char)heap_like[p][i];
  return s;
}
static void on_usr1(int sig) { handled = sig; }

enum { kBig = 4 << 20 };
static char* big;
static unsigned big_sum(void) {
  unsigned s = 0;
  for (int i = 0; i < kBig; i += 4096) s = s * 31 + (unsigned char)big[i] + (unsigned char)big[i + 100];
  return s;
}

static void wait_child(pid_t pid) {
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
  for (int p = 0; p < kPages; ++p) memset(heap_like[p], 'a' + p % 26, sizeof heap_like[p]);
  char* anon = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(anon != MAP_FAILED);
  strcpy(anon, "anon before the fork");
  big = mmap(NULL, kBig, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(big != MAP_FAILED);
  for (int i = 0; i < kBig; i += 4096) big[i] = big[i + 100] = (char)(i / 4096 + 1);
  const unsigned before = sum(), big_before = big_sum();
  printf("parent before: %08x %08x [%s]\n", before, big_before, anon);

  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    for (int p = 0; p < kPages; ++p) heap_like[p][512] = 'Z';  // every page
    big[5 * 4096 + 100] = 'x';
    CHECK(madvise(big + (2 << 20) + 4096, 4096, MADV_DONTNEED) == 0);  // zero for the child only
    CHECK(read(fds[0], anon, 32) == 16);                        // the kernel writes it
    anon[16] = 0;
    signal(SIGUSR1, on_usr1);  // a signal frame on the (copy-on-write) stack
    raise(SIGUSR1);
    pid_t grandchild = fork();
    CHECK(grandchild >= 0);
    if (grandchild == 0) {
      printf("grandchild: %08x [%s]\n", sum(), anon);
      _exit(0);
    }
    wait_child(grandchild);
    printf("child: %08x %08x [%s] handled %d\n", sum(), big_sum(), anon, handled == SIGUSR1);
    _exit(0);
  }
  CHECK(write(fds[1], "from the pipe!!!", 16) == 16);
  wait_child(pid);
  printf("parent after the child: %08x (same: %d) %08x (same: %d) [%s]\n", sum(), sum() == before, big_sum(),
         big_sum() == big_before, anon);
  heap_like[3][1024] = 'Q';
  big[(3 << 20) + 100] = 'y';
  strcpy(anon + 4096, "parent's second page");
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    printf("second child: %08x %08x [%s] [%s]\n", sum(), big_sum(), anon, anon + 4096);
    _exit(0);
  }
  wait_child(pid);
  printf("parent: %08x %08x [%s]\n", sum(), big_sum(), anon + 4096);
  return 0;
}
