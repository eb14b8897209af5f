// mmap: anonymous memory is zeroed, a private file mapping reads the file and keeps writes private,
// MAP_FIXED replaces, munmap makes the range fault-free to map again, mremap grows.
#include <fcntl.h>
#include <sys/mman.h>

#include "conf.h"
int main(void) {
  size_t len = 1 << 20;
  unsigned char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  int zero = 1;
  for (size_t i = 0; i < len; i += 4096) zero &= p[i] == 0;
  printf("anonymous pages zeroed: %d\n", zero);
  memset(p, 0xab, len);
  CHECK(munmap(p + 4096, 4096) == 0);
  unsigned char* again =
      mmap(p + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED into the hole: same address=%d zeroed=%d neighbour kept=%d\n", again == p + 4096,
         again[0] == 0, p[0] == 0xab && p[8192] == 0xab);
  char path[] = "/tmp/confXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0 && write(fd, "file contents", 13) == 13);
  char* f = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(f != MAP_FAILED);
  printf("file mapping: %.13s, past the end zero=%d\n", f, f[13] == 0);
  memcpy(f, "FILE", 4);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 13, 0) == 13);
  printf("private write stays private: %s\n", buf);
  unsigned char* grown = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
  CHECK(grown != MAP_FAILED);
  printf("mremap kept contents=%d new part zero=%d\n", grown[0] == 0xab, grown[len + 100] == 0);
  printf("bad length: %s\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED
                                 ? strerrorname_np(errno)
                                 : "ok");
  printf("unaligned munmap: %s\n", ERRNO_OF(munmap(grown + 1, 4096)));
  unsigned char* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(shared != MAP_FAILED);
  shared[0] = 7;
  printf("shared anonymous: %d\n", shared[0]);
  unlink(path);
  return 0;
}
