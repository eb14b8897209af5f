// sendfile into a pipe blocks as write does: 256 KiB from a file into a pipe a slower child reads
// all arrive, with no EAGAIN on the way; into a pipe whose reader has gone it is EPIPE (SIGPIPE
// ignored); from a pipe it is EINVAL (Linux splices only from files).
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/wait.h>

#include "conf.h"

enum { kSize = 256 * 1024 };

int main(void) {
  char path[] = "/tmp/confXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  static char data[kSize];
  for (int i = 0; i < kSize; i++) data[i] = (char)(i * 7);
  CHECK(write(fd, data, kSize) == kSize);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    close(p[1]);
    usleep(20000);  // the pipe (64 KiB) fills first
    static char got[kSize];
    size_t total = 0;
    for (ssize_t n; (n = read(p[0], got + total, kSize - total)) > 0;) total += (size_t)n;
    _exit(total == kSize && memcmp(got, data, kSize) == 0 ? 0 : 1);
  }
  close(p[0]);
  size_t sent = 0;
  int calls = 0, again = 0;
  while (sent < kSize) {
    ssize_t n = sendfile(p[1], fd, NULL, kSize - sent);
    if (n < 0 && errno == EAGAIN) {
      again++;
      continue;
    }
    CHECK(n > 0);
    sent += (size_t)n;
    calls++;
  }
  close(p[1]);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  printf("sent %zu bytes, EAGAIN %d times, the reader got them all: %d\n", sent, again,
         WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(pipe(p) == 0);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  off_t off = 0;
  printf("into a pipe without a reader: %s\n", ERRNO_OF(sendfile(p[1], fd, &off, 16)));
  close(p[1]);
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "abc", 3) == 3);
  char copy[] = "/tmp/confXXXXXX";
  int dst = mkstemp(copy);
  printf("from a pipe: %s\n", ERRNO_OF(sendfile(dst, p[0], NULL, 3)));
  unlink(path);
  unlink(copy);
  return 0;
}
