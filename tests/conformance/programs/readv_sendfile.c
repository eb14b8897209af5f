// readv/writev gather and scatter, pwritev/preadv at offsets, sendfile copies file to file and to a pipe.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "conf.h"
int main(void) {
  char path[] = "/tmp/confXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  struct iovec out[3] = {{"alpha ", 6}, {"", 0}, {"beta\n", 5}};
  printf("writev: %zd\n", writev(fd, out, 3));
  char a[3], b[16] = {0};
  struct iovec in[2] = {{a, 3}, {b, sizeof b - 1}};
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  printf("readv: %zd -> '%.3s' '%s'", readv(fd, in, 2), a, b);
  struct iovec mid = {"BETA", 4};
  printf("pwritev at 6: %zd\n", pwritev(fd, &mid, 1, 6));
  memset(b, 0, sizeof b);
  struct iovec whole = {b, 11};
  CHECK(preadv(fd, &whole, 1, 0) == 11);
  printf("preadv: %s", b);
  char copy[] = "/tmp/confXXXXXX";
  int dst = mkstemp(copy);
  CHECK(dst >= 0);
  off_t off = 6;
  printf("sendfile file->file: %zd, offset now %lld\n", sendfile(dst, fd, &off, 100), (long long)off);
  int p[2];
  CHECK(pipe(p) == 0);
  off = 0;
  printf("sendfile file->pipe: %zd\n", sendfile(p[1], fd, &off, 5));
  memset(b, 0, sizeof b);
  CHECK(read(p[0], b, sizeof b) == 5);
  printf("pipe got: %s\n", b);
  struct iovec bad = {(void*)8, 16};
  printf("writev bad address: %s\n", ERRNO_OF(writev(fd, &bad, 1)));
  volatile int too_many = 5000;  // over IOV_MAX; volatile: the compiler must not see it
  printf("readv too many: %s\n", ERRNO_OF(readv(fd, in, too_many)));
  unlink(path);
  unlink(copy);
  return 0;
}
