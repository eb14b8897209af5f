// /proc/self/exe names the running program (its path inside the root), and opening it reads the ELF.
#include <fcntl.h>

#include "conf.h"
int main(int argc, char** argv) {
  (void)argc;
  char exe[256] = {0};
  CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
  printf("exe is argv[0]: %d (%s)\n", strcmp(exe, argv[0]) == 0, exe);
  int fd = open("/proc/self/exe", O_RDONLY);
  CHECK(fd >= 0);
  char magic[4];
  CHECK(read(fd, magic, 4) == 4);
  printf("opens the ELF: %d\n", memcmp(magic,
                                       "\x7f"
                                       "ELF",
                                       4) == 0);
  return 0;
}
