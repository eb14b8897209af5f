// /dev/null, /dev/zero, /dev/full, /dev/urandom behave as the device nodes do.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
int main(void) {
  int null = open("/dev/null", O_RDWR);
  CHECK(null >= 0);
  printf("null: write=%zd read=%zd\n", write(null, "abc", 3), read(null, (char[4]){0}, 4));
  struct stat st;
  CHECK(fstat(null, &st) == 0);
  printf("null is a character device: %d\n", S_ISCHR(st.st_mode));
  int zero = open("/dev/zero", O_RDONLY);
  CHECK(zero >= 0);
  char buf[4096];
  memset(buf, 1, sizeof buf);
  CHECK(read(zero, buf, sizeof buf) == sizeof buf);
  int all = 1;
  for (size_t i = 0; i < sizeof buf; i++) all &= buf[i] == 0;
  printf("zero: all zero=%d\n", all);
  int full = open("/dev/full", O_WRONLY);
  printf("full: %s\n", full < 0 ? strerrorname_np(errno) : ERRNO_OF(write(full, "x", 1)));
  int rnd = open("/dev/urandom", O_RDONLY);
  CHECK(rnd >= 0);
  unsigned char a[32], b[32];
  CHECK(read(rnd, a, sizeof a) == 32 && read(rnd, b, sizeof b) == 32);
  printf("urandom: two reads differ=%d\n", memcmp(a, b, 32) != 0);
  printf("create in /dev/null: %s\n", ERRNO_OF(open("/dev/null/x", O_CREAT | O_WRONLY, 0644)));
  return 0;
}
