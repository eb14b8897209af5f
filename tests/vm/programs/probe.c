/* One static test program for the vm tier, its behaviour chosen by argv[1]. Built by the tests
 * with gcc -static (and -static-pie). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int cat(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("open %s: errno %d\n", path, errno);
    return 3;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("%s", buf);
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* mode = argv[1];
  if (!strcmp(mode, "exit")) return atoi(argv[2]);
  if (!strcmp(mode, "hello")) {
    printf("hello from the guest: argc=%d env HOME=%s\n", argc, getenv("HOME") ? getenv("HOME") : "(unset)");
    return 0;
  }
  if (!strcmp(mode, "segv")) {
    volatile int* p = (int*)(long)argc - argc; /* null, without the compiler seeing it */
    *p = 1;
    return 0;
  }
  if (!strcmp(mode, "ud2")) __asm__ volatile("ud2");
  if (!strcmp(mode, "div0")) {
    volatile int zero = argc - argc;
    return 10 / zero;
  }
  if (!strcmp(mode, "loop"))
    for (;;) __asm__ volatile("" ::: "memory");
  if (!strcmp(mode, "cat")) return cat(argv[2]);
  if (!strcmp(mode, "garbage")) {
    /* Garbage hypercall pointers: each must come back as -EFAULT, and the run goes on. */
    long r1 = syscall(SYS_write, 1, (void*)0xdead0000000ul, 16);
    long e1 = errno;
    long r2 = syscall(SYS_read, 0, (void*)0x10000ul, 16); /* the guest kernel's code */
    long e2 = errno;
    long r3 = syscall(SYS_openat, AT_FDCWD, (void*)~0ul, O_RDONLY);
    long e3 = errno;
    long r4 = syscall(SYS_write, 1, (void*)0x7ffffffff000ul, ~0ul >> 1);
    long e4 = errno;
    printf("%ld %ld %ld %ld %ld %ld %ld %ld\n", r1, e1, r2, e2, r3, e3, r4, e4);
    return (e1 == EFAULT && e2 == EFAULT && e3 == EFAULT && e4 == EFAULT) ? 0 : 1;
  }
  if (!strcmp(mode, "fork")) {
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    int status = 0;
    pid_t waited = waitpid(pid, &status, 0);
    printf("fork: child %d, waited %s, exit %d\n", (int)pid, waited == pid ? "ok" : "lost",
           WEXITSTATUS(status));
    return pid > 1 && waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 1;
  }
  if (!strcmp(mode, "tty")) {
    /* The terminal on stdin: its name (ttyname), whether that name opens as the same terminal,
     * and whether another pty of the host's is there. */
    const char* name = ttyname(0);
    if (!name) {
      printf("tty: none (%s)\n", strerror(errno));
      return 1;
    }
    struct stat a, b;
    int fd = open(name, O_WRONLY | O_NOCTTY);
    int same = fd >= 0 && fstat(0, &a) == 0 && fstat(fd, &b) == 0 && a.st_rdev == b.st_rdev && a.st_ino == b.st_ino;
    char other[32];
    snprintf(other, sizeof other, "/dev/pts/%lu", strtoul(name + 9, 0, 10) + 1000);
    int o = open(other, O_RDONLY | O_NOCTTY);
    printf("tty: %.9s name %s, other %s\n", name, same ? "reopens it" : "is another file",
           o < 0 ? strerror(errno) : "opened");
    return 0;
  }
  if (!strcmp(mode, "forks")) {
    /* argv[2] children, one after another with two alive at a time, each changing its own copy of
     * a page between yields (so that the scheduler switches between them) and exiting with it. */
    static char page[4096];
    const int n = atoi(argv[2]);
    int wrong = 0;
    pid_t alive = 0;
    for (int i = 0; i <= n; ++i) {
      pid_t pid = 0;
      if (i < n) {
        page[0] = (char)i;
        pid = fork();
        if (pid == 0) {
          for (int k = 0; k < 3; ++k) {
            page[0] = (char)(page[0] + 1);
            sched_yield();
          }
          _exit((unsigned char)page[0]);
        }
        if (pid < 0) ++wrong;
      }
      if (alive > 0) {
        int status = 0;
        if (waitpid(alive, &status, 0) != alive || WEXITSTATUS(status) != ((i - 1 + 3) & 0xff)) ++wrong;
      }
      alive = pid;
    }
    printf("forks: %d, %d wrong, page %d\n", n, wrong, page[0]);
    return wrong != 0;
  }
  if (!strcmp(mode, "malloc")) {
    size_t total = 0;
    for (int i = 0; i < 64; ++i) {
      char* p = malloc(1 << 20);
      if (!p) return 1;
      memset(p, i, 1 << 20);
      total += 1 << 20;
      free(p);
    }
    printf("malloc ok %zu\n", total);
    return 0;
  }
  if (!strcmp(mode, "rename")) {
    /* Every rename form the C library makes (renameat2 with flags 0 issues renameat). */
    int fd = open("/data/r1", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 3;
    close(fd);
    if (rename("/data/r1", "/data/r2") != 0) return 4;
    if (renameat(AT_FDCWD, "/data/r2", AT_FDCWD, "/data/r3") != 0) return 5;
    if (syscall(SYS_renameat2, AT_FDCWD, "/data/r3", AT_FDCWD, "/data/r4", 0) != 0) return 6;
    if (unlink("/data/r4") != 0) return 7;
    printf("rename ok\n");
    return 0;
  }
  if (!strcmp(mode, "bigwrite")) {
    /* One write(2) of argv[2] bytes to stdout. */
    size_t n = strtoul(argv[2], 0, 0);
    char* p = malloc(n);
    if (!p) return 3;
    memset(p, 'x', n);
    size_t done = 0;
    while (done < n) {
      ssize_t w = write(1, p + done, n - done);
      if (w <= 0) return 4;
      done += (size_t)w;
    }
    return 0;
  }
  if (!strcmp(mode, "kill")) {
    kill(getpid(), SIGTERM);
    return 3;
  }
  if (!strcmp(mode, "oom")) {
    /* Allocate and touch until the guest's memory is used up: malloc fails, the run goes on. */
    size_t total = 0;
    for (;;) {
      char* p = malloc(1 << 20);
      if (!p) break;
      memset(p, 1, 1 << 20);
      total += 1 << 20;
    }
    printf("oom ok %s\n", total > (8u << 20) ? "many" : "few");
    return 0;
  }
  if (!strcmp(mode, "stdio-attack")) {
    /* What a hostile workload tries on the invoker's `>> log` and stdin: clear O_APPEND,
     * overwrite from offset 0, truncate, seek; make stdin non-blocking. Then one honest line. */
    fcntl(1, F_SETFL, 0);
    pwrite(1, "XXXX", 4, 0);
    ftruncate(1, 0);
    lseek(1, 0, SEEK_SET);
    fcntl(0, F_SETFL, O_NONBLOCK);
    write(1, "guest\n", 6);
    return 0;
  }
  if (!strcmp(mode, "write")) {
    int fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
    if (fd < 0) {
      printf("open %s: errno %d\n", argv[2], errno);
      return 3;
    }
    close(fd);
    return 0;
  }
  if (!strcmp(mode, "flags")) {
    /* Run natively by the tests: the status flags of this process's stdin and stdout. */
    fprintf(stderr, "nonblock=%d append=%d\n", (fcntl(0, F_GETFL) & O_NONBLOCK) != 0,
            (fcntl(1, F_GETFL) & O_APPEND) != 0);
    return 0;
  }
  if (!strcmp(mode, "remap")) {
    /* Mappings replaced, cut and re-made in one stretch between two system calls' worth of
     * changes: what the workload reads must be what the monitor's page tables say (the ptrace
     * stub follows a coalesced log of these changes). Prints one digit per check. */
    const size_t page = 4096;
    char* a = mmap(0, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) return 1;
    memset(a, 'x', 8 * page);
    /* the same range mapped again (MAP_FIXED): fresh zero pages */
    if (mmap(a, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a) return 1;
    printf("%d", a[0] == 0 && a[8 * page - 1] == 0);
    memset(a, 'y', 8 * page);
    /* a hole, then the hole re-made with other data around it */
    munmap(a + 2 * page, 2 * page);
    if (mmap(a + 2 * page, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
        a + 2 * page)
      return 1;
    printf("%d", a[page] == 'y' && a[2 * page] == 0 && a[3 * page + 5] == 0 && a[4 * page] == 'y');
    /* read-only, then writable again, the data kept */
    mprotect(a, 8 * page, PROT_READ);
    mprotect(a, 8 * page, PROT_READ | PROT_WRITE);
    a[5 * page] = 'z';
    printf("%d", a[5 * page] == 'z' && a[6 * page] == 'y');
    munmap(a, 8 * page);
    printf("\n");
    return 0;
  }
  if (!strcmp(mode, "touch-unmapped")) {
    /* A page given back is gone: reading it must fault (the ptrace stub must have followed the
     * unmap, not kept the old mapping). */
    volatile char* a = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) return 1;
    a[2 * 4096] = 'x';
    munmap((char*)a + 2 * 4096, 4096);
    printf("read %c\n", a[2 * 4096]);
    return 0;
  }
  if (!strcmp(mode, "oddstack")) {
    /* A system call made with a stack pointer the workload may set to anything (argv[2] picks
     * which): the monitor's return to ring 3 (kvm_pvm: registers set directly, or the guest
     * kernel's iretq where the stack is outside user space) must give back the same rsp and carry
     * on. A host kernel may instead kill the caller when the rsp is not canonical (6.x kernels
     * that return through iretq do): a process of the host, as the sandbox's stub is, meets that. */
    const unsigned long stacks[] = {0x1000, 0x7ffffffff000, 0x800000000000, 0xffff800000000000};
    const int i = argc > 2 ? atoi(argv[2]) : -1;
    if (i < 0 || i > 3) return 2;
    long r;
    unsigned long after;
    __asm__ volatile("mov %%rsp, %%rbx\n mov %3, %%rsp\n syscall\n mov %%rsp, %1\n mov %%rbx, %%rsp"
                     : "=a"(r), "=r"(after)
                     : "0"((long)SYS_getpid), "r"(stacks[i])
                     : "rbx", "rcx", "r11", "memory");
    printf("%d %d\n", r > 0, after == stacks[i]);
    return 0;
  }
  return 2;
}
