// copy_file_range between files: the bytes, the offsets it moves (given ones, or the files'
// own), a count past the end (a short copy), flags (EINVAL), and what is not a regular file.
#include <fcntl.h>
#include <unistd.h>

#include "conf.h"

int main(void) {
  int in = open("/tmp/conf-cfr-in", O_RDWR | O_CREAT | O_TRUNC, 0600);
  int out = open("/tmp/conf-cfr-out", O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(in >= 0 && out >= 0);
  CHECK(write(in, "0123456789abcdef", 16) == 16);
  CHECK(lseek(in, 0, SEEK_SET) == 0);
  printf("4 bytes at the files' offsets: %zd\n", copy_file_range(in, NULL, out, NULL, 4, 0));
  printf("offsets after: in %lld out %lld\n", (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
  loff_t from = 10, to = 20;
  const ssize_t n = copy_file_range(in, &from, out, &to, 100, 0);
  printf("from 10, 100 asked: %zd, offsets %lld %lld\n", n, (long long)from, (long long)to);
  printf("the files' offsets unmoved: %lld %lld\n", (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
  char buf[32] = {0};
  CHECK(pread(out, buf, sizeof buf - 1, 0) == 26);
  for (int i = 0; i < 26; i++)
    if (!buf[i]) buf[i] = '.';
  printf("out: %s\n", buf);
  printf("flags 1: %s\n", ERRNO_OF(copy_file_range(in, NULL, out, NULL, 4, 1)));
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  printf("into a pipe: %s\n", ERRNO_OF(copy_file_range(in, NULL, pipefd[1], NULL, 4, 0)));
  int null = open("/dev/null", O_WRONLY);
  printf("into /dev/null: %s\n", ERRNO_OF(copy_file_range(in, NULL, null, NULL, 4, 0)));
  printf("a closed fd: %s\n", ERRNO_OF(copy_file_range(1000, NULL, out, NULL, 4, 0)));
  printf("a bad offset pointer: %s\n", ERRNO_OF(copy_file_range(in, (loff_t*)8, out, NULL, 4, 0)));
  unlink("/tmp/conf-cfr-in");
  unlink("/tmp/conf-cfr-out");
  return 0;
}
