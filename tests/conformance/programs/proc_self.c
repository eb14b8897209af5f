// /proc/self: exe names this program, fd lists open descriptors, maps shows the image, status, cmdline.
#include <dirent.h>
#include <fcntl.h>

#include "conf.h"
static int by_number(const void* a, const void* b) { return *(const int*)a - *(const int*)b; }
int main(int argc, char** argv) {
  (void)argc;
  char exe[256] = {0};
  CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
  printf("exe is argv[0]: %d (%s)\n", strcmp(exe, argv[0]) == 0, exe);
  int extra = open("/dev/null", O_RDONLY);
  CHECK(extra == 3);
  DIR* d = opendir("/proc/self/fd");
  CHECK(d);
  int fds[64], n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL && n < 64)
    if (e->d_name[0] != '.') fds[n++] = atoi(e->d_name);
  closedir(d);
  qsort(fds, n, sizeof *fds, by_number);
  printf("fds (the listing's own is 4):");
  for (int i = 0; i < n; i++) printf(" %d", fds[i]);
  printf("\n");
  char target[64] = {0};
  CHECK(readlink("/proc/self/fd/3", target, sizeof target - 1) > 0);
  printf("fd 3 -> %s\n", target);
  FILE* maps = fopen("/proc/self/maps", "r");
  CHECK(maps);
  char line[512];
  int image = 0, exec_image = 0, stack = 0;
  while (fgets(line, sizeof line, maps)) {
    if (strstr(line, exe)) image++, exec_image += strstr(line, " r-xp ") != NULL;
    stack += strstr(line, "[stack]") != NULL;
  }
  fclose(maps);
  printf("maps: image mapped=%d executable part=%d stack=%d\n", image > 0, exec_image > 0, stack);
  FILE* status = fopen("/proc/self/status", "r");
  CHECK(status);
  int has_pid = 0, has_state = 0;
  while (fgets(line, sizeof line, status)) {
    if (strncmp(line, "Name:", 5) == 0) printf("%s", line);
    has_pid += strncmp(line, "Pid:", 4) == 0;
    has_state += strncmp(line, "State:", 6) == 0;
  }
  fclose(status);
  printf("status has Pid: %d State: %d\n", has_pid, has_state);
  int fd = open("/proc/self/cmdline", O_RDONLY);
  CHECK(fd >= 0);
  char cmd[256];
  ssize_t len = read(fd, cmd, sizeof cmd);
  CHECK(len > 0);
  printf("cmdline:");
  for (ssize_t i = 0; i < len; i += strlen(cmd + i) + 1) printf(" [%s]", cmd + i);
  printf("\n");
  return 0;
}
