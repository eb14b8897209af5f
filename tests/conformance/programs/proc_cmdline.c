// /proc/self/cmdline holds the arguments, each ended by a NUL; /proc/self/environ the environment.
#include <fcntl.h>

#include "conf.h"
int main(void) {
  int fd = open("/proc/self/cmdline", O_RDONLY);
  CHECK(fd >= 0);
  char cmd[256];
  ssize_t len = read(fd, cmd, sizeof cmd);
  CHECK(len > 0 && cmd[len - 1] == '\0');
  printf("cmdline:");
  for (ssize_t i = 0; i < len; i += strlen(cmd + i) + 1) printf(" [%s]", cmd + i);
  printf("\n");
  close(fd);
  fd = open("/proc/self/environ", O_RDONLY);
  CHECK(fd >= 0);
  char env[4096];
  len = read(fd, env, sizeof env);
  CHECK(len > 0);
  int found = 0;
  for (ssize_t i = 0; i < len; i += strlen(env + i) + 1) found += strcmp(env + i, "CONF_ENV=yes") == 0;
  printf("environ has CONF_ENV=yes: %d\n", found);
  return 0;
}
