// write/read/lseek/pread/pwrite/ftruncate on a file in /tmp.
#include <fcntl.h>

#include "conf.h"
int main(void) {
  char dir[] = "/tmp/confXXXXXX";
  CHECK(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof path, "%s/f", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0);
  CHECK(write(fd, "hello world\n", 12) == 12);
  CHECK(lseek(fd, 0, SEEK_CUR) == 12);
  CHECK(lseek(fd, 6, SEEK_SET) == 6);
  char buf[32] = {0};
  CHECK(read(fd, buf, sizeof buf) == 6);
  printf("read after seek: %s", buf);
  CHECK(read(fd, buf, sizeof buf) == 0);
  printf("read at end: 0\n");
  CHECK(pwrite(fd, "WORLD", 5, 6) == 5);
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 11, 0) == 11);
  printf("pread: %s\n", buf);
  CHECK(lseek(fd, 0, SEEK_CUR) == 12);
  printf("offset unchanged by pread/pwrite\n");
  CHECK(ftruncate(fd, 5) == 0);
  CHECK(lseek(fd, 0, SEEK_END) == 5);
  printf("size after ftruncate: 5\n");
  CHECK(lseek(fd, 100, SEEK_SET) == 100 && write(fd, "x", 1) == 1);
  memset(buf, 'y', sizeof buf);
  CHECK(pread(fd, buf, 4, 50) == 4);
  printf("hole reads zeros: %d\n", buf[0] == 0 && buf[3] == 0);
  printf("bad fd: %s\n", ERRNO_OF(write(99, "x", 1)));
  printf("O_EXCL again: %s\n", ERRNO_OF(open(path, O_RDWR | O_CREAT | O_EXCL, 0600)));
  close(fd);
  CHECK(unlink(path) == 0 && rmdir(dir) == 0);
  return 0;
}
