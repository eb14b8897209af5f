/* File calls whose arguments are guest pointers or guest-chosen text, run in the sandbox kernel and
 * (for "vectors") natively, the outputs compared.
 *   vectors:        preadv/pwritev(2) with iovec arrays across an unmapped page or in the kernel
 *                   area, counts past IOV_MAX, unknown flags; getrandom's unknown flags.
 *   exe-overwrite:  opening the running program for writing (ETXTBSY).
 *   symlink-escape: symlinks a hostile guest makes to the host's files ("/etc/passwd", "../../..")
 *                   and what reading, linking and chmod-ing through them reaches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static const char* err_name(int e) {
  return e == EBADF        ? "EBADF"
         : e == EFAULT     ? "EFAULT"
         : e == EINVAL     ? "EINVAL"
         : e == ENOENT     ? "ENOENT"
         : e == ESPIPE     ? "ESPIPE"
         : e == EOPNOTSUPP ? "EOPNOTSUPP"
         : e == ETXTBSY    ? "ETXTBSY"
                           : "other";
}
#define SHOW(what, call)                                                             \
  do {                                                                               \
    errno = 0;                                                                       \
    long r_ = (long)(call);                                                          \
    int e_ = errno;                                                                  \
    printf("%s %ld%s%s\n", what, r_, r_ < 0 ? " " : "", r_ < 0 ? err_name(e_) : ""); \
  } while (0)

static void* page_of_vectors(void) {
  return mmap(NULL, (IOV_MAX + 1) * sizeof(struct iovec), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              -1, 0);
}

static int vectors(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/files-vectors-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  unlink(path);
  char a[] = "hello ", b[] = "world";
  struct iovec w[2] = {{a, 6}, {b, 5}};
  SHOW("pwritev at 4", pwritev(fd, w, 2, 4));
  char r1[8] = {0}, r2[8] = {0};
  struct iovec r[2] = {{r1, 4}, {r2, 7}};
  SHOW("preadv at 4", preadv(fd, r, 2, 4));
  printf("read '%s' '%s'\n", r1, r2);
  SHOW("file position still 0", lseek(fd, 0, SEEK_CUR));
  SHOW("preadv2 at -1 (the position)", preadv2(fd, r, 1, -1, 0));
  SHOW("position after it", lseek(fd, 0, SEEK_CUR));
  SHOW("pwritev2 with an unknown flag", pwritev2(fd, w, 1, 0, 0x40000000));
  SHOW("preadv at a negative offset", preadv(fd, r, 1, -5));
  SHOW("preadv of too many vectors", preadv(fd, (struct iovec*)page_of_vectors(), IOV_MAX + 1, 0));
  /* the iovec array runs into an unmapped page; one vector points into the kernel area */
  char* page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(page + 4096, 4096);
  struct iovec* edge = (struct iovec*)(page + 4096 - sizeof(struct iovec));
  edge[0] = (struct iovec){r1, 4};
  SHOW("preadv across the edge", preadv(fd, edge, 2, 0));
  SHOW("pwritev across the edge", pwritev(fd, edge, 2, 0));
  struct iovec kernel = {(void*)0xffff888000000000ul, 16};
  SHOW("preadv into the kernel area", preadv(fd, &kernel, 1, 0));
  SHOW("pwritev from the kernel area", pwritev(fd, &kernel, 1, 0));
  SHOW("preadv on a pipe", ({
         int p[2];
         pipe(p);
         preadv(p[0], r, 1, 0);
       }));
  SHOW("getrandom with an unknown flag", getrandom(r1, 4, 0x80));
  SHOW("getrandom into the kernel area", getrandom((void*)0xffff888000000000ul, 4, 0));
  SHOW("setrlimit from the kernel area", setrlimit(RLIMIT_NOFILE, (struct rlimit*)0xffff888000000000ul));
  SHOW("setrlimit with soft above hard", setrlimit(RLIMIT_NOFILE, &(struct rlimit){64, 32}));
  SHOW("setrlimit to 16", setrlimit(RLIMIT_NOFILE, &(struct rlimit){16, 16}));
  SHOW("dup2 to 16", dup2(0, 16));
  SHOW("F_DUPFD from 16", fcntl(0, F_DUPFD, 16));
  /* ITIMER_REAL's structures are guest memory too */
  SHOW("setitimer from the kernel area", setitimer(ITIMER_REAL, (struct itimerval*)0xffff888000000000ul, NULL));
  SHOW("setitimer with 1000000 us", setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 1000000}}, NULL));
  SHOW("setitimer 100 s", setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {100, 0}}, NULL));
  SHOW("getitimer into the kernel area", getitimer(ITIMER_REAL, (struct itimerval*)0xffff888000000000ul));
  struct itimerval now;
  SHOW("getitimer", getitimer(ITIMER_REAL, &now));
  printf("armed %d, interval %ld\n", now.it_value.tv_sec > 90, (long)now.it_interval.tv_sec);
  SHOW("alarm(0) after it", alarm(0));
  SHOW("alarm(0) again", alarm(0));
  return 0;
}

/* In the guest, /etc/passwd is the root filesystem's (the test put "guest passwd" there): every
 * way through a guest-made symlink must reach that file, never the host's. */
static int symlink_escape(void) {
  SHOW("symlink to /etc/passwd", symlink("/etc/passwd", "/tmp/abs"));
  SHOW("symlink to ../../../../../../etc/passwd", symlink("../../../../../../etc/passwd", "/tmp/rel"));
  SHOW("symlink to the root's parent", symlink("../../../../..", "/tmp/up"));
  char buf[256];
  const char* paths[] = {"/tmp/abs", "/tmp/rel", "/tmp/up/etc/passwd"};
  for (int i = 0; i < 3; i++) {
    const char* p = paths[i];
    int fd = open(p, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    printf("read through %s: %s", p, n < 0 ? "failed\n" : buf);
    if (fd >= 0) close(fd);
  }
  ssize_t n = readlink("/tmp/abs", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("readlink: %s\n", buf);
  /* chmod and a following link through the symlink change the guest's file only */
  SHOW("chmod through the symlink", chmod("/tmp/abs", 0604));
  struct stat st;
  stat("/etc/passwd", &st);
  printf("guest passwd mode %o\n", st.st_mode & 0777);
  SHOW("link following the symlink", linkat(AT_FDCWD, "/tmp/rel", AT_FDCWD, "/tmp/hard", AT_SYMLINK_FOLLOW));
  SHOW("link of the symlink itself", link("/tmp/abs", "/tmp/abs2"));
  int fd = open("/tmp/abs2", O_RDONLY);
  n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("read through the linked symlink: %s", n < 0 ? "failed\n" : buf);
  SHOW("symlink target into the kernel area", symlink((const char*)0xffff888000000000ul, "/tmp/k"));
  return 0;
}

/* Attack (CVE-2019-5736's first step): rewriting the running program, by its path, through
 * /proc/self/exe, by truncate; O_TRUNC must not empty it before the refusal. */
static int exe_overwrite(const char* self) {
  struct stat before, after;
  stat(self, &before);
  SHOW("open itself O_WRONLY|O_TRUNC", open(self, O_WRONLY | O_TRUNC));
  SHOW("open /proc/self/exe O_RDWR", open("/proc/self/exe", O_RDWR));
  SHOW("truncate itself", truncate(self, 0));
  stat(self, &after);
  printf("size unchanged %d\n", before.st_size == after.st_size && after.st_size > 0);
  int fd = open("/proc/self/exe", O_RDONLY);
  char magic[4] = {0};
  SHOW("read /proc/self/exe", read(fd, magic, 4));
  printf("an ELF %d\n", memcmp(magic, "\177ELF", 4) == 0);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "vectors") == 0) return vectors();
  if (argc > 1 && strcmp(argv[1], "symlink-escape") == 0) return symlink_escape();
  if (argc > 1 && strcmp(argv[1], "exe-overwrite") == 0) return exe_overwrite(argv[0]);
  return 2;
}
