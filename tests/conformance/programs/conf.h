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

// glibc names errno values and signals (strerrorname_np, sigabbrev_np); musl does not, so the
// musl builds get the same names from these tables.
#ifndef __GLIBC__
#include <signal.h>
static inline const char* strerrorname_np(int e) {
  switch (e) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EINTR:
      return "EINTR";
    case EIO:
      return "EIO";
    case ENXIO:
      return "ENXIO";
    case E2BIG:
      return "E2BIG";
    case ENOEXEC:
      return "ENOEXEC";
    case EBADF:
      return "EBADF";
    case ECHILD:
      return "ECHILD";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case EXDEV:
      return "EXDEV";
    case ENODEV:
      return "ENODEV";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case EINVAL:
      return "EINVAL";
    case ENFILE:
      return "ENFILE";
    case EMFILE:
      return "EMFILE";
    case ENOTTY:
      return "ENOTTY";
    case ETXTBSY:
      return "ETXTBSY";
    case EFBIG:
      return "EFBIG";
    case ENOSPC:
      return "ENOSPC";
    case ESPIPE:
      return "ESPIPE";
    case EROFS:
      return "EROFS";
    case EMLINK:
      return "EMLINK";
    case EPIPE:
      return "EPIPE";
    case ERANGE:
      return "ERANGE";
    case ENOMSG:
      return "ENOMSG";
    case EIDRM:
      return "EIDRM";
    case EDEADLK:
      return "EDEADLK";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    case ENOSYS:
      return "ENOSYS";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case ELOOP:
      return "ELOOP";
    case EOVERFLOW:
      return "EOVERFLOW";
    case ENOTSOCK:
      return "ENOTSOCK";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EADDRINUSE:
      return "EADDRINUSE";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNRESET:
      return "ECONNRESET";
    case ENOTCONN:
      return "ENOTCONN";
  }
  return "E?";
}
static inline const char* sigabbrev_np(int sig) {
  switch (sig) {
    case SIGHUP:
      return "HUP";
    case SIGINT:
      return "INT";
    case SIGQUIT:
      return "QUIT";
    case SIGILL:
      return "ILL";
    case SIGTRAP:
      return "TRAP";
    case SIGABRT:
      return "ABRT";
    case SIGBUS:
      return "BUS";
    case SIGFPE:
      return "FPE";
    case SIGKILL:
      return "KILL";
    case SIGUSR1:
      return "USR1";
    case SIGSEGV:
      return "SEGV";
    case SIGUSR2:
      return "USR2";
    case SIGPIPE:
      return "PIPE";
    case SIGALRM:
      return "ALRM";
    case SIGTERM:
      return "TERM";
    case SIGSTKFLT:
      return "STKFLT";
    case SIGCHLD:
      return "CHLD";
    case SIGCONT:
      return "CONT";
    case SIGSTOP:
      return "STOP";
    case SIGTSTP:
      return "TSTP";
    case SIGTTIN:
      return "TTIN";
    case SIGTTOU:
      return "TTOU";
    case SIGURG:
      return "URG";
    case SIGXCPU:
      return "XCPU";
    case SIGXFSZ:
      return "XFSZ";
    case SIGVTALRM:
      return "VTALRM";
    case SIGPROF:
      return "PROF";
    case SIGWINCH:
      return "WINCH";
    case SIGIO:
      return "IO";
    case SIGPWR:
      return "PWR";
    case SIGSYS:
      return "SYS";
  }
  return "?";
}
#endif

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

// Waits for a signal. pause only ever returns EINTR; any other failure (ENOSYS in a kernel that
// lacks it) ends the program at once instead of spinning until the runner's timeout.
#define PAUSE() CHECK(pause() == -1 && errno == EINTR)

// The errno of a call expected to fail, by name ("ok" when it did not fail).
#define ERRNO_OF(call) ((call) < 0 ? strerrorname_np(errno) : "ok")

#endif
