/* poll() (poll_oneoff with an fd subscription, plus a clock for the timeout) on stdin: prints
   what became ready and what could be read; "wait" polls without a timeout. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int timeout_ms = argc > 1 && strcmp(argv[1], "wait") == 0 ? -1 : 100;
  struct pollfd p = {0, POLLIN, 0};
  int n = poll(&p, 1, timeout_ms);
  if (n == 0) {
    puts("poll timed out");
    return 0;
  }
  if (n < 0 || !(p.revents & POLLIN)) {
    printf("poll failed: n=%d revents=%d\n", n, p.revents);
    return 1;
  }
  char buf[64] = {0};
  ssize_t got = read(0, buf, sizeof buf - 1);
  printf("readable: %s\n", got > 0 ? buf : "(eof)");
  return 0;
}
