// MAP_SHARED|MAP_ANONYMOUS memory is one memory across fork (parent, child and grandchild see each
// other's writes) while MAP_PRIVATE memory is copied; it stays shared after mremap moves it, keeps
// its contents under MADV_DONTNEED, shows as shared in /proc/self/maps, and outlives a munmap by
// one of its holders. Attack: a page munmapped by one holder faults there at once even though
// another holder keeps it (no translation of it lives on), and memory that was shared reads as zero
// once every holder is gone and it is mapped again.
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "conf.h"

static sigjmp_buf back;
static void on_fault(int sig) { siglongjmp(back, sig); }

static void wait_for(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The permissions field of the /proc/self/maps line that starts at `address`.
static void print_perms(const char* what, void* address) {
  FILE* maps = fopen("/proc/self/maps", "r");
  CHECK(maps != NULL);
  char line[512], perms[8] = "?";
  unsigned long start, end;
  while (fgets(line, sizeof line, maps))
    if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && start == (uintptr_t)address) break;
  fclose(maps);
  printf("%s: %s\n", what, perms);
}

int main(void) {
  const size_t page = 4096;
  // Four shared pages with a private one right after them (so that growing them must move them).
  unsigned char* reserved = mmap(NULL, 5 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(reserved != MAP_FAILED);
  volatile unsigned char* shared =
      mmap(reserved, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  volatile unsigned char* private_ =
      mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(shared != MAP_FAILED && private_ != MAP_FAILED);
  shared[0] = 1, private_[0] = 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    shared[0] = 2, shared[3 * page] = 3, private_[0] = 2;
    pid_t grandchild = fork();
    if (grandchild == 0) {
      shared[page] = 4;
      _exit(0);
    }
    wait_for(grandchild);
    // Taking the child's write right away does not take the parent's.
    CHECK(mprotect((void*)shared, page, PROT_READ) == 0);
    _exit(0);
  }
  wait_for(pid);
  printf("child's writes: shared %d %d, grandchild's %d, private %d\n", shared[0], shared[3 * page],
         shared[page], private_[0]);
  shared[0] = 5;
  printf("still writable here: %d\n", shared[0]);
  print_perms("maps", (void*)shared);

  // MADV_DONTNEED drops the mapping's pages, not shared memory's contents.
  CHECK(madvise((void*)shared, 4 * page, MADV_DONTNEED) == 0);
  printf("after MADV_DONTNEED: %d %d\n", shared[0], shared[page]);

  // mremap moves it (the private page after it is in the way), and it stays shared.
  volatile unsigned char* moved = mremap((void*)shared, 4 * page, 8 * page, MREMAP_MAYMOVE);
  CHECK(moved != MAP_FAILED);
  printf("mremap moved it: %d, contents kept: %d %d\n", moved != shared, moved[0], moved[3 * page]);
  print_perms("maps after the move", (void*)moved);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    moved[2 * page] = 6;
    _exit(0);
  }
  wait_for(pid);
  printf("shared after the move: %d\n", moved[2 * page]);

  // One holder's munmap: its own view faults at once, the other holder keeps the memory.
  int done[2];
  CHECK(pipe(done) == 0);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    char c;
    CHECK(read(done[0], &c, 1) == 1);  // the parent has unmapped it
    moved[0] = (unsigned char)(moved[0] + 10);
    printf("the other holder still reads and writes it: %d\n", moved[0]);
    _exit(0);
  }
  CHECK(munmap((void*)moved, 8 * page) == 0);
  signal(SIGSEGV, on_fault);
  int sig = sigsetjmp(back, 1);
  if (sig == 0) {
    (void)moved[0];
    printf("unmapped page still readable\n");
  } else {
    printf("unmapped page faults: %s\n", sigabbrev_np(sig));
  }
  signal(SIGSEGV, SIG_DFL);
  CHECK(write(done[1], "x", 1) == 1);
  wait_for(pid);

  // Every holder gone: fresh memory reads as zero, whatever was shared before.
  int zero = 1;
  for (int round = 0; round < 8; ++round) {
    unsigned char* fresh = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(fresh != MAP_FAILED);
    for (size_t i = 0; i < 16 * page; i += 512) zero &= fresh[i] == 0;
    memset(fresh, 0x5a, 16 * page);
    CHECK(munmap(fresh, 16 * page) == 0);
  }
  printf("fresh shared memory zeroed: %d\n", zero);
  return 0;
}
