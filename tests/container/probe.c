/* A static helper copied into test containers: tries one thing the container must (or must not)
 * allow and prints the outcome. Usage: probe keyctl|unshare-user|unshare-mount|mount|alloc MIB|forkbomb|ids */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
