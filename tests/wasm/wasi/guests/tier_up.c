/* For --engine auto's tier-up: calls a recursive function round after round until the rounds run
   at least 3x faster than the fastest of the first five (the module was compiled in the background
   and the run switched to the compiled code), or for at most 60 s. Noise only slows a round, so
   interpreted rounds never pass for compiled ones. Then, in a function that is compiled code called
   from main (still interpreted: the switch happens at function entry):
     tier_up              prints "ok"
     tier_up trap         divides by zero
     tier_up exit         exits with status 3
     tier_up grow         grows memory by 32 MiB, which main then writes and reads
     tier_up spin         calls the function for ever (for a timeout)
     tier_up once         "ok" at once (for a run that starts compiled) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noinline)) static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

// Called through volatile pointers: main is inlined into _start, and these would be too.
static int divide(int a, int b) { return a / b; }
static void leave(int status) { exit(status); }
static unsigned char* grab(size_t bytes) { return malloc(bytes); }
static int (*volatile divide_fn)(int, int) = divide;
static void (*volatile leave_fn)(int) = leave;
static unsigned char* (*volatile grab_fn)(size_t) = grab;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  const double give_up = now() + 60;
  double fastest = 1e9;
  unsigned rounds = 0, fast_in_a_row = strcmp(mode, "once") == 0 ? 3 : 0;
  while (fast_in_a_row < 3 && now() < give_up) {
    const double start = now();
    if (fib(20) != 6765) {
      printf("wrong result\n");
      return 1;
    }
    const double took = now() - start;
    if (++rounds <= 5) {
      if (took < fastest) fastest = took;
    } else {
      fast_in_a_row = took < fastest / 3 ? fast_in_a_row + 1 : 0;
    }
  }
  if (fast_in_a_row < 3) {
    printf("no switch to compiled code within 60 s\n");
    return 2;
  }
  if (strcmp(mode, "trap") == 0) printf("%d\n", divide_fn(argc + 40, argc - 2));
  if (strcmp(mode, "exit") == 0) leave_fn(3);
  if (strcmp(mode, "grow") == 0) {
    volatile unsigned char* p = grab_fn(32u << 20);
    if (!p) {
      printf("no memory\n");
      return 1;
    }
    p[(32u << 20) - 1] = 42;
    printf("grew %d\n", p[(32u << 20) - 1]);
    return 0;
  }
  if (strcmp(mode, "spin") == 0)
    for (;;) fib(20);
  printf("ok\n");
  return 0;
}
