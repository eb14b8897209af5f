// What touch, chown, flock, nice, mkfifo, tar and chrt use: file times (utimensat with explicit
// times, UTIME_OMIT and now; futimens; utimes; utime), a chown to the owner a file has, lchown of
// a link, flock between two opens (a waiter gets the lock once it is released), a FIFO by mknod,
// creat, niceness set, read back and inherited, the scheduling policy ranges, getresuid, and mlock.
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>

#include "conf.h"

static long long mtime_of(const char* path) {
  struct stat st;
  CHECK(stat(path, &st) == 0);
  return (long long)st.st_mtim.tv_sec;
}

int main(void) {
  const char* file = "/tmp/conf-attrs-file";
  unlink(file);
  int fd = creat(file, 0644);
  printf("creat: %d\n", fd >= 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("creat made a regular file open for writing: %d %d\n", S_ISREG(st.st_mode),
         (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY);

  struct timespec times[2] = {{1000000000, 0}, {1100000000, 0}};
  // (Each call before its printf: the order in which arguments are evaluated is unspecified.)
  const char* r = ERRNO_OF(utimensat(AT_FDCWD, file, times, 0));
  printf("utimensat: %s, mtime %lld\n", r, mtime_of(file));
  struct timespec omit[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
  r = ERRNO_OF(utimensat(AT_FDCWD, file, omit, 0));
  printf("UTIME_OMIT for atime: %s, mtime %lld\n", r, mtime_of(file));
  CHECK(stat(file, &st) == 0);
  printf("atime kept: %lld\n", (long long)st.st_atim.tv_sec);
  struct timespec later[2] = {{1300000000, 0}, {1300000000, 0}};
  r = ERRNO_OF(futimens(fd, later));
  printf("futimens: %s, mtime %lld\n", r, mtime_of(file));
  struct timeval tv[2] = {{1400000000, 0}, {1400000000, 500000}};
  r = ERRNO_OF(utimes(file, tv));
  printf("utimes: %s, mtime %lld\n", r, mtime_of(file));
  struct utimbuf ub = {1500000000, 1500000000};
  r = ERRNO_OF(utime(file, &ub));
  printf("utime: %s, mtime %lld\n", r, mtime_of(file));
  r = ERRNO_OF(utimensat(AT_FDCWD, file, NULL, 0));
  printf("utimensat now: %s, recent %d\n", r, time(NULL) - mtime_of(file) < 60);
  struct timespec bad[2] = {{0, 2000000000}, {0, 0}};
  printf("a bad nanosecond count: %s\n", ERRNO_OF(utimensat(AT_FDCWD, file, bad, 0)));
  printf("a missing file: %s\n", ERRNO_OF(utimensat(AT_FDCWD, "/tmp/conf-attrs-missing", NULL, 0)));

  CHECK(stat(file, &st) == 0);
  printf("chown to its owner: %s\n", ERRNO_OF(chown(file, st.st_uid, st.st_gid)));
  printf("fchown to its owner: %s\n", ERRNO_OF(fchown(fd, st.st_uid, st.st_gid)));
  unlink("/tmp/conf-attrs-link");
  CHECK(symlink(file, "/tmp/conf-attrs-link") == 0);
  printf("lchown of the link, -1 -1: %s\n", ERRNO_OF(lchown("/tmp/conf-attrs-link", (uid_t)-1, (gid_t)-1)));
  printf("fchownat with a bad flag: %s\n", ERRNO_OF(fchownat(AT_FDCWD, file, 0, 0, 0x1)));

  int a = open(file, O_RDONLY), b = open(file, O_RDONLY);
  CHECK(a >= 0 && b >= 0);
  printf("flock LOCK_EX: %s\n", ERRNO_OF(flock(a, LOCK_EX)));
  printf("another open's LOCK_EX|LOCK_NB: %s\n", ERRNO_OF(flock(b, LOCK_EX | LOCK_NB)));
  printf("bad operation: %s\n", ERRNO_OF(flock(b, 77)));
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    int c = open(file, O_RDONLY);
    _exit(flock(c, LOCK_EX) == 0 ? 0 : 1);
  }
  struct timespec nap = {0, 50000000};
  nanosleep(&nap, NULL);
  printf("unlock: %s\n", ERRNO_OF(flock(a, LOCK_UN)));
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("the child waited for the lock and got it: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);

  unlink("/tmp/conf-attrs-fifo");
  printf("mknod S_IFIFO: %s\n", ERRNO_OF(mknod("/tmp/conf-attrs-fifo", S_IFIFO | 0600, 0)));
  CHECK(stat("/tmp/conf-attrs-fifo", &st) == 0);
  printf("  a FIFO: %d\n", S_ISFIFO(st.st_mode));
  printf("mknod S_IFDIR: %s\n", ERRNO_OF(mknod("/tmp/conf-attrs-dir", S_IFDIR | 0700, 0)));

  printf("setpriority 5: %s\n", ERRNO_OF(setpriority(PRIO_PROCESS, 0, 5)));
  errno = 0;
  printf("getpriority: %d\n", getpriority(PRIO_PROCESS, 0));
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    printf("the child's: %d\n", getpriority(PRIO_PROCESS, 0));
    _exit(0);
  }
  CHECK(waitpid(child, &status, 0) == child);
  printf("no such process: %s\n", ERRNO_OF(getpriority(PRIO_PROCESS, 99999) == -1 && errno ? -1 : 0));
  printf("bad which: %s\n", ERRNO_OF(setpriority(7, 0, 0)));
  printf("SCHED_OTHER %d..%d, SCHED_FIFO %d..%d, policy now %d\n", sched_get_priority_min(SCHED_OTHER),
         sched_get_priority_max(SCHED_OTHER), sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
         sched_getscheduler(0));
  struct sched_param param;
  memset(&param, 0, sizeof param);
  param.sched_priority = 7;
  r = ERRNO_OF(sched_getparam(0, &param));
  printf("sched_getparam: %s %d\n", r, param.sched_priority);
  uid_t real, effective, saved;
  CHECK(getresuid(&real, &effective, &saved) == 0);
  printf("getresuid: %u %u %u\n", real, effective, saved);
  printf("getgroups(0, NULL) at least 0: %d\n", getgroups(0, NULL) >= 0);

  static char page[4096] __attribute__((aligned(4096)));
  page[0] = 1;
  r = ERRNO_OF(mlock(page, 4096));
  printf("mlock of a mapped page: %s, munlock: %s\n", r, ERRNO_OF(munlock(page, 4096)));
  printf("mlock of unmapped memory: %s\n", ERRNO_OF(mlock((void*)0x10000, 4096)));
  printf("mlockall(0): %s\n", ERRNO_OF(mlockall(0)));
  unlink(file);
  unlink("/tmp/conf-attrs-link");
  unlink("/tmp/conf-attrs-fifo");
  return 0;
}
