/* Cost of two forwarded file calls: a 4 KiB pread from a file and an open+close of it, N each,
 * nanoseconds per call. Usage: file_calls [N] (the file is /tmp/file_calls.data, created here). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double since(const struct timespec* a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1e9 + (b.tv_nsec - a->tv_nsec);
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000;
  const char* path = "/tmp/file_calls.data";
  static char page[4096];
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, page, sizeof page) != sizeof page) {
    perror("file_calls: cannot create /tmp/file_calls.data");
    return 1;
  }
  struct timespec a;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i)
    if (pread(fd, page, sizeof page, 0) != sizeof page) return perror("file_calls: pread"), 1;
  double read_ns = since(&a) / n;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i) {
    int f = open(path, O_RDONLY);
    if (f < 0) return perror("file_calls: open"), 1;
    close(f);
  }
  double open_ns = since(&a) / n;
  printf("%.1f ns per 4 KiB pread, %.1f ns per open+close (%ld each)\n", read_ns, open_ns, n);
  close(fd);
  unlink(path);
  return 0;
}
