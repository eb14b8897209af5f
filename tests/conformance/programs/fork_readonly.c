// fork_readonly: read-only private memory after fork (the sandbox kernel maps the same frames in
// both processes until one of them makes its page writable). A write after mprotect, and
// madvise(MADV_DONTNEED), change only the caller's page, whichever side makes them and while the
// other process is still alive; the code both run from stays intact.
#include <sys/mman.h>
#include <sys/wait.h>

#include "conf.h"

static const char rodata[3][4096] __attribute__((aligned(4096))) = {"rodata zero", "rodata one", "rodata two"};
static char* anon;

static void show(const char* who) {
  printf("%s: [%s] [%s] [%s] [%s] [%s] [%s]\n", who, rodata[0], rodata[1], rodata[2], anon, anon + 4096,
         anon + 8192);
}

// Makes page `p` writable and writes `text` into it.
static void overwrite(const char* p, const char* text) {
  CHECK(mprotect((void*)p, 4096, PROT_READ | PROT_WRITE) == 0);
  strcpy((char*)p, text);
}

int main(void) {
  anon = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(anon != MAP_FAILED);
  strcpy(anon, "anon zero");
  strcpy(anon + 4096, "anon one");
  strcpy(anon + 8192, "anon two");
  CHECK(mprotect(anon, 3 * 4096, PROT_READ) == 0);

  // A child changes its pages and ends; the parent's are as they were.
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    overwrite(rodata[1], "child's rodata");
    overwrite(anon, "child's anon");
    CHECK(madvise(anon + 4096, 4096, MADV_DONTNEED) == 0);  // a private page: zero from now on
    show("child");
    _exit(0);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  show("parent after the child");

  // The parent changes its pages while a second child, forked before, waits; the child's are as
  // they were when it was forked.
  int go[2];
  CHECK(pipe(go) == 0);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char c;
    CHECK(read(go[0], &c, 1) == 1);
    show("second child");
    _exit(0);
  }
  overwrite(rodata[2], "parent's rodata");
  overwrite(anon + 8192, "parent's anon");
  CHECK(madvise(anon, 4096, MADV_DONTNEED) == 0);
  CHECK(write(go[1], "g", 1) == 1);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  show("parent");
  return 0;
}
