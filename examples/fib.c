/* Recursive Fibonacci: call-heavy, tests call/return cost. Usage: fib [N] */
#include <stdio.h>
#include <stdlib.h>

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char** argv) {
  unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 42;
  printf("fib(%u) = %u\n", n, fib(n));
  return 0;
}
