// Shared by the conformance programs. Each program checks one behaviour and prints only what is
// the same on every correct kernel (no pids, addresses or times), so native Linux is the oracle.
#ifndef CONFORMANCE_CONF_H
#define CONFORMANCE_CONF_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Line-buffered even into a pipe: a line written before fork is never written twice, and the
// lines of parent and child come out in the order the program waits for. The buffer is static so
// that stdio never takes memory from the heap a program moves its break under (brk.c).
static char conf_stdout_buffer[BUFSIZ];
__attribute__((constructor)) static void conf_line_buffered(void) {
  setvbuf(stdout, conf_stdout_buffer, _IOLBF, sizeof conf_stdout_buffer);
}

// A failed check names the line and errno's name, and ends the program with 1.
#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      int conf_errno = errno;                                                                \
      printf("FAIL line %d: %s (errno %s)\n", __LINE__, #cond, strerrorname_np(conf_errno)); \
      fflush(stdout);                                                                        \
      _exit(1);                                                                              \
    }                                                                                        \
  } while (0)

// The errno of a call expected to fail, by name ("ok" when it did not fail).
#define ERRNO_OF(call) ((call) < 0 ? strerrorname_np(errno) : "ok")

#endif
