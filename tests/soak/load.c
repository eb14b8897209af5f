/* The soak's and the hostile tests' workloads, one behaviour per mode; built static (native,
 * container, vm) and to wasm32-wasi (wasm) from this one file.
 *   exit N          exit with N
 *   crash           a bad store (SIGSEGV, or the wasm trap that maps to it)
 *   spin            burn CPU until stopped
 *   ignore-term     ignore SIGTERM, SIGINT and SIGHUP, then spin
 *   alloc MIB       touch MIB MiB; a refused allocation exits 3
 *   forkbomb        fork sleeping children until refused: exit 5 with the count, or 6 past 100000
 *   files N         open N descriptors at once: exit 0 if all opened, 4 (with the count) if not
 *   sleep MS        sleep MS milliseconds, then exit 0
 *   write N         write N bytes to stdout (0: until a write fails), SIGPIPE ignored: exit 0 when
 *                   all were written, 7 when the reader was gone (EPIPE), 8 on another error
 *   sysv            System V semaphore sets of 32000 and queues of 8 KiB messages until refused,
 *                   then prints how many (not in wasm) */
#ifndef __wasi__
#include <signal.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* mode = argv[1];
  long n = argc > 2 ? atol(argv[2]) : 0;
  if (!strcmp(mode, "exit")) return (int)n;
  if (!strcmp(mode, "crash")) {
    *(volatile int*)(unsigned long)0xfffffff0u = 1;
    return 1;
  }
#ifndef __wasi__
  if (!strcmp(mode, "ignore-term")) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    mode = "spin";
  }
#else
  if (!strcmp(mode, "ignore-term")) mode = "spin";
#endif
  if (!strcmp(mode, "spin"))
    for (volatile unsigned long i = 0;; ++i) {
    }
  if (!strcmp(mode, "alloc")) {
    char* chain = NULL;
    for (long i = 0; i < n; ++i) {
      char* block = malloc(1 << 20);
      if (!block) {
        printf("refused after %ld MiB\n", i);
        return 3;
      }
      memset(block, (int)(i & 0x7f) + 1, 1 << 20);
      memcpy(block, &chain, sizeof chain);
      chain = block;
    }
    unsigned long sum = 0;
    for (char* b = chain; b; memcpy(&b, b, sizeof(char*))) sum += (unsigned char)b[4096];
    printf("allocated %ld MiB (%lu)\n", n, sum);
    return 0;
  }
  if (!strcmp(mode, "sleep")) {
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
  }
  if (!strcmp(mode, "write")) {
#ifndef __wasi__
    signal(SIGPIPE, SIG_IGN);
#endif
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (long done = 0; n == 0 || done < n;) {
      size_t want = n == 0 || n - done > (long)sizeof chunk ? sizeof chunk : (size_t)(n - done);
      ssize_t w = write(1, chunk, want);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno == EPIPE ? 7 : 8;
      done += w;
    }
    return 0;
  }
  if (!strcmp(mode, "files")) {
#ifndef __wasi__
    struct rlimit rl = {(rlim_t)n + 64, (rlim_t)n + 64};
    setrlimit(RLIMIT_NOFILE, &rl); /* as far as the hard limit allows */
#endif
    long opened = 0;
    for (; opened < n; ++opened)
      if (open(argc > 3 ? argv[3] : "/", O_RDONLY) < 0) break;
    printf("opened %ld\n", opened);
    return opened == n ? 0 : 4;
  }
#ifndef __wasi__
  if (!strcmp(mode, "forkbomb")) {
    long children = 0;
    for (; children < 100000; ++children) {
      pid_t pid = fork();
      if (pid < 0) break;
      if (pid == 0) {
        pause();
        _exit(0);
      }
    }
    printf("forked %ld\n", children);
    fflush(stdout);
    return children < 100000 ? 5 : 6;
  }
  if (!strcmp(mode, "sysv")) {
    long semaphores = 0, messages = 0;
    for (int sets = 0; sets < 100000 && semget(IPC_PRIVATE, 32000, 0600) >= 0; ++sets) semaphores += 32000;
    static struct {
      long type;
      char text[8192];
    } message = {1, {0}};
    for (int queues = 0; queues < 100000; ++queues) {
      const int id = msgget(IPC_PRIVATE, 0600);
      if (id < 0) break;
      int sent = 0;
      while (sent < 1000 && msgsnd(id, &message, sizeof message.text, IPC_NOWAIT) == 0) ++sent;
      messages += sent;
      if (sent == 0) break;
    }
    printf("semaphores %ld messages %ld\n", semaphores, messages);
    return 0;
  }
#else
  if (!strcmp(mode, "forkbomb")) {
    printf("forked 0\n");
    return 5;
  }
#endif
  return 2;
}
