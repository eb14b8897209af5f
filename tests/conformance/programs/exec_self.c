// execve of /proc/self/exe runs the program again (the re-exec busybox and language runtimes
// do), through the sandbox kernel's link; a /proc file is not a program (EACCES).
#include "conf.h"
int main(int argc, char** argv) {
  if (argc > 1) {
    char exe[256] = {0};
    CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    printf("again, as %s, exe is the program: %d\n", argv[1], strstr(exe, "exec_self") != NULL);
    return 0;
  }
  printf("exec of /proc/self/status: %s\n", ERRNO_OF(execl("/proc/self/status", "status", (char*)NULL)));
  fflush(stdout);
  execl("/proc/self/exe", argv[0], "child", (char*)NULL);
  printf("exec of /proc/self/exe failed: %s\n", strerrorname_np(errno));
  return 1;
}
