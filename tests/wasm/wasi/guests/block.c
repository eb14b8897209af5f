/* Host calls that block (issue 10): `block write` writes to stdout for ever (into a pipe nobody
 * reads, it blocks once the pipe is full); `block open PATH` opens PATH for reading (a FIFO without
 * a writer blocks in open). The run must still end at its --timeout. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "write") == 0) {
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (;;)
      if (write(1, chunk, sizeof chunk) < 0) return 1;
  }
  if (argc >= 3 && strcmp(argv[1], "open") == 0) {
    int fd = open(argv[2], O_RDONLY);
    printf("open returned %d\n", fd);
    return 0;
  }
  return 2;
}
