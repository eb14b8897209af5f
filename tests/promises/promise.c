// One program, one behaviour per mode, built native-static (native, container, vm) and to
// wasm32-wasi (wasm): the workloads of the cross-tier promise test (promises_test.sh).
#ifndef __wasi__
#include <signal.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef __wasi__
static volatile sig_atomic_t interrupted = 0;
static void on_interrupt(int sig) {
  (void)sig;
  interrupted = 1;
}
#endif

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* mode = argv[1];
  if (strcmp(mode, "exit") == 0 && argc > 2) return atoi(argv[2]);
  if (strcmp(mode, "crash") == 0) {
    // Unmapped natively and past the end of a wasm32 memory: SIGSEGV, or the trap that maps to it.
    // (A fault rather than raise(): a container's init ignores signals it sends itself.)
    *(volatile int*)(unsigned long)0xfffffff0u = 1;
    return 1;
  }
  if (strcmp(mode, "spin") == 0) {
    for (volatile unsigned long i = 0;; ++i) {
    }
  }
  if (strcmp(mode, "echo") == 0) {
    for (int i = 2; i < argc; ++i) printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
    printf("to-stderr\n");
    fprintf(stderr, "err-line\n");
    return 0;
  }
  if (strcmp(mode, "env") == 0 && argc > 2) {
    const char* value = getenv(argv[2]);
    printf("%s\n", value ? value : "(unset)");
    return 0;
  }
  if (strcmp(mode, "cwd") == 0) {
    char buffer[4096];
    printf("%s\n", getcwd(buffer, sizeof buffer) ? buffer : "(error)");
    return 0;
  }
  if (strcmp(mode, "alloc") == 0 && argc > 2) {
    // Touches MiB after MiB; a refused allocation is this program's exit 3.
    // The blocks are chained and summed so that no compiler can drop them.
    long want = atol(argv[2]);
    char* chain = NULL;
    for (long i = 0; i < want; ++i) {
      char* block = malloc(1 << 20);
      if (!block) {
        printf("refused after %ld MiB\n", i);
        return 3;
      }
      memset(block, (int)(i & 0x7f), 1 << 20);
      memcpy(block, &chain, sizeof chain);
      chain = block;
    }
    unsigned long sum = 0;
    for (char* block = chain; block; memcpy(&block, block, sizeof(char*))) sum += (unsigned char)block[4096];
    printf("allocated %ld MiB (%lu)\n", want, sum);
    return 0;
  }
#ifndef __wasi__
  if (strcmp(mode, "wait-int") == 0) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigaction(SIGINT, &action, NULL);
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < 3000 && !interrupted; ++i) usleep(10000);
    if (!interrupted) return 1;
    printf("got-int\n");
    return 9;
  }
#else
  if (strcmp(mode, "wait-int") == 0) {
    printf("ready\n");
    fflush(stdout);
    for (volatile unsigned long i = 0;; ++i) {
    }
  }
#endif
  return 2;
}
