// Attack (CVE-2019-5736's first step): a program opening its own running executable, by path or
// through /proc/self/exe, for writing must get ETXTBSY, not a way to rewrite the binary.
#include <fcntl.h>

#include "conf.h"
int main(int argc, char** argv) {
  (void)argc;
  printf("open argv[0] for writing: %s\n", ERRNO_OF(open(argv[0], O_WRONLY)));
  printf("open /proc/self/exe for writing: %s\n", ERRNO_OF(open("/proc/self/exe", O_WRONLY)));
  printf("truncate argv[0]: %s\n", ERRNO_OF(truncate(argv[0], 0)));
  return 0;
}
