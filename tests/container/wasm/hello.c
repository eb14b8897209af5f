// The wasm image's module (tests/container/containerd_wasm_test.sh, podman_wasm_test.sh): what a
// WASI program sees when a runc-compatible client runs it through the wasm handler.
//   hello.wasm [WORDS...]  prints "hello from wasm", its argv and $GREETING, exits 0
//   hello.wasm exit N      exits N
//   hello.wasm cat FILE    prints FILE (a preopen of the root or a mount)
//   hello.wasm write FILE  creates FILE (fails where the mount is read-only: exit 1)
//   hello.wasm grow        allocates 1 MiB blocks until refused, then prints how many it got
//                          (under the engine's budget, which counts call stacks too, the
//                          print itself runs out: the engine ends the module as OOM)
//   hello.wasm big         touches a 40 MiB array (the module's initial memory holds it, so a
//                          memory limit below that refuses the module before it starts)
//   hello.wasm sleep S     sleeps S seconds (for kill, pause and stats)
//   hello.wasm tty         whether stdin and stdout are terminals (process.terminal)
//   hello.wasm readline    reads one line from stdin and prints it back (typed on a terminal)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile char big[40 << 20];
static void* volatile chain;

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "cat") == 0) {
    FILE* f = fopen(argv[2], "r");
    if (!f) {
      perror(argv[2]);
      return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, f)) fputs(line, stdout);
    fclose(f);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "write") == 0) {
    FILE* f = fopen(argv[2], "w");
    if (!f) {
      perror(argv[2]);
      return 1;
    }
    fputs("written\n", f);
    return fclose(f) == 0 ? 0 : 1;
  }
  if (argc >= 2 && strcmp(argv[1], "grow") == 0) {
    // The blocks are chained and the chain published, or the compiler drops the unused
    // allocations and takes them as always successful.
    int mib = 0;
    for (;;) {
      char* block = malloc(1 << 20);
      if (!block) break;
      memset(block, 1, 1 << 20);
      *(void**)block = (void*)chain;
      chain = block;
      ++mib;
    }
    printf("refused after %d MiB\n", mib);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "big") == 0) {
    for (size_t i = 0; i < sizeof big; i += 4096) big[i] = 1;
    printf("big ran\n");
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "sleep") == 0) {
    printf("sleeping\n");
    fflush(stdout);
    sleep((unsigned)atoi(argv[2]));
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "tty") == 0) {
    printf("stdin tty=%d stdout tty=%d\n", isatty(0), isatty(1));
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "readline") == 0) {
    char line[256];
    if (!fgets(line, sizeof line, stdin)) return 1;
    printf("read: %s", line);
    return 0;
  }
  const char* greeting = getenv("GREETING");
  printf("hello from wasm argc=%d", argc);
  for (int i = 1; i < argc; ++i) printf(" %s", argv[i]);
  printf(" GREETING=%s\n", greeting ? greeting : "(unset)");
  return 0;
}
